import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The FSDD copy beside the repository (where CI puts it), whatever directory a bench is run from. */
export const SHARED_FSDD = fileURLToPath(new URL('../../shared/fsdd', import.meta.url));
export const SHARED_RECORDINGS = join(SHARED_FSDD, 'recordings');
