/**
 * Kiosk soak: the page in continuous mode for a while (default 120 s) on a looping fake microphone
 * of FSDD digits; reports digits recognized vs spoken, JS heap and DOM size at start and end, and
 * wasm memory. Usage: npx tsx bench/web-soak.ts [--seconds 120] [--json]. Needs `npm run build:web`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseBenchArgs } from './args.js';
import { startServer } from '../src/web/server.js';
import { editDistance } from '../test/stream/fixtures.js';
import { CHROMIUM, WEB_DIST, fsddDir, makeMicWav } from '../test/web/harness.js';

const { values } = parseBenchArgs(import.meta.url, { options: { seconds: { type: 'string', default: '120' }, json: { type: 'boolean' } } });
const seconds = Math.max(20, Math.min(3600, Number(values.seconds)));
const dir = fsddDir();
if (!dir) throw new Error('FSDD recordings not found');
// Ten test clips, one per digit, 0.7 s apart; Chromium loops the file.
const clips = [...Array(10).keys()].map((d) => readdirSync(dir).find((f) => new RegExp(`^${d}_jackson_0\\.wav$`).test(f))!).map((f) => join(dir, f));
const wav = makeMicWav(clips, 'soak.wav', { lead: 0.5, gap: 0.7, tail: 0.5 });
const loopSeconds = Number(execFileSync('soxi', ['-D', wav]).toString().trim());

const srv = await startServer({ root: WEB_DIST, modelsDir: 'models', port: 0 });
const { chromium } = await import('playwright-core');
const looping = await chromium.launch({
  executablePath: CHROMIUM,
  // Looping fake microphone: no %noloop.
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', `--use-file-for-fake-audio-capture=${wav}`],
});
try {
  const page = await (await looping.newContext()).newPage();
  await page.goto(`${srv.url}/?kiosk=1`);
  await page.waitForFunction(() => (window as any).__digits.ready && (window as any).__digits.micState === 'on', undefined, { timeout: 60000 });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const sample = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const m = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value])) as Record<string, number>;
    return { heapMB: m.JSHeapUsedSize / 1e6, nodes: m.Nodes, listeners: m.JSEventListeners };
  };
  const t0 = Date.now();
  await page.waitForTimeout(5000);
  const start = await sample();
  await page.waitForTimeout(seconds * 1000);
  const end = await sample();
  const elapsed = (Date.now() - t0) / 1000;
  const results: { digit: number | null }[] = await page.evaluate(() => (window as any).__digits.results);
  const got = results.filter((r) => r.digit !== null).map((r) => String(r.digit)).join('');
  // What was said: the loop 0..9 from the moment the mic opened (it opened before t0, so this is a lower bound).
  const spoken = Math.floor((elapsed / loopSeconds) * 10);
  const expected = '0123456789'.repeat(Math.ceil(spoken / 10) + 1);
  // Best match of the shown digits against the loop, allowing the start to fall anywhere in it.
  let best = Infinity;
  for (let off = 0; off < 10; off++) best = Math.min(best, editDistance(got, expected.slice(off, off + got.length)));
  const report = { seconds, loopSeconds, digitsShown: got.length, digitsSpokenAtLeast: spoken, rejected: results.length - got.length, digitErrors: best, start, end };
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(`kiosk soak: ${seconds} s of continuous listening to a looping string of digits`);
    console.log(`  digits shown ${got.length} (at least ${spoken} spoken), rejected ${report.rejected}, digit errors vs the spoken loop ${best} (substitutions + insertions + deletions)`);
    console.log(`  JS heap ${start.heapMB.toFixed(1)} -> ${end.heapMB.toFixed(1)} MB, DOM nodes ${start.nodes} -> ${end.nodes}, listeners ${start.listeners} -> ${end.listeners}`);
  }
} finally {
  await looping.close();
  await srv.close();
}
