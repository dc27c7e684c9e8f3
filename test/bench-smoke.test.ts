import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { FSDD_RECORDINGS, FSDD_ROOT } from './fsdd.js';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';
import { distUnusable, skipWhereMissing } from './built-dist.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/**
 * Every benchmark script runs as its own process with the smallest workload it accepts, and what
 * it prints is checked for shape and sanity — not for speed, which a test cannot judge. A bench that
 * no longer starts (a broken import, a renamed option, a fixture it lost) fails here, not on the day
 * someone needs its figures. The kiosk's benches (bench/web.ts, bench/web-soak.ts) are left out:
 * the kiosk tests drive the same page in Chromium, and the two would add two minutes.
 */
async function bench(args: string[]): Promise<{ stdout: string; json: any }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    maxBuffer: 1 << 26,
    env: { ...process.env, SPOKEN_DIGITS_DATA: FSDD_ROOT, SPOKEN_DIGITS_FSDD: FSDD_RECORDINGS },
  });
  const start = stdout.indexOf('{');
  return { stdout, json: start >= 0 ? JSON.parse(stdout.slice(start)) : undefined };
}

const finite = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x), `${what} is ${x}`);
const share = (x: unknown, what: string) => {
  finite(x, what);
  assert.ok((x as number) >= 0 && (x as number) <= 1, `${what} is ${x}`);
};

describe('benchmarks: each script runs end to end on a tiny workload', function () {
  this.timeout(240_000);

  it('bench/features.ts: native, wasm and Meyda, the stream core\'s scans and WSOLA, timed on FSDD clips', async () => {
    const { json } = await bench(['bench/features.ts', '--clips', '10', '--rounds', '1', '--json']);
    assert.equal(json.clips, 10);
    assert.deepEqual(
      json.results.map((r: { name: string }) => r.name),
      ['native', 'wasm', 'meyda'],
    );
    for (const r of json.results) finite(r.medianUs, `${r.name} median`);
    finite(json.ratios.wasmOverNative, 'wasm / native');
    assert.deepEqual(
      json.streamCoreScans.map((r: { name: string; calls: number }) => [r.name, r.calls]),
      ['speechExtent native', 'findValleys native', 'speechExtent wasm', 'findValleys wasm', 'wsola native', 'wsola wasm', 'wsola TypeScript'].map((name) => [name, 10]),
    );
    for (const r of json.streamCoreScans) finite(r.medianUs, `${r.name} median`);
  });

  it('bench/quantization.ts: fp32 and every int8 variant of a model, measured on the test split', async () => {
    const { json } = await bench(['bench/quantization.ts', '--models', 'models/small.onnx', '--calib', '20', '--runs', '20', '--json']);
    const rows = json.rows.filter((r: { model: string }) => r.model === 'small');
    assert.equal(rows[0].variant, 'fp32');
    assert.ok(rows.length >= 3, `${rows.length} rows`);
    for (const r of rows) {
      share(r.accuracy, `${r.variant} accuracy`);
      finite(r.p50us, `${r.variant} p50`);
    }
    assert.ok(rows[0].accuracy > 0.95, `fp32 accuracy ${rows[0].accuracy}`);
  });

  it('bench/tfjs-vs-ort.ts: the zoo in tfjs and ONNX Runtime gives the same outputs', async () => {
    const { json } = await bench(['bench/tfjs-vs-ort.ts', '--runs', '10', '--json']);
    assert.ok(json.rows.length >= 4, `${json.rows.length} architectures`);
    for (const r of json.rows) {
      assert.ok(r.maxDiff < 1e-4, `${r.arch}: tfjs and ONNX Runtime differ by ${r.maxDiff}`);
      finite(r.ort.p50, `${r.arch} ort p50`);
    }
  });

  it('bench/startup.ts: the built CLI predicts one file', async () => {
    const { json } = await bench(['bench/startup.ts', '--runs', '1', '--json']);
    assert.match(json.command, /^digits predict .*\.wav$/);
    finite(json.wallMs.p50, 'whole-process p50');
    finite(json.bareNodeMs.p50, 'bare node p50');
  });

  it('bench/listen-stop.ts: SIGTERM during an adaptation ends digits listen with its end event, the adaptation abandoned', async function () {
    skipWhereMissing(this, distUnusable());
    const { json } = await bench(['bench/listen-stop.ts', '--runs', '1', '--json']);
    assert.deepEqual([json.codes, json.ended, json.adaptingAtSignal, json.adaptedAfterSignal], [[143], true, 1, 0]);
    finite(json.exitMs.p50, 'exit after SIGTERM');
  });

  it('bench/stream.ts: strings, false events, soak and idle listening', async () => {
    const { json } = await bench(['bench/stream.ts', '--strings', '3', '--false-hours', '0.01', '--soak-minutes', '0.2', '--idle-seconds', '1', '--json']);
    assert.equal(json.strings.strings, 3);
    assert.ok(json.strings.digits >= 12, `${json.strings.digits} digits in 3 strings`);
    share(json.strings.digitErrorRate, 'digit error rate');
    share(json.strings.wholeStringAccuracy, 'whole-string accuracy');
    finite(json.latency.digitEventAfterSpeechMs.p50, 'latency p50');
    assert.ok(json.falseEvents.sounds > 0, 'no non-digit sounds played');
    assert.ok(json.soak.digits > 0, 'the soak recognised nothing');
    finite(json.idle.cpuPercentOfOneCore, 'idle CPU');
  });

  it('bench/live-latency.ts: one string at real time, its latency by the clock', async () => {
    const { json } = await bench(['bench/live-latency.ts', '--strings', '1', '--adapt-norm', '--json']);
    assert.ok(json.digits >= 4, `${json.digits} digits in a string`);
    share(json.digitErrorRate, 'digit error rate');
    assert.equal(json.adaptInBackground, true);
    finite(json.wallLatencyMs.p50, 'latency p50');
    assert.ok(json.wallLatencyMs.of >= 1, 'no digit event was timed');
  });

  it('bench/web-adapt.ts: a listening page adapts, in its Web Worker and then in line, and reports its thread', async function () {
    if (!fs.existsSync('/usr/bin/chromium')) throw new Error('/usr/bin/chromium is missing: apt-get install chromium (listed in .ci/run)');
    // 12 digits: the adaptation after the 10th happens with one or two of them missed.
    const { json } = await bench(['bench/web-adapt.ts', '--digits', '12', '--gap', '0.3', '--norm-only', '--json']);
    for (const mode of ['worker', 'inLine'] as const) {
      const r = json[mode];
      assert.deepEqual(r.errors, [], mode);
      assert.ok(r.heard >= 10, `${mode}: ${r.heard} of 12 digits heard`);
      assert.equal(r.adaptations, 1, `${mode}: adaptations`);
      assert.equal(r.offThread, mode === 'worker' ? 1 : 0, `${mode}: adapted off the thread`);
      finite(r.totalBlockingMs, `${mode} total blocking time`);
      finite(r.digitLateMs.max, `${mode} digit lateness`);
    }
  });

  it('bench/stream-errors.ts: every digit of the strings is accounted for', async () => {
    const { json } = await bench(['bench/stream-errors.ts', '--strings', '3', '--words', 'none', '--json']);
    const { counts, digits } = json.strings;
    assert.equal(counts.ok + counts.wrong + counts.rejected + counts.split + counts.merged + counts.lost, digits);
  });

  it('bench/stranger-strings.ts: fuses each fold\'s members (and with --enroll personalizes them) and streams the held-out speaker\'s strings', async () => {
    // Fold folders as `digits train --loso S --fold-models` lays them out, with the shipped small model standing in for
    // both members of theo's fold (CI trains no folds).
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-folds-'));
    try {
      // The second a copy with other bytes: fuseEnsemble refuses one model given twice.
      const second = decodeModel(fs.readFileSync(path.join(ROOT, 'models/small.onnx')));
      second.metadata['test.member'] = 'second';
      for (const [member, bytes] of [['lm-theo', fs.readFileSync(path.join(ROOT, 'models/small.onnx'))], ['mfcc-theo', encodeModel(second)]] as const) {
        fs.mkdirSync(path.join(runs, member, 'theo'), { recursive: true });
        fs.writeFileSync(path.join(runs, member, 'theo', 'model.onnx'), bytes);
      }
      const { json } = await bench(['bench/stranger-strings.ts', '--runs', `${runs}/lm-{speaker},${runs}/mfcc-{speaker}`, '--strings', '2', '--json']);
      assert.deepEqual(json.perSpeaker.map((r: { speaker: string }) => r.speaker), ['theo']);
      assert.equal(json.members.length, 2);
      assert.ok(json.pooled.digits >= 8, `${json.pooled.digits} digits in 2 strings`);
      share(json.pooled.digitErrorRate, 'digit error rate');
      share(json.pooled.wholeStringAccuracy, 'whole-string accuracy');
      share(json.threshold, 'threshold');
      const enrolled = await bench(['bench/stranger-strings.ts', '--runs', `${runs}/lm-{speaker},${runs}/mfcc-{speaker}`, '--strings', '2', '--enroll', '1', '--json']);
      assert.equal(enrolled.json.enroll, 1);
      assert.ok(enrolled.json.perSpeaker[0].enrolledShift > 0, 'the fold model was personalized first');
      await assert.rejects(bench(['bench/stranger-strings.ts', '--runs', `${runs}/nothing-{speaker}`]), /no speaker has a fold model/);
      await assert.rejects(bench(['bench/stranger-strings.ts', '--runs', `${runs}/lm-{speaker}`, '--enroll', '50']), /--enroll 50 must be 0-45/);
    } finally {
      fs.rmSync(runs, { recursive: true, force: true });
    }
  });

  it('bench/serve.ts: digits serve under load answers every request', async () => {
    const { json } = await bench(['bench/serve.ts', '--seconds', '1', '--json']);
    assert.ok(json.targets.length >= 2);
    for (const t of json.targets) assert.equal(t.failed, 0, `${t.target}: ${t.failed} failed`);
    assert.ok(json.targets[0].requestsPerSec > 0, 'the app shell was never served');
  });

  it('bench/capture.ts: the addon ring and naudiodon2 both capture from the null device', async function () {
    const { json } = await bench(['bench/capture.ts', '--seconds', '1', '--json']);
    // CI builds the addon with PortAudio and installs naudiodon2.
    skipWhereMissing(this, json.skipped.length ? json.skipped.map((s: { path: string; reason: string }) => `${s.path}: ${s.reason}`).join('; ') : null);
    assert.deepEqual(json.rows.map((r: { path: string }) => r.path), ['addon ring, JS polls every 20 ms', 'naudiodon2 Readable']);
    // The null device is unpaced: each path delivers far more than real time (16,000 frames/s).
    for (const r of json.rows) assert.ok(r.framesPerSec > 16000, `${r.path}: ${r.framesPerSec} frames/s`);
  });

  it('bench/pocketsphinx.ts: the peer runs, or says why it cannot', async () => {
    const { json } = await bench(['bench/pocketsphinx.ts', '--json']);
    // Installed, it must run; not installed (CI does not install it), it must say so, not fail.
    if (json.available) share(json.accuracy, 'PocketSphinx accuracy');
    else assert.match(json.reason, /is not installed \(apt-get install pocketsphinx/);
  });

  it('options: a mistyped option or a bad value is refused with the usage, not run with the defaults; --help prints it', async () => {
    for (const [args, message] of [
      [['bench/stream.ts', '--strngs', '3'], /Unknown option '--strngs'/],
      [['bench/stream.ts', '--strings', 'three'], /--strings takes a number, not "three"/],
      [['bench/stream.ts', '--split', '{earlySplit:false}'], /--split takes a JSON object/],
      [['bench/stream-errors.ts', '--words', 'lots'], /--words takes bench, dev, real or none/],
      [['bench/quantization.ts', '--model', 'x.onnx'], /Unknown option '--model'/],
    ] as const) {
      await assert.rejects(bench([...args]), (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2, args.join(' '));
        assert.match(err.stderr, message);
        assert.match(err.stderr, /npx tsx bench\/(stream|stream-errors|quantization)\.ts/);
        return true;
      });
    }
    const { stdout } = await bench(['bench/stream.ts', '--help']);
    assert.match(stdout, /^Streaming benchmark/);
    assert.match(stdout, /--false-hours 1/);
  });
});

describe('scripts/loso-enroll.ts: enrolls each fold model\'s held-out speaker and scores the rest of their clips', function () {
  this.timeout(240_000);

  it('scores a speaker before and after an enrollment of one clip per digit, and refuses bad options', async () => {
    // A stand-in fold: the shipped single model under a held-out speaker's name (it trained on george,
    // so this checks the plumbing, not the gain).
    const run = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-enroll-'));
    fs.mkdirSync(path.join(run, 'george'));
    fs.copyFileSync(path.join(ROOT, 'models', 'small.onnx'), path.join(run, 'george', 'model.onnx'));
    const { json } = await bench(['scripts/loso-enroll.ts', path.join(run, 'george', 'model.onnx'), '--per-digit', '1', '--steps', '30', '--json']);
    assert.equal(json.rows.length, 1);
    const [row] = json.rows;
    assert.equal(row.speaker, 'george');
    assert.equal(row.testClips, 490);
    for (const when of ['before', 'after']) for (const count of ['top', 'decided']) share(row[when][count], `${when} ${count}`);
    assert.ok(row.before.top > 0.9 && row.after.top > 0.9, `a training voice: ${row.before.top} -> ${row.after.top}`);
    await assert.rejects(bench(['scripts/loso-enroll.ts', path.join(run, 'george', 'model.onnx'), '--per-digit', '0']), /usage: npx tsx scripts\/loso-enroll.ts/);
  });
});
