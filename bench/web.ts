/**
 * The kiosk page in headless Chromium (Debian's): what a first visit downloads, how long until it
 * can recognize, and per-utterance compute in the browser over FSDD test clips given in batch mode.
 * Usage: npx tsx bench/web.ts [--clips 300] [--model default.onnx] [--models models]
 * Needs `npm run build:web`. Reports figures only; never fails on timing.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../src/web/server.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { ARTIFACTS, WEB_DIST, fsddDir, launch } from '../test/web/harness.js';

const { values } = parseArgs({
  options: {
    clips: { type: 'string', default: '300' },
    model: { type: 'string' },
    models: { type: 'string', default: 'models' },
    'listen-seconds': { type: 'string', default: '10' },
    json: { type: 'boolean' },
  },
});
const dir = fsddDir();
if (!dir) throw new Error('FSDD recordings not found (../shared/fsdd/recordings or SPOKEN_DIGITS_DATA)');
const n = Math.max(1, Math.min(1500, Number(values.clips)));
// Test split (takes 0-4), spread over digits and speakers by taking every k-th file.
const all = readdirSync(dir).filter((f) => /^\d_[a-z]+_[0-4]\.wav$/.test(f)).sort();
const step = Math.max(1, Math.floor(all.length / n));
const files = all.filter((_, i) => i % step === 0).slice(0, n).map((f) => join(dir, f));

const srv = await startServer({ root: WEB_DIST, modelsDir: resolve(values.models!), port: 0 });
const browser = await launch();
try {
  const page = await (await browser.newContext()).newPage();
  let wire = 0;
  page.on('requestfinished', async (req) => {
    const s = await req.sizes().catch(() => undefined);
    if (s) wire += s.responseBodySize + s.responseHeadersSize;
  });
  const query = values.model ? `mode=batch&model=${encodeURIComponent(values.model)}` : 'mode=batch';
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
  execFileSync('sox', ['-n', '-r', '48000', '-b', '16', '-c', '1', noise, 'synth', String(listenSeconds + 15), 'whitenoise', 'vol', '0.001']);
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

  const correct = /(\d+)\/(\d+) correct/.exec(summary ?? '');
  const report = {
    model: start.status?.replace(/^Ready · /, ''),
    downloadBytes: wire,
    readyMs: Math.round(start.ready),
    clips: files.length,
    accuracy: correct ? Number(correct[1]) / Number(correct[2]) : null,
    computeMs: { p50: Number(q(0.5)), p90: Number(q(0.9)), p99: Number(q(0.99)) },
    listeningMainThreadPct: Number(busy.taskPct.toFixed(1)),
    listeningScriptPct: Number(busy.scriptPct.toFixed(1)),
  };
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(`kiosk page in headless Chromium (${start.status})`);
    console.log(`  first visit download: ${(wire / 1e6).toFixed(2)} MB (app + ORT wasm + DSP wasm + model, as sent)`);
    console.log(`  ready to recognize:   ${start.ready.toFixed(0)} ms after navigation`);
    console.log(`  batch of ${files.length} FSDD test clips: ${summary}`);
    console.log(`  compute per utterance (features + model, in the page): p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms`);
    console.log(`  listening (continuous mode, quiet room): main thread busy ${busy.taskPct.toFixed(1)}% of one core, script ${busy.scriptPct.toFixed(1)}%`);
  }
} finally {
  await browser.close();
  await srv.close();
}
