/**
 * Soak of the streaming recognizer: one Listener in one process fed a long synthetic stream
 * (FSDD test-split clips at random gaps, low background noise, silences and loud noise bursts),
 * as fast as the pipeline takes it. Checks at the end: RSS and heap growth after warm-up, active
 * handles back to where they were, the `end` event agrees with the audio fed and the events seen,
 * event times are ordered and inside the stream, and per-window accuracy does not drift.
 *
 *   npx tsx bench/soak.ts --minutes 60          # the full hour (npm run soak)
 *   npx tsx bench/soak.ts --minutes 5 --json    # figures as JSON
 *   npx tsx bench/soak.ts --core wasm           # force the WebAssembly stream core
 *
 * test/soak.test.ts runs a short version of the same function.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readWavFileSync } from '../src/audio/index.js';
import { mulberry32 } from '../src/train/random.js';
import { Listener, loadStreamCore, type AudioSource, type DigitEvent, type EndEvent, type RejectedEvent } from '../src/stream/index.js';
import { SHARED_RECORDINGS } from './data.js';

export interface SoakOptions {
  /** Minutes of audio to stream. */
  minutes: number;
  /** Folder of FSDD recordings ({digit}_{speaker}_{take}.wav). */
  fsdd: string;
  seed?: number;
  /** Block size handed to the Listener, ms. */
  blockMs?: number;
  /** Streaming core (VAD) implementation; default: native addon when it loads, else wasm. */
  core?: 'native' | 'wasm';
  /** Called once per simulated minute. */
  onMinute?: (minute: number, sample: MemorySample) => void;
}

export interface MemorySample {
  audioMinute: number;
  wallSec: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

export interface WindowFigures {
  fromMinute: number;
  clips: number;
  detected: number;
  correct: number;
}

export interface SoakReport {
  audioMinutes: number;
  core: string;
  wallSec: number;
  realtimeFactor: number;
  clips: number;
  noiseBursts: number;
  /** Clips with at least one digit/rejected event overlapping them. */
  detected: number;
  /** Clips whose first overlapping digit event has the right digit. */
  correct: number;
  digitEvents: number;
  rejectedEvents: number;
  /** Digit events overlapping no clip (fired on noise or silence). */
  spuriousDigits: number;
  speechStarts: number;
  levelEvents: number;
  end: EndEvent;
  /** Problems found by the consistency checks (empty when all is well). */
  violations: string[];
  memory: MemorySample[];
  /** After warm-up (first sample past 10% of the run) to the end. */
  rssGrowthMb: number;
  heapGrowthMb: number;
  handlesBefore: Record<string, number>;
  handlesAfter: Record<string, number>;
  windows: WindowFigures[];
}

interface Truth {
  start: number;
  end: number;
  digit: number;
  hit: boolean;
  firstDigit: number | null;
}


function handleCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

const mb = (n: number): number => Math.round((n / 1048576) * 10) / 10;

export async function soak(options: SoakOptions): Promise<SoakReport> {
  const rate = 8000;
  const r = mulberry32(options.seed ?? 1);
  const blockLen = Math.round(((options.blockMs ?? 100) * rate) / 1000);
  const total = Math.round(options.minutes * 60 * rate);

  // The FSDD test split (takes 0-4): what the model did not train on.
  const names = readdirSync(options.fsdd).filter((n) => /^\d_[a-z]+_[0-4]\.wav$/.test(n)).sort();
  if (names.length === 0) throw new Error(`no FSDD test-split clips in ${options.fsdd}`);
  const clips = names.map((n) => ({ digit: Number(n[0]), samples: readWavFileSync(join(options.fsdd, n)).samples }));

  const truth: Truth[] = [];
  let noiseBursts = 0;
  const violations: string[] = [];
  const violate = (msg: string): void => {
    if (violations.length < 20) violations.push(msg);
  };

  // The stream: a schedule of pieces rendered block by block, so memory does not depend on length.
  let pos = 0; // samples emitted
  let piece: { kind: 'gap' | 'clip' | 'burst'; left: number; samples?: Float32Array; at: number; amp: number } | null = null;
  const nextPiece = (): void => {
    const roll = r();
    if (piece?.kind !== 'gap') {
      const len = Math.round((0.3 + 1.7 * r()) * rate);
      piece = { kind: 'gap', left: len, at: 0, amp: 0 };
    } else if (roll < 0.08) {
      noiseBursts++;
      piece = { kind: 'burst', left: Math.round((0.1 + 0.6 * r()) * rate), at: 0, amp: 0.05 + 0.2 * r() };
    } else {
      const c = clips[Math.floor(r() * clips.length)];
      const amp = 0.3 + 1.2 * r(); // level changes between speakers and sessions
      truth.push({ start: pos, end: pos + c.samples.length, digit: c.digit, hit: false, firstDigit: null });
      piece = { kind: 'clip', left: c.samples.length, samples: c.samples, at: 0, amp };
    }
  };
  const background = 0.002 + 0.004 * r();
  const source: AudioSource = {
    kind: 'readable',
    sampleRate: rate,
    realtime: false,
    description: 'soak stream (FSDD clips, noise, silence)',
    droppedFrames: () => 0,
    close: async () => undefined,
    async *[Symbol.asyncIterator]() {
      while (pos < total) {
        const n = Math.min(blockLen, total - pos);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          if (!piece || piece.left === 0) nextPiece();
          const p = piece!;
          let v = (r() * 2 - 1) * background;
          if (p.kind === 'clip') v += p.samples![p.at] * p.amp;
          else if (p.kind === 'burst') v += (r() * 2 - 1) * p.amp;
          out[i] = Math.max(-1, Math.min(1, v));
          p.at++;
          p.left--;
          pos++;
        }
        yield out;
      }
    },
  };

  // Let timers the caller armed in this tick (a test runner's timeout) show up in the baseline.
  await new Promise((res) => setImmediate(res));
  const handlesBefore = handleCounts();
  const core = await loadStreamCore(options.core);
  const listener = await Listener.create({ core });
  const memory: MemorySample[] = [];
  const t0 = performance.now();
  let nextMinute = 1;
  let lastStart = -1;
  let digitEvents = 0;
  let rejectedEvents = 0;
  let spurious = 0;
  let speechStarts = 0;
  let levelEvents = 0;
  let firstOpen = 0; // truth entries before this ended long ago
  const msToSample = (ms: number): number => Math.round((ms * rate) / 1000);
  const match = (e: DigitEvent | RejectedEvent, digit: number | null): boolean => {
    const s = msToSample(e.startMs);
    const en = msToSample(e.endMs);
    if (!(e.startMs >= 0 && e.endMs >= e.startMs && s <= pos)) violate(`event [${e.startMs}, ${e.endMs}] ms outside the stream (at ${pos / 8} ms)`);
    if (e.startMs < lastStart - 5000) violate(`event at ${e.startMs} ms after one at ${lastStart} ms`);
    lastStart = Math.max(lastStart, e.startMs);
    while (firstOpen < truth.length && truth[firstOpen].end < s - 10 * rate) firstOpen++;
    let any = false;
    for (let i = firstOpen; i < truth.length && truth[i].start < en; i++) {
      const t = truth[i];
      if (t.end <= s) continue;
      any = true;
      t.hit = true;
      if (digit !== null && t.firstDigit === null) t.firstDigit = digit;
    }
    return any;
  };
  listener.on('digit', (e) => {
    digitEvents++;
    if (!match(e, e.digit)) spurious++;
    if (!(e.confidence >= 0 && e.confidence <= 1)) violate(`digit confidence ${e.confidence}`);
  });
  listener.on('rejected', (e) => {
    rejectedEvents++;
    match(e, null);
  });
  listener.on('speechstart', () => speechStarts++);
  listener.on('level', (e) => {
    levelEvents++;
    if (!Number.isFinite(e.levelDb) || !Number.isFinite(e.noiseDb)) violate(`level event not finite: ${JSON.stringify(e)}`);
    if (e.timeMs >= nextMinute * 60000) {
      const m = process.memoryUsage();
      const sample: MemorySample = {
        audioMinute: nextMinute,
        wallSec: Math.round((performance.now() - t0) / 100) / 10,
        rssMb: mb(m.rss),
        heapUsedMb: mb(m.heapUsed),
        externalMb: mb(m.external),
        arrayBuffersMb: mb(m.arrayBuffers),
      };
      memory.push(sample);
      options.onMinute?.(nextMinute, sample);
      nextMinute++;
    }
  });
  const end = await listener.run(source);
  const wallSec = (performance.now() - t0) / 1000;
  listener.removeAllListeners();
  await new Promise((res) => setImmediate(res));
  const handlesAfter = handleCounts();

  if (Math.abs(end.durationMs - (total / rate) * 1000) > 1) violate(`end.durationMs ${end.durationMs}, fed ${(total / rate) * 1000} ms`);
  if (end.digitCount !== digitEvents) violate(`end.digitCount ${end.digitCount}, digit events seen ${digitEvents}`);
  if (end.rejectedCount !== rejectedEvents) violate(`end.rejectedCount ${end.rejectedCount}, rejected events seen ${rejectedEvents}`);
  for (const k of new Set([...Object.keys(handlesBefore), ...Object.keys(handlesAfter)])) {
    if ((handlesAfter[k] ?? 0) > (handlesBefore[k] ?? 0)) violate(`active ${k} handles: ${handlesBefore[k] ?? 0} before, ${handlesAfter[k]} after`);
  }

  const windowMin = Math.max(1, Math.round(options.minutes / 6));
  const windows: WindowFigures[] = [];
  for (const t of truth) {
    const w = Math.floor(t.start / (windowMin * 60 * rate));
    windows[w] ??= { fromMinute: w * windowMin, clips: 0, detected: 0, correct: 0 };
    windows[w].clips++;
    if (t.hit) windows[w].detected++;
    if (t.firstDigit === t.digit) windows[w].correct++;
  }
  const warm = memory.find((m) => m.audioMinute >= options.minutes * 0.1) ?? memory[0];
  const last = memory[memory.length - 1];
  return {
    audioMinutes: options.minutes,
    core: core.name,
    wallSec: Math.round(wallSec * 10) / 10,
    realtimeFactor: Math.round((options.minutes * 60) / wallSec),
    clips: truth.length,
    noiseBursts,
    detected: truth.filter((t) => t.hit).length,
    correct: truth.filter((t) => t.firstDigit === t.digit).length,
    digitEvents,
    rejectedEvents,
    spuriousDigits: spurious,
    speechStarts,
    levelEvents,
    end,
    violations,
    memory,
    rssGrowthMb: warm && last ? Math.round((last.rssMb - warm.rssMb) * 10) / 10 : 0,
    heapGrowthMb: warm && last ? Math.round((last.heapUsedMb - warm.heapUsedMb) * 10) / 10 : 0,
    handlesBefore,
    handlesAfter,
    windows: windows.filter(Boolean),
  };
}

export function formatReport(r: SoakReport): string {
  const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(1)}%`;
  const lines = [
    `soak: ${r.audioMinutes} min of audio in ${r.wallSec} s (${r.realtimeFactor}x real time), ${r.core} stream core`,
    `  clips ${r.clips} (+${r.noiseBursts} noise bursts): detected ${r.detected} (${pct(r.detected, r.clips)}), ` +
      `right digit ${r.correct} (${pct(r.correct, r.clips)})`,
    `  events: digit ${r.digitEvents} (spurious ${r.spuriousDigits}), rejected ${r.rejectedEvents}, speechstart ${r.speechStarts}, level ${r.levelEvents}`,
    `  end event: ${JSON.stringify(r.end)}`,
    `  memory: RSS growth after warm-up ${r.rssGrowthMb} MB, heap growth ${r.heapGrowthMb} MB; ` +
      `last RSS ${r.memory.at(-1)?.rssMb ?? '?'} MB, max RSS ${Math.max(...r.memory.map((m) => m.rssMb))} MB`,
    `  handles before ${JSON.stringify(r.handlesBefore)}, after ${JSON.stringify(r.handlesAfter)}`,
    `  windows: ${r.windows.map((w) => `${w.fromMinute}': ${pct(w.correct, w.clips)}`).join(', ')}`,
    `  violations: ${r.violations.length ? r.violations.join('; ') : 'none'}`,
  ];
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const minutes = Number(arg('--minutes') ?? 60);
  const fsdd = arg('--fsdd') ?? process.env.SPOKEN_DIGITS_FSDD ?? SHARED_RECORDINGS;
  const report = await soak({
    minutes,
    fsdd,
    seed: Number(arg('--seed') ?? 1),
    core: arg('--core') as 'native' | 'wasm' | undefined,
    onMinute: (m, s) => {
      if (m % 5 === 0) console.error(`  minute ${m}: ${s.wallSec} s wall, RSS ${s.rssMb} MB, heap ${s.heapUsedMb} MB`);
    },
  });
  console.log(args.includes('--json') ? JSON.stringify(report, null, 2) : formatReport(report));
  if (report.violations.length) process.exitCode = 1;
}
