import { readWavFileInfo } from '../audio/wav.js';
import { isFsdd, unreadFiles } from './clips.js';
import { officialSplit } from './splits.js';
import type { FsddDataset } from './fsdd.js';

export interface DatasetInfo {
  dir: string;
  source: string;
  provenance: FsddDataset['provenance'];
  clips: number;
  speakers: Record<string, number>;
  digits: Record<string, number>;
  /** clips per speaker per digit: perSpeakerDigit[speaker][digit] */
  perSpeakerDigit: Record<string, number[]>;
  /** clip count per sample rate (Hz) */
  sampleRates: Record<string, number>;
  channels: Record<string, number>;
  /** Over the clips whose header could be read; null when none could. */
  durationSec: { total: number; min: number; median: number; mean: number; p95: number; max: number } | null;
  officialSplit: { train: number; test: number };
  /** Files whose header could not be read, with the reason (counted in `clips` by their names). */
  unreadable: Array<{ file: string; reason: string }>;
  /**
   * What no command reads, left out of every count: .wav files whose names are not
   * {digit}_{speaker}_{take}.wav ("1_george_1 (copy).wav"), and subfolders holding .wav files.
   */
  unread: { misnamed: string[]; folders: { name: string; wavs: number }[] };
  /** Every speaker is one of FSDD's (else: recordings of one's own). */
  fsdd: boolean;
}

/** Reads every clip's header (not its samples) and summarizes the dataset. */
export function datasetInfo(ds: FsddDataset): DatasetInfo {
  const speakers: Record<string, number> = {};
  const digits: Record<string, number> = {};
  const perSpeakerDigit: Record<string, number[]> = {};
  const sampleRates: Record<string, number> = {};
  const channels: Record<string, number> = {};
  const durations: number[] = [];
  const unreadable: DatasetInfo['unreadable'] = [];
  for (const c of ds.clips) {
    speakers[c.speaker] = (speakers[c.speaker] ?? 0) + 1;
    digits[c.digit] = (digits[c.digit] ?? 0) + 1;
    (perSpeakerDigit[c.speaker] ??= Array(10).fill(0))[c.digit]++;
    try {
      const info = readWavFileInfo(c.path);
      sampleRates[info.sampleRate] = (sampleRates[info.sampleRate] ?? 0) + 1;
      channels[info.channels] = (channels[info.channels] ?? 0) + 1;
      durations.push(info.durationSec);
    } catch (err) {
      unreadable.push({ file: c.path, reason: (err as Error).message });
    }
  }
  durations.sort((a, b) => a - b);
  const at = (q: number): number => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))];
  const total = durations.reduce((s, d) => s + d, 0);
  const split = officialSplit(ds.clips);
  return {
    dir: ds.dir,
    source: ds.source,
    provenance: ds.provenance,
    clips: ds.clips.length,
    speakers,
    digits,
    perSpeakerDigit,
    sampleRates,
    channels,
    durationSec: durations.length ? { total, min: durations[0], median: at(0.5), mean: total / durations.length, p95: at(0.95), max: durations[durations.length - 1] } : null,
    officialSplit: { train: split.train.length, test: split.test.length },
    unreadable,
    unread: unreadFiles(ds.dir),
    fsdd: isFsdd(ds.clips),
  };
}
