import assert from 'node:assert/strict';
import { AudioInputError, BackendUnavailableError, FeatureConfigError } from '../src/errors.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { loadStreamCore } from '../src/stream/core.js';
import { PCEN_DEFAULTS, resolveFeatureConfig, type FeatureConfig } from '../src/features/config.js';
import type { FeatureBackend } from '../src/features/backend.js';
import { loadFeatureBackend } from '../src/features/index.js';
import { createWasmBackend } from '../src/features/wasm.js';
import { createNativeBackend, loadNativeBinding, releaseFreeMemory, staleAddonReason } from '../src/features/native.js';
import { wsolaStretchReference } from './fixtures/wsola-reference.js';

function sine(n: number, f: number, sr = 8000): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / sr));
}

describe('feature backends: loading and bad input', () => {
  let backends: FeatureBackend[];
  before(async () => {
    backends = [createNativeBackend(), await createWasmBackend()];
  });

  it('auto picks native in Node when the addon is built; explicit choices are honoured', async () => {
    assert.equal((await loadFeatureBackend()).name, 'native');
    assert.equal((await loadFeatureBackend({ backend: 'wasm' })).name, 'wasm');
    assert.equal((await loadFeatureBackend({ backend: 'native' })).name, 'native');
    // A bare name (JavaScript callers) is refused, not taken for 'auto'.
    await assert.rejects(loadFeatureBackend('wasm' as never), /takes an options object, got a string: loadFeatureBackend\(\{ backend: "wasm" \}\)/);
    await assert.rejects(loadFeatureBackend({ bakend: 'wasm' } as never), /unknown option 'bakend'/);
  });

  it("SPOKEN_DIGITS_BACKEND decides what 'auto' picks, in the recognizer too (the CLI's default); a bad value is a typed error", async () => {
    const before = process.env.SPOKEN_DIGITS_BACKEND;
    try {
      process.env.SPOKEN_DIGITS_BACKEND = 'wasm';
      assert.equal((await loadFeatureBackend()).name, 'wasm');
      assert.equal((await loadFeatureBackend({ backend: 'auto' })).name, 'wasm');
      assert.equal((await loadFeatureBackend({ backend: 'native' })).name, 'native');
      const recognizer = await DigitRecognizer.load({ backend: 'auto' });
      assert.equal(recognizer.backend.name, 'wasm');
      await recognizer.dispose();
      process.env.SPOKEN_DIGITS_BACKEND = 'gpu';
      await assert.rejects(loadFeatureBackend({ backend: 'auto' }), (e: unknown) => e instanceof BackendUnavailableError && /SPOKEN_DIGITS_BACKEND='gpu'/.test(e.message));
      await assert.rejects(loadStreamCore(), (e: unknown) => e instanceof BackendUnavailableError && /SPOKEN_DIGITS_BACKEND='gpu'/.test(e.message));
    } finally {
      if (before === undefined) delete process.env.SPOKEN_DIGITS_BACKEND;
      else process.env.SPOKEN_DIGITS_BACKEND = before;
    }
  });

  it('an addon built from older sources is passed over, saying so, instead of refusing every config as invalid', () => {
    const built = loadNativeBinding();
    assert.equal(staleAddonReason(built), null, 'the addon built from these sources');
    // An addon from before PCEN read 27 fixed parameters; this library passes more.
    assert.match(staleAddonReason({ SD_P_COUNT: 27 }) ?? '', /built from older sources: its core reads 27 feature parameters, this library passes \d+; rebuild it with `npm run build:native`/);
    assert.match(staleAddonReason({} as { SD_P_COUNT: number }) ?? '', /reads undefined feature parameters/);
  });

  it('computes the default config to [numFrames x dims]', () => {
    for (const b of backends) {
      const ex = b.createExtractor(resolveFeatureConfig());
      const out = ex.compute(sine(8000, 440));
      assert.equal(out.frames, 100);
      assert.equal(out.dims, 20);
      assert.equal(out.data.length, 2000);
      assert.ok(out.data.every(Number.isFinite));
      ex.dispose();
    }
  });

  const badConfigs: Array<[Partial<FeatureConfig>, RegExp]> = [
    [{ nFft: 300 }, /nFft 300 must be a power of two/],
    [{ nMels: 200 }, /nMels 200 must be in 1\.\.nFft\/2\+1 \(129\)/],
    [{ fMax: 5000 }, /fMax 5000 is above the Nyquist frequency 4000/],
    [{ window: 'blackman' as FeatureConfig['window'] }, /window must be hann or hamming/],
    [{ normalization: { mean: [0, 0], std: [1, 1] } }, /normalization statistics have 2 values each; the features have 20/],
    [{ log: { ...PCEN_DEFAULTS, type: 'pcen', gain: 1.5 } }, /log\.gain 1\.5 must be in 0\.\.1/],
    [{ log: { ...PCEN_DEFAULTS, type: 'pcen', bias: 0 } }, /log\.bias 0 must be in 1e-6\.\.1e6/],
    [{ log: { ...PCEN_DEFAULTS, type: 'pcen', timeConstant: Number.NaN } }, /log\.timeConstant nan must be in 0\.001\.\.100 seconds/],
    [{ log: { ...PCEN_DEFAULTS, type: 'pcen', eps: 0 } }, /log\.eps 0 must be in 1e-12\.\.1000/],
  ];
  for (const [partial, message] of badConfigs) {
    it(`rejects ${JSON.stringify(partial)} with the same FeatureConfigError from both backends`, () => {
      const config = { ...resolveFeatureConfig(), ...partial } as FeatureConfig;
      const messages = backends.map((b) => {
        try {
          b.createExtractor(config);
        } catch (err) {
          assert.ok(err instanceof FeatureConfigError, `${b.name}: ${String(err)}`);
          assert.match(err.message, message);
          return err.message;
        }
        assert.fail(`${b.name} accepted ${JSON.stringify(partial)}`);
      });
      assert.equal(messages[0], messages[1]);
    });
  }

  it('resolveFeatureConfig refuses a key it does not know, at the top or in log, instead of leaving the default in place', () => {
    const refuses = (partial: unknown, message: RegExp) => assert.throws(() => resolveFeatureConfig(partial as Partial<FeatureConfig>), (e: unknown) => e instanceof FeatureConfigError && message.test(e.message));
    refuses({ nmels: 24 }, /unknown key 'nmels' \(known: sampleRate, kind,/);
    refuses({ kind: 'logmel', log: { type: 'ln', floor: 1e-6, amin: 1e-10 } }, /log: unknown key 'amin' for type 'ln'/);
    refuses({ center: 'yes' }, /center "yes" must be true or false/);
    refuses({ log: { type: 'pcen', floor: 1e-6 } }, /log: unknown key 'floor' for type 'pcen' \(known: type, timeConstant, gain, bias, power, eps\)/);
    refuses({ log: { type: 'pcen', power: 2 } }, /log\.power 2 must be in 0\.001\.\.1/);
    refuses({ log: { type: 'dB' } }, /log\.type "dB" must be db, ln or pcen/);
    // A pcen config names what it changes; the rest are librosa.pcen's defaults, written out in full.
    assert.deepEqual(resolveFeatureConfig({ log: { type: 'pcen', eps: 1e-9 } as FeatureConfig['log'] }).log, { ...PCEN_DEFAULTS, type: 'pcen', eps: 1e-9 });
    refuses(null, /must be an object, got null/);
    assert.equal(resolveFeatureConfig({ kind: 'logmel', nMels: 24 }).nMels, 24);
  });

  it('pcen is a gain control per band: a steady tone gives steady values, a 20 dB step stands out and then fades back', () => {
    const rate = 8000;
    const tone = (level: number, from: number, n: number) => Float32Array.from({ length: n }, (_, i) => level * Math.sin((2 * Math.PI * 500 * (from + i)) / rate));
    const quiet = tone(0.01, 0, 2 * rate);
    const loud = tone(0.1, 2 * rate, 2 * rate);
    const x = new Float32Array(4 * rate);
    x.set(quiet);
    x.set(loud, 2 * rate);
    const config = resolveFeatureConfig({ kind: 'logmel', nMels: 32, hopLength: 128, numFrames: 0, log: { type: 'pcen', eps: 1e-12 } as FeatureConfig['log'] });
    for (const b of backends) {
      const f = b.createExtractor(config).compute(x);
      const at = (frame: number) => f.data.slice(frame * f.dims, (frame + 1) * f.dims);
      // The band holding 500 Hz, just before the step.
      const step = Math.round((2 * rate) / 128);
      const before = step - 2;
      const band = at(before).indexOf(Math.max(...at(before)));
      const value = (frame: number) => f.data[frame * f.dims + band];
      // A steady tone, long after its onset (the smoother started on the half-silent first frame), gives a
      // steady value.
      for (let t = step - 20; t < step - 1; t++) assert.ok(Math.abs(value(t) - value(before)) < 1e-2 * value(before), `${b.name}: frame ${t} ${value(t)} vs ${value(before)}`);
      // Ten times the amplitude: far above the steady value at first, back near it 1.5 s later.
      const peak = Math.max(...[0, 1, 2, 3].map((k) => value(step + k)));
      assert.ok(peak > 3 * value(before), `${b.name}: the step gives ${peak} against ${value(before)}`);
      const settled = value(step + Math.round((1.5 * rate) / 128));
      assert.ok(Math.abs(settled - value(before)) < 0.3 * value(before), `${b.name}: 1.5 s after the step ${settled} against ${value(before)} before it`);
    }
  });

  const badAudio: Array<[string, Float32Array, RegExp]> = [
    ['empty', new Float32Array(0), /audio is empty/],
    ['NaN', Float32Array.from([0.1, Number.NaN, 0.2]), /sample 1 is NaN/],
    ['Infinity', Float32Array.from([0.1, 0.2, Number.POSITIVE_INFINITY]), /sample 2 is infinite/],
  ];
  for (const [name, samples, message] of badAudio) {
    it(`rejects ${name} audio with the same AudioInputError from both backends (compute and resample)`, () => {
      const seen: string[] = [];
      for (const b of backends) {
        const ex = b.createExtractor(resolveFeatureConfig());
        assert.throws(() => ex.compute(samples), (err: unknown) => err instanceof AudioInputError && message.test(err.message) && !!seen.push(err.message));
        assert.throws(() => b.resample(samples, 48000, 8000), (err: unknown) => err instanceof AudioInputError && message.test(err.message));
        ex.dispose();
      }
      assert.equal(seen[0], seen[1]);
    });
  }

  it('refuses to produce more than 2^26 feature values per call, with the same message from both backends', () => {
    const config = resolveFeatureConfig({ kind: 'spectrogram', nFft: 1024, winLength: 1024, hopLength: 1, numFrames: 0 });
    const x = new Float32Array(1 << 20).fill(0.1);
    const messages = backends.map((b) => {
      const ex = b.createExtractor(config);
      try {
        ex.compute(x);
      } catch (err) {
        assert.ok(err instanceof AudioInputError, String(err));
        assert.match(err.message, /would give \d+ feature values/);
        return err.message;
      } finally {
        ex.dispose();
      }
      assert.fail(`${b.name} computed it`);
    });
    assert.equal(messages[0], messages[1]);
  });

  it('native and wasm resample alike (48k/44.1k/22.05k/16k <-> 8k)', () => {
    for (const rate of [48000, 44100, 22050, 16000]) {
      const x = Float32Array.from({ length: Math.ceil(rate / 4) }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1234 * i) / rate) + 0.1 * Math.sin(i));
      const [a, b] = backends.map((be) => be.resample(x, rate, 8000));
      assert.equal(a.length, Math.ceil((x.length * 8000) / rate));
      assert.equal(b.length, a.length);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      assert.ok(worst < 1e-6, `${rate} -> 8000: native and wasm differ by ${worst}`);
      const [c, d] = backends.map((be) => be.resample(a, 8000, rate));
      assert.equal(c.length, Math.ceil((a.length * rate) / 8000));
      for (let i = 0; i < c.length; i++) assert.ok(Math.abs(c[i] - d[i]) < 1e-6);
    }
  });

  it('WSOLA in the core (native and wasm) matches the TypeScript reference bit for bit', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647) * 2 - 1;
    const cases: [number, number, number][] = [
      [4800, 4000, 8000], // a voice shift's piece, squeezed back
      [4000, 4800, 8000],
      [8000, 5714, 8000], // tempo x1.4
      [8000, 11429, 8000], // tempo x0.7
      [16000, 13000, 16000],
      [22050, 30000, 22050],
      [44100, 40000, 44100],
      [37, 50, 8000], // shorter than one frame
      [1, 1, 8000],
      [300, 1, 8000],
    ];
    for (const [n, out, rate] of cases) {
      const speech = Float32Array.from({ length: n }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 180 * i) / rate) * (1 + 0.5 * Math.sin(i / 97)) + 0.1 * random());
      const want = wsolaStretchReference(speech, out, rate);
      for (const b of backends) assert.deepEqual(b.wsolaStretch(speech, out, rate), want, `${b.name}: ${n} -> ${out} samples at ${rate} Hz`);
    }
  });

  it('WSOLA refuses empty audio, lengths that are not whole samples and rates the core does not take', () => {
    for (const b of backends) {
      assert.throws(() => b.wsolaStretch(new Float32Array(0), 10, 8000), (e: Error) => e instanceof AudioInputError && /empty/.test(e.message));
      for (const n of [0, -3, 2.5, NaN, Infinity, 2 ** 25 + 1, 3e9, 2 ** 33]) assert.throws(() => b.wsolaStretch(sine(100, 200), n, 8000), AudioInputError, `${b.name}: length ${n}`);
      for (const r of [0, 500, 8000.5, 1e6]) assert.throws(() => b.wsolaStretch(sine(100, 200), 50, r), AudioInputError, `${b.name}: rate ${r}`);
      assert.throws(() => b.wsolaStretch([0.1, 0.2] as unknown as Float32Array, 5, 8000), AudioInputError);
    }
  });

  it('rejects rates it cannot resample with AudioInputError', () => {
    for (const b of backends) {
      assert.throws(() => b.resample(sine(100, 440), 8000, 8001), (err: unknown) => err instanceof AudioInputError && /too fine-grained/.test(err.message));
      assert.throws(() => b.resample(sine(100, 440), 0, 8000), AudioInputError);
      assert.throws(() => b.resample(sine(100, 440), 44100.5, 8000), AudioInputError);
    }
  });

  it('applies stored normalization statistics per feature: (x - mean) / std', () => {
    const base = resolveFeatureConfig({ kind: 'logmel', nMels: 8, numFrames: 30 });
    const mean = Array.from({ length: 8 }, (_, i) => -40 + 3 * i);
    const std = Array.from({ length: 8 }, (_, i) => 5 + i);
    const x = sine(3000, 700);
    for (const b of backends) {
      const raw = b.createExtractor(base).compute(x);
      const norm = b.createExtractor(resolveFeatureConfig({ ...base, normalization: { mean, std } })).compute(x);
      for (let i = 0; i < raw.data.length; i++) {
        const d = i % 8;
        assert.ok(Math.abs(norm.data[i] - (raw.data[i] - mean[d]) / std[d]) < 1e-5, `${b.name} value ${i}`);
      }
    }
  });

  it('numFrames 0 keeps the natural length (1 + n / hop with centre padding)', () => {
    for (const b of backends) {
      const ex = b.createExtractor(resolveFeatureConfig({ numFrames: 0, deltas: 2 }));
      const out = ex.compute(sine(12345, 300));
      assert.equal(out.frames, 1 + Math.floor(12345 / 80));
      assert.equal(out.dims, 60);
    }
  });

  it('releaseFreeMemory is in the addon and runs through it once loaded (its effect on RSS: bench/live-latency.ts rssMaxMb)', () => {
    assert.equal(typeof loadNativeBinding().releaseFreeMemory, 'function');
    assert.equal(typeof releaseFreeMemory(), 'boolean');
  });

  it('a disposed extractor refuses to compute', () => {
    for (const b of backends) {
      const ex = b.createExtractor(resolveFeatureConfig());
      ex.dispose();
      assert.throws(() => ex.compute(sine(800, 440)), /disposed/);
    }
  });
});
