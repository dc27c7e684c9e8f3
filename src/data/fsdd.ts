import * as path from 'node:path';
import { DatasetError } from '../errors.js';
import { realPath } from '../real-path.js';
import type { FsddClip } from './clips.js';
import { defaultCacheDir, findLocalFsdd, DATA_ENV, type LocalOptions, type SourceFailure } from './local.js';
import {
  copyFromFolder,
  DEFAULT_HF_DATASETS,
  failureReason,
  fetchFromArchive,
  fetchFromHuggingFace,
  readProvenance,
  type Provenance,
  type RemoteOptions,
} from './sources.js';

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
  const target = path.resolve(options.to ?? options.cacheDir ?? defaultCacheDir(options.env ?? process.env));
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
  if (options.data === undefined) return loadFsdd({ ...options, download: true });
  const given = findLocalFsdd({ data: options.data }).found!; // a folder without FSDD is a DatasetError
  const target = path.resolve(options.to ?? options.cacheDir ?? defaultCacheDir(options.env ?? process.env));
  const cached = findLocalFsdd({ cacheDir: target, env: {} }).found;
  // The folder given is the copy in the target already (nothing to copy), or a copy there is kept.
  const isTheCopy = cached !== null && realPath(cached.recordings) === realPath(given.recordings);
  if (cached && (isTheCopy || !options.force)) {
    if (!isTheCopy) options.log?.(`${cached.recordings} already holds FSDD (${cached.clips.length} clip${cached.clips.length === 1 ? '' : 's'}), kept; --force replaces it with the copy in ${given.recordings}`);
    return { dir: cached.recordings, source: localLabel('cache', cached.dir), clips: cached.clips, provenance: readProvenance(cached.dir), failures: [], givenRecordings: given.recordings, ...(isTheCopy ? {} : { kept: true }) };
  }
  options.log?.(`copying ${given.clips.length} clip${given.clips.length === 1 ? '' : 's'} from ${given.recordings} into ${target}`);
  const { dir, provenance } = copyFromFolder(given.clips, given.recordings, target, options);
  return { dir, source: localLabel('option', given.dir), clips: findLocalFsdd({ data: target }).found!.clips, provenance, failures: [], givenRecordings: given.recordings };
}
