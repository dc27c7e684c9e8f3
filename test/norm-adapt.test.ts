import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWavFile } from '../src/audio/index.js';
import { voiceShift } from '../src/audio/voice-shift.js';
import { listFsddClips, officialSplit } from '../src/data/index.js';
import { AudioInputError, ModelError, OptionsError, SpokenDigitsError, WavFormatError } from '../src/errors.js';
import { evaluate } from '../src/model/evaluate.js';
import { NORM_TARGETS_KEY, applyNormalization, parseNormTargets } from '../src/model/norm-adapt.js';
import { AdaptProcess } from '../src/model/adapt-process.js';
import { NormAdapter } from '../src/model/norm-adapter.js';
import { FSDD_TARGET_CLIPS, withMeasuredNormTargets } from '../src/model/norm-targets.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { fuseEnsemble } from '../src/train/onnx/fuse.js';
import { decodeModel, encodeModel } from '../src/train/onnx/graph.js';
import { quantizeModel } from '../src/train/onnx/quantize.js';
import { Listener, openReadableSource } from '../src/stream/index.js';
import { Readable } from 'node:stream';
import { childPids, isRunning } from './fixtures/processes.js';
import { NormObserver, type NormAdaptFailedEvent } from '../src/stream/norm-observer.js';
import type { StreamDecoder } from '../src/stream/decoder.js';
import { FSDD_RECORDINGS } from './fsdd.js';
import { monoWav } from './fixtures/wav.js';
import { concatFloat, editDistance, silence, spokenWords } from './stream/fixtures.js';

const INT8 = new Uint8Array(readFileSync('models/default.int8.onnx'));
const SMALL = new Uint8Array(readFileSync('models/small.onnx'));
const clips = listFsddClips(FSDD_RECORDINGS);
const convCount = (bytes: Uint8Array) => decodeModel(bytes).graph.nodes.filter((n) => n.op === 'Conv').length;
const withoutTargets = (bytes: Uint8Array) => {
  const m = decodeModel(bytes);
  delete m.metadata[NORM_TARGETS_KEY];
  return encodeModel(m);
};

/** A stand-in stream decoder for NormObserver: every segment's audio is 10 ms of silence at 8 kHz. */
const FAKE_DECODER = { audioBetween: () => new Float32Array(80), sampleRate: 8000 } as unknown as StreamDecoder;

/** `observer` takes `n` speech segments of `type`: digits, or words the decoder rejected as not digits. */
function segments(observer: NormObserver, n: number, type: 'digit' | 'rejected' = 'digit'): void {
  for (let i = 0; i < n; i++) observer.take(FAKE_DECODER, type, type === 'digit' ? { startMs: 0, endMs: 10 } : { startMs: 0, endMs: 10, reason: 'not-a-digit' });
}

/** `chosen` clips in a row, 0.6 s apart, after 0.5 s of silence (8 kHz). */
async function clipStream(chosen: readonly { path: string }[]): Promise<Float32Array> {
  const parts: Float32Array[] = [silence(0.5)];
  for (const c of chosen) parts.push((await readWavFile(c.path)).samples, silence(0.6));
  return concatFloat(parts);
}

/** A speaker's test clips with the voice moved (pitch and formants): a voice the model has not heard. */
async function stranger(speaker: string, factor: number, backend: DigitRecognizer['backend'], takes = 5) {
  const mine = clips.filter((c) => c.speaker === speaker && c.take < takes);
  return Promise.all(
    mine.map(async (c) => {
      const a = await readWavFile(c.path);
      return { samples: voiceShift(a.samples, a.sampleRate, factor, backend), sampleRate: a.sampleRate, digit: c.digit };
    }),
  );
}

describe('normalization adaptation (src/model/norm-adapt.ts, NormAdapter)', function () {
  this.timeout(240_000);

  it('every shipped model carries targets for each of its convs, and they are what the FSDD train split measures', async () => {
    for (const file of ['default.onnx', 'default.int8.onnx', 'small.onnx', 'small.int8.onnx']) {
      const bytes = new Uint8Array(readFileSync(`models/${file}`));
      const t = parseNormTargets(decodeModel(bytes).metadata, file)!;
      assert.ok(t, `${file} has no targets`);
      assert.equal(t.layers.length, convCount(bytes), file);
      assert.equal(t.clips, 2700, file);
      assert.equal(t.data, FSDD_TARGET_CLIPS);
      assert.ok(t.variance.every((v) => v >= 0));
    }
    // Measured again (the int8 default: 4-bit weights unpacked in the graph), byte for byte.
    const again = await withMeasuredNormTargets(withoutTargets(INT8), officialSplit(clips).train.map((c) => c.path), FSDD_TARGET_CLIPS);
    assert.equal(decodeModel(again).metadata[NORM_TARGETS_KEY], decodeModel(INT8).metadata[NORM_TARGETS_KEY]);
  });

  it('on the training voices themselves it changes next to nothing; on a voice moved out of their range it gains', async () => {
    const rec = await DigitRecognizer.load({ model: INT8, threshold: 0 });
    try {
      assert.equal(rec.canAdaptNormalization, true);
      // 300 train clips of all six speakers: each layer's statistics near its targets.
      const train = officialSplit(clips).train.filter((_, i) => i % 9 === 0);
      const before = await rec.predictBatch(clips.filter((c) => c.take < 5).map((c) => c.path));
      await rec.adaptNormalization(train.map((c) => c.path));
      assert.equal(rec.normalizationClips, train.length);
      const after = await rec.predictBatch(clips.filter((c) => c.take < 5).map((c) => c.path));
      const agree = after.filter((p, i) => p.digit === before[i].digit).length;
      assert.ok(agree >= 298, `adapted to the training voices, ${agree} of 300 test answers kept`);
      await rec.resetNormalization();
      assert.equal(rec.normalizationClips, 0);

      // theo and nicolas a quarter lower (x0.75): the model as shipped, then adapted on the same clips (no labels).
      const low = [...(await stranger('theo', 0.75, rec.backend)), ...(await stranger('nicolas', 0.75, rec.backend))];
      const right = async () => (await rec.predictBatch(low)).filter((p, i) => p.digit === low[i].digit).length;
      const plain = await right();
      await rec.adaptNormalization(low);
      const adapted = await right();
      assert.ok(adapted >= plain + 2, `deeper voices: ${plain} -> ${adapted} of ${low.length}`);
      await rec.resetNormalization();
      assert.equal(await right(), plain);
    } finally {
      await rec.dispose();
    }
  });

  it('self-enrollment: the last layers refitted on what the adapted model hears gains on a new voice, only once every digit was heard, and takes no more words for digits', async () => {
    const rec = await DigitRecognizer.load({ model: INT8, threshold: 0 });
    try {
      // One speaker's 200 clips (what a NormAdapter with selfEnroll keeps), a quarter lower than he spoke.
      const low = await stranger('theo', 0.75, rec.backend, 20);
      const words = ['hello', 'window', 'apple', 'yellow', 'kitchen', 'tomorrow', 'music', 'stop'].map((w) => ({ samples: spokenWords(w), sampleRate: 8000 }));
      const measure = async () => ({
        right: (await rec.predictBatch(low)).filter((p, i) => p.digit === low[i].digit).length,
        wordsAsDigits: (await rec.predictBatch(words)).filter((p) => p.isDigit).length,
      });
      const plain = await measure();
      await rec.adaptNormalization(low);
      const norm = await measure();
      await rec.adaptNormalization(low, { selfEnroll: true });
      const enrolled = await measure();
      assert.ok(enrolled.right >= norm.right + 4, `a deeper voice: ${plain.right} as shipped, ${norm.right} adapted, ${enrolled.right} self-enrolled, of ${low.length}`);
      assert.ok(enrolled.wordsAsDigits <= norm.wordsAsDigits, `words taken for digits: ${plain.wordsAsDigits} as shipped, ${norm.wordsAsDigits} adapted, ${enrolled.wordsAsDigits} self-enrolled`);
      // Clips that never sound like a "9" to the model: no refit (it would learn to avoid 9), the normalization alone.
      const noNine = low.filter((c) => c.digit !== 9);
      await rec.adaptNormalization(noNine);
      const normOnly = (await rec.predictBatch(low)).map((p) => p.probabilities);
      await rec.adaptNormalization(noNine, { selfEnroll: true });
      assert.deepEqual((await rec.predictBatch(low)).map((p) => p.probabilities), normOnly);
      await rec.resetNormalization();
      assert.equal((await measure()).right, plain.right);
    } finally {
      await rec.dispose();
    }
  });

  it('off the thread: the same model as in line, self-enrolled or not, without holding up the event loop; errors keep their kind; dispose ends it', async () => {
    const rec = await DigitRecognizer.load({ model: INT8, threshold: 0 });
    try {
      const low = await stranger('theo', 0.75, rec.backend, 20);
      // The longest the event loop went without running a 5 ms timer while `work` ran.
      const longestStall = async (work: () => Promise<unknown>) => {
        let last = performance.now();
        let longest = 0;
        const timer = setInterval(() => {
          const now = performance.now();
          longest = Math.max(longest, now - last);
          last = now;
        }, 5);
        try {
          await work();
        } finally {
          clearInterval(timer);
        }
        return Math.max(longest, performance.now() - last);
      };
      for (const selfEnroll of [false, true]) {
        let result: unknown;
        const inLine = await longestStall(async () => (result = await rec.adaptNormalization(low, { selfEnroll })));
        assert.deepEqual(result, { selfEnrolled: selfEnroll, offThread: false });
        const expected = (await rec.predictBatch(low)).map((p) => p.probabilities);
        await rec.resetNormalization();
        await rec.adaptNormalization(low.slice(0, 2), { offThread: true }); // the thread started and loaded
        const offThread = await longestStall(async () => (result = await rec.adaptNormalization(low, { selfEnroll, offThread: true })));
        assert.deepEqual(result, { selfEnrolled: selfEnroll, offThread: true });
        assert.deepEqual((await rec.predictBatch(low)).map((p) => p.probabilities), expected, `selfEnroll ${selfEnroll}: off the thread, another model`);
        // Mostly relative to the same work in line, so a busy machine (a CI run beside it: 171 ms against 1,894) does not fail it.
        assert.ok(offThread < inLine / 3, `selfEnroll ${selfEnroll}: the event loop stalled ${offThread.toFixed(0)} ms off the thread, ${inLine.toFixed(0)} ms in line`);
      }
      // A clip the worker refuses is refused as in line, with its kind; the thread goes on after it.
      const empty = { samples: new Float32Array(0), sampleRate: 8000 };
      await assert.rejects(rec.adaptNormalization([low[0], empty], { offThread: true }), (err: unknown) => err instanceof AudioInputError && /empty/.test(String(err)));
      await assert.rejects(rec.adaptNormalization([low[0], monoWav(new Float32Array(800), 8000).subarray(0, 30)], { offThread: true }), WavFormatError);
      await rec.adaptNormalization(low.slice(0, 10), { offThread: true });
      assert.equal(rec.normalizationClips, 10);
      // Disposed while one runs: it fails with a ModelError, nothing hangs.
      const failed = assert.rejects(rec.adaptNormalization(low, { selfEnroll: true, offThread: true }), /disposed during a normalization adaptation/);
      await new Promise((r) => setTimeout(r, 50));
      await rec.dispose();
      await failed;
      await assert.rejects(rec.adaptNormalization(low, { offThread: true }), /disposed/);
    } finally {
      await rec.dispose();
    }
  });

  it('in a worker process: process.exit() while it computes ends the process cleanly and the worker after it; dispose() of an idle one waits for it; a worker that dies fails its adaptation, and the next starts another; an idle one ends', async () => {
    // onnxruntime-node aborts a process (status 134) whose worker thread is ended inside a model run,
    // as process.exit() ends every thread: the reason the worker is a process.
    const fixture = new URL('./fixtures/exit-during-adaptation.ts', import.meta.url).pathname;
    for (const delay of [600, 1200]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', fixture, FSDD_RECORDINGS, String(delay)], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.signal, null, `exit after ${delay} ms: killed by ${run.signal}; ${run.stderr}`);
      assert.equal(run.status, 0, `exit after ${delay} ms: status ${run.status}; ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /terminate called|Napi::Error/);
      const { workers } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { workers: number[] };
      assert.equal(workers.length, 1, `exit after ${delay} ms: one worker process running, found ${workers.length}`);
      const deadline = Date.now() + 15_000;
      while (isRunning(workers[0]) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(!isRunning(workers[0]), `exit after ${delay} ms: the worker ${workers[0]} still runs 15 s after its parent ended`);
    }
    // dispose() after the worker went idle: the process waits for it and goes on (it once ended under the await, status 13).
    const disposed = spawnSync(process.execPath, ['--import', 'tsx', fixture, FSDD_RECORDINGS, 'dispose'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(disposed.status, 0, disposed.stderr);
    const after = JSON.parse(disposed.stdout.trim().split('\n').pop()!) as { disposed: boolean; workers: number[] };
    assert.equal(after.disposed, true);
    assert.equal(after.workers.length, 1);
    assert.ok(!isRunning(after.workers[0]), 'dispose() ended the worker');
    const rec = await DigitRecognizer.load({ model: INT8, threshold: 0 });
    try {
      const low = await stranger('theo', 0.75, rec.backend, 20);
      await rec.adaptNormalization(low.slice(0, 2), { offThread: true });
      const [worker] = childPids(process.pid, 'adapt-worker');
      assert.ok(worker, 'the worker process runs');
      const failed = assert.rejects(rec.adaptNormalization(low, { selfEnroll: true, offThread: true }), (err: unknown) => err instanceof ModelError && /exited \(signal SIGKILL\)/.test(err.message));
      process.kill(worker, 'SIGKILL');
      await failed;
      await rec.adaptNormalization(low, { offThread: true });
      assert.equal(rec.normalizationClips, low.length);
      // Idle, the worker ends and gives its memory back; the next adaptation starts another.
      const idle = AdaptProcess.start({ model: INT8, source: 'default.int8.onnx', backend: rec.backend.name, session: {}, maxDurationSec: 60 }, 300)!;
      try {
        await idle.adapt(low, 1, false);
        const first = idle.pid!;
        assert.ok(isRunning(first));
        // It ends 300 ms after its last answer; a loaded machine may take longer to reap it.
        const deadline = Date.now() + 10_000;
        while ((idle.pid !== null || isRunning(first)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.equal(idle.pid, null);
        assert.ok(!isRunning(first), 'the idle worker ended');
        const { model } = await idle.adapt(low, 1, false);
        assert.ok(model.length > 0 && idle.pid !== first);
      } finally {
        await idle.close();
      }
    } finally {
      await rec.dispose();
    }
  });

  it('folds the adaptation into each conv (int8: its dequantization scales and int32 bias): the same answers as a Mul and Add after it, the graph unchanged', async () => {
    const some = clips.filter((c) => c.take === 7).map((c) => c.path);
    for (const [name, bytes, tolerance] of [['small fp32', SMALL, 1e-4], ['default int8', INT8, 0.03]] as const) {
      const n = parseNormTargets(decodeModel(bytes).metadata)!.mean.length;
      // A made-up adaptation, far from identity: scales 0.6-1.6, shifts -0.3..0.3.
      const a = Float32Array.from({ length: n }, (_, i) => 0.6 + ((i * 37) % 100) / 100);
      const c = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i));
      const folded = applyNormalization(bytes, a, c);
      const explicit = applyNormalization(bytes, a, c, { fold: false });
      assert.equal(decodeModel(folded).graph.nodes.length, decodeModel(bytes).graph.nodes.length, name);
      assert.equal(decodeModel(explicit).graph.nodes.length, decodeModel(bytes).graph.nodes.length + 2 * convCount(bytes), name);
      const [f, e] = await Promise.all([folded, explicit].map(async (model) => {
        const r = await DigitRecognizer.load({ model, threshold: 0 });
        try {
          return await r.predictBatch(some);
        } finally {
          await r.dispose();
        }
      }));
      const worst = Math.max(...f.flatMap((p, i) => Array.from(p.probabilities, (v, k) => Math.abs(v - e[i].probabilities[k]))));
      assert.ok(worst <= tolerance, `${name}: probabilities differ by ${worst}`);
      assert.ok(f.filter((p, i) => p.candidate === e[i].candidate).length >= some.length - 1, name);
    }
  });

  it('digits eval --adapt-norm protocol: online per speaker, reported, and the recognizer left as loaded', async () => {
    const rec = await DigitRecognizer.load({ model: SMALL });
    try {
      const items = clips.filter((c) => c.speaker === 'jackson' && c.take < 3).map((c) => ({ path: c.path, label: c.digit, speaker: c.speaker }));
      const r = await evaluate(rec, items, { adaptNorm: { every: 5, window: 10 } });
      assert.equal(r.n, 30);
      assert.ok(r.accuracy! >= 0.9, String(r.accuracy));
      assert.deepEqual({ ...r.normAdaptation, protocol: undefined }, { every: 5, window: 10, selfEnroll: false, adaptations: { jackson: Math.floor(r.n * (1 - r.falseReject!) / 5) }, protocol: undefined });
      assert.equal(rec.normalizationClips, 0);
      await assert.rejects(evaluate(rec, items, { adaptNorm: true, adaptVoice: true }), /one at a time/);
      // With selfEnroll the adapter keeps 200 clips by default, and says it refits.
      const enrolled = await evaluate(rec, items, { adaptNorm: { selfEnroll: true } });
      assert.deepEqual([enrolled.normAdaptation?.window, enrolled.normAdaptation?.selfEnroll], [200, true]);
      const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', FSDD_RECORDINGS, '--split', 'test', '--self-enroll'], { encoding: 'utf8' });
      assert.equal(cli.status, 2);
      assert.match(cli.stderr, /use it with --adapt-norm/);
    } finally {
      await rec.dispose();
    }
  });

  it('refuses what it cannot adapt: no targets, targets of another model, too few clips, bad adapter options', async () => {
    const bare = await DigitRecognizer.load({ model: withoutTargets(SMALL) });
    const two = clips.slice(0, 2).map((c) => c.path);
    try {
      assert.equal(bare.canAdaptNormalization, false);
      await assert.rejects(bare.adaptNormalization(two), (e: Error) => e instanceof ModelError && /no normalization targets/.test(e.message));
      await assert.rejects(Listener.create({ recognizer: bare, adaptNorm: true }), (e: Error) => e instanceof SpokenDigitsError && e.code === 'ERR_ADAPT_NORM');
    } finally {
      await bare.dispose();
    }
    // The small model's targets on the default's graph name convs it does not have.
    const m = decodeModel(INT8);
    m.metadata[NORM_TARGETS_KEY] = decodeModel(SMALL).metadata[NORM_TARGETS_KEY];
    const wrong = await DigitRecognizer.load({ model: encodeModel(m) });
    try {
      await assert.rejects(wrong.adaptNormalization(two), (e: Error) => e instanceof ModelError && /measured on another model/.test(e.message));
      await assert.rejects(wrong.adaptNormalization(two.slice(0, 1)), AudioInputError);
      assert.throws(() => applyNormalization(INT8, new Float32Array(3), new Float32Array(3)), /one value per conv channel/);
      assert.throws(() => new NormAdapter(wrong, { every: 1 }), OptionsError);
      assert.throws(() => new NormAdapter(wrong, { every: 10, window: 5 }), OptionsError);
    } finally {
      await wrong.dispose();
    }
    // Metadata that is not targets.
    const bad = decodeModel(SMALL);
    bad.metadata[NORM_TARGETS_KEY] = '{"layers": [["x", 2]], "mean": "AAAA", "variance": "AAAA"}';
    assert.throws(() => parseNormTargets(bad.metadata), /holds 0.75 values|holds 1 values, the layers 2/);
  });

  it('fusing and quantizing drop the targets (they name values those rename); they are measured again on the result', async () => {
    assert.ok(decodeModel(SMALL).metadata[NORM_TARGETS_KEY]);
    // A second member with other bytes (fuseEnsemble refuses one model twice); only the metadata is looked at.
    const copy = decodeModel(SMALL);
    copy.metadata['test.member'] = 'second';
    const fused = fuseEnsemble([SMALL, encodeModel(copy)]);
    assert.equal(decodeModel(fused).metadata[NORM_TARGETS_KEY], undefined);
    // Calibrated on random features: only the metadata is looked at.
    const data = Float32Array.from({ length: 4 * 64 * 32 }, (_, i) => Math.sin(i * 0.37));
    const int8 = await quantizeModel(SMALL, [{ data, dims: [4, 64, 32] }]);
    assert.equal(decodeModel(int8).metadata[NORM_TARGETS_KEY], undefined);
    const measured = await withMeasuredNormTargets(int8, clips.slice(0, 20).map((c) => c.path), 'twenty clips');
    assert.equal(parseNormTargets(decodeModel(measured).metadata)!.layers.length, convCount(int8));
  });

  it('a Listener with adaptNorm adapts between segments every 10 digits, and hears the string no worse', async () => {
    const rec = await DigitRecognizer.load({ model: INT8 });
    try {
      const theo = clips.filter((c) => c.speaker === 'theo' && c.take < 2);
      const audio = await clipStream(theo);
      const spoken = theo.map((c) => c.digit).join('');
      const listen = async (adaptNorm: boolean, adaptInBackground?: boolean) => {
        const listener = await Listener.create({ recognizer: rec, adaptNorm, adaptInBackground, sampleRate: 8000 });
        const adapted: number[] = [];
        const order: string[] = [];
        let heard = '';
        listener.on('normadapt', (e) => (adapted.push(e.clips), order.push(e.offThread ? 'normadapt in a worker' : 'normadapt')));
        listener.on('digit', (e) => (heard += e.digit));
        listener.on('end', () => order.push('end'));
        listener.push(audio, 8000);
        await listener.end();
        return { adapted, heard, order };
      };
      const plain = await listen(false);
      const adapting = await listen(true);
      assert.deepEqual(plain.adapted, []);
      assert.deepEqual(adapting.adapted, [10, 20]);
      // Pushed audio waits for each adaptation, which runs in the worker process: the event loop stays free.
      assert.deepEqual(adapting.order, ['normadapt in a worker', 'normadapt in a worker', 'end']);
      assert.equal(rec.normalizationClips, 20);
      assert.ok(editDistance(adapting.heard, spoken) <= Math.max(1, editDistance(plain.heard, spoken)), `heard ${adapting.heard} (without adapting ${plain.heard}) for ${spoken}`);
      // Beside the decoding: the stream does not wait for the first adaptation (pushed at once, it is
      // past the 20th digit before it ends, so the second starts later or not at all), and the end does.
      const beside = await listen(true, true);
      assert.equal(beside.adapted[0], 10);
      assert.equal(beside.order.at(-1), 'end');
      assert.ok(editDistance(beside.heard, spoken) <= Math.max(1, editDistance(plain.heard, spoken)), `heard ${beside.heard} for ${spoken}`);
      // 'auto' (a pipe of unknown pace, `digits listen --input -`): a stream read as fast as it comes is
      // soon far ahead of the clock, and from then on waits for each adaptation, as pushed audio does.
      const piped = async (adaptInBackground: boolean | 'auto') => {
        const listener = await Listener.create({ recognizer: rec, adaptNorm: true, adaptInBackground });
        const adapted: number[] = [];
        listener.on('normadapt', (e) => adapted.push(e.clips));
        const bytes = Buffer.from(monoWav(audio, 8000));
        const parts = Array.from({ length: Math.ceil(bytes.length / 4096) }, (_, i) => bytes.subarray(i * 4096, (i + 1) * 4096));
        await listener.run(await openReadableSource(Readable.from(parts)));
        return adapted;
      };
      assert.deepEqual(await piped('auto'), [10, 20]);
      assert.deepEqual((await piped(true))[0], 10);
      await assert.rejects(Listener.create({ recognizer: rec, adaptInBackground: 'sometimes' as never }), /adaptInBackground must be true, false or 'auto', got "sometimes"/);
    } finally {
      await rec.dispose();
    }
  });

  it('cancelAdaptation: an adaptation in the worker process is abandoned in its run (superseded, the model in use kept, the worker ended); the next starts another; with none under way it does nothing', async () => {
    const rec = await DigitRecognizer.load({ model: INT8, threshold: 0 });
    try {
      const low = await stranger('theo', 0.75, rec.backend, 20);
      await rec.adaptNormalization(low.slice(0, 10), { offThread: true });
      const kept = (await rec.predictBatch(low)).map((p) => p.probabilities);
      const worker = rec['worker']!.pid!;
      // Nothing under way: the idle worker stays for the next adaptation.
      await rec.cancelAdaptation();
      assert.equal(rec['worker']!.pid, worker);
      // Its time in full, for the message: what cancelling spares a stop.
      let started = performance.now();
      await rec.adaptNormalization(low, { selfEnroll: true, offThread: true });
      const fullMs = performance.now() - started;
      await rec.adaptNormalization(low.slice(0, 10), { offThread: true });
      const adapting = rec.adaptNormalization(low, { selfEnroll: true, offThread: true });
      await new Promise((r) => setTimeout(r, 30));
      const running = rec['worker']!.pid!;
      started = performance.now();
      await rec.cancelAdaptation();
      assert.deepEqual(await adapting, { superseded: true, selfEnrolled: false, offThread: true });
      const cancelMs = performance.now() - started;
      assert.ok(!isRunning(running), 'the worker computing it was ended');
      assert.equal(rec.normalizationClips, 10, 'the adaptation in use before it stays');
      assert.deepEqual((await rec.predictBatch(low)).map((p) => p.probabilities), kept);
      assert.ok(cancelMs < fullMs, `cancelled in ${cancelMs.toFixed(0)} ms; the adaptation takes ${fullMs.toFixed(0)} ms`);
      // A later adaptation is made as usual, by another worker.
      assert.deepEqual(await rec.adaptNormalization(low, { offThread: true }), { selfEnrolled: false, offThread: true });
      assert.equal(rec.normalizationClips, low.length);
      assert.notEqual(rec['worker']!.pid, running);
      // One in line cannot be stopped in its run: it ends, and is not installed.
      const inLine = rec.adaptNormalization(low.slice(0, 4));
      await rec.cancelAdaptation();
      assert.equal((await inLine).superseded, true);
      assert.equal(rec.normalizationClips, low.length);
      // A reset under way is not an adaptation: cancelling leaves it to land.
      const reset = rec.resetNormalization();
      await rec.cancelAdaptation();
      await reset;
      assert.equal(rec.normalizationClips, 0);
    } finally {
      await rec.dispose();
    }
  });

  it('a Listener stopped during an adaptation does not wait for it: it is abandoned (no normadapt event, the model in use kept), and stop() ends the stream at once', async () => {
    const rec = await DigitRecognizer.load({ model: INT8 });
    try {
      const theo = clips.filter((c) => c.speaker === 'theo' && c.take < 2);
      const audio = await clipStream(theo);
      const results: Promise<unknown>[] = [];
      const adapt = rec.adaptNormalization.bind(rec);
      let onAdapt = (): void => undefined;
      rec.adaptNormalization = (inputs, options) => {
        const result = adapt(inputs, options);
        results.push(result);
        onAdapt();
        return result;
      };
      // The stream waits for each adaptation (adaptInBackground false), so it is under way when stop() comes.
      const listener = await Listener.create({ recognizer: rec, adaptNorm: { selfEnroll: true }, adaptInBackground: false, sampleRate: 8000 });
      const events: string[] = [];
      listener.on('normadapt', () => events.push('normadapt'));
      listener.on('digit', () => events.push('digit'));
      let stoppedAt = 0;
      onAdapt = () => void setTimeout(() => ((stoppedAt = performance.now()), void listener.stop()), 30);
      // In 0.1 s blocks, as live audio comes: a stop takes effect between two.
      for (let i = 0; i < audio.length; i += 800) listener.push(audio.subarray(i, i + 800), 8000);
      const summary = await listener.end();
      const stopMs = performance.now() - stoppedAt;
      assert.equal(results.length, 1, 'one adaptation began');
      assert.deepEqual(await results[0], { superseded: true, selfEnrolled: false, offThread: true });
      assert.equal(events.filter((e) => e === 'digit').length, 10, 'stopped at the 10th digit, where the adaptation began');
      assert.ok(!events.includes('normadapt'));
      assert.equal(summary.digitCount, 10);
      assert.equal(rec.normalizationClips, 0);
      // The same adaptation in full, for comparison: a stop no longer waits this long.
      const started = performance.now();
      await adapt(theo.slice(0, 10).map((c) => readFileSync(c.path)), { selfEnroll: true, offThread: true });
      const fullMs = performance.now() - started;
      assert.ok(stopMs < fullMs, `the stream ended ${stopMs.toFixed(0)} ms after stop(); the adaptation takes ${fullMs.toFixed(0)} ms`);
    } finally {
      await rec.dispose();
    }
  });

  it('NormObserver: in the background an adaptation runs beside the decoding, one at a time; a drop and settle() wait for it; a failure is reported, not thrown', async () => {
    const calls: string[] = [];
    const offThread: boolean[] = [];
    let release: (() => void) | null = null;
    let failNext = false;
    const fake = {
      adaptNormalization: (c: readonly { samples: Float32Array }[], options?: { offThread?: boolean }) =>
        new Promise<void>((resolve, reject) => {
          calls.push(`adapt ${c.length}`);
          offThread.push(options?.offThread ?? false);
          release = () => (failNext ? reject(new Error('injected')) : resolve());
        }),
      resetNormalization: async () => void calls.push('reset'),
    };
    const adapter = new NormAdapter<{ samples: Float32Array; sampleRate: number }>(fake, { every: 2, window: 10, minDigitShare: 0.5, shareOf: 4 });
    const events: boolean[] = [];
    const errors: NormAdaptFailedEvent[] = [];
    const observer = new NormObserver(adapter, (e) => events.push(e.dropped), (e) => errors.push(e));
    const segment = (type: 'digit' | 'rejected') => segments(observer, 1, type);
    observer.background = true;
    segment('digit');
    segment('digit');
    await observer.flush(); // returns with the adaptation under way
    assert.deepEqual([calls, events], [['adapt 2'], []]);
    segment('digit');
    segment('digit');
    await observer.flush(); // due again, but one runs: none started
    assert.deepEqual(calls, ['adapt 2']);
    release!();
    await observer.settle();
    assert.deepEqual(events, [false]);
    segment('digit');
    await observer.flush(); // the next digit starts the one that was due, on every clip kept meanwhile
    assert.deepEqual(calls, ['adapt 2', 'adapt 5']);
    // Words: a drop is due, and waits for the adaptation under way.
    for (let i = 0; i < 3; i++) segment('rejected');
    const flushed = observer.flush();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(calls, ['adapt 2', 'adapt 5']);
    release!();
    await flushed;
    assert.deepEqual([calls, events], [['adapt 2', 'adapt 5', 'reset'], [false, false, true]]);
    // A background failure goes to the failure handler, not to an unhandled rejection.
    for (let i = 0; i < 4; i++) segment('digit');
    await observer.flush();
    failNext = true;
    release!();
    await observer.settle();
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /injected/);
    assert.equal(errors[0].error.message, errors[0].message);
    assert.deepEqual([errors[0].failures, errors[0].stopped, observer.stopped], [1, false, false]);
    // Not in the background: flush waits for the adaptation.
    observer.background = false;
    failNext = false;
    segment('digit');
    segment('digit');
    const waiting = observer.flush();
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(done, false);
    release!();
    await waiting;
    // Beside the decoding or holding it up, each adaptation runs off the thread; with offThread false, in line.
    observer.offThread = false;
    segment('digit');
    segment('digit');
    const inLine = observer.flush();
    await new Promise((r) => setTimeout(r, 20));
    release!();
    await inLine;
    assert.deepEqual(offThread, [true, true, true, true, false]);
    // Turned from beside the decoding to waiting while one runs (a pipe found to be a file, 'auto'): the
    // next flush waits for the one running, and the one due meanwhile follows it, waited for too.
    observer.offThread = true;
    observer.background = true;
    segment('digit');
    segment('digit');
    await observer.flush();
    const running = calls.length;
    observer.background = false;
    segment('digit');
    segment('digit');
    const after = observer.flush();
    let over = false;
    void after.then(() => (over = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([calls.length, over], [running, false], 'the due one waits for the one running');
    release!();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([calls.length, over], [running + 1, false], 'then starts, and is waited for');
    release!();
    await after;
  });

  it('NormObserver: failures in a row stop the adapting after maxFailures (a success starts the count again; clear() too); a drop that failed is due again', async () => {
    const calls: string[] = [];
    let fail = true;
    let failReset = false;
    const fake = {
      adaptNormalization: async (c: readonly unknown[]) => {
        calls.push(`adapt ${c.length}`);
        if (fail) throw new ModelError('worker exited (signal SIGKILL)');
      },
      resetNormalization: async () => {
        calls.push('reset');
        if (failReset) throw new ModelError('no session');
      },
    };
    const adapter = new NormAdapter<{ samples: Float32Array; sampleRate: number }>(fake, { every: 2, window: 10, minDigitShare: 0.5, shareOf: 4 });
    const adapted: boolean[] = [];
    const failed: NormAdaptFailedEvent[] = [];
    const observer = new NormObserver(adapter, (e) => adapted.push(e.dropped), (e) => failed.push(e));
    const digits = async (n: number) => {
      segments(observer, n);
      await observer.flush(); // never throws
    };
    await digits(2);
    assert.deepEqual([adapter.adapted, failed.map((f) => [f.failures, f.stopped])], [false, [[1, false]]]);
    fail = false;
    await digits(2);
    assert.deepEqual([adapter.adapted, adapted], [true, [false]]);
    fail = true;
    await digits(6);
    assert.deepEqual(
      failed.map((f) => [f.failures, f.stopped]),
      [[1, false], [1, false], [2, false], [3, true]],
    );
    assert.ok(failed.every((f) => f.error instanceof ModelError && /SIGKILL/.test(f.message)));
    // Stopped: no more attempts, and the adaptation that succeeded stays.
    await digits(4);
    assert.equal(calls.filter((c) => c.startsWith('adapt')).length, 5);
    assert.deepEqual([observer.stopped, adapter.adapted], [true, true]);
    // Stopped adapting, but words still drop the adaptation in use; that drop does not start adapting again.
    segments(observer, 3, 'rejected');
    await observer.flush();
    assert.deepEqual([calls.at(-1), adapter.adapted, adapted.at(-1), observer.stopped], ['reset', false, true, true]);
    fail = false;
    await digits(6);
    assert.equal(calls.filter((c) => c.startsWith('adapt')).length, 5);
    // A new start (clear: a new speaker) tries again; a drop that fails is reported and due again.
    observer.clear();
    fail = false;
    await digits(2);
    assert.deepEqual([observer.stopped, adapted], [false, [false, true, false]]);
    failReset = true;
    segments(observer, 3, 'rejected');
    await observer.flush();
    assert.equal(adapter.dropDue, true);
    assert.equal(failed.at(-1)!.message, 'no session');
    failReset = false;
    segments(observer, 1, 'rejected');
    await observer.flush();
    assert.deepEqual([adapter.dropDue, adapter.adapted, adapted.at(-1)], [false, false, true]);
  });

  it('a Listener keeps the pieces it adapts on as adaptations take them (at the model rate, cut): the same adaptation as from the pieces as heard', async () => {
    const rec = await DigitRecognizer.load({ model: INT8 });
    try {
      const lucas = clips.filter((c) => c.speaker === 'lucas' && c.take < 1);
      const backend = rec.backend;
      const at48 = await Promise.all(lucas.map(async (c) => ({ samples: backend.resample((await readWavFile(c.path)).samples, 8000, 48000), sampleRate: 48000 })));
      const prepared = await rec.prepareClips(at48);
      assert.ok(prepared.every((c, i) => c.sampleRate === 8000 && c.cutToSpeech === false && c.samples.length < at48[i].samples.length / 6 + 8));
      assert.deepEqual(await rec.prepareClips(prepared), prepared);
      // The normalization alone: the same model, byte for byte.
      const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
      assert.ok(same((await rec.adaptedModel(at48)).model, (await rec.adaptedModel(prepared)).model), 'the same adapted model');
      // Self-enrolled, the refit's "none" examples are the clips played backwards, which resampling
      // before or after reversing moves by float rounding: the same answers, within 0.01.
      const fromHeard = await DigitRecognizer.load({ model: (await rec.adaptedModel(at48, { selfEnroll: true })).model });
      const fromKept = await DigitRecognizer.load({ model: (await rec.adaptedModel(prepared, { selfEnroll: true })).model });
      try {
        const all = clips.filter((c) => c.speaker === 'lucas').map((c) => c.path);
        const [a, b] = [await fromHeard.predictBatch(all), await fromKept.predictBatch(all)];
        a.forEach((p, i) => {
          assert.equal(p.candidate, b[i].candidate);
          p.probabilities.forEach((v, k) => assert.ok(Math.abs(v - b[i].probabilities[k]) < 0.01, `${all[i]}: ${v} vs ${b[i].probabilities[k]}`));
        });
      } finally {
        await Promise.all([fromHeard.dispose(), fromKept.dispose()]);
      }
      // In a stream at 48 kHz, what reaches the adaptation is at 8 kHz.
      const parts: Float32Array[] = [silence(0.5)];
      for (const c of [...lucas, ...lucas]) parts.push((await readWavFile(c.path)).samples, silence(0.6));
      const audio = backend.resample(concatFloat(parts), 8000, 48000);
      const given: number[][] = [];
      const adapt = rec.adaptNormalization.bind(rec);
      rec.adaptNormalization = (inputs, options) => (given.push(inputs.map((c) => (c as { sampleRate: number }).sampleRate)), adapt(inputs, options));
      const listener = await Listener.create({ recognizer: rec, adaptNorm: true, sampleRate: 48000 });
      listener.push(audio, 48000);
      await listener.end();
      assert.deepEqual(given.map((rates) => [rates.length, new Set(rates).size, rates[0]]), [[10, 1, 8000], [20, 1, 8000]]);
    } finally {
      await rec.dispose();
    }
  });

  it('NormObserver: clear() during an adaptation (a new speaker): its failure does not count for what follows, and a flush under way stops', async () => {
    let reject: ((e: Error) => void) | null = null;
    let prepared: (() => void) | null = null;
    const fake = {
      adaptNormalization: () => new Promise<void>((_, r) => (reject = r)),
      resetNormalization: async () => undefined,
      // Preparing a clip waits until the test says: clear() lands while a flush is in it.
      prepareClips: (c: readonly { samples: Float32Array; sampleRate: number }[]) => new Promise<typeof c[number][]>((resolve) => (prepared = () => resolve([...c]))),
    };
    const adapter = new NormAdapter<{ samples: Float32Array; sampleRate: number }>(fake, { every: 2, window: 10 });
    const failed: NormAdaptFailedEvent[] = [];
    const observer = new NormObserver(adapter, () => undefined, (e) => failed.push(e));
    observer.background = true;
    const digit = () => segments(observer, 1);
    const prepare = async () => {
      while (!prepared) await new Promise((r) => setTimeout(r, 1));
      const p = prepared;
      prepared = null;
      p();
    };
    digit();
    digit();
    let flushed = observer.flush();
    await prepare();
    await prepare();
    await flushed; // the adaptation is under way
    assert.equal(adapter.observed, 2);
    // A flush waiting on a clip's preparation when clear() comes: it stops, and observes nothing more.
    digit();
    digit();
    flushed = observer.flush();
    await new Promise((r) => setTimeout(r, 5));
    observer.clear();
    digit(); // the new speaker's first digit, for the next flush
    await prepare();
    await flushed;
    assert.equal(adapter.observed, 2);
    assert.equal(observer.queued, 1);
    reject!(new Error('the old adaptation failed'));
    await observer.settle();
    assert.deepEqual(failed.map((f) => [f.message, f.failures, f.stopped]), [['the old adaptation failed', 0, false]]);
  });

  it('NormObserver: an adaptation superseded by a reset called meanwhile, or ending after clear(), is not reported and not taken as in use', async () => {
    let superseded = true;
    const fake = { adaptNormalization: async () => ({ selfEnrolled: false, offThread: false, superseded }), resetNormalization: async () => undefined };
    const adapter = new NormAdapter<{ samples: Float32Array; sampleRate: number }>(fake, { every: 2, window: 10 });
    const events: boolean[] = [];
    const observer = new NormObserver(adapter, (e) => events.push(e.dropped));
    const digits = async (n: number) => {
      segments(observer, n);
      await observer.flush();
    };
    await digits(2);
    assert.deepEqual([events, adapter.adapted], [[], false]);
    superseded = false;
    await digits(2);
    assert.deepEqual([events, adapter.adapted], [[false], true]);
    // Beside the decoding, one that ends after clear(): no event for the next speaker.
    let finish!: () => void;
    fake.adaptNormalization = () => new Promise((r) => (finish = () => r({ selfEnrolled: false, offThread: false, superseded: false })));
    observer.background = true;
    await digits(2);
    observer.clear();
    finish();
    await observer.settle();
    assert.deepEqual(events, [false]);
  });

  it('NormObserver: an event handler that throws beside the decoding goes to onError, not to an unhandled rejection; a Listener fails with it', async () => {
    const fake = { adaptNormalization: async () => undefined, resetNormalization: async () => undefined };
    const errors: unknown[] = [];
    const observer = new NormObserver(
      new NormAdapter<{ samples: Float32Array; sampleRate: number }>(fake, { every: 2, window: 10 }),
      () => {
        throw new Error('a normadapt handler threw');
      },
      () => undefined,
      (err) => errors.push(err),
    );
    observer.background = true;
    segments(observer, 2);
    await observer.flush();
    await observer.settle();
    assert.match(String(errors[0]), /handler threw/);
    // onError itself throwing (a listener's own error handler that threw) is dropped, not an unhandled rejection.
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const throwing = new NormObserver(
        new NormAdapter<{ samples: Float32Array; sampleRate: number }>(fake, { every: 2, window: 10 }),
        () => {
          throw new Error('a normadapt handler threw');
        },
        () => undefined,
        () => {
          throw new Error('an error handler threw');
        },
      );
      throwing.background = true;
      segments(throwing, 2);
      await throwing.flush();
      await throwing.settle();
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
    // The Listener's own: an error event, and end() rejects with it.
    const rec = await DigitRecognizer.load({ model: INT8 });
    try {
      const theo = clips.filter((c) => c.speaker === 'theo' && c.take < 2);
      const listener = await Listener.create({ recognizer: rec, adaptNorm: true, adaptInBackground: true, sampleRate: 8000 });
      const seen: Error[] = [];
      listener.on('error', (e) => seen.push(e));
      listener.on('normadapt', () => {
        throw new Error('a normadapt handler threw');
      });
      listener.push(await clipStream(theo), 8000);
      await assert.rejects(listener.end(), /handler threw/);
      assert.equal(seen.length, 1);
    } finally {
      await rec.dispose();
    }
  });

  it('NormAdapter: an adaptation that ends after a drop asked for later ended does not make it say it is adapted (nor the reverse)', async () => {
    // The recognizer's side: each call ends when the test says, and none is superseded there (an
    // earlier call installed first and a later one after it, whose continuations ran in the other order).
    const ends: (() => void)[] = [];
    const fake = {
      adaptNormalization: () => new Promise<{ selfEnrolled: boolean; offThread: boolean }>((r) => ends.push(() => r({ selfEnrolled: true, offThread: true }))),
      resetNormalization: () => new Promise<void>((r) => ends.push(r)),
    };
    const adapter = new NormAdapter<number>(fake, { every: 2, window: 10 });
    adapter.observe(1);
    adapter.observe(2);
    const adapting = adapter.adapt();
    const dropping = adapter.drop();
    ends[1](); // the drop ends first
    await dropping;
    ends[0]();
    assert.equal(await adapting, false, 'the adaptation asked for before the drop ended after it, and said it took effect');
    assert.deepEqual([adapter.adapted, adapter.selfEnrolled, adapter.offThread], [false, false, false]);
    // The reverse: a drop that ends after an adaptation asked for later leaves it adapted.
    adapter.observe(3);
    adapter.observe(4);
    const dropped = adapter.drop();
    adapter.observe(5);
    adapter.observe(6);
    const adapted = adapter.adapt();
    ends[3]();
    assert.equal(await adapted, true);
    ends[2]();
    await dropped;
    assert.deepEqual([adapter.adapted, adapter.selfEnrolled], [true, true]);
  });

  it('adaptations and resets that overlap: the last call made wins, whichever ends last', async () => {
    const rec = await DigitRecognizer.load({ model: INT8 });
    try {
      const many = clips.filter((c) => c.speaker === 'lucas' && c.take < 10).map((c) => c.path);
      // A long adaptation (100 clips, refit) and a reset called after it: the model as loaded.
      await Promise.all([rec.adaptNormalization(many, { selfEnroll: true }), rec.resetNormalization()]);
      assert.equal(rec.normalizationClips, 0);
      // A long one and a short one called after it: the short one's, though the long one ends last.
      await Promise.all([rec.adaptNormalization(many, { selfEnroll: true }), rec.adaptNormalization(many.slice(0, 5))]);
      assert.equal(rec.normalizationClips, 5);
    } finally {
      await rec.dispose();
    }
  });

  it('dispose() during an adaptation in line: the adaptation fails saying so, and nothing is installed', async () => {
    const rec = await DigitRecognizer.load({ model: INT8 });
    const lucas = clips.filter((c) => c.speaker === 'lucas' && c.take < 5).map((c) => c.path);
    const adapting = rec.adaptNormalization(lucas, { selfEnroll: true });
    await new Promise((r) => setTimeout(r, 50));
    await rec.dispose();
    // Whichever step it is in (the feature extractor's pass, or loading the adapted session), a typed error that says so.
    await assert.rejects(adapting, (e: unknown) => e instanceof SpokenDigitsError && /disposed/.test(e.message));
    assert.equal(rec.normalizationClips, 0);
  });

  it('a Listener whose adaptations fail goes on with the model it has: normadaptfailed events, no error, the same digits', async () => {
    const rec = await DigitRecognizer.load({ model: INT8 });
    try {
      const theo = clips.filter((c) => c.speaker === 'theo' && c.take < 4);
      const audio = await clipStream(theo);
      const listen = async (adaptNorm: boolean) => {
        const listener = await Listener.create({ recognizer: rec, adaptNorm, sampleRate: 8000 });
        const failed: NormAdaptFailedEvent[] = [];
        const types: string[] = [];
        let heard = '';
        listener.on('normadaptfailed', (e) => failed.push(e));
        listener.on('error', () => types.push('error'));
        listener.on('digit', (e) => (heard += e.digit));
        const iterated = (async () => {
          for await (const e of listener) types.push(e.type);
        })();
        listener.push(audio, 8000);
        await listener.end();
        await iterated;
        return { failed, heard, types };
      };
      const plain = await listen(false);
      // The worker process killed under each adaptation, as soon as the adaptation has started it.
      const adapt = rec.adaptNormalization.bind(rec);
      rec.adaptNormalization = (inputs, options) => {
        const adapting = adapt(inputs, options);
        const pid = rec['worker']?.pid;
        assert.ok(pid, 'the adaptation started its worker process');
        process.kill(pid, 'SIGKILL');
        return adapting;
      };
      const failing = await listen(true);
      assert.deepEqual(
        failing.failed.map((f) => [f.failures, f.stopped, /exited \(signal SIGKILL\)/.test(f.message)]),
        [[1, false, true], [2, false, true], [3, true, true]],
      );
      assert.equal(failing.heard, plain.heard);
      assert.equal(failing.types.filter((t) => t === 'normadaptfailed').length, 3);
      assert.deepEqual([failing.types.includes('error'), failing.types.at(-1)], [false, 'end']);
      assert.equal(rec.normalizationClips, 0);
    } finally {
      await rec.dispose();
    }
  });

  it('NormAdapter adapts only while most speech heard lately was digits, and drops its adaptation when not', async () => {
    const calls: string[] = [];
    const fake = {
      adaptNormalization: async (c: readonly number[]) => void calls.push(`adapt ${c.length}`),
      resetNormalization: async () => void calls.push('reset'),
    };
    const a = new NormAdapter<number>(fake, { every: 2, window: 4, minDigitShare: 0.5, shareOf: 4 });
    assert.equal(a.digitShare, 1);
    // A digit, then a word: half the speech is digits, enough.
    a.heard(true);
    a.heard(false);
    assert.equal(a.observe(1), false);
    assert.equal(a.observe(2), true);
    await a.adapt();
    assert.ok(a.adapted && !a.dropDue);
    // Two more words: one digit in the last four segments.
    a.heard(false);
    a.heard(false);
    assert.equal(a.digitShare, 0.25);
    assert.ok(a.dropDue);
    // Clips taken for digits now do not adapt: they may be the words.
    assert.equal(a.observe(3), false);
    assert.equal(a.observe(4), false);
    await a.drop();
    assert.ok(!a.adapted && !a.dropDue && a.kept === 0);
    // Digits again: it adapts once two clips are kept and the share is back.
    for (let i = 0; i < 3; i++) a.heard(true);
    assert.equal(a.digitShare, 0.75);
    assert.equal(a.observe(5), false);
    assert.equal(a.observe(6), true);
    await a.adapt();
    // A new speaker does not inherit the share; apply() puts back only an adaptation it holds.
    await a.apply();
    await a.reset();
    assert.equal(a.digitShare, 1);
    await a.apply();
    assert.deepEqual(calls, ['adapt 2', 'reset', 'adapt 2', 'adapt 2', 'reset', 'reset']);
    // Off: adapts on whatever it is given.
    const off = new NormAdapter<number>(fake, { every: 2, minDigitShare: 0 });
    for (let i = 0; i < 5; i++) off.heard(false);
    off.observe(1);
    assert.equal(off.observe(2), true);
    assert.throws(() => new NormAdapter(fake, { minDigitShare: 1.5 }), OptionsError);
    assert.throws(() => new NormAdapter(fake, { shareOf: 0 }), OptionsError);
  });

  it('a Listener that adapted on digits drops the adaptation when words follow, and does not adapt on them', async function () {
    const rec = await DigitRecognizer.load({ model: INT8 });
    try {
      const theo = clips.filter((c) => c.speaker === 'theo' && c.take < 2);
      const parts: Float32Array[] = [silence(0.5)];
      for (const c of theo) parts.push((await readWavFile(c.path)).samples, silence(0.6));
      const words = 'window garden yellow kitchen button paper morning basket candle river pocket orange jungle marble rocket ladder violin castle'.split(' ');
      for (let round = 0; round < 2; round++) for (const w of words) parts.push(spokenWords(w, round ? 'en-us+f3' : 'en-us', 160), silence(0.6));
      const listener = await Listener.create({ recognizer: rec, adaptNorm: true, sampleRate: 8000 });
      const events: { dropped: boolean; clips: number }[] = [];
      listener.on('normadapt', (e) => events.push({ dropped: e.dropped, clips: e.clips }));
      listener.push(concatFloat(parts), 8000);
      await listener.end();
      assert.deepEqual(events, [
        { dropped: false, clips: 10 },
        { dropped: false, clips: 20 },
        { dropped: true, clips: 0 },
      ]);
      assert.equal(rec.normalizationClips, 0);
    } finally {
      await rec.dispose();
    }
  });

  it('digits listen adapts the normalization by default when the model has targets, and refits the last layers (--no-self-enroll: not); --no-adapt-norm, or a model without them, does not', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sd-norm-cli-'));
    try {
      const theo = clips.filter((c) => c.speaker === 'theo' && c.take < 2);
      const parts: Float32Array[] = [silence(0.5)];
      for (const c of theo) parts.push((await readWavFile(c.path)).samples, silence(0.6));
      const wav = join(work, 'theo.wav');
      writeFileSync(wav, monoWav(concatFloat(parts), 8000));
      const bare = join(work, 'bare.onnx');
      writeFileSync(bare, withoutTargets(SMALL));
      const cli = (...more: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'listen', '--input', wav, '--json', ...more], { encoding: 'utf8' });
      const adaptations = (r: ReturnType<typeof cli>) => {
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'normadapt');
      };
      // Digits 0-4 twice, then 5-9 twice: the last layers are refitted too once every digit was heard.
      assert.deepEqual(adaptations(cli()).map((e) => [e.dropped, e.clips, e.selfEnrolled]), [[false, 10, false], [false, 20, true]]);
      assert.deepEqual(adaptations(cli('--self-enroll')).map((e) => [e.dropped, e.clips, e.selfEnrolled]), [[false, 10, false], [false, 20, true]]);
      assert.deepEqual(adaptations(cli('--no-self-enroll')).map((e) => [e.dropped, e.clips, e.selfEnrolled]), [[false, 10, false], [false, 20, false]]);
      const without = cli('--self-enroll', '--no-adapt-norm');
      assert.equal(without.status, 2);
      assert.match(without.stderr, /--self-enroll refits the model after each normalization adaptation/);
      assert.equal(adaptations(cli('--no-adapt-norm')).length, 0);
      assert.equal(adaptations(cli('--model', bare)).length, 0);
      const asked = cli('--model', bare, '--adapt-norm');
      assert.notEqual(asked.status, 0);
      assert.match(asked.stderr, /no normalization targets/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
