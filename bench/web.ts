/**
 * The kiosk page in headless Chromium (Debian's): what a first visit downloads, how long until it
 * can recognize, per-utterance compute in the browser over FSDD test clips given in batch mode, the
 * cost of listening to a quiet room, and continuous mode on spoken digit strings played through the
 * fake microphone: accuracy, and the latency from the end of each digit's speech to its result on
 * the page, for digits run together (pauses 0-100 ms, shorter than the endpointer's hangover) and
 * for the streaming benchmark's 120-450 ms pauses; and the same audio through the Node Listener, whose
 * decoder the page runs, string by string.
 * Usage: npx tsx bench/web.ts [--clips 300] [--strings 12] [--model default.onnx] [--models models] [--dist web-dist]
 * Needs `npm run build:web` (--dist: another build, e.g. an older one to compare with). Reports
 * figures only; never fails on timing.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseBenchArgs } from './args.js';
import { quantile } from './quantile.js';
import { startServer } from '../src/web/server.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { ARTIFACTS, WEB_DIST, fsddDir, launch, measureFirstVisit } from '../test/web/harness.js';
import { loadStreamCore } from '../src/stream/core.js';
import { Listener } from '../src/stream/listener.js';
import { alignDigits } from '../test/stream/fixtures.js';
import { DigitRecognizer } from '../src/model/recognizer.js';
import { makeDigitString, rng, SPEAKERS, type DigitString } from '../test/stream/fixtures.js';

const { values } = parseBenchArgs(import.meta.url, {
  options: {
    clips: { type: 'string', default: '300' },
    model: { type: 'string' },
    models: { type: 'string', default: 'models' },
    'listen-seconds': { type: 'string', default: '10' },
    strings: { type: 'string', default: '12' },
    dist: { type: 'string' },
    json: { type: 'boolean' },
  },
});
const dir = fsddDir();
if (!dir) throw new Error('FSDD recordings not found (../shared/fsdd/recordings beside the clone, or $SPOKEN_DIGITS_FSDD)');
const n = Math.max(1, Math.min(1500, Number(values.clips)));
// Test split (takes 0-4), spread over digits and speakers by taking every k-th file.
const all = readdirSync(dir).filter((f) => /^\d_[a-z]+_[0-4]\.wav$/.test(f)).sort();
const step = Math.max(1, Math.floor(all.length / n));
const files = all.filter((_, i) => i % step === 0).slice(0, n).map((f) => join(dir, f));

/**
 * Continuous mode on `count` digit strings (FSDD test clips of one speaker joined by pauses drawn from
 * [minPauseMs, maxPauseMs], -60 dBFS noise, 1.6 s between strings) played as the fake microphone in
 * real time. A digit's latency is the time its result reached the page's probe minus the time the
 * end of its speech was played (the last 10 ms within 40 dB of its clip's peak, as bench/stream.ts
 * measures) reached the page. The capture starts somewhere in the file (Chromium opens it before the
 * page's worklet runs), so the stream is aligned to the file at the first sample above -26 dBFS;
 * when a sample "reached the page" is its block's arrival. The device's own buffering is not seen.
 */
const ONSET_LEVEL = 0.05;

async function continuousMode(url: string, seed: number, count: number, minPauseMs: number, maxPauseMs: number) {
  const core = await loadStreamCore();
  const r = rng(seed);
  const rate = 8000;
  const leadSec = 3; // the model has loaded before the first string
  const parts: Float32Array[] = [];
  const strings: { digits: string; startMs: number; speechEndMs: number[] }[] = [];
  const noise = (sec: number) => Float32Array.from({ length: Math.round(sec * rate) }, () => 0.001 * (r() * 2 - 1) * 1.7);
  parts.push(noise(leadSec));
  let pos = leadSec * rate;
  for (let k = 0; k < count; k++) {
    const len = 4 + Math.floor(r() * 3);
    let digits = '';
    for (let i = 0; i < len; i++) digits += String(Math.floor(r() * 10));
    const str: DigitString = makeDigitString(digits, SPEAKERS[k % SPEAKERS.length], r, { minPauseMs, maxPauseMs, leadMs: 800 });
    const speechEndMs = str.spans.map(([a, b]) => ((pos + a + (core.speechExtent(str.samples.subarray(a, b), rate, 40, 0)?.[1] ?? b - a)) / rate) * 1000);
    strings.push({ digits, startMs: (pos / rate) * 1000, speechEndMs });
    parts.push(str.samples);
    pos += str.samples.length;
  }
  parts.push(noise(2));
  const total = parts.reduce((n, p) => n + p.length, 0);
  let fileOnset = -1; // first loud sample, at 8 kHz
  for (let i = 0, base = 0; i < parts.length && fileOnset < 0; base += parts[i].length, i++) {
    const k = parts[i].findIndex((v) => Math.abs(v) > ONSET_LEVEL);
    if (k >= 0) fileOnset = base + k;
  }
  const pcm = Buffer.alloc(total * 2);
  let at = 0;
  for (const p of parts) for (const v of p) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), 2 * at++);
  const dir = join(ARTIFACTS, 'mic');
  mkdirSync(dir, { recursive: true });
  const raw = join(dir, `strings-${seed}.raw`);
  const wav = join(dir, `strings-${seed}.wav`);
  writeFileSync(raw, pcm);
  execFileSync('sox', ['-R', '-t', 'raw', '-r', String(rate), '-e', 'signed', '-b', '16', '-c', '1', raw, '-r', '48000', '-b', '16', wav]);
  const durationMs = (total / rate) * 1000;

  const browser = await launch(wav);
  try {
    const page: Page = await (await browser.newContext()).newPage();
    // When each result reaches the probe, on the page's own clock (any build: the probe is assigned once).
    // When each capture block reached the page (and its first loud sample), and when each result
    // reached the probe, on the page's clock, for any build. A string, not a function: tsx's name
    // helpers do not exist in the page.
    await page.addInitScript(`
      window.__blocks = [];
      window.__resultTimes = [];
      const port = Object.getOwnPropertyDescriptor(MessagePort.prototype, 'onmessage');
      Object.defineProperty(MessagePort.prototype, 'onmessage', {
        configurable: true,
        get() { return port.get.call(this); },
        set(fn) {
          port.set.call(this, fn && function (e) {
            const d = e.data;
            if (d instanceof Float32Array) {
              let loud = -1;
              for (let i = 0; i < d.length; i++) if (Math.abs(d[i]) > ${ONSET_LEVEL}) { loud = i; break; }
              window.__blocks.push([performance.now(), d.length, loud]);
            }
            return fn.call(this, e);
          });
        },
      });
      let probe;
      Object.defineProperty(window, '__digits', {
        configurable: true,
        get: () => probe,
        set: (v) => {
          probe = v;
          const push = v.results.push.bind(v.results);
          v.results.push = (...items) => {
            for (let i = 0; i < items.length; i++) window.__resultTimes.push(performance.now());
            return push(...items);
          };
        },
      });`);
    await page.goto(`${url}/?mode=continuous&listen=1${values.model ? `&model=${encodeURIComponent(values.model)}` : ''}`);
    await page.waitForFunction(() => (window as any).__digits?.micOnMs != null, undefined, { timeout: 60000 });
    await page.waitForTimeout(durationMs + 3000);
    const got = await page.evaluate(() => ({ probe: (window as any).__digits, times: (window as any).__resultTimes as number[], blocks: (window as any).__blocks as [number, number, number][] }));
    // The capture starts somewhere in the file: align the first loud sample heard with the file's.
    // The page captures at its AudioContext's rate (the output device's; often 44.1 kHz, not the file's 48).
    const captureRate = await page.evaluate(async () => {
      const ctx = new AudioContext();
      const r = ctx.sampleRate;
      await ctx.close();
      return r;
    });
    const starts: number[] = [];
    let heardSamples = 0;
    for (const [, n] of got.blocks) {
      starts.push(heardSamples);
      heardSamples += n;
    }
    const first = got.blocks.findIndex(([, , loud]) => loud >= 0);
    if (first < 0) throw new Error('the page heard nothing loud from the fake microphone');
    const offset = (fileOnset / rate) * captureRate - (starts[first] + got.blocks[first][2]);
    /** Page time at which the sample at `fileMs` of the file reached the page (the end of its block). */
    const reached = (fileMs: number) => {
      const pos = Math.round((fileMs / 1000) * captureRate) - offset;
      const k = starts.findIndex((s, i) => pos >= s && pos < s + got.blocks[i][1]);
      return k < 0 ? NaN : got.blocks[k][0] - ((starts[k] + got.blocks[k][1] - pos) / captureRate) * 1000;
    };
    const events = (got.probe.results as { digit: number | null; latencyMs: number | null; computeMs: number }[])
      .map((e, i) => ({ ...e, at: got.times[i] }))
      .filter((e) => e.digit !== null);
    // The same audio through `digits listen`'s Listener in Node (at the page's capture rate, as fast
    // as possible): the page runs the same decoder, so the strings should come out the same.
    const audio = new Float32Array(total);
    parts.reduce((at, p) => (audio.set(p, at), at + p.length), 0);
    const recognizer = await DigitRecognizer.load({ model: values.model ? join(resolve(values.models!), values.model) : undefined });
    const nodeHeard = strings.map(() => '');
    try {
      const listener = await Listener.create({ recognizer });
      listener.on('digit', (e) => {
        let k = strings.length - 1;
        while (k >= 0 && strings[k].startMs > e.decidedAtMs) k--;
        if (k >= 0) nodeHeard[k] += e.digit;
      });
      const x = recognizer.backend.resample(audio, rate, captureRate);
      for (let i = 0; i < x.length; i += 1024) listener.push(x.subarray(i, i + 1024), captureRate);
      await listener.end();
    } finally {
      await recognizer.dispose();
    }
    let errors = 0;
    let whole = 0;
    let digits = 0;
    let nodeErrors = 0;
    let sameAsNode = 0;
    const latency: number[] = [];
    const pageLatency: number[] = [];
    const differences: string[] = [];
    strings.forEach((s, k) => {
      const from = reached(s.startMs);
      const end = k + 1 < strings.length ? reached(strings[k + 1].startMs + 800) : Infinity;
      const mine = events.filter((e) => e.at >= from && e.at < end);
      const heard = mine.map((e) => String(e.digit)).join('');
      const { distance, matches } = alignDigits(heard, s.digits);
      errors += distance;
      digits += s.digits.length;
      if (distance === 0) whole++;
      nodeErrors += alignDigits(nodeHeard[k], s.digits).distance;
      if (nodeHeard[k] === heard) sameAsNode++;
      else differences.push(`${s.digits}: page ${heard || '-'}, node ${nodeHeard[k] || '-'}`);
      for (const [h, j] of matches) {
        latency.push(mine[h].at - reached(s.speechEndMs[j]));
        if (mine[h].latencyMs !== null) pageLatency.push(mine[h].latencyMs!);
      }
    });
    const stats = (xs: number[], digits = 0) => ({ p50: +quantile(xs, 0.5).toFixed(digits), p90: +quantile(xs, 0.9).toFixed(digits), p99: +quantile(xs, 0.99).toFixed(digits), max: +quantile(xs, 1).toFixed(digits) });
    return {
      pausesMs: [minPauseMs, maxPauseMs],
      strings: strings.length,
      digits,
      digitErrorRate: +(errors / digits).toFixed(4),
      wholeStringAccuracy: +(whole / strings.length).toFixed(4),
      latencyMs: stats(latency),
      pageReportedLatencyMs: stats(pageLatency),
      /** The decoder's compute for the segment that decided each digit (split + features + model), in the page. */
      computeMs: stats(events.map((e) => e.computeMs), 2),
      node: { digitErrorRate: +(nodeErrors / digits).toFixed(4), sameStrings: sameAsNode, differences },
      errors: got.probe.errors as string[],
    };
  } finally {
    await browser.close();
  }
}

const srv = await startServer({ root: values.dist ? resolve(values.dist) : WEB_DIST, modelsDir: resolve(values.models!), port: 0 });
const browser = await launch();
try {
  const query = values.model ? `mode=batch&model=${encodeURIComponent(values.model)}` : 'mode=batch';
  const visit = await measureFirstVisit(browser, `${srv.url}/?${query}`);
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${srv.url}/?${query}`);
  await page.waitForFunction(() => (window as any).__digits.ready || (window as any).__digits.errors.length > 0, undefined, { timeout: 60000 });
  const start = await page.evaluate(() => ({ ready: (window as any).__digits.modelLoadedMs as number, errors: (window as any).__digits.errors as string[], status: document.getElementById('status')!.textContent }));
  if (start.errors.length) throw new Error(start.errors.join('; '));
  await page.setInputFiles('#files', files);
  await page.waitForFunction((k) => document.querySelectorAll('#batch-table tbody tr').length >= k, files.length, { timeout: 600000 });
  const summary = await page.textContent('#batch-summary');
  const ms: number[] = await page.evaluate(() => (window as any).__digits.results.map((r: any) => r.computeMs));
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))].toFixed(2);
  await page.close();

  // Listening cost: continuous mode on a quiet, noisy room (a fake mic of -60 dBFS noise), main-thread
  // busy time from Chromium's own counters (software rendering: --disable-gpu).
  const listenSeconds = Math.max(2, Math.min(60, Number(values['listen-seconds'])));
  mkdirSync(join(ARTIFACTS, 'mic'), { recursive: true });
  const noise = join(ARTIFACTS, 'mic', 'room-noise.wav');
  execFileSync('sox', ['-R', '-n', '-r', '48000', '-b', '16', '-c', '1', noise, 'synth', String(listenSeconds + 15), 'whitenoise', 'vol', '0.001']);
  const micBrowser = await launch(noise);
  let busy: { taskPct: number; scriptPct: number };
  try {
    const listening = await (await micBrowser.newContext()).newPage();
    await listening.goto(`${srv.url}/?mode=continuous&listen=1${values.model ? `&model=${encodeURIComponent(values.model)}` : ''}`);
    await listening.waitForFunction(() => (window as any).__digits.ready && (window as any).__digits.micState === 'on', undefined, { timeout: 60000 });
    await listening.waitForTimeout(2000);
    const cdp = await listening.context().newCDPSession(listening);
    await cdp.send('Performance.enable');
    const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value])) as Record<string, number>;
    const a = await metrics();
    await listening.waitForTimeout(listenSeconds * 1000);
    const b = await metrics();
    busy = { taskPct: ((b.TaskDuration - a.TaskDuration) / listenSeconds) * 100, scriptPct: ((b.ScriptDuration - a.ScriptDuration) / listenSeconds) * 100 };
  } finally {
    await micBrowser.close();
  }

  const nStrings = Math.max(0, Number(values.strings));
  const runTogether = nStrings ? await continuousMode(srv.url, 11, nStrings, 0, 100) : null;
  const paused = nStrings ? await continuousMode(srv.url, 12, nStrings, 120, 450) : null;

  const correct = /(\d+)\/(\d+) correct/.exec(summary ?? '');
  const report = {
    model: start.status?.replace(/^Ready · /, ''),
    downloadBytes: visit.totalBytes,
    serviceWorkerBytes: visit.serviceWorkerBytes,
    readyMs: Math.round(start.ready),
    clips: files.length,
    accuracy: correct ? Number(correct[1]) / Number(correct[2]) : null,
    computeMs: { p50: Number(q(0.5)), p90: Number(q(0.9)), p99: Number(q(0.99)) },
    listeningMainThreadPct: Number(busy.taskPct.toFixed(1)),
    listeningScriptPct: Number(busy.scriptPct.toFixed(1)),
    continuousRunTogether: runTogether,
    continuousPaused: paused,
  };
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(`kiosk page in headless Chromium (${start.status})`);
    console.log(`  first visit download: ${(visit.totalBytes / 1e6).toFixed(2)} MB (app + ORT wasm + DSP wasm + model, as sent; ${(visit.serviceWorkerBytes / 1e3).toFixed(0)} KB of it the service worker's precache)`);
    console.log(`  ready to recognize:   ${start.ready.toFixed(0)} ms after navigation`);
    console.log(`  batch of ${files.length} FSDD test clips: ${summary}`);
    console.log(`  compute per utterance (features + model, in the page): p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms`);
    console.log(`  listening (continuous mode, quiet room): main thread busy ${busy.taskPct.toFixed(1)}% of one core, script ${busy.scriptPct.toFixed(1)}%`);
    for (const [name, c] of [['run together (0-100 ms pauses)', runTogether], ['paused (120-450 ms)', paused]] as const) {
      if (!c) continue;
      console.log(
        `  continuous mode, ${c.strings} strings ${name}: digit errors ${(c.digitErrorRate * 100).toFixed(2)}%, whole strings ${(c.wholeStringAccuracy * 100).toFixed(1)}%; ` +
          `end of speech -> result on the page p50 ${c.latencyMs.p50} / p90 ${c.latencyMs.p90} / p99 ${c.latencyMs.p99} / max ${c.latencyMs.max} ms ` +
          `(page's own figure p50 ${c.pageReportedLatencyMs.p50} / p99 ${c.pageReportedLatencyMs.p99} ms); ` +
          `compute per digit's segment p50 ${c.computeMs.p50} / p90 ${c.computeMs.p90} / max ${c.computeMs.max} ms; ` +
          `the Listener in Node on the same audio: digit errors ${(c.node.digitErrorRate * 100).toFixed(2)}%, ${c.node.sameStrings}/${c.strings} strings as the page heard them` +
          `${c.node.differences.length ? ` (${c.node.differences.join('; ')})` : ''}${c.errors.length ? `; page errors: ${c.errors.join('; ')}` : ''}`,
      );
    }
  }
} finally {
  await browser.close();
  await srv.close();
}
