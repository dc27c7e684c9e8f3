import { dirname } from 'node:path';
import { locateRecordings } from './fsdd-locate.js';

/** The FSDD recordings the tests read (see locateRecordings); importing this fails, saying why, when there are none. */
const located = locateRecordings();
if ('missing' in located) throw new Error(located.missing);
export const FSDD_RECORDINGS = located.dir;
/** The dataset folder (holding recordings/). */
export const FSDD_ROOT = dirname(FSDD_RECORDINGS);
