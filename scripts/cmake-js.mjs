#!/usr/bin/env node
// Runs cmake-js (its arguments passed on) with Node's headers from the Node running it, where that
// installation has them: Debian's nodejs (/usr/include/node) and the official builds, nvm's included
// (<prefix>/include/node). cmake-js would otherwise download them from nodejs.org, which fails offline.
// An npm_config_nodedir already set (an .npmrc of the user's, the environment) is kept.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

// Wherever npm put it: this package's node_modules, or an app's that hoisted it.
const cmakeJs = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const env = { ...process.env };
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
const r = spawnSync(process.execPath, [cmakeJs, ...process.argv.slice(2)], { cwd: process.cwd(), env, stdio: 'inherit' });
if (r.error) {
  console.error(`cmake-js: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
