import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readWavFileSync } from '../../src/audio/index.js';
import type { StreamCore } from '../../src/stream/core.js';

export { FSDD_RECORDINGS as FSDD_DIR } from '../fsdd.js';
import { FSDD_RECORDINGS as FSDD_DIR } from '../fsdd.js';

/** Deterministic PRNG so every run builds the same strings. */
export { mulberry32 as rng } from '../../src/train/random.js';

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
  /** Every clip as recorded, before the background noise was added (spans[i] holds clips[i]). */
  clips: Float32Array[];
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
  const chosen: Float32Array[] = [];
  let pos = Math.round((leadMs / 1000) * rate);
  parts.push(new Float32Array(pos));
  for (let i = 0; i < digits.length; i++) {
    const pool = clips.filter((c) => c.digit === Number(digits[i]));
    const clip = pool[Math.floor(random() * pool.length)];
    parts.push(clip.samples);
    chosen.push(clip.samples);
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
  return { digits, samples, sampleRate: rate, spans, clips: chosen };
}

export const SPEAKERS = ['george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler'];

/** A random digit string of `min`-`max` digits (the strings the stream benches and tests speak). */
export function randomDigits(random: () => number, min = 4, max = 10): string {
  const len = min + Math.floor(random() * (max - min + 1));
  let digits = '';
  for (let i = 0; i < len; i++) digits += String(Math.floor(random() * 10));
  return digits;
}

/**
 * Where each clip's speech ends in a digit string, in ms from the string's start: the last hop of
 * the clip as recorded within 40 dB of its peak and above its own background (the latency benches' "end of speech").
 */
export function speechEndsMs(s: DigitString, core: Pick<StreamCore, 'speechExtent'>): number[] {
  return s.spans.map(([a, b], i) => (a + (core.speechExtent(s.clips[i], 8000, 40, 0)?.[1] ?? b - a)) / 8);
}

/** The index of the span (ms) that [startMs, endMs] overlaps most, or -1 when it overlaps none. */
export function mostOverlapped(spansMs: readonly (readonly [number, number])[], startMs: number, endMs: number): number {
  let best = -1;
  let most = 0;
  spansMs.forEach(([a, b], i) => {
    const o = Math.min(b, endMs) - Math.max(a, startMs);
    if (o > most) [best, most] = [i, o];
  });
  return best;
}

/**
 * One edit-distance alignment of heard to spoken digits (substitutions, insertions, deletions): the
 * Levenshtein distance and the [heard, spoken] index pairs that match.
 */
export function alignDigits(heard: string, spoken: string): { distance: number; matches: [number, number][] } {
  const d = Array.from({ length: heard.length + 1 }, (_, i) => Array.from({ length: spoken.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= heard.length; i++)
    for (let j = 1; j <= spoken.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (heard[i - 1] === spoken[j - 1] ? 0 : 1));
  const matches: [number, number][] = [];
  for (let i = heard.length, j = spoken.length; i > 0 && j > 0; ) {
    if (heard[i - 1] === spoken[j - 1] && d[i][j] === d[i - 1][j - 1]) matches.unshift([--i, --j]);
    else if (d[i][j] === d[i - 1][j - 1] + 1) (i--, j--);
    else if (d[i][j] === d[i - 1][j] + 1) i--;
    else j--;
  }
  return { distance: d[heard.length][spoken.length], matches };
}

/** Levenshtein distance between two digit strings (substitutions, insertions, deletions). */
export function editDistance(a: string, b: string): number {
  return alignDigits(a, b).distance;
}

/**
 * Runs sox (and espeak-ng) to make non-digit audio as 8 kHz mono Float32. `-R` seeds sox's dither
 * and noise generators: without it every run hears slightly different audio, and counts compared
 * between two runs (or two calls) drift by a digit or two.
 */
function soxToFloat(args: string[], input?: Buffer): Float32Array {
  const r = spawnSync('sox', ['-R', ...args], { input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  const b = r.stdout as Buffer;
  const out = new Float32Array(b.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(i * 2) / 32768;
  return out;
}
const RAW_OUT = ['-t', 'raw', '-e', 'signed', '-b', '16', '-c', '1', '-r', '8000', '-'];

/** Noise bursts (white, pink, brown) at the given gain, `seconds` long. */
export function noiseBurst(kind: 'whitenoise' | 'pinknoise' | 'brownnoise', seconds: number, gainDb: number): Float32Array {
  return soxToFloat(['-n', ...RAW_OUT, 'synth', String(seconds), kind, 'gain', String(gainDb)]);
}

/** One second at 8 kHz: a faint hum with a click (10 ms, decaying) in the middle; the shipped model alone takes it for a "6". */
export function clickClip(): Float32Array {
  const x = new Float32Array(8000);
  for (let i = 0; i < x.length; i++) x[i] = 1e-4 * Math.sin(i * 0.37);
  for (let i = 0; i < 80; i++) x[4000 + i] += 0.3 * Math.exp(-i / 20);
  return x;
}

/** A short melody of plucked/sine notes: music-like, harmonic, not speech. */
export function melody(notes: string[], noteSeconds: number, voice: 'sine' | 'pluck' | 'square' = 'pluck'): Float32Array {
  const parts = notes.map((n) => soxToFloat(['-n', ...RAW_OUT, 'synth', String(noteSeconds), voice, n, 'gain', '-12']));
  return concatFloat(parts);
}

/** The digits' English names, in digit order. */
export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** English words spoken by espeak-ng (none of them a digit or a homophone of one). */
export function spokenWords(text: string, voice = 'en-us', speed = 150): Float32Array {
  const wav = spawnSync('espeak-ng', ['-v', voice, '-s', String(speed), '--stdout', text], { maxBuffer: 1 << 26 });
  if (wav.status !== 0) throw new Error(`espeak-ng failed: ${wav.stderr?.toString()}`);
  return soxToFloat(['-t', 'wav', '-', ...RAW_OUT], wav.stdout as Buffer);
}

import { concatSamples as concatFloat } from '../../src/audio/pcm.js';
export { concatFloat };

export function silence(seconds: number, rate = 8000): Float32Array {
  return new Float32Array(Math.round(seconds * rate));
}
