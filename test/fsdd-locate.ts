import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLocalFsdd, recordingsDir } from '../src/data/local.js';

/**
 * The FSDD recordings the tests read: $SPOKEN_DIGITS_FSDD (the dataset folder or its recordings/),
 * else ../shared/fsdd/recordings beside the repository (where CI puts it), else where the CLI finds
 * its copy ($SPOKEN_DIGITS_DATA, the cache `digits data fetch` fills). None: `missing` says so
 * (test/fsdd.ts then fails to import with that message, not with an error of something else).
 */
export function locateRecordings(): { dir: string } | { missing: string } {
  const given = process.env.SPOKEN_DIGITS_FSDD;
  if (given) {
    const found = recordingsDir(given);
    return found ? { dir: found.dir } : { missing: `$SPOKEN_DIGITS_FSDD=${given} holds no FSDD recordings ({digit}_{speaker}_{take}.wav, in it or in its recordings/)` };
  }
  const beside = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/fsdd/recordings');
  if (existsSync(beside)) return { dir: beside };
  const { found, failures } = findLocalFsdd();
  if (found) return { dir: found.recordings };
  return {
    missing:
      `the tests need the FSDD recordings and found none: not beside the repository (${beside}), ${failures.map((f) => `${f.source}: ${f.reason}`).join('; ')}. ` +
      'Run `npx digits data fetch` (or `npx digits data fetch --data DIR` with a copy), or set SPOKEN_DIGITS_FSDD to the folder.',
  };
}
