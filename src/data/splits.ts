import { DatasetError } from '../errors.js';
import type { FsddClip } from './clips.js';
import { mulberry32 } from '../train/random.js';

export interface Split<T extends FsddClip = FsddClip> {
  train: T[];
  test: T[];
}

/** Which clips of an FSDD folder an evaluation takes: the official split's test or train part, or all. */
export type EvalSplit = 'test' | 'train' | 'all';
export const EVAL_SPLITS: readonly string[] = ['test', 'train', 'all'] satisfies EvalSplit[];

/** How many takes of every speaker and digit FSDD's official split tests on (takes 0-4). */
export const OFFICIAL_TEST_TAKES = 5;

/** FSDD's official split: takes 0-4 of every speaker and digit are the test set. */
export function officialSplit<T extends FsddClip>(clips: readonly T[]): Split<T> {
  const train: T[] = [];
  const test: T[] = [];
  for (const c of clips) (c.take < OFFICIAL_TEST_TAKES ? test : train).push(c);
  return { train, test };
}

/**
 * A seeded tenth of each (digit, speaker) group is the test set, the rest trains: for recordings
 * of one's own whose takes do not follow FSDD's numbering (takes 0-4 of every digit are its test set).
 */
export function randomSplit<T extends FsddClip>(clips: readonly T[], seed: number): Split<T> {
  const { train, validation } = validationSplit(clips, { fraction: 0.1, seed: seed ^ 0x5eed5 });
  return { train, test: validation };
}

/** The given speakers are the test set, everyone else trains (e.g. leave-one-speaker-out folds). */
export function leaveSpeakersOut<T extends FsddClip>(clips: readonly T[], testSpeakers: readonly string[]): Split<T> {
  if (testSpeakers.length === 0) throw new DatasetError('leaveSpeakersOut needs at least one test speaker');
  const known = new Set(clips.map((c) => c.speaker));
  const missing = testSpeakers.filter((s) => !known.has(s));
  if (missing.length) {
    throw new DatasetError(`unknown speaker(s) ${missing.join(', ')}; the clips have: ${[...known].sort().join(', ')}`);
  }
  const held = new Set(testSpeakers);
  const train: T[] = [];
  const test: T[] = [];
  for (const c of clips) (held.has(c.speaker) ? test : train).push(c);
  if (train.length === 0) throw new DatasetError('leaveSpeakersOut left no training clips: every speaker is in the test set');
  return { train, test };
}

/** The speakers present, sorted: one leave-one-speaker-out fold each. */
export function speakersOf(clips: readonly FsddClip[]): string[] {
  return [...new Set(clips.map((c) => c.speaker))].sort();
}

/** One leave-one-speaker-out fold per speaker, in name order. */
export function leaveOneSpeakerOutFolds<T extends FsddClip>(clips: readonly T[]): Array<Split<T> & { speaker: string }> {
  return speakersOf(clips).map((speaker) => ({ speaker, ...leaveSpeakersOut(clips, [speaker]) }));
}

export interface ValidationOptions {
  /** Fraction of each (digit, speaker) group moved to validation. Default 0.1. */
  fraction?: number;
  seed?: number;
}

/**
 * Carves a validation set out of training clips, stratified by digit and speaker: each
 * (digit, speaker) group gives round(fraction * size) clips (at least one when the group has two
 * or more), picked by a seeded shuffle, so the same seed always gives the same split.
 */
export function validationSplit<T extends FsddClip>(train: readonly T[], options: ValidationOptions = {}): { train: T[]; validation: T[] } {
  const fraction = options.fraction ?? 0.1;
  if (!(fraction > 0 && fraction < 1)) throw new DatasetError(`validation fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  const random = mulberry32(options.seed ?? 0);
  const groups = new Map<string, T[]>();
  for (const c of train) {
    const key = `${c.digit}\u0000${c.speaker}`;
    const g = groups.get(key);
    if (g) g.push(c);
    else groups.set(key, [c]);
  }
  const held = new Set<T>();
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    if (g.length < 2) continue;
    const n = Math.min(g.length - 1, Math.max(1, Math.round(g.length * fraction)));
    const order = g.slice();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let i = 0; i < n; i++) held.add(order[i]);
  }
  return { train: train.filter((c) => !held.has(c)), validation: train.filter((c) => held.has(c)) };
}
