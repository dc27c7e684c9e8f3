import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';

// Node only (node:path): not beside files.ts, whose byte-level helpers the browser build bundles.

/** The file a path names, through symbolic links (a path that does not exist yet names itself). */
export function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}
