import { FSDD_ROOT } from './fsdd.js';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AudioInputError, DatasetError } from '../src/errors.js';
import {
  listFsddClips,
  parseFsddName,
  officialSplit,
  leaveSpeakersOut,
  leaveOneSpeakerOutFolds,
  validationSplit,
  speakersOf,
  loadFsdd,
  loadClip,
  type FsddClip,
} from '../src/data/index.js';

const FSDD = FSDD_ROOT;
const RECORDINGS = fs.existsSync(path.join(FSDD, 'recordings')) ? path.join(FSDD, 'recordings') : FSDD;
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'wav');

describe('data: FSDD clip listing and splits (real FSDD)', function () {
  let clips: FsddClip[];
  before(function () {
    clips = listFsddClips(RECORDINGS);
  });

  it('parses FSDD names and rejects others', () => {
    assert.deepEqual(parseFsddName('7_nicolas_42.wav'), { digit: 7, speaker: 'nicolas', take: 42 });
    assert.equal(parseFsddName('12_x_1.wav'), null);
    // A speaker's name in any script (and with hyphens), but no spaces or underscores.
    assert.deepEqual(parseFsddName('3_josé_0.wav'), { digit: 3, speaker: 'josé', take: 0 });
    assert.deepEqual(parseFsddName('4_李-娜_12.WAV'), { digit: 4, speaker: '李-娜', take: 12 });
    assert.equal(parseFsddName('4_ann lee_1.wav'), null);
    assert.equal(parseFsddName('7_nicolas_4.mp3'), null);
    assert.equal(parseFsddName('readme.txt'), null);
  });

  it('lists all 3000 clips: 6 speakers x 10 digits x 50 takes, sorted', () => {
    assert.equal(clips.length, 3000);
    assert.deepEqual(speakersOf(clips), ['george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler']);
    for (let d = 0; d < 10; d++) assert.equal(clips.filter((c) => c.digit === d).length, 300);
    assert.equal(clips[0].speaker, 'george');
    assert.equal(clips[0].digit, 0);
    assert.equal(clips[0].take, 0);
  });

  it('official split: takes 0-4 are test (300), the rest train (2700)', () => {
    const { train, test } = officialSplit(clips);
    assert.equal(test.length, 300);
    assert.equal(train.length, 2700);
    assert.ok(test.every((c) => c.take <= 4));
    assert.ok(train.every((c) => c.take >= 5));
  });

  it('leave-speakers-out puts exactly the named speakers in test', () => {
    const { train, test } = leaveSpeakersOut(clips, ['theo']);
    assert.equal(test.length, 500);
    assert.ok(test.every((c) => c.speaker === 'theo'));
    assert.ok(train.every((c) => c.speaker !== 'theo'));
    assert.throws(() => leaveSpeakersOut(clips, ['alice']), (e: unknown) => e instanceof DatasetError && /alice/.test(e.message) && /george/.test(e.message));
    assert.throws(() => leaveSpeakersOut(clips, speakersOf(clips)), DatasetError);
  });

  it('leave-one-speaker-out: six folds, each speaker tested exactly once', () => {
    const folds = leaveOneSpeakerOutFolds(clips);
    assert.deepEqual(folds.map((f) => f.speaker), speakersOf(clips));
    for (const f of folds) {
      assert.equal(f.test.length, 500);
      assert.equal(f.train.length, 2500);
      assert.ok(f.test.every((c) => c.speaker === f.speaker));
    }
  });

  it('validation split is seeded, disjoint and stratified by digit and speaker', () => {
    const { train } = officialSplit(clips);
    const a = validationSplit(train, { fraction: 0.1, seed: 7 });
    const b = validationSplit(train, { fraction: 0.1, seed: 7 });
    const c = validationSplit(train, { fraction: 0.1, seed: 8 });
    assert.deepEqual(a.validation.map((x) => x.path), b.validation.map((x) => x.path));
    assert.notDeepEqual(a.validation.map((x) => x.path), c.validation.map((x) => x.path));
    assert.equal(a.train.length + a.validation.length, train.length);
    const inVal = new Set(a.validation.map((x) => x.path));
    assert.ok(a.train.every((x) => !inVal.has(x.path)));
    // 45 train takes per (digit, speaker) -> round(4.5) = 5 each, 60 groups
    assert.equal(a.validation.length, 300);
    for (const s of speakersOf(clips)) for (let d = 0; d < 10; d++) {
      assert.equal(a.validation.filter((x) => x.speaker === s && x.digit === d).length, 5);
    }
    assert.throws(() => validationSplit(train, { fraction: 1 }), DatasetError);
  });
});

describe('data: finding FSDD locally', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-data-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--data accepts the folder or its parent with recordings/', async function () {
    const parent = path.dirname(RECORDINGS);
    const ds = await loadFsdd({ data: parent, env: {} });
    assert.equal(ds.dir, RECORDINGS);
    assert.equal(ds.clips.length, 3000);
    assert.match(ds.source, /--data/);
  });

  it('$SPOKEN_DIGITS_DATA is used before the cache; a missing --data folder is an error at once', async () => {
    const rec = path.join(tmp, 'mine');
    fs.mkdirSync(rec);
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(rec, '3_ann_0.wav'));
    fs.writeFileSync(path.join(rec, 'notes.txt'), 'ignored');
    const ds = await loadFsdd({ env: { SPOKEN_DIGITS_DATA: rec }, cacheDir: path.join(tmp, 'cache') });
    assert.equal(ds.clips.length, 1);
    assert.match(ds.source, /SPOKEN_DIGITS_DATA/);
    await assert.rejects(loadFsdd({ data: path.join(tmp, 'nope') }), (e: unknown) => e instanceof DatasetError && /does not exist/.test(e.message));
  });

  it('nothing found -> DatasetError naming every place tried', async () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    await assert.rejects(loadFsdd({ env: { SPOKEN_DIGITS_DATA: empty }, cacheDir: path.join(tmp, 'cache'), download: false }), (e: unknown) => {
      assert.ok(e instanceof DatasetError);
      assert.match(e.message, /SPOKEN_DIGITS_DATA/);
      assert.match(e.message, /cache/);
      return true;
    });
  });

  it('loadClip keeps the rate, and refuses another rate without a resampling backend', () => {
    const rec = path.join(tmp, 'r');
    fs.mkdirSync(rec);
    fs.copyFileSync(path.join(fixtures, 'r44100.wav'), path.join(rec, '5_bob_1.wav'));
    const [clip] = listFsddClips(rec);
    const loaded = loadClip(clip);
    assert.equal(loaded.sampleRate, 44100);
    assert.equal(loaded.digit, 5);
    assert.throws(() => loadClip(clip, { sampleRate: 8000 }), AudioInputError);
  });
});
