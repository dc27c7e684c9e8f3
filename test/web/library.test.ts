import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DigitRecognizer } from '../../src/model/recognizer.js';
import { monoWav } from '../fixtures/wav.js';
import { Listener } from '../../src/stream/index.js';
import { makeDigitString, rng } from '../stream/fixtures.js';
import { CHROMIUM, ROOT, fsddDir, makeMicWav } from './harness.js';
import { EmbedderPage } from './embedder.js';

/*
 * `spoken-digits/web` as an embedder uses it: a page of its own, bundled by Vite (and once by webpack 5)
 * with its default settings from an `import ... from 'spoken-digits/web'` (EmbedderPage: onnxruntime-web's .wasm and the
 * adaptation worker found by the bundler, the package's model served beside it). Run in headless
 * Chromium: pushed audio, the microphone (the fake device), adaptation in a Web Worker, a strict CSP,
 * and bad input.
 */

// The embedder's page: everything it does is a function the test calls.
const PAGE_MAIN = `
import { WebListener, WebRecognizer, decodeWav, enrollSpeaker, ort, SpokenDigitsError } from 'spoken-digits/web';

function collect(listener) {
  const got = { digits: [], strings: [], rejected: 0, errors: [], ends: 0, mic: [] };
  listener.on('digit', (e) => got.digits.push({ digit: e.digit, confidence: e.confidence, startMs: e.startMs, endMs: e.endMs, latencyMs: e.latencyMs }));
  listener.on('string', (e) => got.strings.push(e.digits));
  listener.on('rejected', () => got.rejected++);
  listener.on('error', (e) => got.errors.push(String(e)));
  listener.on('end', () => got.ends++);
  listener.on('microphone', (e) => got.mic.push(e.state + (e.detail ? ': ' + e.detail : '')));
  return got;
}
const error = (e) => ({ name: e?.name, code: e?.code, message: String(e?.message ?? e), typed: e instanceof SpokenDigitsError });

window.pushWav = async (url, blockMs) => {
  const audio = decodeWav(new Uint8Array(await (await fetch(url)).arrayBuffer()));
  const listener = await WebListener.create({ model: '/models/default.int8.onnx' });
  const got = collect(listener);
  const block = Math.round((audio.sampleRate * blockMs) / 1000);
  for (let i = 0; i < audio.samples.length; i += block) listener.push(audio.samples.subarray(i, i + block), audio.sampleRate);
  await listener.drained();
  const summary = await listener.end();
  await listener.close();
  return { ...got, summary };
};

window.listenToMic = async (digits, timeoutMs) => {
  const listener = await WebListener.create({ model: await WebRecognizer.load('/models/default.int8.onnx') });
  const got = collect(listener);
  await listener.startMicrophone();
  const t0 = performance.now();
  while (got.digits.length < digits && performance.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 100));
  await listener.close();
  return got;
};

window.micWithoutWorklet = async () => {
  const listener = await WebListener.create({ model: '/models/default.int8.onnx' });
  const got = collect(listener);
  try {
    await listener.startMicrophone();
    return { ok: true, got };
  } catch (e) {
    return { ok: false, error: error(e), got };
  } finally {
    await listener.close();
  }
};

window.badInput = async () => {
  const out = {};
  const attempt = async (name, fn) => {
    try {
      await fn();
      out[name] = { ok: true };
    } catch (e) {
      out[name] = error(e);
    }
  };
  await attempt('missingModel', () => WebListener.create({ model: '/models/missing.onnx' }));
  await attempt('garbageModel', () => WebRecognizer.load(new Uint8Array(1000).fill(7)));
  await attempt('shippedName', () => WebRecognizer.load('default'));
  await attempt('noModel', () => WebListener.create({}));
  await attempt('badThreshold', () => WebListener.create({ model: '/models/default.int8.onnx', threshold: 2 }));
  const listener = await WebListener.create({ model: '/models/default.int8.onnx' });
  await attempt('badRate', () => listener.push(new Float32Array(160), NaN));
  await attempt('notSamples', () => listener.push([0, 0, 0], 8000));
  await listener.close();
  await attempt('afterClose', () => listener.push(new Float32Array(160), 8000));
  return out;
};
// ONNX Runtime's own .wasm not where it is looked for (a wrong path, a host that does not serve it): not the model's fault.
window.ortMissing = async () => {
  ort.env.wasm.wasmPaths = '/nowhere/';
  try {
    await WebRecognizer.load('/models/default.int8.onnx');
    return { ok: true };
  } catch (e) {
    return error(e);
  }
};
// Enrollment in the page: labelled clips of one speaker -> a personal model, loaded at once.
window.enroll = async (names) => {
  const clips = await Promise.all(names.map(async (name) => ({ ...decodeWav(new Uint8Array(await (await fetch('/clips/' + name)).arrayBuffer())), digit: Number(name[0]) })));
  let e;
  try {
    e = await enrollSpeaker(clips, { model: '/models/default.int8.onnx', speaker: 'page' });
  } catch (err) {
    return { error: error(err) };
  }
  const personal = await WebRecognizer.load(e.model);
  const out = { heads: e.heads, voiceShift: e.voiceShift, fit: e.fit, crossCheck: e.crossCheck, enrollment: personal.info.enrollment, loadedShift: personal.voiceShift, bytes: e.model.length };
  await personal.dispose();
  let refused;
  try {
    await enrollSpeaker(clips.slice(0, 3), { model: '/models/default.int8.onnx' });
  } catch (err) {
    refused = error(err);
  }
  return { ...out, refused };
};
// Normalization adaptation in a Web Worker against in line: the page thread's longest stall (the
// longest wait of a 5 ms timer) while each runs, and the adapted models' answers.
window.adaptInWorker = async (names) => {
  const clips = await Promise.all(names.map(async (name) => decodeWav(new Uint8Array(await (await fetch('/clips/' + name)).arrayBuffer()))));
  const stalled = async (work) => {
    const start = performance.now();
    let last = start;
    let worst = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    try {
      const result = await work();
      return { ...result, stallMs: Math.max(worst, performance.now() - last), ms: performance.now() - start };
    } finally {
      clearInterval(timer);
    }
  };
  const answers = async (rec) => JSON.stringify((await rec.recognizePieces(clips.slice(0, 10), 0)).map((r) => Array.from(r.probabilities)));
  const inWorker = await WebRecognizer.load('/models/default.int8.onnx');
  const inLine = await WebRecognizer.load('/models/default.int8.onnx', { adaptWorker: false });
  const out = {};
  for (const selfEnroll of [false, true]) {
    const worker = await stalled(() => inWorker.adaptNormalization(clips, { offThread: true, selfEnroll }));
    const line = await stalled(() => inLine.adaptNormalization(clips, { offThread: true, selfEnroll }));
    out[selfEnroll ? 'selfEnroll' : 'norm'] = { worker, line, same: (await answers(inWorker)) === (await answers(inLine)) };
  }
  out.lineWhy = inLine.adaptWorkerUnavailable;
  // A worker script the page does not serve: adapted in line, and the recognizer says why.
  const missing = await WebRecognizer.load('/models/default.int8.onnx', { adaptWorker: () => new Worker('/no-such-worker.js', { type: 'module' }) });
  out.fallback = { ...(await missing.adaptNormalization(clips.slice(0, 5), { offThread: true })), why: missing.adaptWorkerUnavailable };
  out.again = await missing.adaptNormalization(clips.slice(0, 5), { offThread: true });
  // A worker that starts and then throws on every request (a crash after it was ready): each
  // adaptation fails with a ModelError, none hangs, and the next starts another worker.
  let started = 0;
  const crashing = await WebRecognizer.load('/models/default.int8.onnx', {
    adaptWorker: () => {
      started++;
      const src = "onmessage = (e) => { if ('init' in e.data) postMessage({ ready: true }); else throw new Error('boom'); };";
      return new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
    },
  });
  out.crash = [];
  for (let i = 0; i < 2; i++) out.crash.push(await crashing.adaptNormalization(clips.slice(0, 5), { offThread: true }).then(() => 'adapted', error));
  out.crashStarted = started;
  out.crashWhy = crashing.adaptWorkerUnavailable;
  // Cancelled while its worker adapts: superseded at once, the worker terminated, the adaptation in use kept; the next adapts in another worker.
  const cancelled = await WebRecognizer.load('/models/default.int8.onnx');
  await cancelled.adaptNormalization(clips.slice(0, 5), { offThread: true });
  const cancelledBefore = await answers(cancelled);
  const running = cancelled.adaptNormalization(clips, { offThread: true, selfEnroll: true });
  await new Promise((r) => setTimeout(r, 100));
  const cancelAt = performance.now();
  await cancelled.cancelAdaptation();
  out.cancelled = { ...(await running), ms: performance.now() - cancelAt, clips: cancelled.normalizationClips, kept: (await answers(cancelled)) === cancelledBefore };
  out.afterCancel = await cancelled.adaptNormalization(clips.slice(0, 5), { offThread: true });
  // Disposed while its worker adapts: the adaptation fails saying so, and no adaptation starts after.
  const disposed = await WebRecognizer.load('/models/default.int8.onnx');
  const pending = disposed.adaptNormalization(clips, { offThread: true, selfEnroll: true }).then(() => 'adapted', error);
  await new Promise((r) => setTimeout(r, 300));
  await disposed.dispose();
  out.disposedDuring = await pending;
  out.disposedAfter = await disposed.adaptNormalization(clips.slice(0, 5), { offThread: true }).then(() => 'adapted', error);
  await Promise.all([inWorker, inLine, missing, crashing, cancelled].map((r) => r.dispose()));
  return out;
};
// One self-enrolling adaptation in the package's Web Worker and one in line: where each ran, and whether they answer alike.
window.adaptBoth = async (names) => {
  const clips = await Promise.all(names.map(async (name) => decodeWav(new Uint8Array(await (await fetch('/clips/' + name)).arrayBuffer()))));
  const [inWorker, inLine] = await Promise.all([WebRecognizer.load('/models/default.int8.onnx'), WebRecognizer.load('/models/default.int8.onnx', { adaptWorker: false })]);
  const worker = await inWorker.adaptNormalization(clips, { offThread: true, selfEnroll: true });
  const line = await inLine.adaptNormalization(clips, { offThread: true, selfEnroll: true });
  const answers = async (rec) => JSON.stringify((await rec.recognizePieces(clips, 0)).map((r) => Array.from(r.probabilities)));
  const out = { worker, line, why: inWorker.adaptWorkerUnavailable, same: (await answers(inWorker)) === (await answers(inLine)) };
  await Promise.all([inWorker.dispose(), inLine.dispose()]);
  return out;
};
window.ready = true;
`;

describe('spoken-digits/web, embedded in a page of its own (headless Chromium)', function () {
  this.timeout(180_000);
  const fsdd = fsddDir();
  let embedder: EmbedderPage;
  let files: Map<string, Buffer | string>;
  let stringDigits = '';
  let nodeDigits = '';

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (listed in .ci/run)`);
    if (!fsdd) throw new Error('FSDD recordings not found (../shared/fsdd/recordings beside the clone, or $SPOKEN_DIGITS_FSDD)');
    embedder = await EmbedderPage.build(PAGE_MAIN);
    files = embedder.files;

    // A digit string of FSDD test clips with 120-450 ms pauses, at 8 kHz, as an embedder's own audio.
    const s = makeDigitString('4155550123', 'jackson', rng(5), {});
    stringDigits = s.digits;
    files.set('/string.wav', monoWav(s.samples, 8000));
    // The Node Listener on the same audio and model: the page must say what it says.
    const node = await Listener.create({ model: join(ROOT, 'models/default.int8.onnx') });
    const heard: number[] = [];
    node.on('digit', (e) => heard.push(e.digit));
    for (let i = 0; i < s.samples.length; i += 160) node.push(s.samples.subarray(i, i + 160), 8000);
    await node.end();
    nodeDigits = heard.join('');
    assert.equal(nodeDigits, stringDigits, 'the Node Listener gets this string wrong: pick another for the test');
  });

  after(async () => {
    await embedder?.close();
  });

  const open = (mic?: string, csp?: string) => embedder.open(mic, csp);

  it('recognizes a digit string pushed as the embedder\'s own audio, as the Node Listener does', async () => {
    const { page, errors } = await open();
    const got = await page.evaluate(() => (window as unknown as { pushWav(u: string, ms: number): Promise<{ digits: { digit: number }[]; strings: string[]; errors: string[]; summary: { digitCount: number } }> }).pushWav('/string.wav', 20));
    assert.deepEqual(errors, []);
    assert.deepEqual(got.errors, []);
    assert.equal(got.digits.map((d) => d.digit).join(''), nodeDigits, JSON.stringify(got.digits));
    assert.deepEqual(got.strings, [stringDigits]);
    assert.equal(got.summary.digitCount, stringDigits.length);
  });

  it('listens to the microphone (a fake device playing FSDD clips) through the default capture worklet', async () => {
    // Clips the Node recognizer is sure of, so a failure is the browser path's.
    const rec = await DigitRecognizer.load({ model: join(ROOT, 'models/default.int8.onnx'), backend: 'wasm' });
    const clips: { path: string; digit: number }[] = [];
    try {
      for (const [d, speaker] of [[3, 'theo'], [7, 'george'], [1, 'lucas'], [9, 'yweweler']] as const) {
        for (let take = 0; take < 5 && clips.length < 4; take++) {
          const path = join(fsdd!, `${d}_${speaker}_${take}.wav`);
          const p = await rec.predict(path);
          if (p.digit === d && p.confidence > 0.9) {
            clips.push({ path, digit: d });
            break;
          }
        }
      }
    } finally {
      await rec.dispose();
    }
    assert.equal(clips.length, 4);
    // The fake device starts playing when getUserMedia opens it: a long lead covers the page's set-up.
    const wav = makeMicWav(clips.map((c) => c.path), 'library-mic.wav', { lead: 1.5, gap: 1.2, tail: 2 });
    const { page, errors } = await open(wav);
    const got = await page.evaluate(() => (window as unknown as { listenToMic(n: number, ms: number): Promise<{ digits: { digit: number; latencyMs: number }[]; errors: string[]; mic: string[] }> }).listenToMic(4, 30000));
    assert.deepEqual(errors, []);
    assert.deepEqual(got.errors, []);
    assert.equal(got.mic[0], 'starting');
    assert.ok(got.mic.includes('on'), JSON.stringify(got.mic));
    assert.equal(got.digits.map((d) => d.digit).join(''), clips.map((c) => c.digit).join(''), JSON.stringify(got));
  });

  it('enrolls a speaker in the page (enrollSpeaker: wasm DSP, onnxruntime-web) into a personal model it can load, under a CSP without unsafe-eval too', async () => {
    const names: string[] = [];
    for (let d = 0; d < 10; d++)
      for (const take of [0, 1]) {
        const name = `${d}_lucas_${take}.wav`;
        files.set(`/clips/${name}`, readFileSync(join(fsdd!, name)));
        names.push(name);
      }
    const { page, errors } = await open();
    const r = await page.evaluate((n) => (window as unknown as { enroll(n: string[]): Promise<Record<string, any>> }).enroll(n), names);
    assert.deepEqual(errors, []);
    assert.equal(r.heads, 2);
    assert.ok(r.fit.after.correct >= r.fit.before.correct && r.fit.after.correct >= 19, JSON.stringify(r.fit));
    assert.equal(r.crossCheck.folds, 2);
    assert.equal(r.enrollment.speaker, 'page');
    assert.equal(r.enrollment.base.model, 'default.int8.onnx');
    assert.equal(r.loadedShift, r.voiceShift);
    assert.ok(r.bytes > 100_000, `${r.bytes} bytes`);
    assert.equal(r.refused?.code, 'ERR_ENROLLMENT', JSON.stringify(r.refused));
    assert.equal(r.refused?.typed, true);

    // A page whose CSP forbids eval enrolls as well (the ONNX codec is static code, nothing is compiled at run time).
    const strict = await open(undefined, "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'");
    const underCsp = await strict.page.evaluate((n) => (window as unknown as { enroll(n: string[]): Promise<Record<string, any>> }).enroll(n), names);
    assert.equal(underCsp.error, undefined, JSON.stringify(underCsp.error));
    assert.deepEqual(underCsp.fit, r.fit);
    assert.deepEqual(strict.errors, []);
  });

  it('adapts the normalization in a Web Worker: the same model as in line, without freezing the page; a worker that cannot start falls back to in line, one that crashes fails its adaptation, dispose() ends it', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `${i % 10}_jackson_${Math.floor(i / 10)}.wav`);
    for (const name of names) files.set(`/clips/${name}`, readFileSync(join(fsdd!, name)));
    const { page, errors } = await open();
    type Adapted = { selfEnrolled: boolean; offThread: boolean; stallMs: number; ms: number };
    type Failure = { code?: string; message?: string };
    type Out = {
      norm: { worker: Adapted; line: Adapted; same: boolean };
      selfEnroll: { worker: Adapted; line: Adapted; same: boolean };
      lineWhy: string;
      fallback: { selfEnrolled: boolean; offThread: boolean; why: string };
      again: { offThread: boolean };
      crash: Failure[];
      crashStarted: number;
      crashWhy: string | null;
      cancelled: { superseded?: boolean; selfEnrolled: boolean; offThread: boolean; ms: number; clips: number; kept: boolean };
      afterCancel: { superseded?: boolean; offThread: boolean };
      disposedDuring: Failure;
      disposedAfter: Failure;
    };
    const r = await page.evaluate((n) => (window as unknown as { adaptInWorker(n: string[]): Promise<Out> }).adaptInWorker(n), names);
    console.log(`      page stalls: normalization ${r.norm.worker.stallMs.toFixed(0)} ms in the worker, ${r.norm.line.stallMs.toFixed(0)} ms in line; self-enrolling ${r.selfEnroll.worker.stallMs.toFixed(0)} / ${r.selfEnroll.line.stallMs.toFixed(0)} ms`);
    assert.deepEqual(errors, []);
    for (const kind of ['norm', 'selfEnroll'] as const) {
      const { worker, line, same } = r[kind];
      assert.equal(worker.offThread, true, kind);
      assert.equal(line.offThread, false, kind);
      assert.equal(worker.selfEnrolled, kind === 'selfEnroll');
      assert.equal(line.selfEnrolled, kind === 'selfEnroll');
      // The same adapted model, computed by the same onnxruntime-web in either place.
      assert.ok(same, `${kind}: the worker's adapted model answers otherwise than the one adapted in line`);
    }
    // In line, the page's thread is held for the adaptation's one batch run over all the clips; with
    // the worker only while the adapted model loads (~30-100 ms here).
    assert.ok(r.norm.worker.stallMs < r.norm.line.stallMs / 2, JSON.stringify(r));
    assert.equal(r.lineWhy, 'adaptWorker: false');
    assert.equal(r.fallback.offThread, false);
    assert.match(r.fallback.why, /adaptation worker did not start/);
    assert.equal(r.again.offThread, false);
    for (const e of r.crash) assert.match(String((e as { message?: string }).message), /adaptation worker failed/, JSON.stringify(r.crash));
    assert.equal(r.crashStarted, 2);
    assert.equal(r.crashWhy, null);
    // Cancelled in its worker's run: not installed, and well before the 50 clips' self-enrolling adaptation could end.
    assert.deepEqual({ ...r.cancelled, ms: undefined }, { superseded: true, selfEnrolled: false, offThread: true, ms: undefined, clips: 5, kept: true });
    assert.ok(r.cancelled.ms < r.selfEnroll.worker.ms / 2, `cancelled in ${r.cancelled.ms.toFixed(0)} ms; the adaptation takes ${r.selfEnroll.worker.ms.toFixed(0)} ms`);
    assert.deepEqual(r.afterCancel, { selfEnrolled: false, offThread: true });
    assert.match(String(r.disposedDuring.message), /disposed during a normalization adaptation/);
    assert.equal(r.disposedDuring.code, 'ERR_MODEL');
    assert.match(String(r.disposedAfter.message), /disposed/);
  });

  /**
   * The page as another bundler or server made it (`made`) hears the string as the Node Listener does,
   * and adapts in the package's worker (not falling back to in line) to the model adapted in line.
   */
  async function hearsAndAdaptsInItsWorker(made: EmbedderPage, how: string): Promise<void> {
    try {
      const names = Array.from({ length: 20 }, (_, i) => `${i % 10}_lucas_${Math.floor(i / 10)}.wav`);
      for (const name of names) made.files.set(`/clips/${name}`, readFileSync(join(fsdd!, name)));
      made.files.set('/string.wav', files.get('/string.wav')!);
      const { page, errors } = await made.open();
      const got = await page.evaluate(() => (window as unknown as { pushWav(u: string, ms: number): Promise<{ digits: { digit: number }[]; errors: string[] }> }).pushWav('/string.wav', 20));
      assert.deepEqual(got.errors, []);
      assert.equal(got.digits.map((d) => d.digit).join(''), nodeDigits);
      type Adapted = { selfEnrolled: boolean; offThread: boolean };
      const r = await page.evaluate((n) => (window as unknown as { adaptBoth(n: string[]): Promise<{ worker: Adapted; line: Adapted; why: string | null; same: boolean }> }).adaptBoth(n), names);
      assert.deepEqual(r.worker, { selfEnrolled: true, offThread: true }, JSON.stringify(r));
      assert.equal(r.why, null);
      assert.deepEqual(r.line, { selfEnrolled: true, offThread: false });
      assert.ok(r.same, `${how}: the worker's adapted model answers otherwise than the one adapted in line`);
      assert.deepEqual(errors, []);
    } finally {
      await made.close();
    }
  }

  it('bundled by webpack 5 with its defaults instead of Vite: hears the string as Node does, and adapts in the package\'s Web Worker', async () => {
    await hearsAndAdaptsInItsWorker(await EmbedderPage.build(PAGE_MAIN, 'webpack'), 'webpack');
  });

  it('served by the Vite dev server (as the README says to set it up): hears the string as Node does, and adapts in the package\'s Web Worker', async () => {
    await hearsAndAdaptsInItsWorker(await EmbedderPage.devServer(PAGE_MAIN), 'the Vite dev server');
  });

  it('a page whose CSP forbids blob: scripts gets a typed error that names workletUrl, not a hang', async () => {
    const { page } = await open(undefined, "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'");
    const r = await page.evaluate(() => (window as unknown as { micWithoutWorklet(): Promise<{ ok: boolean; error?: { code: string; message: string; typed: boolean }; got: { mic: string[] } }> }).micWithoutWorklet());
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'ERR_CAPTURE');
    assert.ok(r.error?.typed);
    assert.match(r.error!.message, /workletUrl/);
    assert.deepEqual(r.got.mic.map((m) => m.split(':')[0]), ['starting', 'unavailable', 'off']);
  });

  it('onnxruntime-web\'s .wasm missing is a backend error that says where it is looked for, not a model error', async () => {
    const { page } = await open();
    const r = await page.evaluate(() => (window as unknown as { ortMissing(): Promise<{ code?: string; message?: string; typed?: boolean }> }).ortMissing());
    assert.equal(r.code, 'ERR_BACKEND_UNAVAILABLE', JSON.stringify(r));
    assert.ok(r.typed);
    assert.match(r.message!, /wasmPaths/);
  });

  it('bad input gives typed errors: a missing or broken model, no model, bad options, bad audio, a closed listener', async () => {
    const { page, errors } = await open();
    const r = await page.evaluate(() => (window as unknown as { badInput(): Promise<Record<string, { ok?: boolean; code?: string; message?: string; typed?: boolean }>> }).badInput());
    assert.deepEqual(errors, []);
    for (const [name, code, pattern] of [
      ['missingModel', 'ERR_MODEL', /HTTP 404/],
      ['garbageModel', 'ERR_MODEL', /not an ONNX model/],
      // A shipped model's name, as Node takes it: a page is told to give the model's URL.
      ['shippedName', 'ERR_MODEL', /cannot load model default: HTTP 404; 'default' names a shipped model in Node only: a page gives the model's URL \(the package's models\/default\.int8\.onnx/],
      ['noModel', 'ERR_MODEL', /needs a model/],
      ['badThreshold', 'ERR_OPTIONS', /threshold/],
      ['badRate', 'ERR_AUDIO_INPUT', /sample rate must be a whole number/],
      ['notSamples', 'ERR_AUDIO_INPUT', /Float32Array/],
      ['afterClose', 'ERR_CLOSED', /closed/],
    ] as const) {
      assert.equal(r[name].code, code, `${name}: ${JSON.stringify(r[name])}`);
      assert.ok(r[name].typed, `${name} is not a SpokenDigitsError`);
      assert.match(r[name].message!, pattern, name);
    }
  });
});
