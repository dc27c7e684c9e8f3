import * as fs from 'node:fs';
import * as path from 'node:path';
import { DatasetError } from '../errors.js';
import { realPath } from '../real-path.js';
import { isFsdd, type FsddClip } from './clips.js';
import { defaultCacheDir, findLocalFsdd, DATA_ENV, type LocalOptions, type SourceFailure } from './local.js';
import {
  copyFromFolder,
  DEFAULT_HF_DATASETS,
  failureReason,
  fetchFromArchive,
  fetchFromHuggingFace,
  readProvenance,
  removeStaleStaging,
  type Provenance,
  type RemoteOptions,
} from './sources.js';
import { DownloadWriteError } from './download.js';

export interface FsddOptions extends LocalOptions, RemoteOptions {
  /** Try the downloads when no local folder has FSDD (default true). */
  download?: boolean;
  /** Where downloads are installed (default: the cache dir). */
  to?: string;
  /** Download even when a local copy exists. */
  force?: boolean;
}

export interface FsddDataset {
  /** Folder holding the wav files. */
  dir: string;
  /** Where it came from, e.g. "--data /x", "cache /root/.cache/spoken-digits/fsdd", "github-archive". */
  source: string;
  clips: FsddClip[];
  /** Download provenance when the folder was filled by `digits data fetch`. */
  provenance: Provenance | null;
  /** Sources tried before the one that worked, with why each failed. */
  failures: SourceFailure[];
}

export function describeFailures(failures: readonly SourceFailure[]): string {
  return failures.map((f) => `  - ${f.source}: ${f.reason}`).join('\n');
}

function localLabel(kind: string, dir: string): string {
  return kind === 'option' ? `--data ${dir}` : kind === 'env' ? `$${DATA_ENV} ${dir}` : `cache ${dir}`;
}

/**
 * Finds FSDD, trying in order: `--data` (if given, only it), $SPOKEN_DIGITS_DATA, the cache,
 * then (unless download: false) the upstream GitHub archive and the Hugging Face parquet
 * datasets, installing the first that downloads and verifies into the cache. Throws a
 * DatasetError listing every source and why it failed. Audio is decoded on demand
 * (loadClip/loadClips); split the clips with officialSplit & co.
 */
export async function loadFsdd(options: FsddOptions = {}): Promise<FsddDataset> {
  const failures: SourceFailure[] = [];
  if (!options.force) {
    const local = findLocalFsdd({ ...options, cacheDir: options.cacheDir ?? options.to });
    failures.push(...local.failures);
    if (local.found) {
      const { found } = local;
      return {
        dir: found.recordings,
        source: localLabel(found.kind, found.dir),
        clips: found.clips,
        provenance: readProvenance(found.dir),
        failures,
      };
    }
  }
  if (options.download === false) {
    throw new DatasetError(`FSDD not found; tried:\n${describeFailures(failures)}\nRun \`digits data fetch\` or pass --data DIR`);
  }
  const target = fetchTarget(options);
  return underFetchLock(target, options, async () => {
    // Filled by another process while this one waited for it.
    const cached = options.force ? null : findLocalFsdd({ cacheDir: target, env: {} }).found;
    if (cached) return { dir: cached.recordings, source: localLabel('cache', cached.dir), clips: cached.clips, provenance: readProvenance(cached.dir), failures };
    return download(target, options, failures);
  });
}

/** Where a fetch installs: `to`, else the cache folder. */
function fetchTarget(options: FsddOptions): string {
  return path.resolve(options.to ?? options.cacheDir ?? defaultCacheDir(options.env ?? process.env));
}

/** How long a fetch waits for another process fetching into the same folder before giving up. */
const FETCH_LOCK_WAIT_MS = 30 * 60_000;
/** A lock not refreshed for this long is taken as its process's leftover (proper-lockfile refreshes it every quarter of it). */
const FETCH_LOCK_STALE_MS = 120_000;

/**
 * Runs `work` (a download or copy into `target`) holding a lock on `target` (its `.fetch.lock`
 * folder, proper-lockfile), so two processes fetching into one cache (two trainings started at once on a
 * fresh machine) do not write over each other: the second waits for the first, then finds its copy.
 * The folder is made and checked writable first: an unwritable cache is its own error, not every
 * source's. Staging folders an interrupted fetch left behind are removed under the lock.
 */
async function underFetchLock<T>(target: string, options: FsddOptions, work: () => Promise<T>): Promise<T> {
  try {
    fs.mkdirSync(target, { recursive: true });
    fs.accessSync(target, fs.constants.W_OK);
  } catch (err) {
    throw new DatasetError(`cannot write to ${target} (${(err as Error).message}): fetch into another folder with --to DIR, or set XDG_CACHE_HOME`, { cause: err });
  }
  const lockfile = await import('proper-lockfile');
  // Lost (a process that stood still longer than the stale time, e.g. a suspended laptop): another may
  // have fetched into the folder meanwhile, so this fetch's outcome is not trusted.
  let lost: Error | null = null;
  const settings = {
    realpath: false,
    lockfilePath: path.join(target, '.fetch.lock'),
    stale: FETCH_LOCK_STALE_MS,
    update: FETCH_LOCK_STALE_MS / 4,
    onCompromised: (err: Error) => (lost = err),
  };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, { ...settings, retries: 0 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw new DatasetError(`cannot lock ${target} for the fetch (${(err as Error).message})`, { cause: err });
    options.log?.(`another process is fetching FSDD into ${target}; waiting for it`);
    try {
      release = await lockfile.lock(target, { ...settings, retries: { retries: FETCH_LOCK_WAIT_MS / 1000, factor: 1, minTimeout: 1000, maxTimeout: 1000 } });
    } catch (again) {
      throw new DatasetError(`another process has been fetching into ${target} for ${FETCH_LOCK_WAIT_MS / 60_000} minutes (${(again as Error).message}); wait for it, or fetch elsewhere with --to DIR`, { cause: again });
    }
  }
  try {
    removeStaleStaging(target, FETCH_LOCK_STALE_MS, options);
    const result = await work();
    if (lost) throw new DatasetError(`the lock on ${target} was lost during the fetch (${(lost as Error).message}); another process may have written there: run the fetch again`);
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}

/** The downloads, in order, into `target`; the first that verifies is installed. */
async function download(target: string, options: FsddOptions, failures: SourceFailure[]): Promise<FsddDataset> {
  const attempts: Array<[string, () => Promise<{ dir: string; provenance: Provenance }>]> = [
    ['GitHub archive', () => fetchFromArchive(target, options)],
    ...(options.hfDatasets ?? DEFAULT_HF_DATASETS).map(
      (ds) => [`Hugging Face ${ds}`, () => fetchFromHuggingFace(ds, target, options)] as [string, () => Promise<{ dir: string; provenance: Provenance }>],
    ),
  ];
  for (const [label, attempt] of attempts) {
    try {
      const { dir, provenance } = await attempt();
      const local = findLocalFsdd({ data: target });
      return { dir, source: provenance.source, clips: local.found!.clips, provenance, failures };
    } catch (err) {
      // The disk, not the source: every other source would fail the same way.
      if (err instanceof DownloadWriteError) throw new DatasetError(`${label}: ${err.message}`, { cause: err });
      const why = failureReason(err);
      options.log?.(`${label} failed: ${why}`);
      failures.push({ source: label, reason: why });
    }
  }
  throw new DatasetError(`FSDD could not be found or downloaded; every source failed:\n${describeFailures(failures)}\nPass --data DIR with a folder of {digit}_{speaker}_{take}.wav files`);
}

/**
 * `digits data fetch`: make sure FSDD is in `to` (or the cache), where every command finds it:
 * copied from `data` when that folder is given (checked as a download is; a copy already there is
 * kept, `kept: true`, unless `force`), else downloaded when no local folder has it.
 */
export async function fetchFsdd(options: FsddOptions = {}): Promise<FsddDataset & { kept?: boolean; /** With `data`: the folder of its wav files. */ givenRecordings?: string }> {
  const target = fetchTarget(options);
  // Into `to` or the cache, where it was asked for: not "found" in $SPOKEN_DIGITS_DATA instead.
  if (options.data === undefined) return loadFsdd({ ...options, cacheDir: target, to: target, env: {}, download: true });
  const given = findLocalFsdd({ data: options.data }).found!; // a folder without FSDD is a DatasetError
  return underFetchLock(target, options, async () => copyInto(target, given, options));
}

/** fetchFsdd with `data`: the folder's clips copied into `target` (a copy already there kept unless `force`). */
function copyInto(target: string, given: NonNullable<ReturnType<typeof findLocalFsdd>['found']>, options: FsddOptions): FsddDataset & { kept?: boolean; givenRecordings?: string } {
  const cached = findLocalFsdd({ cacheDir: target, env: {} }).found;
  // The folder given is the copy in the target already (nothing to copy), or a copy there is kept.
  const isTheCopy = cached !== null && realPath(cached.recordings) === realPath(given.recordings);
  if (cached && (isTheCopy || !options.force)) {
    if (!isTheCopy) options.log?.(`${cached.recordings} already holds ${isFsdd(cached.clips) ? 'FSDD' : 'recordings'} (${cached.clips.length} clip${cached.clips.length === 1 ? '' : 's'}), kept; --force replaces it with the copy in ${given.recordings}`);
    return { dir: cached.recordings, source: localLabel('cache', cached.dir), clips: cached.clips, provenance: readProvenance(cached.dir), failures: [], givenRecordings: given.recordings, ...(isTheCopy ? {} : { kept: true }) };
  }
  options.log?.(`copying ${given.clips.length} clip${given.clips.length === 1 ? '' : 's'} from ${given.recordings} into ${target}`);
  const { dir, provenance } = copyFromFolder(given.clips, given.recordings, target, options);
  return { dir, source: localLabel('option', given.dir), clips: findLocalFsdd({ data: target }).found!.clips, provenance, failures: [], givenRecordings: given.recordings };
}
