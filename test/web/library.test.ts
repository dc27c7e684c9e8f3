import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { DigitRecognizer } from '../../src/model/recognizer.js';
import { monoWav } from '../fixtures/wav.js';
import { Listener } from '../../src/stream/index.js';
import { makeDigitString, rng } from '../stream/fixtures.js';
import { CHROMIUM, ROOT, fsddDir, launch, makeMicWav } from './harness.js';
import { distUnusable } from '../built-dist.js';

/*
 * `spoken-digits/web` as an embedder uses it: a page of its own, bundled by Vite from an `import ...
 * from 'spoken-digits/web'`, with onnxruntime-web's .wasm found by the bundler (no paths set) and the
 * package's model served beside it. Run in headless Chromium: pushed audio, the microphone (the fake
 * device), a strict CSP, and bad input. The import resolves through the package's exports to the
 * built dist/web.js, as in an embedder's node_modules (CI builds before testing); while dist/ is
 * missing or older than src/, to the sources instead.
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
window.ready = true;
`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.wav': 'audio/wav' };

describe('spoken-digits/web, embedded in a page of its own (headless Chromium)', function () {
  this.timeout(180_000);
  const fsdd = fsddDir();
  const files = new Map<string, Buffer | string>();
  const browsers: Browser[] = [];
  let work = '';
  let stringDigits = '';
  let nodeDigits = '';

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (listed in .ci/run)`);
    if (!fsdd) throw new Error('FSDD recordings not found (../shared/fsdd/recordings beside the clone, or $SPOKEN_DIGITS_FSDD)');
    work = mkdtempSync(join(tmpdir(), 'sd-embed-'));
    writeFileSync(join(work, 'index.html'), '<!doctype html><meta charset="utf-8"><title>embedder</title><script type="module" src="./main.js"></script>');
    writeFileSync(join(work, 'main.js'), PAGE_MAIN);
    const stale = distUnusable();
    if (stale) console.log(`    (the page bundles src/web: ${stale})`);
    mkdirSync(join(work, 'node_modules'));
    symlinkSync(ROOT, join(work, 'node_modules/spoken-digits'), 'dir');
    const out = await build({
      root: work,
      configFile: false,
      logLevel: 'silent',
      base: '/',
      build: { write: false, target: 'es2022', minify: false },
      resolve: stale ? { alias: [{ find: /^spoken-digits\/web$/, replacement: join(ROOT, 'src/web/index.ts') }, { find: /^node:fs(\/promises)?$/, replacement: join(ROOT, 'src/web/no-fs.ts') }] } : {},
    });
    for (const o of Array.isArray(out) ? out : [out]) {
      if (!('output' in o)) continue;
      for (const f of o.output) files.set(`/${f.fileName}`, f.type === 'chunk' ? f.code : Buffer.from(f.source));
    }
    assert.ok([...files.keys()].some((f) => f.endsWith('.wasm')), `the bundler did not copy onnxruntime-web's .wasm: ${[...files.keys()]}`);
    files.set('/models/default.int8.onnx', readFileSync(join(ROOT, 'models/default.int8.onnx')));

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
    await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function open(mic?: string, csp?: string): Promise<{ page: Page; errors: string[] }> {
    const browser = await launch(mic);
    browsers.push(browser);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // localhost: a secure context, as getUserMedia and AudioWorklet need; served from memory.
    await page.route('http://localhost/**', (route) => {
      const path = new URL(route.request().url()).pathname;
      const body = files.get(path === '/' ? '/index.html' : path);
      if (body === undefined) return route.fulfill({ status: 404, body: 'not found' });
      const headers: Record<string, string> = { 'content-type': TYPES[extname(path)] ?? (path === '/' ? 'text/html' : 'application/octet-stream') };
      if (csp) headers['content-security-policy'] = csp;
      return route.fulfill({ body, headers });
    });
    await page.goto('http://localhost/');
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 30000 });
    return { page, errors };
  }

  it('recognizes a digit string pushed as the embedder\'s own audio, as the Node Listener does', async () => {
    const { page, errors } = await open();
    const got = await page.evaluate(() => (window as unknown as { pushWav(u: string, ms: number): Promise<{ digits: { digit: number }[]; strings: string[]; errors: string[]; summary: { digits: number } }> }).pushWav('/string.wav', 20));
    assert.deepEqual(errors, []);
    assert.deepEqual(got.errors, []);
    assert.equal(got.digits.map((d) => d.digit).join(''), nodeDigits, JSON.stringify(got.digits));
    assert.deepEqual(got.strings, [stringDigits]);
    assert.equal(got.summary.digits, stringDigits.length);
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
      ['noModel', 'ERR_MODEL', /needs a model/],
      ['badThreshold', 'ERR_AUDIO_INPUT', /threshold/],
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
