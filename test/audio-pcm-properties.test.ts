import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AudioInputError, SpokenDigitsError } from '../src/errors.js';
import { clippedNote, clippedShare, CLIPPED_NOTE_SHARE, decodeWav, downmixInterleaved, float32ToInt16, int16ToFloat32, MAX_FLOAT_SAMPLE, pcmToFloat32 } from '../src/audio/index.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtBody, int16Body, riff } from './fixtures/build-wav.js';

const int16s = fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 300 });
const anyFloats = fc.array(fc.float({ noDefaultInfinity: false, noNaN: false }), { maxLength: 300 });

describe('audio: PCM conversion properties (fast-check)', () => {
  it('int16 -> float32 -> int16 is the identity', () => {
    fc.assert(
      fc.property(int16s, (xs) => {
        const back = float32ToInt16(int16ToFloat32(Int16Array.from(xs)));
        assert.deepEqual([...back], xs);
      }),
    );
  });

  it('int16 -> float32 stays in [-1, 1)', () => {
    fc.assert(fc.property(int16s, (xs) => int16ToFloat32(Int16Array.from(xs)).every((v) => v >= -1 && v < 1)));
  });

  it('float32 in [-1, 1] -> int16 -> float32 is within half a step', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { maxLength: 300 }), (xs) => {
        const f = Float32Array.from(xs);
        const back = int16ToFloat32(float32ToInt16(f));
        for (let i = 0; i < f.length; i++) assert.ok(Math.abs(back[i] - f[i]) <= 0.5 / 32768 + 1e-7 || f[i] > 32767 / 32768);
      }),
    );
  });

  it('float32 -> int16 clamps anything (huge, Infinity, NaN) into range, NaN to 0', () => {
    fc.assert(
      fc.property(anyFloats, (xs) => {
        const out = float32ToInt16(Float32Array.from(xs));
        out.forEach((v, i) => {
          assert.ok(v >= -32768 && v <= 32767);
          if (Number.isNaN(xs[i])) assert.equal(v, 0);
          if (xs[i] >= 1) assert.equal(v, 32767);
          if (xs[i] <= -1) assert.equal(v, -32768);
        });
      }),
    );
  });

  it('downmix: frame count, each value within its frame range, equal channels unchanged', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { maxLength: 200 }), (ch, xs) => {
        const inter = Float32Array.from(xs);
        const mono = downmixInterleaved(inter, ch);
        assert.equal(mono.length, Math.floor(xs.length / ch));
        for (let f = 0; f < mono.length; f++) {
          const frame = xs.slice(f * ch, f * ch + ch);
          assert.ok(mono[f] >= Math.min(...frame) - 1e-6 && mono[f] <= Math.max(...frame) + 1e-6);
        }
        const same = new Float32Array(mono.length * ch);
        for (let f = 0; f < mono.length; f++) same.fill(xs[f], f * ch, f * ch + ch);
        const m2 = downmixInterleaved(same, ch);
        for (let f = 0; f < m2.length; f++) assert.ok(Math.abs(m2[f] - xs[f]) <= 1e-6);
      }),
    );
  });

  it('pcmToFloat32: floats up to ±MAX_FLOAT_SAMPLE come back clamped to [-1, 1]; any NaN/Inf or a float beyond is an AudioInputError', () => {
    const inRange = fc.array(fc.float({ min: -MAX_FLOAT_SAMPLE, max: MAX_FLOAT_SAMPLE, noNaN: true }), { maxLength: 300 });
    fc.assert(
      fc.property(fc.oneof(anyFloats, inRange), (xs) => {
        const input = Float32Array.from(xs);
        const copy = input.slice();
        if (xs.length === 0 || input.some((v) => !(Math.abs(v) <= MAX_FLOAT_SAMPLE))) {
          assert.throws(() => pcmToFloat32(input, 8000), AudioInputError);
        } else {
          const out = pcmToFloat32(input, 8000);
          assert.equal(out.length, xs.length);
          out.forEach((v, i) => assert.equal(v, Math.max(-1, Math.min(1, Math.fround(xs[i])))));
        }
        assert.deepEqual(input, copy, 'caller buffer must not change');
      }),
    );
  });

  it('pcmToFloat32 refuses rates outside 4 kHz..384 kHz and non-integer rates', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 3999 }), fc.integer({ min: 384001 }), fc.double({ noInteger: true })), (rate) => {
        assert.throws(() => pcmToFloat32(new Int16Array(4), rate), AudioInputError);
      }),
    );
  });

  it('WAV encode -> decodeWav round trip for any channels, rate, samples and junk chunks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 4000, max: 384000 }),
        fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.uint8Array({ maxLength: 9 }), { maxLength: 3 }),
        (ch, rate, frameVals, junks) => {
          const inter = frameVals.flatMap((v) => Array(ch).fill(v));
          const bytes = riff([{ id: 'fmt ', body: fmtBody({ channels: ch, rate }) }, ...junks.map((body) => ({ id: 'junk', body })), { id: 'data', body: int16Body(inter) }]);
          const d = decodeWav(bytes);
          assert.equal(d.sampleRate, rate);
          assert.equal(d.channels, ch);
          assert.equal(d.samples.length, frameVals.length);
          d.samples.forEach((v, i) => assert.ok(Math.abs(v - frameVals[i] / 32768) <= 1e-6));
        },
      ),
    );
  });

  it('mutated real WAV bytes: a typed error or finite samples in [-1, 1], never anything else', () => {
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'wav');
    const seeds = ['s16.wav', 'f32.wav', 's24-extensible.wav', 'alaw.wav', 'stereo.wav'].map((n) => fs.readFileSync(path.join(dir, n)).subarray(0, 600));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 599 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 600 }),
        (which, flips, cut) => {
          const b = Buffer.from(seeds[which]);
          for (const [pos, val] of flips) b[pos] = val;
          try {
            const d = decodeWav(b.subarray(0, cut));
            assert.ok(d.samples.every((v) => Number.isFinite(v) && v >= -1 && v <= 1));
          } catch (e) {
            if (!(e instanceof SpokenDigitsError)) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('audio: clippedShare', () => {
  it('counts samples flat at full scale, not a waveform passing through it', () => {
    const sine = (gain: number) => new Float32Array(8000).map((_, i) => Math.max(-1, Math.min(1, gain * Math.sin((2 * Math.PI * 200 * i) / 8000))));
    assert.equal(clippedShare(sine(0.5)), 0);
    // Peaks exactly at full scale, one sample each (40 samples a period; the ones beside a peak at 0.988): not clipped.
    assert.equal(clippedShare(new Float32Array(8000).map((_, i) => Math.cos((2 * Math.PI * i) / 40))), 0);
    // Driven 4x into the rails: most of each half-period is flat.
    const hot = clippedShare(sine(4));
    assert.ok(hot > 0.6 && hot < 0.9, String(hot));
    assert.equal(clippedShare(new Float32Array(0)), 0);
    assert.ok(hot >= CLIPPED_NOTE_SHARE && clippedShare(sine(0.99)) < CLIPPED_NOTE_SHARE);
    assert.equal(clippedNote(0.2553), 'clipped: 26% of its samples at full scale (recorded too loud: lower the input gain)');
    assert.equal(clippedNote(0.012), 'clipped: 1.2% of its samples at full scale (recorded too loud: lower the input gain)');
  });
});
