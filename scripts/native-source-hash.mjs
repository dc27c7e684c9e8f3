#!/usr/bin/env node
// The hash of what the native addon is built from (native/dsp, native/addon, native/capture,
// CMakeLists.txt, cmake/, and the kissfft sources scripts/fetch-kissfft.sh put in third_party/kissfft:
// Debian's and upstream's releases differ): scripts/prebuild.sh writes it beside each prebuilt addon
// (prebuilds/<platform>-<arch>/source.sha256), and `npm pack` (prepack) checks the prebuilt addons
// against it, so a package never ships an addon built from other sources than its own.
//
//   node scripts/native-source-hash.mjs                    prints the hash
//   node scripts/native-source-hash.mjs --check-prebuilds   fails when a prebuilt addon is stale (built from
//                                                          other sources; SPOKEN_DIGITS_ALLOW_STALE_PREBUILDS=1:
//                                                          warns only), warns when one is missing
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const KISSFFT = 'third_party/kissfft';
const INPUTS = ['native/dsp', 'native/addon', 'native/capture', 'CMakeLists.txt', 'cmake', KISSFFT];
/** The platforms the package ships prebuilt (scripts/prebuild.sh; package.json prepublishOnly). */
const PLATFORMS = ['linux-x64', 'linux-arm64'];

function files(path) {
  const abs = join(root, path);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [path];
  return readdirSync(abs).flatMap((name) => files(join(path, name)));
}

export function nativeSourceHash() {
  const hash = createHash('sha256');
  // Of kissfft's folder, its C sources and headers only (its COPYING is there or not, as the copy had it).
  const sources = INPUTS.flatMap(files).filter((f) => !f.startsWith(`${KISSFFT}/`) || /\.[ch]$/.test(f));
  for (const file of sources.sort()) {
    // Path and content, each length-prefixed: a renamed or moved file changes the hash too.
    const body = readFileSync(join(root, file));
    hash.update(`${relative(root, join(root, file)).split('\\').join('/')}\0${body.length}\0`).update(body);
  }
  return hash.digest('hex');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const hash = nativeSourceHash();
  if (!process.argv.includes('--check-prebuilds')) {
    process.stdout.write(`${hash}\n`);
  } else {
    // Missing is a warning: a package without them builds the addon at install or uses WebAssembly (an
    // install from a git clone packs one). Built from other sources is an error: users would run old code.
    const missing = PLATFORMS.filter((platform) => !existsSync(join(root, 'prebuilds', platform, 'spoken_digits.node')));
    if (missing.length) console.error(`warning: no prebuilt addon for ${missing.join(', ')} in this package (npm run build:prebuilt [-- --arch arm64] makes them); its users there build the addon at install, else use WebAssembly`);
    const problems = PLATFORMS.filter((platform) => !missing.includes(platform)).flatMap((platform) => {
      const dir = join(root, 'prebuilds', platform);
      if (!existsSync(join(dir, 'source.sha256'))) return [`prebuilds/${platform} says nothing of its sources (no source.sha256: built before scripts/prebuild.sh wrote one)`];
      const built = readFileSync(join(dir, 'source.sha256'), 'utf8').trim();
      return built === hash ? [] : [`prebuilds/${platform} was built from other native sources (${built.slice(0, 12)}, these are ${hash.slice(0, 12)})`];
    });
    if (problems.length && !existsSync(join(root, KISSFFT))) problems.push(`${KISSFFT} is missing here, and the hash covers the kissfft sources the addons were built from (bash scripts/fetch-kissfft.sh)`);
    if (problems.length) {
      const allowed = process.env.SPOKEN_DIGITS_ALLOW_STALE_PREBUILDS === '1';
      console.error(`${allowed ? 'warning' : 'error'}: the package's prebuilt addons do not match its native sources:\n  ${problems.join('\n  ')}\n` +
        'Build them first: npm run build:prebuilt && npm run build:prebuilt -- --arch arm64' +
        (allowed ? '' : ' (or SPOKEN_DIGITS_ALLOW_STALE_PREBUILDS=1 to pack anyway)'));
      if (!allowed) process.exit(1);
    }
  }
}
