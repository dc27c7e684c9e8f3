#!/usr/bin/env node
// `npm install` hook: takes the package's prebuilt addon where it loads, else tries to build the
// native feature/capture addon. Never fails the install: without a compiler, cmake or kissfft
// sources the WebAssembly backend is used instead (like sharp's fallback), and `digits doctor` says
// which one runs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.SPOKEN_DIGITS_SKIP_ADDON_BUILD === '1') process.exit(0);
if (existsSync(join(root, 'build', 'Release', 'spoken_digits.node'))) process.exit(0);

// The package's prebuilt addon for this platform (scripts/prebuild.sh), when it loads here: no
// compiler needed. It loads PortAudio at run time; without libportaudio2 it still gives the DSP.
const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'spoken_digits.node');
if (existsSync(prebuilt)) {
  const probe = spawnSync(
    process.execPath,
    ['-e', 'try { const a = require(process.argv[1]); process.stdout.write(a.hasCapture ? "" : String(a.captureUnavailable)); } catch (e) { process.stderr.write(String(e.message).split("\\n")[0]); process.exit(1); }', prebuilt],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    console.warn(`spoken-digits: the prebuilt native addon does not load here (${probe.stderr.trim()}); building it`);
  } else if (!probe.stdout) {
    process.exit(0);
  } else if (spawnSync('pkg-config', ['--exists', 'portaudio-2.0']).status === 0) {
    // PortAudio is installed where pkg-config finds it but the prebuilt addon's loader does not: a
    // local build links it. Should that fail, the prebuilt addon is still used, without capture.
    console.warn(`spoken-digits: the prebuilt native addon has no capture here (${probe.stdout}); building one that links PortAudio`);
  } else {
    console.warn(`spoken-digits: using the prebuilt native addon; live capture through it is off: ${probe.stdout}`);
    process.exit(0);
  }
}

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) return r.error.message;
  return r.status === 0 ? null : (r.stderr || '').trim().split('\n').slice(-2).join(' ');
}

if (!existsSync(prebuilt)) console.warn(`spoken-digits: no prebuilt native addon for ${process.platform}-${process.arch}; building it (about half a minute)`);
const failure =
  // A dependency's install never changes the system's package sources: kissfft's sources come from
  // apt's existing source entries or the upstream release, else the WebAssembly backend is used.
  run('bash', ['scripts/fetch-kissfft.sh'], { SPOKEN_DIGITS_NO_APT_CHANGES: '1' }) ??
  run(process.execPath, [join(root, 'scripts', 'cmake-js.mjs'), 'compile', '--out', 'build']);
if (!failure) console.warn('spoken-digits: native addon built (build/Release/spoken_digits.node)');
if (failure) {
  console.warn(`spoken-digits: native addon not built (${failure}); the WebAssembly backend will be used.`);
  console.warn('spoken-digits: for the native backend and PortAudio capture: install cmake, a C++17 compiler');
  console.warn('  (and portaudio19-dev for the microphone), then run `npm run build:native` in this package.');
}
