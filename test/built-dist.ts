import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const DIST = join(ROOT, 'dist');

/**
 * Why the built package (dist/) cannot be tested here, or null when it can: it is missing, or a
 * source file changed after it was built (a developer who has not run `npm run build:ts` yet).
 * CI builds right before `npm test`, so there the dist/ tests always run.
 */
export function distUnusable(): string | null {
  const entries = ['index.js', 'index.cjs', 'cli.js', 'web/index.js'].map((f) => join(DIST, f));
  if (!entries.every(existsSync)) return 'dist/ is not built (npm run build:ts)';
  const built = Math.min(...entries.map((f) => statSync(f).mtimeMs));
  const newest = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.ts$/.test(d.name))
    .reduce((t, d) => Math.max(t, statSync(join(d.parentPath, d.name)).mtimeMs), 0);
  // The build configuration, and package.json, whose version the CLI bundle carries.
  const config = Math.max(...['package.json', 'tsup.config.ts'].map((f) => statSync(join(ROOT, f)).mtimeMs));
  return Math.max(newest, config) > built ? 'dist/ is older than src/, package.json or tsup.config.ts (npm run build:ts)' : null;
}

/**
 * Skips the test (or the suite, from a hook) while `why` says something it needs is missing here: the
 * build (distUnusable), the addon's PortAudio capture, a package .ci/run installs. Under CI, which
 * installs and builds all of them right before testing, that is a failure instead: a suite that
 * lost a part must not pass by skipping it.
 */
export function skipWhereMissing(context: Mocha.Context, why: string | null, indent = '    '): void {
  if (!why) return;
  if (process.env.CI) throw new Error(`CI: ${why}`);
  console.log(`${indent}(skipped: ${why})`);
  context.skip();
}
