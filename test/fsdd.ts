import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The FSDD copy the tests read: $SPOKEN_DIGITS_FSDD, else ../shared/fsdd/recordings beside the
 * repository (where CI puts it), wherever the clone lives.
 */
export const FSDD_RECORDINGS = process.env.SPOKEN_DIGITS_FSDD ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/fsdd/recordings');
/** The dataset folder (holding recordings/). */
export const FSDD_ROOT = dirname(FSDD_RECORDINGS);
