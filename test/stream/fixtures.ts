import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readWavFileSync } from '../../src/audio/index.js';

export { FSDD_RECORDINGS as FSDD_DIR } from '../fsdd.js';
import { FSDD_RECORDINGS as FSDD_DIR } from '../fsdd.js';

/** Deterministic PRNG so every run builds the same strings. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Clip {
  digit: number;
  speaker: string;
  take: number;
  samples: Float32Array;
}

let testClips: Clip[] | null = null;
/** FSDD test split (takes 0-4), all speakers, at 8 kHz. */
export function fsddTestClips(): Clip[] {
  if (testClips) return testClips;
  const out: Clip[] = [];
  for (const f of readdirSync(FSDD_DIR).sort()) {
    const m = /^(\d)_([a-z]+)_(\d+)\.wav$/.exec(f);
    if (!m || Number(m[3]) > 4) continue;
    out.push({ digit: Number(m[1]), speaker: m[2], take: Number(m[3]), samples: readWavFileSync(join(FSDD_DIR, f)).samples });
  }
  testClips = out;
  return out;
}

export interface DigitString {
  digits: string;
  samples: Float32Array;
  sampleRate: number;
  /** [start, end) of every clip, in samples. */
  spans: [number, number][];
}

/**
 * A spoken digit string: test clips of one speaker joined by pauses drawn from [minPauseMs,
 * maxPauseMs], with `leadMs` of background before and after, in Gaussian noise at `noiseDb` dBFS.
 */
export function makeDigitString(
  digits: string,
  speaker: string,
  random: () => number,
  { minPauseMs = 120, maxPauseMs = 450, leadMs = 400, noiseDb = -60 } = {},
): DigitString {
  const clips = fsddTestClips().filter((c) => c.speaker === speaker);
  const rate = 8000;
  const parts: Float32Array[] = [];
  const spans: [number, number][] = [];
  let pos = Math.round((leadMs / 1000) * rate);
  parts.push(new Float32Array(pos));
  for (let i = 0; i < digits.length; i++) {
    const pool = clips.filter((c) => c.digit === Number(digits[i]));
    const clip = pool[Math.floor(random() * pool.length)];
    parts.push(clip.samples);
    spans.push([pos, pos + clip.samples.length]);
    pos += clip.samples.length;
    const gap = Math.round(((i === digits.length - 1 ? leadMs : minPauseMs + random() * (maxPauseMs - minPauseMs)) / 1000) * rate);
    parts.push(new Float32Array(gap));
    pos += gap;
  }
  const samples = new Float32Array(pos);
  let at = 0;
  for (const p of parts) {
    samples.set(p, at);
    at += p.length;
  }
  const sigma = 10 ** (noiseDb / 20);
  for (let i = 0; i < samples.length; i++) {
    // Box-Muller from the same deterministic generator.
    const u = Math.max(random(), 1e-12);
    samples[i] += sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return { digits, samples, sampleRate: rate, spans };
}

export const SPEAKERS = ['george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler'];

/** Levenshtein distance between two digit strings (substitutions, insertions, deletions). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}
