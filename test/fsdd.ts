import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLocalFsdd, recordingsDir } from '../src/data/local.js';

/**
 * The FSDD recordings the tests read: $SPOKEN_DIGITS_FSDD (the dataset folder or its recordings/),
 * else ../shared/fsdd/recordings beside the repository (where CI puts it), else where the CLI finds
 * its copy ($SPOKEN_DIGITS_DATA, the cache `digits data fetch` fills). None: every test file that
 * needs clips fails at once saying so, not with an error of something else.
 */
function locateRecordings(): string {
  const given = process.env.SPOKEN_DIGITS_FSDD;
  if (given) {
    const found = recordingsDir(given);
    if (!found) throw new Error(`$SPOKEN_DIGITS_FSDD=${given} holds no FSDD recordings ({digit}_{speaker}_{take}.wav, in it or in its recordings/)`);
    return found.dir;
  }
  const beside = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/fsdd/recordings');
  if (existsSync(beside)) return beside;
  const { found, failures } = findLocalFsdd();
  if (found) return found.recordings;
  throw new Error(
    `the tests need the FSDD recordings and found none: not beside the repository (${beside}), ${failures.map((f) => `${f.source}: ${f.reason}`).join('; ')}. ` +
      'Run `npx digits data fetch` (or `npx digits data fetch --data DIR` with a copy), or set SPOKEN_DIGITS_FSDD to the folder.',
  );
}

export const FSDD_RECORDINGS = locateRecordings();
/** The dataset folder (holding recordings/). */
export const FSDD_ROOT = dirname(FSDD_RECORDINGS);
