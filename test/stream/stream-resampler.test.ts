import assert from 'node:assert/strict';
import { createNativeBackend } from '../../src/features/native.js';
import { createWasmBackend } from '../../src/features/wasm.js';
import { DigitRecognizer } from '../../src/model/recognizer.js';
import { Listener } from '../../src/stream/index.js';
import { StreamResampler } from '../../src/stream/stream-resampler.js';
import { StreamDecoder } from '../../src/stream/decoder.js';
import { concatFloat, makeDigitString, rng } from './fixtures.js';

describe('StreamResampler: a stream resampled block by block, and the Listener at rates the decoder does not take', function () {
  this.timeout(120_000);

  for (const make of [createNativeBackend, createWasmBackend]) {
    it(`comes out bit for bit as the whole resampled at once, however it is cut (${make.name})`, async () => {
      const backend = await make();
      const r = rng(11);
      for (const [from, to] of [
        [4000, 8000],
        [5000, 8000],
        [6000, 8000],
        [384000, 48000],
        [250000, 48000],
        [44100, 16000],
      ]) {
        const signal = Float32Array.from({ length: Math.round(from * 0.7) }, (_, i) => 0.5 * Math.sin(i * 0.05) + 0.2 * (r() * 2 - 1));
        const whole = backend.resample(signal, from, to);
        const stream = new StreamResampler((x, f, t) => backend.resample(x, f, t), from, to);
        const parts: Float32Array[] = [];
        for (let i = 0; i < signal.length; ) {
          const n = 1 + Math.floor(r() * (r() < 0.1 ? 5 : from / 20));
          parts.push(stream.push(signal.subarray(i, i + n)));
          i += n;
        }
        parts.push(stream.flush());
        const streamed = concatFloat(parts);
        assert.equal(streamed.length, whole.length, `${from} -> ${to}`);
        assert.ok(
          streamed.every((v, i) => v === whole[i]),
          `${from} -> ${to}: first difference at ${streamed.findIndex((v, i) => v !== whole[i])}`,
        );
      }
      // Nothing in, nothing out; a block of minutes is cut into core-sized calls.
      const idle = new StreamResampler((x, f, t) => backend.resample(x, f, t), 4000, 8000);
      assert.equal(idle.flush().length, 0);
      const long = new Float32Array(4000 * 120).fill(0.1);
      const big = new StreamResampler((x, f, t) => backend.resample(x, f, t), 4000, 8000);
      assert.equal(big.push(long).length + big.flush().length, 8000 * 120);
    });
  }

  it('a Listener hears a digit string pushed at 384 kHz and at 6 kHz as at 8 kHz; the decoder itself refuses those rates', async () => {
    const recognizer = await DigitRecognizer.load();
    try {
      const s = makeDigitString('40718', 'jackson', rng(5));
      const listen = async (rate: number) => {
        const x = rate === 8000 ? s.samples : recognizer.backend.resample(s.samples, 8000, rate);
        const listener = await Listener.create({ recognizer });
        let heard = '';
        const ends: number[] = [];
        listener.on('digit', (e) => {
          heard += e.digit;
          ends.push(e.endMs);
        });
        const block = Math.round(rate / 7);
        for (let i = 0; i < x.length; i += block) listener.push(x.subarray(i, i + block), rate);
        await listener.end();
        return { heard, ends };
      };
      const base = await listen(8000);
      assert.equal(base.heard, '40718');
      for (const rate of [384000, 6000]) {
        const other = await listen(rate);
        assert.equal(other.heard, base.heard, `${rate} Hz`);
        // Times are the stream's: within a 10 ms hop and the resampler's few ms.
        other.ends.forEach((t, i) => assert.ok(Math.abs(t - base.ends[i]) <= 20, `${rate} Hz: digit ${i} ends at ${t} ms, at 8 kHz ${base.ends[i]}`));
      }
      // Below the WAV reader's 4 kHz there is no speech band left to hear: refused.
      await assert.rejects(async () => (await Listener.create({ recognizer })).push(new Float32Array(100), 3000), /3000 Hz is outside the supported range 4000/);
      const core = await (await import('../../src/stream/core.js')).loadStreamCore();
      assert.throws(() => new StreamDecoder(core, recognizer, {}, 384000, () => undefined), /6800-192000 Hz/);
    } finally {
      await recognizer.dispose();
    }
  });
});
