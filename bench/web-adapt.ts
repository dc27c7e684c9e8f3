/**
 * What normalization adaptation costs a page that listens: a WebListener (spoken-digits/web, in an
 * embedder's own page bundled by Vite, headless Chromium) on the fake microphone playing one FSDD
 * speaker's digits, adapting to the voice every 10 digits (`adaptNorm`, self-enrolling by default),
 * once with the adaptation in a Web Worker (the default for live audio) and once in line on the
 * page's thread (`adaptWorker: false`). Reported for each: the page thread's long tasks (> 50 ms,
 * PerformanceObserver) while listening (from when the microphone is on), their total blocking time (the sum of each one's part over
 * 50 ms), the longest a 5 ms timer waited, how late each digit's event reached the page after the
 * audio it ends with came in (the audio clock against the page clock), and the digits heard.
 *
 *   npx tsx bench/web-adapt.ts [--speaker lucas] [--digits 40] [--gap 0.8] [--norm-only] [--json] [--help]
 *
 * Needs Chromium (/usr/bin/chromium) and sox. The session takes about a minute of real time per
 * mode (40 digits with `--gap` seconds between them). Reports figures only; never fails on timing.
 */
import { join } from 'node:path';
import { BenchArgs } from './args.js';
import { EmbedderPage } from '../test/web/embedder.js';
import { fsddDir, makeMicWav } from '../test/web/harness.js';
import { editDistance } from '../test/stream/fixtures.js';
import { quantile as q } from './quantile.js';

const args = new BenchArgs(import.meta.url, {
  speaker: { type: 'string' },
  digits: { type: 'string' },
  gap: { type: 'string' },
  'norm-only': { type: 'boolean' },
  json: { type: 'boolean' },
});
const speaker = args.string('speaker') ?? 'lucas';
const nDigits = args.number('digits', 40);
const gap = args.number('gap', 0.8);
const selfEnroll = !args.flag('norm-only');
const fsdd = fsddDir();
if (!fsdd) throw new Error('FSDD recordings not found (../shared/fsdd/recordings beside the clone, or $SPOKEN_DIGITS_FSDD)');

// The page: one listening session, the adaptation in a worker or in line.
const PAGE = `
import { WebListener, WebRecognizer } from 'spoken-digits/web';
window.session = async (inWorker, selfEnroll, digits, timeoutMs) => {
  const recognizer = await WebRecognizer.load('/models/default.int8.onnx', inWorker ? {} : { adaptWorker: false });
  const listener = await WebListener.create({ model: recognizer, adaptNorm: { selfEnroll } });
  const got = { digits: [], adaptations: [], longTasks: [], worstTimerMs: 0, errors: [] };
  listener.on('error', (e) => got.errors.push(String(e)));
  listener.on('normadapt', (e) => got.adaptations.push({ computeMs: e.computeMs, selfEnrolled: e.selfEnrolled, offThread: e.offThread, dropped: e.dropped }));
  // The audio clock: when the listener's timeline started, by the page clock, from the first block's arrival.
  let audioStart = null;
  let heardMs = 0;
  const mic = listener.push.bind(listener);
  listener.push = (samples, rate, options) => {
    const now = performance.now();
    heardMs += (samples.length / rate) * 1000;
    audioStart ??= now - heardMs;
    audioStart = Math.min(audioStart, now - heardMs);
    return mic(samples, rate, options);
  };
  listener.on('digit', (e) => got.digits.push({ digit: e.digit, lateMs: performance.now() - (audioStart + e.endMs) }));
  await listener.startMicrophone();
  // While listening (the microphone's start-up is not measured).
  const observer = new PerformanceObserver((list) => { for (const t of list.getEntries()) got.longTasks.push(t.duration); });
  observer.observe({ type: 'longtask' });
  let last = performance.now();
  const timer = setInterval(() => { const now = performance.now(); got.worstTimerMs = Math.max(got.worstTimerMs, now - last); last = now; }, 5);
  const t0 = performance.now();
  while (got.digits.length < digits && performance.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 100));
  // The last adaptation included.
  await new Promise((r) => setTimeout(r, 3000));
  clearInterval(timer);
  observer.disconnect();
  await listener.close();
  await recognizer.dispose();
  return got;
};
window.ready = true;
`;

interface Session {
  digits: { digit: number; lateMs: number }[];
  adaptations: { computeMs: number; selfEnrolled: boolean; offThread: boolean; dropped: boolean }[];
  longTasks: number[];
  worstTimerMs: number;
  errors: string[];
}

// The speaker's clips, 0-9 in order, take after take.
const clips = Array.from({ length: nDigits }, (_, i) => ({ digit: i % 10, path: join(fsdd, `${i % 10}_${speaker}_${Math.floor(i / 10) % 50}.wav`) }));
const spoken = clips.map((c) => c.digit).join('');
const wav = makeMicWav(
  clips.map((c) => c.path),
  `web-adapt-${speaker}-${gap}.wav`,
  { lead: 3, gap, tail: 2 },
);
const embedder = await EmbedderPage.build(PAGE);
const results: Record<string, unknown> = {};
try {
  for (const [mode, inWorker] of [
    ['worker', true],
    ['inLine', false],
  ] as const) {
    const { page, errors } = await embedder.open(wav);
    const s = await page.evaluate(([w, e, n]) => (window as unknown as { session(w: boolean, e: boolean, n: number, t: number): Promise<Session> }).session(w, e, n, 120_000), [inWorker, selfEnroll, nDigits] as const);
    const late = s.digits.map((d) => d.lateMs);
    results[mode] = {
      heard: s.digits.length,
      digitErrors: editDistance(spoken, s.digits.map((d) => d.digit).join('')),
      adaptations: s.adaptations.filter((a) => !a.dropped).length,
      offThread: s.adaptations.filter((a) => a.offThread).length,
      selfEnrolled: s.adaptations.filter((a) => a.selfEnrolled).length,
      adaptMs: s.adaptations.length ? { p50: Math.round(q(s.adaptations.map((a) => a.computeMs), 0.5)), max: Math.round(q(s.adaptations.map((a) => a.computeMs), 1)) } : null,
      longTasks: s.longTasks.length,
      longestTaskMs: Math.round(Math.max(0, ...s.longTasks)),
      totalBlockingMs: Math.round(s.longTasks.reduce((sum, d) => sum + Math.max(0, d - 50), 0)),
      worstTimerMs: Math.round(s.worstTimerMs),
      digitLateMs: late.length ? { p50: Math.round(q(late, 0.5)), p95: Math.round(q(late, 0.95)), max: Math.round(q(late, 1)) } : null,
      errors: [...errors, ...s.errors],
    };
  }
} finally {
  await embedder.close();
}
const report = { speaker, digits: nDigits, gapSeconds: gap, selfEnroll, ...results };
console.log(args.flag('json') ? JSON.stringify(report, null, 2) : JSON.stringify(report));
