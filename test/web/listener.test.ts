import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebListener, type WebListenerEvents } from '../../src/web/listener.js';
// VoiceAdapter as a page imports it, from the browser entry.
import { featureBackend, VoiceAdapter, WebRecognizer } from '../../src/web/index.js';
import { fetchModel } from '../../src/web/recognizer.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ModelError } from '../../src/errors.js';
import { Listener } from '../../src/stream/index.js';
import { clickClip, makeDigitString, rng } from '../stream/fixtures.js';
import { ROOT } from './harness.js';

/*
 * WebListener's own rules (queue, timelines, drops, failure, close), in Node: its parts are the
 * browser's (the wasm DSP core, onnxruntime-web, which runs in Node too); only the microphone needs a
 * browser (test/web/library.test.ts).
 */
const MODEL = join(ROOT, 'models/default.int8.onnx');

type Log = { [K in keyof WebListenerEvents]?: WebListenerEvents[K][] };
function record(l: WebListener): Log {
  const log: Log = {};
  for (const type of ['digit', 'string', 'overflow', 'end', 'error', 'voiceshift'] as const) {
    l.on(type, (e: unknown) => ((log[type] ??= []) as unknown[]).push(e));
  }
  return log;
}
const digitsOf = (log: Log) => (log.digit ?? []).map((d) => d.digit).join('');

function pushAll(l: WebListener, x: Float32Array, rate: number, block = 160, live = false): void {
  for (let i = 0; i < x.length; i += block) l.push(x.subarray(i, i + block), rate, { live });
}

describe('WebListener (spoken-digits/web) in Node', function () {
  this.timeout(120_000);
  let recognizer: WebRecognizer;
  // One phone number, 8 kHz, FSDD test clips with 120-450 ms pauses, and what the Node Listener hears in it.
  const s = makeDigitString('4155550123', 'jackson', rng(5), {});
  let nodeDigits = '';
  /** The string twice, 1 s apart (20 digits). */
  const stringTwice = () => {
    const twice = new Float32Array(s.samples.length * 2 + 8000);
    twice.set(s.samples, 0);
    twice.set(s.samples, s.samples.length + 8000);
    return twice;
  };

  before(async () => {
    recognizer = await WebRecognizer.load(new Uint8Array(readFileSync(MODEL)));
    const node = await Listener.create({ model: MODEL });
    const heard: number[] = [];
    node.on('digit', (e) => heard.push(e.digit));
    pushAll(node as unknown as WebListener, s.samples, 8000);
    await node.end();
    nodeDigits = heard.join('');
    assert.equal(nodeDigits, s.digits, 'the Node Listener gets this string wrong: pick another');
  });

  after(async () => {
    await recognizer?.dispose();
  });

  it('hears what the Node Listener hears, and never drops audio pushed faster than real time', async () => {
    const l = await WebListener.create({ model: recognizer });
    const log = record(l);
    // Three copies 1.2 s apart (26 s, beyond the 10 s live backlog), pushed at once.
    const gap = 1.2 * 8000;
    const three = new Float32Array(s.samples.length * 3 + gap * 2);
    for (let k = 0; k < 3; k++) three.set(s.samples, k * (s.samples.length + gap));
    pushAll(l, three, 8000);
    assert.ok(l.pendingSeconds > 20, `pending ${l.pendingSeconds}`);
    await l.drained();
    const summary = await l.end();
    assert.equal(digitsOf(log), nodeDigits.repeat(3));
    assert.deepEqual(log.string?.map((e) => e.digits), [nodeDigits, nodeDigits, nodeDigits]);
    assert.equal(summary?.digitCount, 30);
    assert.ok(Math.abs(summary!.durationMs - (three.length / 8000) * 1000) < 20);
    assert.equal(log.overflow, undefined);
    assert.equal(l.pendingSeconds, 0);
    // One push of the whole of it is the same.
    const one = await WebListener.create({ model: recognizer });
    const log1 = record(one);
    one.push(three, 8000);
    await one.end();
    assert.equal(digitsOf(log1), nodeDigits.repeat(3));
    await l.close();
    await one.close();
  });

  it('live audio beyond maxBacklogSeconds is dropped, reported with the right counts, and starts a new timeline', async () => {
    const l = await WebListener.create({ model: recognizer, maxBacklogSeconds: 1 });
    const log = record(l);
    // 1 s is accepted, the next 2 s are dropped (pushed before any of it was decoded); once decoding
    // caught up, live audio is taken again.
    const second = new Float32Array(8000);
    l.push(second, 8000, { live: true });
    l.push(new Float32Array(8000), 8000, { live: true });
    l.push(new Float32Array(8000), 8000, { live: true });
    await l.drained();
    assert.equal(log.overflow, undefined, 'reported before the drop run ended');
    l.push(new Float32Array(4000), 8000, { live: true });
    l.push(new Float32Array(8000), 8000, { live: true }); // 1.5 s behind: dropped
    await l.end();
    assert.deepEqual(log.overflow, [
      { droppedFrames: 16000, totalDroppedFrames: 16000 },
      { droppedFrames: 8000, totalDroppedFrames: 24000 },
    ]);
    // Each drop closed a timeline: the first second, then the half second heard after it.
    assert.deepEqual(log.end?.map((e) => Math.round(e.durationMs)), [1000, 500]);
    await l.close();
  });

  it('a new sample rate starts a new timeline; Int16 audio is taken as the Node Listener takes it', async () => {
    const l = await WebListener.create({ model: recognizer });
    const log = record(l);
    pushAll(l, s.samples, 8000);
    // The same string at 16 kHz (the DSP core's resampler), as int16.
    const r16 = (await featureBackend()).resample(s.samples, 8000, 16000);
    const pcm = Int16Array.from(r16, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
    for (let i = 0; i < pcm.length; i += 320) l.push(pcm.subarray(i, i + 320), 16000);
    await l.end();
    assert.equal(log.end?.length, 2);
    assert.deepEqual(log.string?.map((e) => e.digits), [nodeDigits, nodeDigits]);
    await l.close();
  });

  it('hears a string pushed at 384 kHz and at 6 kHz (rates the decoder does not take) as at 8 kHz', async () => {
    const listen = async (rate: number) => {
      const x = rate === 8000 ? s.samples : recognizer.backend.resample(s.samples, 8000, rate);
      const l = await WebListener.create({ model: recognizer });
      const log = record(l);
      pushAll(l, x, rate, Math.round(rate / 7));
      const end = await l.end();
      await l.close();
      assert.equal(log.error, undefined, `${rate} Hz: ${log.error}`);
      return { heard: digitsOf(log), ends: (log.digit ?? []).map((d) => d.endMs), durationMs: end!.durationMs };
    };
    const base = await listen(8000);
    assert.equal(base.heard, nodeDigits);
    for (const rate of [384000, 6000]) {
      const other = await listen(rate);
      assert.equal(other.heard, base.heard, `${rate} Hz`);
      // The whole stream reaches the decoder (the resampler's held-back tail too), and times are the stream's.
      assert.ok(Math.abs(other.durationMs - base.durationMs) <= 1, `${rate} Hz: ${other.durationMs} ms of audio, at 8 kHz ${base.durationMs}`);
      other.ends.forEach((t, i) => assert.ok(Math.abs(t - base.ends[i]) <= 20, `${rate} Hz: digit ${i} ends at ${t} ms, at 8 kHz ${base.ends[i]}`));
    }
  });

  it('a failure ends it for good: an error event, no half string, push() and end() refuse', async () => {
    const l = await WebListener.create({ model: recognizer });
    const log = record(l);
    const real = recognizer.recognizePieces.bind(recognizer);
    let calls = 0;
    recognizer.recognizePieces = async (pieces, threshold) => {
      if (++calls === 3) throw new Error('injected failure');
      return real(pieces, threshold);
    };
    try {
      pushAll(l, s.samples, 8000);
      await l.drained();
    } finally {
      recognizer.recognizePieces = real;
    }
    assert.equal(log.error?.length, 1);
    assert.match(String(log.error![0]), /injected failure/);
    assert.equal(log.string, undefined, 'a part of the number came out as a whole one');
    assert.throws(() => l.push(new Float32Array(160), 8000), { code: 'ERR_LISTENER_ENDED' });
    await assert.rejects(l.end(), /injected failure/);
    await l.close();
  });

  it('close() is safe twice and at once; nothing is taken after it; a loaded model is released', async () => {
    const l = await WebListener.create({ model: new Uint8Array(readFileSync(MODEL)) });
    const log = record(l);
    pushAll(l, s.samples, 8000);
    await Promise.all([l.close(), l.close()]);
    await l.close();
    // Queued audio was decoded before closing.
    assert.equal(digitsOf(log), nodeDigits);
    assert.throws(() => l.push(new Float32Array(160), 8000), { code: 'ERR_CLOSED' });
    // A rejected promise, not a throw before it: `l.startMicrophone().catch(h)` sees it.
    await assert.rejects(l.startMicrophone(), { code: 'ERR_CLOSED' });
    await assert.rejects(l.recognizer.recognize(new Float32Array(800), 8000, 0.5));
  });

  it('bad options and audio are typed errors', async () => {
    await assert.rejects(WebListener.create({ model: recognizer, threshold: 2 }), { code: 'ERR_OPTIONS' });
    await assert.rejects(WebListener.create({ model: recognizer, stringPauseMs: 0 }), { code: 'ERR_OPTIONS' });
    await assert.rejects(WebListener.create({ model: recognizer, maxBacklogSeconds: -1 }), { code: 'ERR_OPTIONS' });
    await assert.rejects(WebListener.create({ model: recognizer, maxBacklogSeconds: Infinity }), { code: 'ERR_OPTIONS' });
    await assert.rejects(WebListener.create({} as never), { code: 'ERR_MODEL' });
    await assert.rejects(WebListener.create(undefined as never), { code: 'ERR_MODEL' });
    await assert.rejects(WebListener.create({ model: recognizer, treshold: 0.5 } as never), { code: 'ERR_OPTIONS' });
    await assert.rejects(WebListener.create({ model: recognizer, split: { earlysplit: false } } as never), { code: 'ERR_OPTIONS', message: /WebListener\.create: split: unknown option 'earlysplit'/ });
    const other = new VoiceAdapter({ voiceShift: 1, predictShifted: async () => [] });
    await assert.rejects(WebListener.create({ model: recognizer, adaptVoice: other }), { code: 'ERR_ADAPT_VOICE' });
    const l = await WebListener.create({ model: recognizer });
    for (const rate of [NaN, 8000.5, 1000, 1e6, 7999]) assert.throws(() => l.push(new Float32Array(160), rate), { code: 'ERR_AUDIO_INPUT' }, String(rate));
    assert.throws(() => l.push([0, 0] as unknown as Float32Array, 8000), { code: 'ERR_AUDIO_INPUT' });
    // `live: 'false'` is truthy: 22 of 24 digits were dropped as a live backlog.
    assert.throws(() => l.push(new Float32Array(160), 8000, { live: 'false' } as never), { code: 'ERR_OPTIONS', message: /push\(\): live must be a boolean/ });
    assert.throws(() => l.push(new Float32Array(160), 8000, { liev: true } as never), { code: 'ERR_OPTIONS', message: /unknown option 'liev'/ });
    assert.throws(() => l.push(new Float32Array(160), 8000, null as never), { code: 'ERR_OPTIONS' });
    await assert.rejects(l.startMicrophone({ autoRecover: 'no' } as never), { code: 'ERR_OPTIONS', message: /autoRecover must be a boolean/ });
    await assert.rejects(l.startMicrophone({ bogus: 1 } as never), { code: 'ERR_OPTIONS' });
    await l.close();
    // The recognizer's own calls: a threshold that is not a number 0..1 would turn rejection off.
    for (const t of ['', NaN, null, -1, 2, '0.9']) await assert.rejects(recognizer.recognize(new Float32Array(800), 8000, t as never), { code: 'ERR_OPTIONS' }, String(t));
    const byDefault = await recognizer.recognize(new Float32Array(800).fill(0.001), 8000);
    assert.equal(typeof byDefault.confidence, 'number');
    await assert.rejects(recognizer.recognizeBatch(null as never, 0.5), { code: 'ERR_AUDIO_INPUT' });
    // A click, cut as a file is (the kiosk's batch mode): too brief for a word, as in Node, not a "6".
    const [click] = await recognizer.recognizeBatch(await recognizer.cutPieces([{ samples: clickClip(), sampleRate: 8000, shift: 1 }]));
    assert.deepEqual([click.isDigit, click.rejectedBy], [false, 'too-short']);
  });

  it('a disposed recognizer is refused when a listener is made of it, naming the recognizer', async () => {
    const gone = await WebRecognizer.load(new Uint8Array(readFileSync(MODEL)));
    await gone.dispose();
    await assert.rejects(WebListener.create({ model: gone }), { code: 'ERR_MODEL', message: /the WebRecognizer was disposed/ });
    await assert.rejects(gone.recognize(new Float32Array(800), 8000), { code: 'ERR_MODEL', message: /was disposed; load a new one/ });
  });

  it('a model download that stalls or is larger than a model may be is a ModelError, not a wait for ever', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/huge.onnx') {
        res.writeHead(200, { 'Content-Length': String(300 * 1024 * 1024) });
        res.write(Buffer.alloc(10));
        return;
      }
      // Headers and one byte, then nothing: the connection stays open.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write(Buffer.alloc(1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const started = Date.now();
      await assert.rejects(fetchModel(`http://127.0.0.1:${port}/slow.onnx`, { stallMs: 300 }), { code: 'ERR_MODEL', message: /nothing arrived for 0\.3 s \(the download stalled\)/ });
      assert.ok(Date.now() - started < 5000);
      await assert.rejects(fetchModel(`http://127.0.0.1:${port}/huge.onnx`), { code: 'ERR_MODEL', message: /larger than a model may be/ });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('for await: every event in order, until close(); a failure ends the iteration by throwing it', async () => {
    const l = await WebListener.create({ model: recognizer });
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const e of l) if (e.type === 'digit' || e.type === 'string' || e.type === 'end') seen.push(e.type === 'digit' ? String(e.digit) : e.type === 'string' ? `[${e.digits}]` : 'end');
    })();
    pushAll(l, s.samples, 8000);
    await l.end();
    await l.close();
    await iterating;
    assert.deepEqual(seen, [...nodeDigits, `[${nodeDigits}]`, 'end']);
    // Made after close(): ends at once.
    assert.deepEqual(await l[Symbol.asyncIterator]().next(), { value: undefined, done: true });

    const failing = await WebListener.create({ model: recognizer });
    failing.on('error', () => undefined);
    const it = failing[Symbol.asyncIterator]();
    const real = recognizer.recognizePieces.bind(recognizer);
    recognizer.recognizePieces = async () => {
      throw new Error('injected failure');
    };
    try {
      pushAll(failing, s.samples, 8000);
      await failing.drained();
    } finally {
      recognizer.recognizePieces = real;
    }
    let thrown: unknown;
    try {
      for (let r = await it.next(); !r.done; r = await it.next());
    } catch (err) {
      thrown = err;
    }
    assert.match(String(thrown), /injected failure/);
    await failing.close();
  });

  it('of two for-await loops, the first to leave early does not close the WebListener; the last one to leave does', async () => {
    const l = await WebListener.create({ model: recognizer });
    const first = (async () => {
      for await (const e of l) if (e.type === 'digit') return e.digit;
    })();
    const rest: string[] = [];
    const second = (async () => {
      let ends = 0;
      for await (const e of l) {
        if (e.type === 'digit') rest.push(String(e.digit));
        if (e.type === 'end' && ++ends === 2) break;
      }
    })();
    pushAll(l, s.samples, 8000);
    await l.end();
    assert.equal(String(await first), nodeDigits[0]);
    // Still open after the first loop left: a second timeline is taken.
    pushAll(l, s.samples, 8000);
    await l.end();
    await second;
    // The second loop heard both, and it was the last open: its leaving closed the WebListener.
    assert.equal(rest.join(''), nodeDigits + nodeDigits);
    assert.throws(() => l.push(s.samples, 8000), /after close\(\)/);
  });

  it("a handler that throws, or an async one that rejects, is an error event; the others and the stream go on; leaving a for-await loop closes it", async () => {
    const l = await WebListener.create({ model: recognizer });
    const log = record(l);
    const offSync = l.on('digit', () => {
      throw new Error('sync handler bug');
    });
    const offAsync = l.on('digit', async () => {
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('async handler bug');
    });
    pushAll(l, s.samples, 8000);
    await l.end();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(digitsOf(log), nodeDigits);
    const errors = (log.error ?? []).map(String);
    assert.equal(errors.filter((e) => /sync handler bug/.test(e) && !/async/.test(e)).length, nodeDigits.length);
    assert.equal(errors.filter((e) => /async handler bug/.test(e)).length, nodeDigits.length);
    offSync();
    offAsync();
    const iterating = (async () => {
      for await (const e of l) if (e.type === 'digit') break;
    })();
    pushAll(l, s.samples, 8000);
    await iterating;
    await assert.rejects(Promise.resolve().then(() => l.push(s.samples, 8000)), /after close\(\)/);
  });

  it('adaptNorm: the page adapts the normalization as DigitRecognizer does, between segments, and says so', async () => {
    // Two copies of the string (20 digits): adapted after the 10th digit and the 20th.
    const twice = stringTwice();
    const l = await WebListener.create({ model: recognizer, adaptNorm: true });
    const log = record(l);
    const adapted: WebListenerEvents['normadapt'][] = [];
    l.on('normadapt', (e) => adapted.push(e));
    pushAll(l, twice, 8000);
    await l.end();
    assert.deepEqual(adapted.map((e) => e.clips), [10, 20]);
    // In line: Node has no Web Worker (even where onnxruntime-web puts a Worker of its own on the global object).
    assert.equal(recognizer.adaptWorkerUnavailable, 'this environment has no Web Worker');
    assert.deepEqual(adapted.map((e) => e.offThread), [false, false]);
    assert.equal(recognizer.normalizationClips, 20);
    assert.equal(digitsOf(log), s.digits + s.digits);
    await l.close();
    // The same clips adapt the Node recognizer the same way: equal answers on a stranger-like voice after it.
    const pieces = s.spans.map(([a, b]) => ({ samples: s.samples.slice(a, b), sampleRate: 8000 }));
    const { DigitRecognizer } = await import('../../src/model/recognizer.js');
    const node = await DigitRecognizer.load({ model: MODEL, threshold: 0 });
    try {
      await recognizer.adaptNormalization(pieces);
      await node.adaptNormalization(pieces);
      const web = await recognizer.recognizeBatch(await recognizer.cutPieces(pieces), 0);
      const ours = await node.predictBatch(pieces);
      web.forEach((w, i) => assert.ok(Math.max(...Array.from(w.probabilities, (p, k) => Math.abs(p - ours[i].probabilities[k]))) < 0.02, `piece ${i}`));
    } finally {
      await node.dispose();
      await recognizer.resetNormalization();
    }
    assert.equal(recognizer.normalizationClips, 0);
    await assert.rejects(recognizer.adaptNormalization(pieces.slice(0, 1)), /at least 2 clips/);
    // What a listener keeps to adapt on: pieces cut and at the model's rate, taken as they are after.
    const wasm = await featureBackend();
    const at48 = pieces.map((p) => ({ samples: wasm.resample(p.samples, 8000, 48000), sampleRate: 48000 }));
    const kept = await recognizer.prepareClips(at48);
    assert.ok(kept.every((k, i) => k.sampleRate === 8000 && k.cutToSpeech === false && k.samples.length <= at48[i].samples.length / 6 + 1));
    assert.deepEqual(await recognizer.prepareClips(kept), kept);
  });

  it('adaptNorm: an adaptation that fails (a worker that crashed) is a normadaptfailed event, and listening goes on', async () => {
    const twice = stringTwice();
    const own = Object.getOwnPropertyDescriptor(recognizer, 'adaptNormalization');
    recognizer.adaptNormalization = async () => {
      throw new ModelError('the normalization adaptation worker stopped: out of memory');
    };
    try {
      const l = await WebListener.create({ model: recognizer, adaptNorm: true });
      const log = record(l);
      const failed: WebListenerEvents['normadaptfailed'][] = [];
      l.on('normadaptfailed', (e) => failed.push(e));
      pushAll(l, twice, 8000);
      await l.end();
      assert.deepEqual(
        failed.map((e) => [e.failures, e.stopped, e.error instanceof ModelError]),
        [
          [1, false, true],
          [2, false, true],
        ],
      );
      assert.equal(log.error, undefined);
      assert.equal(digitsOf(log), s.digits + s.digits);
      // Still listening: the next audio is heard.
      pushAll(l, s.samples, 8000);
      await l.end();
      assert.equal(digitsOf(log), s.digits.repeat(3));
      await l.close();
    } finally {
      if (own) Object.defineProperty(recognizer, 'adaptNormalization', own);
      else delete (recognizer as Partial<WebRecognizer>).adaptNormalization;
    }
    assert.equal(recognizer.normalizationClips, 0);
  });

  it('selfEnroll: the page refits the last layers on what it hears as DigitRecognizer does, once every digit was heard', async () => {
    const { DigitRecognizer } = await import('../../src/model/recognizer.js');
    const { listFsddClips } = await import('../../src/data/clips.js');
    const { readWavFile } = await import('../../src/audio/index.js');
    const { FSDD_RECORDINGS } = await import('../fsdd.js');
    const clips = listFsddClips(FSDD_RECORDINGS).filter((c) => c.speaker === 'jackson' && c.take < 2);
    const pieces = await Promise.all(clips.map(async (c) => await readWavFile(c.path)));
    const node = await DigitRecognizer.load({ model: MODEL, threshold: 0 });
    try {
      assert.deepEqual(await recognizer.adaptNormalization(pieces, { selfEnroll: true }), { selfEnrolled: true, offThread: false });
      assert.deepEqual(await node.adaptNormalization(pieces, { selfEnroll: true }), { selfEnrolled: true, offThread: false });
      const web = await recognizer.recognizeBatch(await recognizer.cutPieces(pieces), 0);
      const ours = await node.predictBatch(pieces);
      web.forEach((w, i) => assert.ok(Math.max(...Array.from(w.probabilities, (p, k) => Math.abs(p - ours[i].probabilities[k]))) < 0.02, `clip ${i}`));
      // Without a 9 among them, the normalization alone.
      assert.deepEqual(await recognizer.adaptNormalization(pieces.filter((_, i) => clips[i].digit !== 9), { selfEnroll: true }), { selfEnrolled: false, offThread: false });
    } finally {
      await node.dispose();
      await recognizer.resetNormalization();
    }
  });

  it('adaptVoice: an adapter carried from one WebListener to the next applies its voice from the start', async () => {
    const adapter = new VoiceAdapter(recognizer);
    const first = await WebListener.create({ model: recognizer, adaptVoice: adapter });
    recognizer.voiceShift = 1.1; // as if another user's listener had left it there
    const second = await WebListener.create({ model: recognizer, adaptVoice: adapter });
    assert.equal(recognizer.voiceShift, adapter.factor);
    await first.close();
    await second.close();
  });
});
