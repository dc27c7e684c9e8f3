import { DatasetError } from '../errors.js';
import type { FsddClip } from './clips.js';
import { findLocalFsdd, type LocalOptions, type SourceFailure } from './local.js';

export interface FsddOptions extends LocalOptions {}

export interface FsddDataset {
  /** Folder holding the wav files. */
  dir: string;
  /** Where it came from, e.g. "--data /x", "cache /root/.cache/spoken-digits/fsdd". */
  source: string;
  clips: FsddClip[];
}

export function describeFailures(failures: readonly SourceFailure[]): string {
  return failures.map((f) => `  - ${f.source}: ${f.reason}`).join('\n');
}

/**
 * Finds FSDD: `--data`, then $SPOKEN_DIGITS_DATA, then the cache. Lists the clips (audio is
 * decoded on demand with loadClip/loadClips); split them with officialSplit & co.
 */
export async function loadFsdd(options: FsddOptions = {}): Promise<FsddDataset> {
  const { found, failures } = findLocalFsdd(options);
  if (found) {
    const source = found.kind === 'option' ? `--data ${found.dir}` : found.kind === 'env' ? `$SPOKEN_DIGITS_DATA ${found.dir}` : `cache ${found.dir}`;
    return { dir: found.recordings, source, clips: found.clips };
  }
  throw new DatasetError(`FSDD not found; tried:\n${describeFailures(failures)}\nRun \`digits data fetch\` or pass --data DIR`);
}
