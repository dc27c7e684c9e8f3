/**
 * Feature-extraction speed: time per 1-second 8 kHz FSDD clip for the native addon, the wasm build
 * and Meyda (the JS peer), on the same clips in the same run.
 *
 *   npm run bench:features [-- --clips 200 --rounds 5 --json --data DIR]   (or npx tsx bench/features.ts ...; --help)
 *
 * Ours: one extractor.compute() per clip with the default config (MFCC, 100 frames x 20, hop 80,
 * nFft 256, 40 mels), timed per call including the JS<->core copy. Meyda: what a Meyda user writes
 * for the same features: frame the clip (256 samples, hop 80, zero padding), Meyda.extract('mfcc')
 * per frame (Meyda windows with hann, 40 mel bands, 20 coefficients). Meyda's MFCC is not
 * librosa-compatible (log(x+1), unnormalized DCT), so it is only a speed peer.
 * Targets: native <= 30 us per clip, wasm <= 2x native, both >= 10x faster than Meyda.
 *
 * Also the stream core's two offline scans of the same clips, native and wasm: speechExtent (where a
 * piece's speech is: the recognizer and the stream segmenter call it for every piece they classify)
 * and findValleys (the segmenter's cut points; the listener's early split scans the open audio at
 * every 10 ms hop). No target: they are part of the listener's compute per segment (bench/stream.ts).
 *
 * And WSOLA (the second half of a voice shift: each clip, taken as 1.15x faster audio, stretched back
 * to 1 s; what an adapted recognizer does to every view of every piece), native and wasm against
 * the TypeScript implementation it replaced (test/fixtures/wsola-reference.ts), which it matches bit
 * for bit.
 */
import { existsSync } from 'node:fs';
import Meyda from 'meyda';
import { readWavFileSync } from '../src/audio/index.js';
import { loadFsdd } from '../src/data/index.js';
import { resolveFeatureConfig } from '../src/features/config.js';
import { createNativeBackend } from '../src/features/native.js';
import { createWasmBackend } from '../src/features/wasm.js';
import { loadStreamCore } from '../src/stream/core.js';
import { wsolaStretchReference } from '../test/fixtures/wsola-reference.js';
import { SHARED_RECORDINGS } from './data.js';
import { BenchArgs } from './args.js';

async function loadClips(count: number, data?: string): Promise<Float32Array[]> {
  // The copy beside the repository unless told otherwise.
  const dataset = await loadFsdd(data ? { data } : !process.env.SPOKEN_DIGITS_DATA && existsSync(SHARED_RECORDINGS) ? { data: SHARED_RECORDINGS } : {});
  // Spread over digits and speakers; every clip made exactly 1 s (zero-padded or cut).
  const step = Math.max(1, Math.floor(dataset.clips.length / count));
  const out: Float32Array[] = [];
  for (let i = 0; i < dataset.clips.length && out.length < count; i += step) {
    const clip = dataset.clips[i];
    const { samples, sampleRate } = readWavFileSync(clip.path);
    if (sampleRate !== 8000) continue;
    const oneSecond = new Float32Array(8000);
    oneSecond.set(samples.subarray(0, 8000), Math.max(0, Math.floor((8000 - samples.length) / 2)));
    out.push(oneSecond);
  }
  return out;
}

interface Stats {
  name: string;
  calls: number;
  /** Fastest call: what the code does when the (shared) machine leaves it alone. */
  minUs: number;
  medianUs: number;
  p99Us: number;
  meanUs: number;
}

function stats(name: string, times: number[]): Stats {
  const s = [...times].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  return { name, calls: s.length, minUs: s[0], medianUs: q(0.5), p99Us: q(0.99), meanUs: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Times fn once per clip, `rounds` times over all clips, after one warm-up pass. Microseconds. */
function timePerClip(clips: Float32Array[], rounds: number, fn: (x: Float32Array) => unknown): number[] {
  let sink = 0;
  for (const c of clips) sink += fn(c) ? 1 : 0;
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const c of clips) {
      const t0 = process.hrtime.bigint();
      sink += fn(c) ? 1 : 0;
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  if (sink < 0) console.log(sink);
  return times;
}

function meydaMfcc(x: Float32Array): number[][] {
  const n = 256, hop = 80, pad = n / 2;
  const padded = new Float32Array(x.length + 2 * pad);
  padded.set(x, pad);
  const frames: number[][] = [];
  for (let start = 0; start + n <= padded.length; start += hop) {
    frames.push(Meyda.extract('mfcc', padded.subarray(start, start + n))!.mfcc as number[]);
  }
  return frames;
}

async function main(): Promise<void> {
  const cli = new BenchArgs(import.meta.url, { clips: { type: 'string' }, rounds: { type: 'string' }, json: { type: 'boolean' }, data: { type: 'string' } });
  const args = { clips: cli.number('clips', 200), rounds: cli.number('rounds', 5), json: cli.flag('json'), data: cli.string('data') };
  if (!(args.clips >= 1 && args.rounds >= 1)) cli.fail('--clips and --rounds must be >= 1');
  const clips = await loadClips(args.clips, args.data);
  const config = resolveFeatureConfig();
  const nativeBackend = createNativeBackend();
  const wasmBackend = await createWasmBackend();
  const native = nativeBackend.createExtractor(config);
  const wasm = wasmBackend.createExtractor(config);
  Meyda.bufferSize = 256;
  Meyda.sampleRate = 8000;
  Meyda.melBands = 40;
  Meyda.numberOfMFCCCoefficients = 20;
  Meyda.windowingFunction = 'hanning';

  // Interleave backends over rounds so machine load hits all of them alike.
  const results: Stats[] = [];
  const nativeTimes: number[] = [], wasmTimes: number[] = [], meydaTimes: number[] = [];
  for (let r = 0; r < args.rounds; r++) {
    nativeTimes.push(...timePerClip(clips, 1, (x) => native.compute(x)));
    wasmTimes.push(...timePerClip(clips, 1, (x) => wasm.compute(x)));
    meydaTimes.push(...timePerClip(clips, 1, meydaMfcc));
  }
  results.push(stats('native', nativeTimes), stats('wasm', wasmTimes), stats('meyda', meydaTimes));
  const [n, w, m] = results;
  // The stream core's scans (same speech-cut and valley settings as the listener's defaults), interleaved the same way.
  const scanRuns = [];
  for (const name of ['native', 'wasm'] as const) {
    const core = await loadStreamCore(name);
    scanRuns.push(
      { name: `speechExtent ${name}`, times: [] as number[], fn: (x: Float32Array) => core.speechExtent(x, 8000, 40, 50) },
      { name: `findValleys ${name}`, times: [] as number[], fn: (x: Float32Array) => core.findValleys(x, 8000, 8, 150) },
    );
  }
  // WSOLA: 1 s clip (8000 samples) as 1.15x faster audio (6957 samples) back to 8000.
  const fastLength = Math.round(8000 / 1.15);
  scanRuns.push(
    { name: 'wsola native', times: [] as number[], fn: (x: Float32Array) => nativeBackend.wsolaStretch(x.subarray(0, fastLength), 8000, 8000) },
    { name: 'wsola wasm', times: [] as number[], fn: (x: Float32Array) => wasmBackend.wsolaStretch(x.subarray(0, fastLength), 8000, 8000) },
    { name: 'wsola TypeScript', times: [] as number[], fn: (x: Float32Array) => wsolaStretchReference(x.subarray(0, fastLength), 8000, 8000) },
  );
  for (let r = 0; r < args.rounds; r++) for (const run of scanRuns) run.times.push(...timePerClip(clips, 1, run.fn));
  const scans = scanRuns.map((run) => stats(run.name, run.times));
  const report = {
    benchmark: 'features',
    clip: '1 s, 8 kHz, FSDD',
    clips: clips.length,
    rounds: args.rounds,
    config: { kind: config.kind, nFft: config.nFft, winLength: config.winLength, hopLength: config.hopLength, nMels: config.nMels, nMfcc: config.nMfcc, numFrames: config.numFrames },
    node: process.version,
    results,
    streamCoreScans: scans,
    ratios: {
      wasmOverNative: w.medianUs / n.medianUs,
      meydaOverNative: m.medianUs / n.medianUs,
      meydaOverWasm: m.medianUs / w.medianUs,
    },
    targets: {
      nativeMedianAtMost30us: n.medianUs <= 30,
      wasmAtMost2xNative: w.medianUs <= 2 * n.medianUs,
      bothAtLeast10xFasterThanMeyda: m.medianUs >= 10 * n.medianUs && m.medianUs >= 10 * w.medianUs,
    },
  };
  native.dispose();
  wasm.dispose();
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`feature extraction, ${clips.length} FSDD clips x ${args.rounds} rounds, 1 s at 8 kHz each (${process.version})`);
  printTable('backend ', results);
  const t = report.targets;
  console.log(`wasm / native: ${report.ratios.wasmOverNative.toFixed(2)}x   (target <= 2x: ${t.wasmAtMost2xNative ? 'met' : 'NOT met'})`);
  console.log(`meyda / native: ${report.ratios.meydaOverNative.toFixed(1)}x, meyda / wasm: ${report.ratios.meydaOverWasm.toFixed(1)}x   (target >= 10x: ${t.bothAtLeast10xFasterThanMeyda ? 'met' : 'NOT met'})`);
  console.log(`native median <= 30 us: ${t.nativeMedianAtMost30us ? 'met' : 'NOT met'}`);
  console.log('');
  printTable('stream core scan / WSOLA', scans);
}

/** One row per Stats, names padded to the header's first column. */
function printTable(firstColumn: string, rows: Stats[]): void {
  console.log(`${firstColumn}  median us/clip   p99 us/clip   mean us/clip   min us/clip`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(firstColumn.length)} ${r.medianUs.toFixed(1).padStart(16)} ${r.p99Us.toFixed(1).padStart(13)} ${r.meanUs.toFixed(1).padStart(14)} ${r.minUs.toFixed(1).padStart(13)}`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
