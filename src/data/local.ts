import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AudioInputError, DatasetError } from '../errors.js';
import { readWavFileSync } from '../audio/wav.js';
import type { FeatureBackend } from '../features/backend.js';
import { listFsddClips, type FsddClip } from './clips.js';
import { readProvenance } from './sources.js';

export const DATA_ENV = 'SPOKEN_DIGITS_DATA';

/** `$XDG_CACHE_HOME/spoken-digits/fsdd`, else `~/.cache/spoken-digits/fsdd`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'spoken-digits', 'fsdd');
}

/**
 * The folder holding the wavs: `dir` itself when it has FSDD-named wavs, else `dir/recordings`
 * (the layout of the upstream repository and of our cache). Null when neither has any.
 */
export function recordingsDir(dir: string): { dir: string; clips: FsddClip[] } | null {
  for (const candidate of [dir, path.join(dir, 'recordings')]) {
    if (!fs.existsSync(candidate) || !fs.statSync(candidate).isDirectory()) continue;
    const clips = listFsddClips(candidate);
    if (clips.length > 0) return { dir: candidate, clips };
  }
  return null;
}

export type LocalSourceKind = 'option' | 'env' | 'cache';

export interface LocalSource {
  kind: LocalSourceKind;
  dir: string;
}

export interface LocalOptions {
  /** Explicit folder (`--data DIR`); when given and unusable, nothing else is tried. */
  data?: string;
  /** Cache folder; default defaultCacheDir(). */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** The local folders to look in, in order: --data, $SPOKEN_DIGITS_DATA, the cache. */
export function localCandidates(options: LocalOptions = {}): LocalSource[] {
  const env = options.env ?? process.env;
  // An empty --data (`--data "$DIR"` with DIR unset) is a mistake, not "look elsewhere": another dataset would be used without a word.
  if (options.data !== undefined && options.data.trim() === '') throw new DatasetError('--data is empty: give the FSDD folder, or leave the option out to use $SPOKEN_DIGITS_DATA or the cache');
  if (options.data) return [{ kind: 'option', dir: path.resolve(options.data) }];
  const out: LocalSource[] = [];
  if (env[DATA_ENV]) out.push({ kind: 'env', dir: path.resolve(env[DATA_ENV]!) });
  out.push({ kind: 'cache', dir: path.resolve(options.cacheDir ?? defaultCacheDir(env)) });
  return out;
}

export interface FoundLocal extends LocalSource {
  /** Folder that holds the wav files (may be `dir/recordings`). */
  recordings: string;
  clips: FsddClip[];
}

export interface SourceFailure {
  source: string;
  reason: string;
}

/**
 * First local folder with FSDD-named wavs, or null with the reason each candidate failed.
 * An explicit `data` folder (or $SPOKEN_DIGITS_DATA) that is unusable throws right away: the user
 * asked for it by name. A cache whose clips are not the ones its last fetch installed is an error too
 * (`digits data fetch --force` installs it again).
 */
export function findLocalFsdd(options: LocalOptions = {}): { found: FoundLocal | null; failures: SourceFailure[] } {
  const failures: SourceFailure[] = [];
  for (const c of localCandidates(options)) {
    const label = c.kind === 'option' ? `--data ${c.dir}` : c.kind === 'env' ? `$${DATA_ENV}=${c.dir}` : `cache ${c.dir}`;
    let reason: string;
    if (!fs.existsSync(c.dir)) reason = 'folder does not exist';
    else if (!fs.statSync(c.dir).isDirectory()) reason = 'not a folder';
    else {
      const r = recordingsDir(c.dir);
      if (!r) reason = 'no {digit}_{speaker}_{take}.wav files in it or in its recordings/ subfolder';
      else {
        const installed = c.kind === 'cache' ? installedClips(c.dir) : null;
        if (installed === null || installed === r.clips.length) return { found: { ...c, recordings: r.dir, clips: r.clips }, failures };
        // A damaged cache is not downloaded over without a word: clips a user added would go with it.
        throw new DatasetError(`${label}: holds ${r.clips.length} clips where ${installed} were installed (SOURCE.json): files went missing or were added; \`digits data fetch --force\` installs it again`);
      }
    }
    // A folder named by the user (--data, or $SPOKEN_DIGITS_DATA set) that is unusable is an error,
    // not "look elsewhere": another dataset would be used without a word.
    if (c.kind === 'option') throw new DatasetError(`${label}: ${reason}`);
    if (c.kind === 'env') throw new DatasetError(`${label}: ${reason} (unset ${DATA_ENV} to use the cache, where \`digits data fetch\` puts FSDD)`);
    failures.push({ source: label, reason });
  }
  return { found: null, failures };
}

/** How many clips the cache's last fetch installed (its SOURCE.json), or null when it does not say. */
function installedClips(cacheDir: string): number | null {
  const clips: unknown = readProvenance(cacheDir)?.clips;
  return typeof clips === 'number' && Number.isInteger(clips) && clips > 0 ? clips : null;
}

export interface ClipLoadOptions {
  /** Rate wanted; clips at other rates are resampled with `backend`. Default: keep the clip's rate. */
  sampleRate?: number;
  /** DSP core used to resample when a clip's rate differs from `sampleRate`. */
  backend?: Pick<FeatureBackend, 'resample'>;
}

export interface LoadedClip extends FsddClip {
  samples: Float32Array;
  sampleRate: number;
  /** The file holds fewer samples than its header says (decoded up to its end). */
  truncated: boolean;
}

/** Decodes one clip (mono Float32), resampled by the feature backend when a rate is asked for. */
export function loadClip(clip: FsddClip, options: ClipLoadOptions = {}): LoadedClip {
  const audio = readWavFileSync(clip.path);
  let samples = audio.samples;
  let sampleRate = audio.sampleRate;
  if (options.sampleRate !== undefined && options.sampleRate !== sampleRate) {
    if (!options.backend) {
      throw new AudioInputError(
        `${clip.path} is ${sampleRate} Hz but ${options.sampleRate} Hz was asked for; pass a feature backend to resample it`,
      );
    }
    samples = options.backend.resample(samples, sampleRate, options.sampleRate);
    sampleRate = options.sampleRate;
  }
  return { ...clip, samples, sampleRate, truncated: audio.truncated };
}

/** Decodes many clips (see loadClip). */
export function loadClips(clips: readonly FsddClip[], options: ClipLoadOptions = {}): LoadedClip[] {
  return clips.map((c) => loadClip(c, options));
}
