import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let addon: Record<string, unknown> | null = null;

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * The compiled Node-API addon (native/addon): SPOKEN_DIGITS_ADDON if set, else the cmake-js build
 * output. Throws with the paths it tried.
 */
export function loadNativeAddon(): Record<string, unknown> {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const candidates: string[] = [];
  if (process.env.SPOKEN_DIGITS_ADDON) candidates.push(process.env.SPOKEN_DIGITS_ADDON);
  const release = join(packageRoot(), 'build', 'Release');
  if (existsSync(release)) for (const f of readdirSync(release)) if (f.endsWith('.node')) candidates.push(join(release, f));
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      addon = require(c) as Record<string, unknown>;
      return addon;
    } catch (err) {
      errors.push(`${c}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(candidates.length ? errors.join('; ') : `no addon built (looked in ${release})`);
}
