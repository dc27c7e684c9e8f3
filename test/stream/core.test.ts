import assert from 'node:assert/strict';
import { loadStreamCore, type StreamCore, type VadEvent } from '../../src/stream/index.js';
import { loadNativeBinding } from '../../src/features/native.js';
import { makeDigitString, rng } from './fixtures.js';

function run(core: StreamCore, samples: Float32Array, block: number): VadEvent[] {
  const vad = core.createVad({ sampleRate: 8000 });
  const out: VadEvent[] = [];
  for (let i = 0; i < samples.length; i += block) out.push(...vad.process(samples.subarray(i, i + block)));
  out.push(...vad.flush());
  return out;
}

describe('stream core (VAD/endpointer, native and wasm)', function () {
  this.timeout(60000);
  let native: StreamCore;
  let wasm: StreamCore;
  before(async () => {
    native = await loadStreamCore('native');
    wasm = await loadStreamCore('wasm');
  });

  it('finds one segment per spoken digit when pauses are long, covering each clip start', () => {
    const s = makeDigitString('4155550123', 'jackson', rng(3), { minPauseMs: 500, maxPauseMs: 700 });
    const ends = run(native, s.samples, 160).filter((e) => e.type === 'end');
    assert.equal(ends.length, 10, JSON.stringify(ends));
    ends.forEach((e, i) => {
      assert.ok(e.startSample <= s.spans[i][0] + 1600 && e.endSample > s.spans[i][0] + 1200, `segment ${i} ${e.startSample}..${e.endSample} vs clip ${s.spans[i]}`);
    });
  });

  it('gives the same events from the addon and from wasm, whatever the block size', () => {
    const s = makeDigitString('90210', 'theo', rng(4));
    const ref = run(native, s.samples, 4096);
    assert.ok(ref.length >= 3);
    assert.deepEqual(run(wasm, s.samples, 4096), ref);
    assert.deepEqual(run(native, s.samples, 37), ref);
    assert.deepEqual(run(wasm, s.samples, 1000), ref);
  });

  it('reports level, noise floor and speech state', () => {
    const vad = native.createVad({ sampleRate: 8000 });
    vad.process(new Float32Array(8000));
    const quiet = vad.state();
    assert.equal(quiet.inSpeech, false);
    assert.equal(quiet.samplesSeen, 8000);
    const tone = new Float32Array(2000).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 500 * i) / 8000));
    vad.process(tone);
    const loud = vad.state();
    assert.ok(loud.levelDb > -15 && loud.levelDb < -5, `level ${loud.levelDb}`);
    assert.equal(loud.inSpeech, true);
  });

  it('digital silence (exact zeros) does not lower the noise floor: the room noise after it is not speech (both builds)', () => {
    // A room at -60 dBFS, a second of zeros (a muted input, an edited file's gap), the room again.
    const r = rng(8);
    const room = (seconds: number) => Float32Array.from({ length: seconds * 8000 }, () => 0.001 * Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r()));
    const audio = new Float32Array(2.5 * 8000 + 8000 + 1.5 * 8000);
    audio.set(room(2.5));
    audio.set(room(1.5), 3.5 * 8000);
    for (const core of [native, wasm]) {
      const vad = core.createVad({ sampleRate: 8000 });
      vad.process(audio.subarray(0, 2.5 * 8000));
      const before = vad.state().noiseDb;
      vad.process(audio.subarray(2.5 * 8000, 3.5 * 8000));
      // Only the hops whose window still reaches the room move it, a little.
      const after = vad.state().noiseDb;
      assert.ok(Math.abs(after - before) < 3, `${core.name}: the floor went from ${before} to ${after} dB on zeros`);
      const events = vad.process(audio.subarray(3.5 * 8000));
      assert.equal(vad.state().inSpeech, false, core.name);
      assert.deepEqual(events.filter((e) => e.type === 'start'), [], core.name);
    }
  });

  it('says, while a segment is open, how long it has been silent and whether it would be kept (both builds)', () => {
    const s = makeDigitString('7', 'lucas', rng(6), { leadMs: 1000 });
    const tone = new Float32Array(4000).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 500 * i) / 8000));
    for (const core of [native, wasm]) {
      const vad = core.createVad({ sampleRate: 8000, hangoverMs: 120 });
      // The digit, then 10 ms at a time until 80 ms of silence were heard: the segment stays open
      // (hangover 120 ms) and the silence grows by one hop per hop.
      let at = s.spans[0][0] + 1200;
      vad.process(s.samples.subarray(0, at));
      assert.equal(vad.state().inSpeech, true, core.name);
      const silent: number[] = [];
      for (; silent.length === 0 || silent[silent.length - 1] < 640; at += 80) {
        vad.process(s.samples.subarray(at, at + 80));
        const st = vad.state();
        assert.ok(st.inSpeech && st.segmentAccepted, `${core.name}: ${JSON.stringify(st)}`);
        silent.push(st.silentSamples);
      }
      const run = silent.slice(silent.lastIndexOf(0) + 1);
      assert.deepEqual(run, run.map((_, i) => 80 * (i + 1)), `${core.name}: ${silent.join(' ')}`);
      assert.ok(at <= s.spans[0][1] + 640, `${core.name}: silence counted only ${(at - s.spans[0][1]) / 8} ms after the clip`);
      // A held tone opens a segment the endpointer would drop, and is never silent while it lasts.
      const toneVad = core.createVad({ sampleRate: 8000 });
      toneVad.process(new Float32Array(8000));
      toneVad.process(tone);
      const st = toneVad.state();
      assert.equal(st.inSpeech, true, core.name);
      assert.equal(st.segmentAccepted, false, core.name);
      assert.equal(st.silentSamples, 0, core.name);
      vad.flush();
      assert.equal(vad.state().silentSamples, 0, `${core.name}: nothing open after flush`);
    }
  });

  it('finds the pause between two digits as a valley, in both builds', () => {
    const s = makeDigitString('38', 'george', rng(5), { minPauseMs: 150, maxPauseMs: 150, leadMs: 100 });
    for (const core of [native, wasm]) {
      const valleys = core.findValleys(s.samples, 8000, 8, 150);
      assert.ok(
        valleys.some((v) => v.sample >= s.spans[0][1] - 200 && v.sample <= s.spans[1][0] + 200),
        `${core.name}: ${JSON.stringify(valleys)} vs ${JSON.stringify(s.spans)}`,
      );
    }
  });

  it('grows a band contour hop by hop (as the early split does) into the whole audio\'s, whose valleys are findValleys\' own (both builds)', () => {
    const s = makeDigitString('3857', 'nicolas', rng(6), { minPauseMs: 60, maxPauseMs: 200, leadMs: 100 });
    for (const core of [native, wasm]) {
      let grown = new Float32Array(0);
      let settled = 0;
      // Odd block sizes, as a stream's blocks may be.
      for (let n = 0; n <= s.samples.length; n += 80 + (n % 13)) {
        const part = core.bandContour(s.samples.subarray(0, n), 8000, settled);
        assert.equal(settled + part.bandDb.length, Math.floor(n / 80), `${core.name}: hops at ${n} samples`);
        const next = new Float32Array(settled + part.bandDb.length);
        next.set(grown.subarray(0, settled));
        next.set(part.bandDb, settled);
        grown = next;
        assert.ok(part.settledHops >= settled && part.settledHops <= next.length, `${core.name}: settled ${part.settledHops} after ${settled}`);
        settled = part.settledHops;
      }
      const whole = core.bandContour(s.samples, 8000, 0).bandDb;
      const last = core.bandContour(s.samples, 8000, settled).bandDb;
      const joined = new Float32Array(whole.length);
      joined.set(grown.subarray(0, settled));
      joined.set(last, settled);
      assert.deepEqual(joined, whole, `${core.name}: grown contour`);
      assert.deepEqual(core.contourValleys(whole, 8000, 8, 80), core.findValleys(s.samples, 8000, 8, 80), `${core.name}: valleys`);
      assert.ok(core.contourValleys(whole, 8000, 8, 80).length >= 3, `${core.name}: the pauses between four digits`);
      assert.throws(() => core.bandContour(s.samples, 100, 0), /sampleRate/);
    }
    // The two builds' contours agree (float sums in another order: within a hundredth of a dB).
    const a = native.bandContour(s.samples, 8000, 0).bandDb;
    const b = wasm.bandContour(s.samples, 8000, 0).bandDb;
    assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 0.01), 'native and wasm contours');
  });

  it('finds the speech extent from a contour exactly as from the samples (both builds)', () => {
    const s = makeDigitString('907', 'theo', rng(8), { minPauseMs: 150, maxPauseMs: 300 });
    // The whole string, each clip with the string's noise, a piece shorter than a hop, and silence.
    const pieces = [s.samples, ...s.spans.map(([a, b]) => s.samples.subarray(a, b)), s.samples.subarray(0, 50), new Float32Array(4000)];
    const trims: [number, number, number][] = [[40, 0, 0], [40, 50, 20], [30, 20, 0], [60, 0, 25]];
    for (const core of [native, wasm]) {
      for (const piece of pieces) {
        const bandDb = core.bandContour(piece, 8000, 0).bandDb;
        for (const [drop, margin, keep] of trims) {
          assert.deepEqual(core.contourSpeechExtent(bandDb, piece.length, 8000, drop, margin, keep), core.speechExtent(piece, 8000, drop, margin, keep), `${core.name}: ${piece.length} samples, ${drop}/${margin}/${keep}`);
        }
      }
      assert.ok(core.contourSpeechExtent(core.bandContour(s.samples, 8000, 0).bandDb, s.samples.length, 8000, 40, 0, 0) !== null, `${core.name}: speech found`);
      // A contour that is not of that many samples is refused, not misread.
      const bandDb = core.bandContour(s.samples, 8000, 0).bandDb;
      assert.throws(() => core.contourSpeechExtent(bandDb, s.samples.length + 800, 8000, 40, 0, 0), /contour of all/);
      assert.throws(() => core.contourSpeechExtent(bandDb, s.samples.length, 100, 40, 0, 0), /sampleRate/);
    }
  });

  it('dispose() frees an endpointer at once; a disposed one refuses work, and a second dispose() is harmless (both builds)', () => {
    for (const core of [native, wasm]) {
      const vad = core.createVad({ sampleRate: 8000 });
      vad.process(new Float32Array(800));
      assert.equal(typeof vad.dispose, 'function', `${core.name}: the built-in cores free their endpointers`);
      vad.dispose!();
      vad.dispose!();
      vad.reset();
      assert.throws(() => vad.process(new Float32Array(80)), /Vad was disposed/, core.name);
      assert.throws(() => vad.flush(), /Vad was disposed/, core.name);
      assert.throws(() => vad.state(), /Vad was disposed/, core.name);
      // The memory went back to the core: the next one works.
      assert.equal(core.createVad({ sampleRate: 8000 }).process(new Float32Array(800)).length, 0);
    }
  });

  it('refuses impossible settings with a message', () => {
    for (const core of [native, wasm]) {
      assert.throws(() => core.createVad({ sampleRate: 8000, sensitivity: 7 }), /sensitivity must be in 0\.\.1/);
      assert.throws(() => core.createVad({ sampleRate: 100 }), /sampleRate/);
      assert.throws(() => core.createVad({ sampleRate: Infinity }), /sampleRate/);
    }
  });

  it('the contour functions refuse rates and lengths they cannot take, and clamp what overflowed (both builds)', () => {
    const s = makeDigitString('38', 'george', rng(5), { minPauseMs: 150, maxPauseMs: 150, leadMs: 100 });
    for (const core of [native, wasm]) {
      // A rate past the endpointer's, or one that wraps to 8000 as an int32, is refused, not analysed (1.7 GB at 1e9 Hz).
      for (const rate of [2 ** 32 + 8000, 1e9, 8000.5, 0, Number.NaN]) {
        assert.throws(() => core.speechExtent(s.samples, rate, 40, 20), RangeError, `${core.name} speechExtent at ${rate}`);
        assert.throws(() => core.findValleys(s.samples, rate, 8, 150), RangeError, `${core.name} findValleys at ${rate}`);
        assert.throws(() => core.bandContour(s.samples, rate, 0), RangeError, `${core.name} bandContour at ${rate}`);
      }
      // Under 4000 Hz (a model at 3 kHz): nothing found, so a clip is left whole, as before; a contour is refused.
      assert.equal(core.speechExtent(s.samples, 3000, 40, 20), null, core.name);
      assert.deepEqual(core.findValleys(s.samples, 3000, 8, 150), [], core.name);
      assert.throws(() => core.bandContour(s.samples, 3999, 0), RangeError, core.name);
      assert.throws(() => core.bandContour(s.samples, 8000, Number.NaN), RangeError, `${core.name}: a NaN first hop`);
      assert.throws(() => core.contourValleys(new Float32Array(100).fill(-40), Number.NaN, 8, 150), RangeError, `${core.name}: contourValleys at a NaN rate`);
      // Infinity is a limit turned off (SplitOptions take it): no valley is that deep or leaves pieces that long.
      assert.deepEqual(core.findValleys(s.samples, 8000, Infinity, 150), [], core.name);
      assert.deepEqual(core.speechExtent(s.samples, 8000, 40, Infinity), [0, s.samples.length], core.name);
      assert.ok(core.speechExtent(s.samples, 8000, Infinity, 0) !== null, `${core.name}: an infinite drop is the background alone`);
      assert.throws(() => core.speechExtent(s.samples, 8000, 40, -5), RangeError, `${core.name}: a negative margin`);
      assert.throws(() => core.speechExtent(s.samples, 8000, 40, Number.NaN), TypeError, `${core.name}: a NaN margin`);
      // A margin of 1e30 ms is the whole segment (it overflowed the positions to -9.2e18); a piece longer than the audio leaves no valley.
      assert.deepEqual(core.speechExtent(s.samples, 8000, 40, 1e30), [0, s.samples.length], core.name);
      assert.deepEqual(core.findValleys(s.samples, 8000, 8, 1e30), [], core.name);
      assert.deepEqual(core.findValleys(s.samples, 8000, 8, 3e10), [], core.name);
    }
    // A first hop past the end: no hops, and the settled hops are the whole signal's, in both builds alike.
    const hops = Math.floor(s.samples.length / 80);
    const whole = native.bandContour(s.samples, 8000, 0);
    for (const firstHop of [hops, hops + 1, hops + 5000]) {
      const [a, b] = [native, wasm].map((c) => c.bandContour(s.samples, 8000, firstHop));
      assert.deepEqual([a.bandDb.length, b.bandDb.length, a.settledHops, b.settledHops], [0, 0, whole.settledHops, whole.settledHops], `first hop ${firstHop}`);
    }
    // The addon's resampler takes whole rates only (2^32 + 48000 wrapped to 48000 as an int32).
    const { Resampler } = loadNativeBinding();
    for (const rates of [[2 ** 32 + 48000, 8000], [8000.5, 16000]]) assert.throws(() => new Resampler(rates[0], rates[1]), /rates must be integers in 1000\.\.384000/);
  });
});
