import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { FSDD_RECORDINGS, FSDD_ROOT } from './fsdd.js';
import { int8SumsSaturate } from '../src/model/int8-cpu.js';
import { monoWav } from './fixtures/wav.js';
import { FirstWavClip } from '../src/cli/commands/predict.js';
import { decodeWav } from '../src/audio/wav.js';

const work = mkdtempSync(join(tmpdir(), 'sd-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function digits(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One line on stderr, prefixed `digits:`, and no stack trace. */
function assertOneLineError(r: ReturnType<typeof digits>, pattern: RegExp) {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^digits: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe('digits predict / eval / doctor (CLI)', function () {
  this.timeout(120_000);

  it('predict --json reports digit, confidence and time per file', () => {
    const r = digits('predict', '--json', join(FSDD_RECORDINGS, '6_theo_0.wav'), join(FSDD_RECORDINGS, '9_george_3.wav'));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.results.map((x: { digit: number }) => x.digit), [6, 9]);
    assert.ok(out.results.every((x: { confidence: number; timeMs: number }) => x.confidence > 0 && x.timeMs > 0));
  });

  it('predict - reads one WAV from stdin (a pipe), beside files; a pipe given as a path says how to read it', () => {
    const clip = join(FSDD_RECORDINGS, '6_theo_0.wav');
    const run = (args: string[], input: Buffer) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { input, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const r = run(['predict', '--json', '-', join(FSDD_RECORDINGS, '9_george_3.wav')], readFileSync(clip));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).results.map((x: { file: string; digit: number }) => [x.file, x.digit]), [['-', 6], [join(FSDD_RECORDINGS, '9_george_3.wav'), 9]]);
    // A shell's pipe (a FIFO), and a socket pair as Node gives a child's stdin.
    const dev = spawnSync('bash', ['-c', `cat '${clip}' | '${process.execPath}' --import tsx src/cli/main.ts predict /dev/stdin`], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(dev.status, 2);
    assert.match(dev.stdout, /\/dev\/stdin: is a pipe, not a regular file; .*`digits predict -` and `digits listen --input -` read stdin/);
    assert.match(run(['predict', '/dev/stdin'], readFileSync(clip)).stdout, /\/dev\/stdin: is a socket or an absent device, not a regular file; .*`digits predict -`/);
    const twice = run(['predict', '-', '-'], readFileSync(clip));
    assertOneLineError({ code: twice.status, stdout: twice.stdout, stderr: twice.stderr }, /"-" \(stdin\) may be given once/);
    const none = run(['predict', '-'], Buffer.alloc(0));
    assert.equal(none.status, 2);
    assert.match(none.stdout, /stdin closed without sending any audio/);
  });

  it('predict - reads stdin only as far as one clip: endless zeros are refused at their first bytes, an endless WAV at the clip limit', () => {
    const endless = (head: string) =>
      spawnSync('bash', ['-c', `{ ${head} cat /dev/zero; } | '${process.execPath}' --import tsx src/cli/main.ts predict -`], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
    const zeros = endless('');
    assert.equal(zeros.status, 2, zeros.stderr);
    assert.match(zeros.stdout, /-: not a WAV file \(starts with/);
    // A WAV header as a writer that cannot seek leaves it (data size 0xFFFFFFFF), then silence for ever.
    const header = monoWav(new Int16Array(0), 8000);
    header.writeUInt32LE(0xffffffff, 4);
    header.writeUInt32LE(0xffffffff, 40);
    const file = join(work, 'endless-header.wav');
    writeFileSync(file, header);
    const wav = endless(`cat '${file}';`);
    assert.equal(wav.status, 2, wav.stderr);
    assert.match(wav.stdout, /-: the WAV on stdin is longer than the 60 s limit for one clip; .*digits listen --input -/);
    // A clip with 2 MiB of metadata after its samples (a JUNK chunk, as cover art or BWF notes are): a clip, not a long stream.
    const junk = Buffer.alloc(8 + (2 << 20));
    junk.write('JUNK', 0);
    junk.writeUInt32LE(2 << 20, 4);
    const clip = readFileSync(join(FSDD_RECORDINGS, '6_theo_0.wav'));
    const withJunk = Buffer.concat([clip, junk]);
    withJunk.writeUInt32LE(withJunk.length - 8, 4);
    const tagged = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'predict', '--json', '-'], { input: withJunk, encoding: 'utf8' });
    assert.equal(tagged.status, 0, tagged.stdout + tagged.stderr);
    assert.equal(JSON.parse(tagged.stdout).results[0].digit, 6);
    assert.doesNotMatch(tagged.stderr, /another WAV/);
    // Two WAVs one after the other: the first is the clip, and the note says so.
    const two = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'predict', '--json', '-'], { input: Buffer.concat([clip, readFileSync(join(FSDD_RECORDINGS, '9_george_3.wav'))]), encoding: 'utf8' });
    assert.equal(two.status, 0, two.stdout + two.stderr);
    assert.equal(JSON.parse(two.stdout).results[0].digit, 6);
    assert.match(two.stderr, /stdin holds another WAV after the first: only the first was read/);
  });

  it('predict -: the first clip is the same however stdin cuts it into chunks, and what follows it is told apart', () => {
    const clip = readFileSync(join(FSDD_RECORDINGS, '6_theo_0.wav'));
    const other = readFileSync(join(FSDD_RECORDINGS, '9_george_3.wav'));
    // A data chunk of an odd size (a stray byte after its last whole frame), so a pad byte follows it.
    const odd = monoWav(new Int16Array(801).fill(100), 8000);
    const oddData = Buffer.from(odd.subarray(0, odd.length - 1));
    oddData.writeUInt32LE(1601, 40);
    oddData.writeUInt32LE(oddData.length + 1 - 8, 4);
    const cases: [string, Buffer, Buffer, boolean][] = [
      ['one clip', clip, clip, false],
      ['two clips', Buffer.concat([clip, other]), clip, true],
      ['a clip then text', Buffer.concat([clip, Buffer.from('RIF not a wav')]), clip, false],
      // The pad byte after an odd data chunk is not the next clip's first byte.
      ['an odd clip, padded, then another', Buffer.concat([oddData, Buffer.from([0]), other]), oddData, true],
    ];
    for (const [what, stream, first, another] of cases) {
      for (const size of [1, 3, 44, 45, 4096, stream.length]) {
        const reader = new FirstWavClip(60);
        for (let at = 0; at < stream.length; at += size) if (!reader.take(stream.subarray(at, at + size))) break;
        const { bytes, anotherWav } = reader.result();
        const n = Math.min(bytes.length, first.length);
        assert.ok(Buffer.from(bytes).subarray(0, n).equals(first.subarray(0, n)), `${what}, chunks of ${size}: the first clip's bytes`);
        assert.equal(decodeWav(bytes, { name: '-' }).samples.length, decodeWav(first, { name: '-' }).samples.length, `${what}, chunks of ${size}`);
        assert.equal(anotherWav, another, `${what}, chunks of ${size}`);
      }
    }
    assert.throws(() => new FirstWavClip(60).result(), /stdin closed without sending any audio/);
    assert.throws(() => new FirstWavClip(60).take(Buffer.from('hello, this is text and not a WAV file at all')), /not a WAV file/);
    // A clip longer than the limit is refused once its samples pass it, whatever the chunks.
    const long = monoWav(new Int16Array(8000 * 3), 8000);
    for (const size of [7, 4096]) {
      const reader = new FirstWavClip(2);
      assert.throws(() => {
        for (let at = 0; at < long.length; at += size) reader.take(long.subarray(at, at + size));
      }, /longer than the 2 s limit for one clip/);
    }
  });

  it('predict --top past the model\'s labels lists every label once', () => {
    const r = digits('predict', '--json', '--top', '1000000000', join(FSDD_RECORDINGS, '6_theo_0.wav'));
    assert.equal(r.code, 0, r.stderr);
    const top = JSON.parse(r.stdout).results[0].top as { label: string }[];
    assert.deepEqual(top.map((t) => t.label).sort(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'none']);
  });

  it('predict prints plain tab-separated rows when piped', () => {
    const r = digits('predict', join(FSDD_RECORDINGS, '6_theo_0.wav'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^file\tdigit\tconfidence\ttime\n.*6_theo_0\.wav\t6\t\d+\.\d%\t/);
  });

  it('predict says in the table why a clip got no digit (rejectedBy in --json)', () => {
    const quiet = join(work, 'quiet.wav');
    // Half a second of 16-bit zeros at 8 kHz: a 44-byte header and 8,000 bytes of silence.
    writeFileSync(quiet, monoWav(new Int16Array(4000), 8000));
    const r = digits('predict', quiet);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /quiet\.wav\tno digit \(silence\)\t/);
  });

  it('predict: a missing file fails that file, exit 2, and still answers the others', () => {
    const r = digits('predict', '--json', join(work, 'missing.wav'), join(FSDD_RECORDINGS, '1_lucas_0.wav'));
    assert.equal(r.code, 2);
    const out = JSON.parse(r.stdout);
    assert.match(out.results[0].error, /missing\.wav/);
    assert.equal(out.results[0].code, 'ERR_AUDIO_INPUT');
    assert.equal(out.results[1].digit, 1);
  });

  it('predict: a WAV cut off before the end its header declares is recognized from what it holds, and said to be truncated', () => {
    const whole = readFileSync(join(FSDD_RECORDINGS, '3_theo_0.wav'));
    const cut = join(work, 'cut.wav');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.9)));
    const json = JSON.parse(digits('predict', '--json', cut, join(FSDD_RECORDINGS, '3_theo_0.wav')).stdout);
    assert.equal(json.results[0].truncated, true);
    assert.equal(json.results[0].digit, 3, 'the 90% the file holds is still a 3');
    assert.equal(json.results[1].truncated, undefined);
    assert.match(digits('predict', cut).stdout, /cut\.wav \(truncated file\)\t/);
  });

  it('predict says when a file is clipped (recorded too loud), with the share in --json; FSDD as recorded is not', () => {
    const loud = join(work, 'loud.wav');
    const r0 = spawnSync('sox', [join(FSDD_RECORDINGS, '5_nicolas_3.wav'), loud, 'vol', '40']);
    assert.equal(r0.status, 0, String(r0.stderr));
    const r = digits('predict', '--json', loud, join(FSDD_RECORDINGS, '6_jackson_49.wav'));
    assert.equal(r.code, 0, r.stderr);
    const [clipped, recorded] = JSON.parse(r.stdout).results;
    assert.ok(clipped.clipped > 0.2 && clipped.clipped < 0.3, String(clipped.clipped));
    // FSDD's most clipped clip (0.02% of its samples at full scale) is no news.
    assert.equal(recorded.clipped, undefined);
    assert.match(r.stderr, /^digits predict: .*loud\.wav is clipped: 2\d% of its samples at full scale \(recorded too loud: lower the input gain\); its answer may be wrong$/m);
    assert.doesNotMatch(r.stderr, /6_jackson_49/);
  });

  it('predict says when a file holds more sound than one digit, and points to digits listen', () => {
    const three = join(work, 'three.wav');
    const r0 = spawnSync('sox', [...['4_george_1', '1_george_2', '5_george_3'].map((n) => join(FSDD_RECORDINGS, `${n}.wav`)), three, 'pad', '0', '0.3']);
    assert.equal(r0.status, 0, String(r0.stderr));
    const single = join(FSDD_RECORDINGS, '7_jackson_0.wav');
    const r = digits('predict', '--json', three, single);
    assert.equal(r.code, 0, r.stderr);
    const [many, one] = JSON.parse(r.stdout).results;
    assert.ok(many.speechMs > 1500 && one.speechMs < 1000, `${many.speechMs} / ${one.speechMs}`);
    assert.match(r.stderr, /three\.wav holds 1\.\d\d s of sound, longer than a digit usually takes \(the model hears 1\.02 s of it\): if it holds several digits, `digits listen --input .*three\.wav` reads them one by one/);
    assert.doesNotMatch(r.stderr, /7_jackson_0/);
  });

  it('a model file that is not ONNX: one line, non-zero exit, no stack trace (stack with --verbose)', () => {
    const model = join(FSDD_RECORDINGS, '1_lucas_0.wav');
    assertOneLineError(digits('predict', '-m', model, model), /not an ONNX model/);
    assert.match(digits('predict', '--verbose', '-m', model, model).stderr, /\n\s+at /);
  });

  it('--model takes a shipped model by name; a bare name that is neither a file here nor shipped lists the shipped ones', () => {
    const clipPath = join(FSDD_RECORDINGS, '7_jackson_0.wav');
    for (const [name, file] of [['small', 'small.int8.onnx'], ['small.onnx', 'small.onnx'], ['default', 'default.int8.onnx']]) {
      const r = digits('predict', '--json', '-m', name, clipPath);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.model, join(process.cwd(), 'models', file), name);
      assert.equal(out.results[0].digit, 7);
    }
    assertOneLineError(digits('predict', '-m', 'smal', clipPath), /cannot read model smal: file not found \(the shipped models are default, small;/);
    // A path is a path: no lookup, no list.
    const missing = digits('predict', '-m', join(work, 'small'), clipPath);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /cannot read model .*\/small: file not found\n/);
    // A file of that name in the current folder wins over the shipped model.
    writeFileSync(join(work, 'small'), 'not a model');
    const here = spawnSync(process.execPath, ['--import', pathToFileURL(createRequire(join(process.cwd(), 'package.json')).resolve('tsx')).href, join(process.cwd(), 'src/cli/main.ts'), 'predict', '-m', 'small', clipPath], { cwd: work, encoding: 'utf8' });
    assert.match(here.stderr, /not an ONNX model/);
  });

  it('a misspelt command or option: the suggestion and a pointer to --help, not the whole help; exit 2', () => {
    for (const [args, hint] of [[['lisen'], /unknown command 'lisen'\n\(Did you mean listen\?\)/], [['lisen', '--help'], /unknown command 'lisen'\n\(Did you mean listen\?\)/], [['predict', '--modle', 'x'], /unknown option '--modle'\n\(Did you mean --model\?\)/]] as const) {
      const r = digits(...args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, hint);
      assert.match(r.stderr, /digits --help lists the commands/);
      assert.ok(r.stderr.trim().split('\n').length <= 3, r.stderr);
    }
  });

  it('eval --json on the official test split prints every figure', () => {
    const r = digits('eval', FSDD_RECORDINGS, '--split', 'test', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const key of ['accuracy', 'n', 'perClass', 'perSpeaker', 'confusion', 'falseAccept', 'falseReject', 'clipsPerSec']) assert.ok(key in out, key);
    assert.equal(out.n, 300);
    assert.ok(out.accuracy > 0.9);
  });

  it('eval --babble reproduces the shipped card\'s babble figures: with the rejection threshold, and top class at --threshold 0', () => {
    const card = JSON.parse(readFileSync('models/default.card.json', 'utf8')).metrics.int8;
    for (const [snr, extra, want] of [['5', [], card.babbleWithRejection['5dB']], ['10', ['--threshold', '0'], card.babble['10dB']]] as const) {
      const r = digits('eval', FSDD_RECORDINGS, '--split', 'test', '--babble', snr, ...extra, '--json');
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.babble, { snrDb: Number(snr), poolClips: 2700, seed: 2000 + Number(snr) });
      assert.equal(Number(out.accuracy.toFixed(4)), want, `babble ${snr} dB`);
    }
    const clean = JSON.parse(digits('eval', FSDD_RECORDINGS, '--split', 'test', '--json').stdout).accuracy;
    assert.ok(card.babbleWithRejection['5dB'] < clean, 'babble must cost accuracy');
  });

  it('eval --speakers keeps only the named speakers\' clips, and names the set\'s speakers when one is unknown', () => {
    const r = digits('eval', FSDD_RECORDINGS, '--split', 'test', '--speakers', 'theo,lucas', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.n, 100);
    assert.deepEqual(Object.keys(out.perSpeaker).sort(), ['lucas', 'theo']);
    assertOneLineError(digits('eval', FSDD_RECORDINGS, '--speakers', 'theo,bob'), /no clips of bob; the set has george, jackson, lucas, nicolas, theo, yweweler/);
  });

  it('eval without a target reads the local FSDD copy\'s test split; the dataset folder is read in its recordings/', () => {
    const local = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', '--speakers', 'george', '--json'], { encoding: 'utf8', env: { ...process.env, SPOKEN_DIGITS_DATA: FSDD_ROOT } });
    assert.equal(local.status, 0, local.stderr);
    assert.match(local.stderr, /evaluating the test split of .*recordings/);
    assert.equal(JSON.parse(local.stdout).n, 50);
    const viaData = digits('eval', '--data', FSDD_ROOT, '--split', 'train', '--speakers', 'george', '--json');
    assert.equal(JSON.parse(viaData.stdout).n, 450, viaData.stderr);
    const root = digits('eval', FSDD_ROOT, '--split', 'test', '--speakers', 'george', '--json');
    assert.equal(JSON.parse(root.stdout).n, 50, root.stderr);
    assertOneLineError(digits('eval', FSDD_ROOT, '--data', FSDD_ROOT), /either as the target or as --data/);
  });

  it('eval --babble: a bad SNR, no pool, a pool that overlaps the clips, and adaptation are one-line errors', () => {
    assertOneLineError(digits('eval', FSDD_RECORDINGS, '--split', 'test', '--babble', 'loud'), /--babble 'loud' must be an SNR/);
    assertOneLineError(digits('eval', FSDD_RECORDINGS, '--babble', '5'), /--babble needs --babble-pool/);
    assertOneLineError(digits('eval', FSDD_RECORDINGS, '--split', 'train', '--babble', '5', '--babble-pool', FSDD_RECORDINGS), /babble must come from other clips/);
    assertOneLineError(digits('eval', FSDD_RECORDINGS, '--split', 'test', '--babble', '5', '--babble-pool', join(work, 'nowhere')), /--babble-pool/);
    assertOneLineError(digits('eval', FSDD_RECORDINGS, '--split', 'test', '--babble', '5', '--adapt-voice'), /cannot be used together/);
  });

  it('train --spec-augment: an unknown key, a negative count and bad JSON are one-line errors before any work', () => {
    assertOneLineError(digits('train', '--arch', 'cnn', '--spec-augment', '{"freqMask":2}'), /unknown key 'freqMask' \(one of timeMasks, maxTimeWidth, freqMasks, maxFreqWidth\)/);
    assertOneLineError(digits('train', '--arch', 'cnn', '--spec-augment', '{"maxFreqWidth":-1}'), /maxFreqWidth must be a whole number >= 0/);
    assertOneLineError(digits('train', '--arch', 'cnn', '--spec-augment', '[2]'), /takes a JSON object/);
    assertOneLineError(digits('train', '--arch', 'cnn', '--spec-augment', '{'), /not valid JSON/);
  });

  it('eval: a folder without audio and a bad split are one-line errors', () => {
    const empty = join(work, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'hi');
    assertOneLineError(digits('eval', empty), /no \{digit\}_\{speaker\}_\{take\}\.wav files/);
    assertOneLineError(digits('eval', FSDD_RECORDINGS, '--split', 'dev'), /split 'dev'/);
  });

  it("eval on 'none' clips alone gives no accuracy or false reject (null, n/a), only the 'none' figures", () => {
    const noise = join(work, 'noise.wav');
    const samples = Int16Array.from({ length: 8000 }, (_, i) => Math.round(3000 * Math.sin(i * 0.7) * Math.sin(i * 0.013)));
    writeFileSync(noise, monoWav(samples, 8000));
    const manifest = join(work, 'only-none.csv');
    writeFileSync(manifest, `file,label\n${noise},none\n`);
    const json = digits('eval', '--json', manifest);
    assert.equal(json.code, 0, json.stderr);
    const r = JSON.parse(json.stdout);
    assert.deepEqual([r.n, r.nNone, r.accuracy, r.falseReject], [0, 1, null, null]);
    assert.equal(typeof r.rejectionRate, 'number');
    const text = digits('eval', manifest);
    assert.match(text.stdout, /accuracy n\/a on 0 digit clips, 1 non-digit clips\nfalse reject n\/a {3}false accept /);
  });

  it('compare --json puts every shipped model in one table and recommends one', () => {
    const r = digits('compare', '--json', '--data', FSDD_RECORDINGS, '--runs', '20', '--use-case', 'speed');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.models.length >= 1);
    for (const m of out.models) for (const k of ['accuracy', 'p50Ms', 'p99Ms', 'sizeKB', 'clipsPerSec']) assert.equal(typeof m[k], 'number', k);
    assert.ok(out.models.some((m: { model: string }) => m.model === out.recommended));
    assertOneLineError(digits('compare', '--use-case', 'fastest'), /use case 'fastest'/);
    // Extra models by name or path: a shipped one is in the table once, another file is added.
    const copy = join(work, 'copy.onnx');
    writeFileSync(copy, readFileSync(join('models', 'small.int8.onnx')));
    const more = digits('compare', '--json', '--data', FSDD_RECORDINGS, '--runs', '5', 'small', 'models/small.onnx', copy);
    assert.equal(more.code, 0, more.stderr);
    const models = (JSON.parse(more.stdout).models as { model: string }[]).map((m) => m.model);
    assert.equal(models.length, out.models.length + 1, models.join(', '));
    assert.ok(models.includes(copy));
  });

  it('bench --json reports latency percentiles split into features and model, throughput and RSS', () => {
    const r = digits('bench', '--json', '--data', FSDD_RECORDINGS, '--runs', '30', '--clips', '10');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    for (const t of ['singleThread', 'defaultThreads']) {
      for (const m of ['endToEnd', 'features', 'model', 'withDecode']) assert.ok(out[t].latency[m].p50 > 0 && out[t].latency[m].p99 >= out[t].latency[m].p50, `${t} ${m}`);
      assert.ok(out[t].throughput.clipsPerSec > 0);
    }
    assert.ok(out.rssMB > 0);
    assert.equal(out.idleMs, 0);
  });

  it('bench --idle-ms sleeps before each timed run (a live stream\'s cold caches), and says so', () => {
    const r = digits('bench', '--json', '--data', FSDD_RECORDINGS, '--runs', '5', '--clips', '5', '--idle-ms', '20');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.idleMs, 20);
    assert.equal(out.singleThread.latency.endToEnd.runs, 5);
  });

  it('doctor --json checks the installation', () => {
    const r = digits('doctor', '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout);
    const status = Object.fromEntries(out.checks.map((c: { name: string; status: string }) => [c.name, c.status]));
    // What this checkout has built and ships works; no microphone (and possibly no FSDD cache) here is a warning only.
    for (const n of ['node', 'native addon', 'wasm backend', 'onnxruntime', 'model default.int8.onnx', 'model default.onnx']) assert.equal(status[n], 'ok', `${n}: ${JSON.stringify(out.checks)}`);
    for (const n of ['audio capture', 'data']) assert.ok(['ok', 'warn'].includes(status[n]), `${n}: ${status[n]}`);
    // Which int8 path this CPU takes, in every case.
    const ortDetail = out.checks.find((c: { name: string }) => c.name === 'onnxruntime').detail as string;
    const said = { true: 'x86 without VNNI, 8-bit weights past ±64 saturate', false: 'no saturation', null: 'not known' }[String(int8SumsSaturate()) as 'true' | 'false' | 'null'];
    assert.ok(ortDetail.includes(`int8 on this CPU: ${said}`), ortDetail);
  });

  it('doctor says all of why the native addon did not load (what it tried and the fix), on one line', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'doctor', '--json'], { encoding: 'utf8', env: { ...process.env, SPOKEN_DIGITS_ADDON: join(work, 'nowhere.node') } });
    const addon = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'native addon');
    assert.equal(addon.status, 'warn');
    assert.match(addon.detail, /tried: .*nowhere\.node \(not found\); Fix: build it with `npm run build:native`.*the WebAssembly backend is used instead$/);
    assert.doesNotMatch(addon.detail, /\n/);
  });

  it('doctor says where it looked for FSDD when it is not there', () => {
    const missing = join(work, 'no-fsdd');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'doctor', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, SPOKEN_DIGITS_DATA: missing, XDG_CACHE_HOME: join(work, 'empty-cache') },
    });
    assert.equal(r.status, 0, r.stderr);
    const data = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'data');
    assert.equal(data.status, 'warn');
    assert.ok(data.detail.includes(`SPOKEN_DIGITS_DATA=${missing}: folder does not exist`), data.detail);
    assert.match(data.detail, /digits data fetch/);
  });

  it('doctor takes recordings of other speakers as complete, and a part of FSDD in the cache as to fetch again with --force', () => {
    const doctorData = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'doctor', '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'data') as { status: string; detail: string };
    };
    const mine = join(work, 'mine');
    const cache = join(work, 'part-cache');
    mkdirSync(mine, { recursive: true });
    mkdirSync(join(cache, 'spoken-digits', 'fsdd', 'recordings'), { recursive: true });
    writeFileSync(join(mine, '4_ada_0.wav'), readFileSync(join(FSDD_RECORDINGS, '4_theo_0.wav')));
    writeFileSync(join(cache, 'spoken-digits', 'fsdd', 'recordings', '4_theo_0.wav'), readFileSync(join(FSDD_RECORDINGS, '4_theo_0.wav')));
    const own = doctorData({ SPOKEN_DIGITS_DATA: mine, XDG_CACHE_HOME: join(work, 'empty-cache') });
    assert.deepEqual([own.status, own.detail.startsWith(`1 clip in ${mine}`)], ['ok', true], own.detail);
    const part = doctorData({ SPOKEN_DIGITS_DATA: '', XDG_CACHE_HOME: cache });
    assert.equal(part.status, 'warn');
    assert.match(part.detail, /the full set has 3000: `digits data fetch --force` downloads it again/);
  });
});
