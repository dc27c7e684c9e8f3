/**
 * Digit latency by the clock, as a user at a microphone meets it: a Listener fed at real time
 * (openFileSource with `realtime`, which paces blocks as a microphone delivers them) with the
 * adaptations `digits listen` makes, from when each digit's speech ended in the audio as played to
 * when its event arrived. bench/stream.ts measures latency in the stream's own time (audio pushed as
 * fast as possible), where an adaptation between segments costs nothing; here it costs what it holds
 * the decoding up, unless it runs beside it (the Listener's `adaptInBackground`, the default for a
 * real-time source, which runs it on a worker thread; --foreground holds the decoding up, as before
 * stop 33). Also each digit's compute (features and model) and the process's largest RSS.
 *
 *   npx tsx bench/live-latency.ts [--speaker theo] [--strings 25] [--model FILE] [--threshold T] [--adapt-voice] [--adapt-norm]
 *       [--norm-options JSON] [--foreground] [--seed 7] [--json] [--help]
 *
 * Strings of 4-10 digits of the speaker's FSDD test clips, 120-450 ms pauses, 1.5 s between strings,
 * all in -60 dBFS noise (as bench/stream.ts makes them); real time, so 25 strings take about two and a half minutes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigitRecognizer } from '../src/model/recognizer.js';
import type { NormAdapterOptions } from '../src/model/norm-adapter.js';
import { Listener, loadStreamCore, openFileSource } from '../src/stream/index.js';
import { concatFloat, editDistance, makeDigitString, mostOverlapped, randomDigits, rng, speechEndsMs } from '../test/stream/fixtures.js';
import { quantile as q } from './quantile.js';
import { monoWav } from '../test/fixtures/wav.js';
import { BenchArgs } from './args.js';

const args = new BenchArgs(import.meta.url, {
  speaker: { type: 'string' },
  strings: { type: 'string' },
  model: { type: 'string' },
  threshold: { type: 'string' },
  'adapt-voice': { type: 'boolean' },
  'adapt-norm': { type: 'boolean' },
  'norm-options': { type: 'string' },
  foreground: { type: 'boolean' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
});
const speaker = args.string('speaker') ?? 'theo';
const nStrings = args.number('strings', 25);
const normOptions = args.json('norm-options') as NormAdapterOptions | undefined;
const adaptNorm = args.flag('adapt-norm') ? (normOptions ?? true) : false;
const r = rng(args.number('seed', 7));

// The session's audio, each digit's clip in it and where its speech ends (ms).
const core = await loadStreamCore();
const parts: Float32Array[] = [];
const spans: [number, number][] = [];
const ends: number[] = [];
let spoken = '';
let at = 0;
for (let k = 0; k < nStrings; k++) {
  const digits = randomDigits(r);
  // 0.75 s of the strings' background noise before and after each: 1.5 s between strings.
  const s = makeDigitString(digits, speaker, r, { leadMs: 750 });
  for (const [a, b] of s.spans) spans.push([(at + a) / 8, (at + b) / 8]);
  ends.push(...speechEndsMs(s, core).map((ms) => at / 8 + ms));
  parts.push(s.samples);
  at += s.samples.length;
  spoken += digits;
}
const work = mkdtempSync(join(tmpdir(), 'sd-live-latency-'));
const wav = join(work, 'session.wav');
writeFileSync(wav, monoWav(concatFloat(parts), 8000));

const recognizer = await DigitRecognizer.load({ model: args.string('model'), threshold: args.number('threshold') });
const listener = await Listener.create({ recognizer, adaptVoice: args.flag('adapt-voice'), adaptNorm, adaptInBackground: !args.flag('foreground') });
const latency: number[] = [];
const adaptMs: number[] = [];
// Each digit's compute (features and model, ms), and the process's memory as the session goes.
const computeMs: number[] = [];
let rssMax = 0;
let heard = '';
let selfEnrolled = 0;
let t0 = 0;
listener.on('digit', (e) => {
  const now = performance.now() - t0;
  heard += e.digit;
  computeMs.push(e.computeMs);
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
  // The spoken digit whose clip the event overlaps most.
  const best = mostOverlapped(spans, e.startMs, e.endMs);
  if (best >= 0) latency.push(now - ends[best]);
});
listener.on('normadapt', (e) => {
  if (e.dropped) return;
  adaptMs.push(e.computeMs);
  selfEnrolled += e.selfEnrolled ? 1 : 0;
});
const source = await openFileSource(wav, { realtime: true });
t0 = performance.now();
try {
  await listener.run(source);
} finally {
  await recognizer.dispose();
  rmSync(work, { recursive: true, force: true });
}

const result = {
  speaker,
  strings: nStrings,
  digits: spoken.length,
  digitErrorRate: +(editDistance(spoken, heard) / spoken.length).toFixed(4),
  adaptInBackground: !args.flag('foreground'),
  normOptions: adaptNorm,
  adaptations: adaptMs.length,
  selfEnrolled,
  adaptMs: adaptMs.length ? { p50: Math.round(q(adaptMs, 0.5)), max: Math.round(q(adaptMs, 1)) } : null,
  wallLatencyMs: { p50: Math.round(q(latency, 0.5)), p95: Math.round(q(latency, 0.95)), max: Math.round(q(latency, 1)), over250: latency.filter((x) => x > 250).length, of: latency.length },
  digitComputeMs: { p50: +q(computeMs, 0.5).toFixed(2), p95: +q(computeMs, 0.95).toFixed(2) },
  rssMaxMb: Math.round(rssMax / 2 ** 20),
};
if (args.flag('json')) console.log(JSON.stringify(result, null, 2));
else console.log(JSON.stringify(result));
