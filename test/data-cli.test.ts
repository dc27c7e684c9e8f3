import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(root, 'test', 'fixtures', 'wav');

function digits(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('CLI: digits data info|fetch', function () {
  this.timeout(60000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-cli-'));
    fs.mkdirSync(path.join(tmp, 'set'));
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(tmp, 'set', '1_ann_0.wav'));
    fs.copyFileSync(path.join(fixtures, 'r44100.wav'), path.join(tmp, 'set', '2_bob_9.wav'));
    fs.copyFileSync(path.join(fixtures, 'stereo.wav'), path.join(tmp, 'set', '2_ann_5.wav'));
    // Not clips by their names: left out of the counts, and said so.
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(tmp, 'set', '1_ann_0 (copy).wav'));
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(tmp, 'set', '12_bob_2.wav'));
    // Nor are clips in a subfolder: no command reads them.
    fs.mkdirSync(path.join(tmp, 'set', 'more'));
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(tmp, 'set', 'more', '3_ann_7.wav'));
    fs.symlinkSync(path.join(tmp, 'set', 'more'), path.join(tmp, 'set', 'linked'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('info --json: counts, rates, channels, split, durations', async () => {
    const r = await digits(['data', 'info', '--data', path.join(tmp, 'set'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.clips, 3);
    assert.deepEqual(info.speakers, { ann: 2, bob: 1 });
    assert.deepEqual(info.sampleRates, { 8000: 2, 44100: 1 });
    assert.deepEqual(info.channels, { 1: 2, 2: 1 });
    assert.deepEqual(info.officialSplit, { train: 2, test: 1 });
    assert.ok(Math.abs(info.durationSec.total - 0.9) < 0.01);
    assert.deepEqual(info.unread, { misnamed: ['12_bob_2.wav', '1_ann_0 (copy).wav'], folders: [{ name: 'linked', wavs: 1 }, { name: 'more', wavs: 1 }] });
  });

  it('info, plain text when piped', async () => {
    const r = await digits(['data', 'info', '--data', path.join(tmp, 'set')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /clips: 3 {2}official split: 2 train \/ 1 test/);
    assert.match(r.stdout, /^ann\t0\t1\t1\t/m);
    assert.match(r.stdout, /^not counted: 2 \.wav files not named \{digit\}_\{speaker\}_\{take\}\.wav \(12_bob_2\.wav, 1_ann_0 \(copy\)\.wav\)$/m);
    assert.match(r.stdout, /^not counted: subfolders, which train, eval, compare and quantize do not read \(linked\/ with 1 \.wav, more\/ with 1 \.wav\)$/m);
  });

  it('info lists every unreadable clip, and says the count includes them', async () => {
    const dir = path.join(tmp, 'some-bad');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(dir, '1_ann_0.wav'));
    fs.writeFileSync(path.join(dir, '2_ann_0.wav'), '');
    fs.writeFileSync(path.join(dir, '3_ann_0.wav'), 'hello');
    const r = await digits(['data', 'info', '--data', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^clips: 3 \(2 of them unreadable, see below\)/m);
    assert.match(r.stdout, /^unreadable files: 2; remove or re-record them.*\n {2}- .*2_ann_0\.wav: file is empty \(0 bytes\)\n {2}- .*3_ann_0\.wav: not a WAV file/m);
    assert.match(r.stdout, /^duration: total 0\.0 min, min (\d\.\d{3}) s, median \1 s, mean \1 s, p95 \1 s, max \1 s$/m, 'the one readable clip');
  });

  it('info when no clip can be read: no durations made up, exit 2', async () => {
    const dir = path.join(tmp, 'all-bad');
    fs.mkdirSync(dir);
    for (const name of ['0_bob_0.wav', '1_bob_1.wav']) fs.writeFileSync(path.join(dir, name), 'hello');
    const r = await digits(['data', 'info', '--data', dir]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^clips: 2 \(2 of them unreadable, see below\)/m);
    assert.match(r.stdout, /^duration: n\/a \(no clip could be read\)$/m);
    const json = await digits(['data', 'info', '--data', dir, '--json']);
    assert.equal(json.code, 2);
    assert.equal(JSON.parse(json.stdout).durationSec, null);
  });

  it('info on a missing folder: one line, exit 2, no stack', async () => {
    const r = await digits(['data', 'info', '--data', path.join(tmp, 'missing')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^digits: --data .*missing: folder does not exist\n$/);
  });

  it('fetch with every source unreachable: exit 2 and the reason per source', async () => {
    const r = await digits(['data', 'fetch', '--to', path.join(tmp, 'cache'), '--json'], {
      SPOKEN_DIGITS_ARCHIVE_URL: 'http://127.0.0.1:9/fsdd.tar.gz',
      SPOKEN_DIGITS_HF_API: 'http://127.0.0.1:9',
      SPOKEN_DIGITS_DATA: '',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /GitHub archive: .*cannot connect/);
    assert.match(r.stderr, /Hugging Face mteb\/free-spoken-digit-dataset: cannot connect/);
    assert.match(r.stderr, /Hugging Face Matthijs\/free-spoken-digit-dataset: cannot connect/);
  });

  it('fetch --data copies the folder\'s clips into the cache, where later commands find them; a copy there is kept unless --force', async () => {
    const env = { XDG_CACHE_HOME: path.join(tmp, 'xdg'), SPOKEN_DIGITS_DATA: '', SPOKEN_DIGITS_ARCHIVE_URL: 'http://127.0.0.1:9/no.tar.gz', SPOKEN_DIGITS_HF_API: 'http://127.0.0.1:9' };
    const cache = path.join(tmp, 'xdg', 'spoken-digits', 'fsdd');
    const r = await digits(['data', 'fetch', '--data', path.join(tmp, 'set'), '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const fetched = JSON.parse(r.stdout);
    assert.deepEqual([fetched.clips, fetched.dir, fetched.provenance.source], [3, path.join(cache, 'recordings'), 'local folder']);
    // The clips only: files not named as clips stay behind, and the copy says which.
    assert.deepEqual(fs.readdirSync(path.join(cache, 'recordings')).sort(), ['1_ann_0.wav', '2_ann_5.wav', '2_bob_9.wav']);
    assert.match(r.stderr, /^digits: note: skipped in .*set: 2 \.wav files not named \{digit\}_\{speaker\}_\{take\}\.wav \("12_bob_2\.wav", "1_ann_0 \(copy\)\.wav"\); subfolders are not read \("linked\/", "more\/" hold 2 \.wav files\)$/m);
    const info = await digits(['data', 'info', '--json'], env);
    assert.equal(info.code, 0, info.stderr);
    assert.deepEqual([JSON.parse(info.stdout).clips, JSON.parse(info.stdout).provenance.source], [3, 'local folder']);
    // Another folder: the copy in the cache is kept, and said so; --force replaces it.
    fs.mkdirSync(path.join(tmp, 'other'));
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(tmp, 'other', '5_cy_1.wav'));
    const kept = await digits(['data', 'fetch', '--data', path.join(tmp, 'other'), '--json'], env);
    assert.deepEqual([JSON.parse(kept.stdout).clips, JSON.parse(kept.stdout).kept], [3, true]);
    const replaced = await digits(['data', 'fetch', '--data', path.join(tmp, 'other'), '--force', '--json'], env);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.deepEqual(fs.readdirSync(path.join(cache, 'recordings')), ['5_cy_1.wav']);
    // The cache itself given: nothing to copy.
    const self = await digits(['data', 'fetch', '--data', cache, '--json'], env);
    assert.equal(JSON.parse(self.stdout).clips, 1);
    const plain = await digits(['data', 'fetch', '--data', path.join(tmp, 'set')], env);
    // Not FSDD's speakers: called recordings, not FSDD.
    assert.match(plain.stderr, /already holds recordings \(1 clip\), kept; --force replaces it/);
    assert.match(plain.stdout, /^Recordings ready: 1 clips in /);

    // A folder inside the target that is not its copy (an archive unpacked there) is copied, not taken for it.
    const target = path.join(tmp, 'target');
    fs.mkdirSync(path.join(target, 'unpacked', 'recordings'), { recursive: true });
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(target, 'unpacked', 'recordings', '3_dee_4.wav'));
    const inside = await digits(['data', 'fetch', '--data', path.join(target, 'unpacked'), '--to', target, '--json'], env);
    assert.equal(inside.code, 0, inside.stderr);
    assert.equal(JSON.parse(inside.stdout).dir, path.join(target, 'recordings'));
    assert.deepEqual(fs.readdirSync(path.join(target, 'recordings')), ['3_dee_4.wav']);

    // Clips that are not WAVs: one error naming each source file once, what to do, and the cache as it was.
    fs.mkdirSync(path.join(tmp, 'bad'));
    fs.writeFileSync(path.join(tmp, 'bad', '7_eve_0.wav'), 'not audio');
    fs.writeFileSync(path.join(tmp, 'bad', '8_eve_0.wav'), '');
    fs.copyFileSync(path.join(fixtures, 's16.wav'), path.join(tmp, 'bad', '9_eve_0.wav'));
    const bad = await digits(['data', 'fetch', '--data', path.join(tmp, 'bad'), '--force'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /2 clips cannot be read; remove or re-record them/);
    for (const name of ['7_eve_0.wav', '8_eve_0.wav']) {
      const file = path.join(tmp, 'bad', name);
      assert.equal(bad.stderr.split(file).length, 2, `${name} named once: ${bad.stderr}`);
    }
    assert.deepEqual(fs.readdirSync(path.join(cache, 'recordings')), ['5_cy_1.wav']);
  });
});
