import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModelProto, encodeModelProto } from '../src/train/onnx/proto.js';
import { encodeModel, type Graph } from '../src/train/onnx/graph.js';
import {
  AudioInputError,
  BackendUnavailableError,
  DigitRecognizer,
  ModelError,
  SpokenDigitsError,
  WavFormatError,
  OptionsError,
  Ensemble,
  VoiceAdapter,
  NormAdapter,
  loadFeatureBackend,
  readModelMetadata,
} from '../src/index.js';
import { Listener, openFileSource } from '../src/stream/index.js';
import { readWavFileSync } from '../src/audio/index.js';
import { FSDD_RECORDINGS } from './fsdd.js';

// Bad-input matrix for the library API (DigitRecognizer, Listener, sources, model metadata): each
// bad input rejects with the documented SpokenDigitsError subclass and a one-line message naming
// the problem; nothing resolves to garbage (NaN probabilities, a digit from NaN audio).

const work = mkdtempSync(join(tmpdir(), 'sd-badapi-'));
after(() => rmSync(work, { recursive: true, force: true }));
const clip = join(FSDD_RECORDINGS, '5_jackson_0.wav');
const p = {
  missing: join(work, 'missing.wav'),
  dir: join(work, 'folder.wav'),
  corrupt: join(work, 'corrupt.wav'),
  notOnnx: join(work, 'clip.onnx'),
  noMeta: join(work, 'no-metadata.onnx'),
  fifo: join(work, 'pipe.wav'),
};
const metadataOf = (bytes: Uint8Array) => Object.fromEntries((decodeModelProto(bytes).metadataProps ?? []).map((m) => [m.key, m.value]));
/** The shipped fp32 model with some metadata values replaced. */
function withMetadata(values: Record<string, string>): Uint8Array {
  const proto = decodeModelProto(model);
  proto.metadataProps = (proto.metadataProps ?? []).map((m) => (m.key && m.key in values ? { ...m, value: values[m.key] } : m));
  return encodeModelProto(proto);
}
let model: Buffer;

before(() => {
  mkdirSync(p.dir);
  writeFileSync(p.corrupt, Buffer.from('RIFF\x10\x00\x00\x00WAVEdata\xff\xff\xff\xff'));
  copyFileSync(clip, p.notOnnx);
  model = readFileSync('models/default.onnx');
  const proto = decodeModelProto(model);
  proto.metadataProps = [];
  writeFileSync(p.noMeta, encodeModelProto(proto));
  execFileSync('mkfifo', [p.fifo]);
});

async function rejectsWith(promise: Promise<unknown> | (() => unknown), type: new (...a: never[]) => Error, message: RegExp): Promise<void> {
  let err: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    err = e;
  }
  assert.ok(err, `resolved; expected ${type.name}`);
  // By name and code, not instanceof: under mocha the test's static imports and the library's lazy
  // import() of a backend can be two instances of src/errors.ts (CJS and ESM loaders).
  const e = err as SpokenDigitsError;
  const isTyped = err instanceof SpokenDigitsError || (typeof e.code === 'string' && e.code.startsWith('ERR_'));
  assert.ok(isTyped, `untyped ${e?.constructor?.name}: ${e?.message}`);
  if (type !== SpokenDigitsError) assert.equal(e.name, type.name, `expected ${type.name}, got ${e.name}: ${e.message}`);
  const msg = (err as Error).message;
  assert.ok(msg.length > 10 && !msg.includes('\n'), `message not one line: ${JSON.stringify(msg)}`);
  assert.match(msg, message);
}

const sine = (n: number, f = 440, rate = 8000): Float32Array => Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * f * i) / rate));

describe('library API bad-input matrix', function () {
  this.timeout(60_000);
  let rec: DigitRecognizer;
  before(async () => {
    rec = await DigitRecognizer.load();
  });
  after(async () => rec?.dispose());

  describe('DigitRecognizer.load', () => {
    it('missing model file', () => rejectsWith(DigitRecognizer.load({ model: join(work, 'nope.onnx') }), ModelError, /nope\.onnx/));
    it('model path is a folder', () => rejectsWith(DigitRecognizer.load({ model: work }), ModelError, /sd-badapi/));
    it('a WAV file as the model', () => rejectsWith(DigitRecognizer.load({ model: p.notOnnx }), ModelError, /ONNX/));
    it('empty model bytes', () => rejectsWith(DigitRecognizer.load({ model: new Uint8Array(0) }), ModelError, /ONNX|empty/i));
    it('truncated model bytes', () => rejectsWith(DigitRecognizer.load({ model: model.subarray(0, model.length >> 2) }), ModelError, /ONNX|truncated|metadata/i));
    it('ONNX without spoken-digits metadata', () => rejectsWith(DigitRecognizer.load({ model: p.noMeta }), ModelError, /metadata/));
    it('threshold 1.5', () => rejectsWith(DigitRecognizer.load({ threshold: 1.5 }), OptionsError, /threshold/));
    it('unknown backend', () => rejectsWith(DigitRecognizer.load({ backend: 'gpu' as never }), BackendUnavailableError, /gpu/));
    // A path where the options belong loaded the default model and answered from it; a typo was ignored.
    it('a path instead of options', () => rejectsWith(DigitRecognizer.load(p.notOnnx as never), OptionsError, /takes an options object, got a string: DigitRecognizer\.load\(\{ model/));
    it('null options', () => rejectsWith(DigitRecognizer.load(null as never), OptionsError, /got null/));
    it('a misspelt option', () => rejectsWith(DigitRecognizer.load({ modle: p.notOnnx } as never), OptionsError, /unknown option 'modle' \(known: model,/));
    it('Ensemble.load of one path, not an array', () => rejectsWith(Ensemble.load(p.notOnnx as never), ModelError, /array of model paths/));
    it('Ensemble.load with a misspelt option or a model among the options: named as its own', async () => {
      await rejectsWith(Ensemble.load([p.notOnnx], { treshold: 0.5 } as never), OptionsError, /^Ensemble\.load: unknown option 'treshold' \(known: backend,/);
      await rejectsWith(Ensemble.load([p.notOnnx], { model: p.notOnnx } as never), OptionsError, /Ensemble\.load: unknown option 'model'/);
      await rejectsWith(Ensemble.load([p.notOnnx], 'wasm' as never), OptionsError, /Ensemble\.load takes an options object, got a string/);
    });
    it('a VoiceAdapter of nothing', () => assert.throws(() => new VoiceAdapter(null as never), ModelError));
    // Range checks written as !(v >= 0 && v <= 1) coerce '' to 0: `threshold: ''` turned rejection off, `silenceDb: ''` rejected every clip.
    it('a string where a number or a flag belongs, at any level, and misspelt nested keys', async () => {
      await rejectsWith(DigitRecognizer.load({ threshold: '' } as never), OptionsError, /DigitRecognizer\.load: threshold must be a number, got ""/);
      await rejectsWith(DigitRecognizer.load({ silenceDb: '-1' } as never), OptionsError, /silenceDb must be a number, got "-1"/);
      await rejectsWith(DigitRecognizer.load({ session: { intraOpThreads: 1 } } as never), OptionsError, /DigitRecognizer\.load: session: unknown option 'intraOpThreads'/);
      await rejectsWith(DigitRecognizer.load({ session: 'fast' } as never), OptionsError, /session takes an options object, got a string/);
      await rejectsWith(Ensemble.load([p.notOnnx], { threshold: '0.5' } as never), OptionsError, /^Ensemble\.load: threshold must be a number/);
      const rec = await DigitRecognizer.load();
      try {
        assert.throws(() => new NormAdapter(rec, { selfEnroll: 'false' } as never), (e: unknown) => e instanceof OptionsError && /NormAdapter: selfEnroll must be a boolean, got "false"/.test(e.message));
        assert.throws(() => new NormAdapter(rec, { evry: 5 } as never), (e: unknown) => e instanceof OptionsError && /NormAdapter: unknown option 'evry'/.test(e.message));
        assert.throws(() => new VoiceAdapter(rec, { memory: '50' } as never), (e: unknown) => e instanceof OptionsError && /VoiceAdapter: memory must be a number/.test(e.message));
        assert.throws(() => new VoiceAdapter(rec, { shifts: '1' } as never), (e: unknown) => e instanceof OptionsError && /shifts must be an array/.test(e.message));
        assert.throws(() => new VoiceAdapter(rec, { memmory: 5 } as never), (e: unknown) => e instanceof OptionsError && /unknown option 'memmory'/.test(e.message));
        await rejectsWith(rec.adaptNormalization([clip, clip], { selfenroll: true } as never), OptionsError, /adaptNormalization: unknown option 'selfenroll'/);
        await rejectsWith(rec.adaptNormalization([clip, clip], { offThread: 'yes' } as never), OptionsError, /offThread must be a boolean/);
        await rejectsWith(Listener.create({ recognizer: rec, threshold: '' } as never), OptionsError, /Listener\.create: threshold must be a number/);
        await rejectsWith(Listener.create({ recognizer: rec, adaptVoice: 'false' } as never), OptionsError, /adaptVoice must be true, false or an options object, got "false"/);
        await rejectsWith(Listener.create({ recognizer: rec, adaptNorm: 1 } as never), OptionsError, /adaptNorm must be true, false or an options object, got number/);
        await rejectsWith(Listener.create({ recognizer: rec, adaptNorm: { selfenroll: true } } as never), OptionsError, /NormAdapter: unknown option 'selfenroll'/);
      } finally {
        await rec.dispose();
      }
    });
    it('readModelMetadata on a WAV', () => rejectsWith(async () => readModelMetadata(p.notOnnx), ModelError, /ONNX/));
    it('a fixed-size graph whose metadata says natural length (numFrames 0): a typed error naming the shape, not ONNX Runtime\'s', async () => {
      const config = JSON.parse(metadataOf(model)['spoken_digits.feature_config']);
      const r = await DigitRecognizer.load({ model: withMetadata({ 'spoken_digits.feature_config': JSON.stringify({ ...config, numFrames: 0 }) }) });
      try {
        const short = Float32Array.from({ length: 2000 }, (_, i) => 0.3 * Math.sin(i / 4));
        await rejectsWith(r.predictSamples(short, 8000), ModelError, /does not run on \[1, \d+, 32\] features: /);
      } finally {
        await r.dispose();
      }
    });
    it('a natural-length model (numFrames 0) batches clips of different lengths: each answered as alone', async () => {
      // features [batch, time, 32] -> mean over time -> a random linear map -> softmax: a different answer per clip.
      const config = JSON.parse(metadataOf(model)['spoken_digits.feature_config']);
      const weights = Float32Array.from({ length: 32 * 11 }, (_, i) => Math.sin(i * 1.7));
      const graph: Graph = {
        name: 'natural-length',
        nodes: [
          { name: 'pool', op: 'ReduceMean', inputs: ['features'], outputs: ['pooled'], attrs: { axes: { kind: 'ints' as const, v: [1] }, keepdims: { kind: 'int' as const, v: 0 } } },
          { name: 'map', op: 'MatMul', inputs: ['pooled', 'w'], outputs: ['logits'], attrs: {} },
          { name: 'softmax', op: 'Softmax', inputs: ['logits'], outputs: ['probabilities'], attrs: { axis: { kind: 'int' as const, v: -1 } } },
        ],
        initializers: new Map([['w', { name: 'w', type: 'float' as const, dims: [32, 11], data: weights }]]),
        inputs: [{ name: 'features', type: 'float' as const, shape: ['batch', 'time', 32] }],
        outputs: [{ name: 'probabilities', type: 'float' as const, shape: ['batch', 11] }],
      };
      const metadata = { ...metadataOf(model), 'spoken_digits.feature_config': JSON.stringify({ ...config, numFrames: 0 }) };
      delete metadata['spoken_digits.norm_targets'];
      const r = await DigitRecognizer.load({ model: encodeModel({ graph, opset: 13, metadata, producer: 'test', producerVersion: '0' }) });
      try {
        const clips = ['3_theo_0.wav', '7_george_1.wav', '1_lucas_2.wav'].map((f) => join(FSDD_RECORDINGS, f));
        const alone = await Promise.all(clips.map((c) => r.predict(c)));
        const together = await r.predictBatch(clips);
        together.forEach((t, i) => t.probabilities.forEach((v, k) => assert.ok(Math.abs(v - alone[i].probabilities[k]) < 1e-6, `clip ${i}`)));
        assert.notDeepEqual(alone[0].probabilities, alone[1].probabilities);
      } finally {
        await r.dispose();
      }
    });
    it('a named pipe as the model is refused at once, not waited on', () => rejectsWith(DigitRecognizer.load({ model: p.fifo }), ModelError, /not a regular file/));
    it('a device as the model (/dev/zero) is refused, not read without end', () => rejectsWith(DigitRecognizer.load({ model: '/dev/zero' }), ModelError, /not a regular file/));
    it('labels that are not digits', () => rejectsWith(DigitRecognizer.load({ model: withMetadata({ 'spoken_digits.labels': JSON.stringify([...'abcdefghij', 'none']) }) }), ModelError, /not digits 0-9/));
    it('a calibrated threshold outside 0..1', () => rejectsWith(DigitRecognizer.load({ model: withMetadata({ 'spoken_digits.rejection': '{"threshold": 5}' }) }), ModelError, /threshold 5/));
    it('a graph that does not take the features its metadata names', async () => {
      const cfg = JSON.parse(metadataOf(model)['spoken_digits.feature_config']);
      await rejectsWith(DigitRecognizer.load({ model: withMetadata({ 'spoken_digits.feature_config': JSON.stringify({ ...cfg, nMels: 24, normalization: null }) }) }), ModelError, /does not run on the \[1, 64, 24\] features/);
    });
  });

  describe('DigitRecognizer.predict / predictSamples', () => {
    it('missing file', () => rejectsWith(rec.predict(p.missing), SpokenDigitsError, /missing\.wav/));
    it('a named pipe is refused at once, not waited on', () => rejectsWith(rec.predict(p.fifo), AudioInputError, /not a regular file/));
    it('calls with the wrong shapes: predictBatch(null), graphOutputs with no names, topK(-1), load with a NaN duration or a positive silence level', async () => {
      await rejectsWith(rec.predictBatch(null as never), AudioInputError, /array of clips/);
      await rejectsWith(rec.graphOutputs([clip], []), AudioInputError, /at least one output name/);
      await rejectsWith(rec.topK(clip, -1), AudioInputError, /k -1/);
      await rejectsWith(DigitRecognizer.load({ maxDurationSec: Number.NaN }), OptionsError, /maxDurationSec NaN/);
      await rejectsWith(DigitRecognizer.load({ silenceDb: 5 }), OptionsError, /silenceDb 5/);
      await rejectsWith(DigitRecognizer.load({ session: { intraOpNumThreads: 10_000 } }), OptionsError, /intraOpNumThreads 10000/);
      const once = await DigitRecognizer.load({ model: 'models/small.int8.onnx' });
      await once.dispose();
      await once.dispose();
    });
    it('threshold set to NaN or 2 on a loaded recognizer', () => {
      assert.throws(() => (rec.threshold = Number.NaN), OptionsError);
      assert.throws(() => (rec.threshold = 2), OptionsError);
      assert.ok(rec.threshold >= 0 && rec.threshold <= 1);
    });
    it('a folder', () => rejectsWith(rec.predict(p.dir), SpokenDigitsError, /folder\.wav/));
    it('corrupt WAV file', () => rejectsWith(rec.predict(p.corrupt), WavFormatError, /corrupt\.wav|chunk|truncated/));
    it('corrupt WAV bytes', () => rejectsWith(rec.predict(new Uint8Array(readFileSync(p.corrupt))), WavFormatError, /chunk|truncated|fmt/));
    it('a text file as WAV bytes', () => rejectsWith(rec.predict(new TextEncoder().encode('hello, not audio at all')), WavFormatError, /RIFF|WAV/));
    it('NaN in PCM', () => {
      const x = sine(4000);
      x[1234] = NaN;
      return rejectsWith(rec.predictSamples(x, 8000), AudioInputError, /NaN|finite/);
    });
    it('Infinity in PCM (predict with samples)', () => {
      const x = sine(4000);
      x[7] = -Infinity;
      return rejectsWith(rec.predict({ samples: x, sampleRate: 8000 }), AudioInputError, /finite|infinite|Inf/i);
    });
    it('empty PCM', () => rejectsWith(rec.predictSamples(new Float32Array(0), 8000), AudioInputError, /empty|0 samples/));
    for (const rate of [0, -8000, NaN, 8000.5, 1e9]) {
      it(`sample rate ${rate}`, () => rejectsWith(rec.predictSamples(sine(4000), rate), AudioInputError, /rate/));
    }
    it('an hour-long clip is refused before any work', () =>
      rejectsWith(rec.predictSamples(new Float32Array(8000 * 3600), 8000), AudioInputError, /long|duration|seconds/));
    it('finite but absurd samples (1e30) are refused, and the DSP core given them still computes finite features, not NaN', async () => {
      const x = sine(4000).map((v) => v * 1e30);
      await rejectsWith(rec.predictSamples(x, 8000), AudioInputError, /far beyond full scale .* at index 1\b/);
      // Beneath the refusal, the features saturate (the DSP core clamps its power spectrum): a loud tone, not NaN.
      const extractor = (await loadFeatureBackend()).createExtractor(rec.info.featureConfig);
      try {
        assert.ok(extractor.compute(x).data.every(Number.isFinite));
      } finally {
        extractor.dispose();
      }
    });
    it('predictBatch fails as a whole with the bad clip named', async () => {
      await rejectsWith(rec.predictBatch([clip, p.missing]), SpokenDigitsError, /missing\.wav/);
      // Samples have no name: their place in the batch.
      await rejectsWith(rec.predictBatch([clip, { samples: Float32Array.of(0, NaN), sampleRate: 8000 }]), AudioInputError, /^clip 1 of the batch: /);
    });
  });

  describe('Listener and sources', () => {
    it('sensitivity 5', () => rejectsWith(Listener.create({ sensitivity: 5, recognizer: rec }), OptionsError, /sensitivity/));
    it('threshold -1', () => rejectsWith(Listener.create({ threshold: -1, recognizer: rec }), OptionsError, /threshold/));
    it('model that is not ONNX', () => rejectsWith(Listener.create({ model: p.notOnnx }), ModelError, /ONNX/));
    it('openFileSource: missing file', () => rejectsWith(openFileSource(p.missing), SpokenDigitsError, /missing\.wav/));
    it('openFileSource: corrupt WAV', () => rejectsWith(openFileSource(p.corrupt), WavFormatError, /corrupt\.wav|chunk/));
    it('push without a sample rate', async () => {
      const l = await Listener.create({ recognizer: rec });
      await rejectsWith(() => l.push(sine(800)), AudioInputError, /sample rate/);
    });
    it('push at rates the endpointer does not take (4 kHz, 384 kHz): resampled on the way in, a clean end', async () => {
      for (const rate of [4000, 384000]) {
        const l = await Listener.create({ recognizer: rec });
        l.push(sine(800), rate);
        const end = await l.end();
        assert.ok(end.durationMs > 0, `${rate} Hz`);
      }
    });
    it('push at 0 Hz and at 1 GHz', async () => {
      await rejectsWith(async () => (await Listener.create({ recognizer: rec })).push(sine(800), 0), AudioInputError, /rate/);
      await rejectsWith(async () => (await Listener.create({ recognizer: rec })).push(sine(800), 1e9), AudioInputError, /rate/);
    });
    it('run() of something that is not an audio source', async () => {
      const l = await Listener.create({ recognizer: rec });
      await rejectsWith(l.run(null as never), AudioInputError, /AudioSource/);
      await rejectsWith(l.run({} as never), AudioInputError, /AudioSource/);
    });
    it('run() of a source of its own that yields what is not samples: Int16, text, null, NaN', async () => {
      const yielding = (block: unknown) => ({ sampleRate: 8000, realtime: false, description: 'own', droppedFrames: () => 0, close: async () => undefined, async *[Symbol.asyncIterator]() { yield block; } });
      for (const [block, message] of [[new Int16Array(80), /got Int16Array/], ['abc', /got string/], [null, /got null/], [Float32Array.of(0, NaN), /non-finite sample \(NaN\) at index 1/], [Float32Array.of(0, 0.5, 32767), /sample far beyond full scale \(32767; .*\) at index 2 of a block/]] as const) {
        const l = await Listener.create({ recognizer: rec });
        await rejectsWith(l.run(yielding(block) as never), AudioInputError, message);
      }
    });
    it('create() with a model path instead of options, or a misspelt option', async () => {
      await rejectsWith(Listener.create(p.notOnnx as never), OptionsError, /Listener\.create takes an options object, got a string/);
      await rejectsWith(Listener.create({ recognizer: rec, treshold: 0.5 } as never), OptionsError, /unknown option 'treshold'/);
    });
    it('create() with a misspelt or mistyped endpointer or splitter option (nested: vad, split)', async () => {
      await rejectsWith(Listener.create({ recognizer: rec, vad: { hangoverMS: 200 } } as never), OptionsError, /Listener\.create: vad: unknown option 'hangoverMS' \(known: onsetMs, hangoverMs,/);
      await rejectsWith(Listener.create({ recognizer: rec, vad: { hangoverMs: '200' } } as never), OptionsError, /vad\.hangoverMs must be a number, got "200"/);
      await rejectsWith(Listener.create({ recognizer: rec, split: { earlysplit: false } } as never), OptionsError, /Listener\.create: split: unknown option 'earlysplit'/);
      await rejectsWith(Listener.create({ recognizer: rec, split: { verifyNoneMax: -0.2 } }), OptionsError, /split\.verifyNoneMax must be a number >= 0, got -0\.2/);
      await rejectsWith(Listener.create({ recognizer: rec, split: { minPieceMs: NaN } }), OptionsError, /split\.minPieceMs must be a number >= 0, got null/);
      await rejectsWith(Listener.create({ recognizer: rec, split: { earlySplit: 'no' } } as never), OptionsError, /split\.earlySplit must be true or false, got "no"/);
      await rejectsWith(Listener.create({ recognizer: rec, split: 'none' } as never), OptionsError, /split takes an options object, got a string/);
      // What is right still loads.
      await (await Listener.create({ recognizer: rec, vad: { hangoverMs: 150 }, split: { earlySplit: false, verifyNoneMax: 0.3 } })).end();
      await (await Listener.create({ recognizer: rec, split: false })).end();
      // Infinity, or a "none" bar above 1, turns a check off.
      await (await Listener.create({ recognizer: rec, split: { sureAnyLengthDb: Infinity, wholeWordNoneMin: 2 } })).end();
    });
    it('push of something that is not PCM', async () => {
      const l = await Listener.create({ recognizer: rec, sampleRate: 8000 });
      await rejectsWith(() => l.push([0.1, 0.2] as unknown as Float32Array), AudioInputError, /Float32Array|Int16Array/);
      await l.end();
    });
    it('push after end', async () => {
      const l = await Listener.create({ recognizer: rec, sampleRate: 8000 });
      await l.end();
      await rejectsWith(() => l.push(sine(800)), SpokenDigitsError, /end/);
    });
    it('pushed NaN audio is refused at the push, never becomes a digit event, and the stream goes on', async () => {
      const l = await Listener.create({ recognizer: rec, sampleRate: 8000 });
      const digits: number[] = [];
      l.on('digit', (e) => digits.push(e.digit));
      const speech = readWavFileSync(clip).samples;
      const x = new Float32Array(speech.length).fill(NaN);
      for (let k = 0; k < 5; k++) assert.throws(() => l.push(x), (e: unknown) => e instanceof AudioInputError && /non-finite sample \(NaN\) at index 0 of the chunk/.test((e as Error).message));
      // The same clip scaled as 16-bit integers: refused, not clamped into a square wave.
      const intScaled = speech.map((v) => v * 32768);
      assert.throws(() => l.push(intScaled), (e: unknown) => e instanceof AudioInputError && /sample far beyond full scale \(.*\) at index \d+ of the chunk; the chunk was not taken/.test((e as Error).message));
      // The stream goes on: the clip itself, pushed after the refused chunks, is heard.
      l.push(new Float32Array(4000));
      l.push(speech);
      l.push(new Float32Array(8000 * 2));
      await l.end();
      assert.deepEqual(digits, [5], 'the digit spoken after the NaN chunks (5_jackson_0)');
    });
  });

  it('loadFeatureBackend with an unknown name', () =>
    rejectsWith(loadFeatureBackend({ backend: 'cuda' as never }), BackendUnavailableError, /cuda/));
});
