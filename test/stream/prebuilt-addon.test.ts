import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeAlsaFileDevice } from './alsa-file.js';
import { editDistance, makeDigitString, rng } from './fixtures.js';
import { ROOT } from '../built-dist.js';
import { FSDD_RECORDINGS } from '../fsdd.js';

/*
 * The addon as it ships prebuilt in the package (scripts/prebuild.sh): PortAudio is loaded at run
 * time, so the same file gives the native DSP everywhere and live capture where libportaudio2 is.
 * "Absent" is SPOKEN_DIGITS_PORTAUDIO_LIB pointing nowhere (the loader's override), in a child process.
 */
const PLATFORM = `${process.platform}-${process.arch}`;
const PREBUILT = join(ROOT, 'prebuilds', PLATFORM, 'spoken_digits.node');
const NO_PORTAUDIO = { SPOKEN_DIGITS_PORTAUDIO_LIB: '/nonexistent/libportaudio.so.2' };

function digits(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '1', SPOKEN_DIGITS_ADDON: PREBUILT, SPOKEN_DIGITS_BACKEND: 'native', ...env },
  });
}

describe('the prebuilt addon (PortAudio loaded at run time)', function () {
  this.timeout(300_000);

  before(function () {
    if (process.platform !== 'linux') this.skip();
    // CI builds it in .ci/run; a developer checkout builds it here when it is missing or older than
    // the native sources (needs what build:native needs).
    const built = existsSync(PREBUILT) ? statSync(PREBUILT).mtimeMs : 0;
    const sources = [join(ROOT, 'CMakeLists.txt'), ...readdirSync(join(ROOT, 'native'), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name))];
    if (sources.some((f) => statSync(f).mtimeMs > built)) {
      const r = spawnSync('bash', ['scripts/prebuild.sh'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' } });
      assert.equal(r.status, 0, `scripts/prebuild.sh failed:\n${r.stderr.slice(-2000)}`);
    }
  });

  it('links no libportaudio and exports nothing but its Node-API entry points', () => {
    const needed = execFileSync('readelf', ['-d', PREBUILT], { encoding: 'utf8' });
    assert.doesNotMatch(needed, /NEEDED.*portaudio/);
    assert.match(needed, /NEEDED.*libc\.so/);
    // Every defined dynamic symbol, whatever its kind (weak template instances too).
    const exported = execFileSync('nm', ['-D', '--defined-only', PREBUILT], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.split(' ').at(-1));
    assert.deepEqual(exported.sort(), ['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });

  it('with libportaudio: captures through PortAudio and recognizes the digits (ALSA file device)', () => {
    const spoken = makeDigitString('4071', 'george', rng(17), {});
    const dev = makeAlsaFileDevice(spoken.samples, 8000);
    try {
      const doctor = digits(['doctor', '--json'], { ALSA_CONFIG_PATH: dev.configPath });
      const checks = JSON.parse(doctor.stdout).checks as { name: string; status: string; detail: string }[];
      const addon = checks.find((c) => c.name === 'native addon')!;
      assert.equal(addon.status, 'ok');
      assert.match(addon.detail, new RegExp(`prebuilds/${PLATFORM}/spoken_digits\\.node`));
      assert.match(checks.find((c) => c.name === 'audio capture')!.detail, /PortAudio \(addon, libportaudio\.so\.2 loaded at run time\)/);
      const seconds = spoken.samples.length / 8000;
      const r = digits(['listen', '--json', '--capture-rate', '8000', '--capture-latency', String(Math.ceil(seconds) + 1), '--duration', String(seconds)], { ALSA_CONFIG_PATH: dev.configPath });
      assert.equal(r.status, 0, r.stderr);
      const heard = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; digit?: number })
        .filter((e) => e.type === 'digit')
        .map((e) => e.digit)
        .join('');
      assert.ok(editDistance('4071', heard) <= 1, `heard ${heard}`);
    } finally {
      dev.remove();
    }
  });

  it('without libportaudio: the DSP still runs natively, and capture says what is missing', () => {
    const clip = join(FSDD_RECORDINGS, '7_jackson_0.wav');
    // A path relative to the working directory names the file too.
    const predict = digits(['predict', '--json', clip], { ...NO_PORTAUDIO, SPOKEN_DIGITS_ADDON: join('prebuilds', PLATFORM, 'spoken_digits.node') });
    assert.equal(predict.status, 0, predict.stderr);
    assert.equal(JSON.parse(predict.stdout).results[0].digit, 7);
    const doctor = digits(['doctor', '--json'], NO_PORTAUDIO);
    const checks = JSON.parse(doctor.stdout).checks as { name: string; status: string; detail: string }[];
    assert.equal(checks.find((c) => c.name === 'native addon')!.status, 'ok');
    // (Its status depends on naudiodon2 and a microphone being there; the addon's part is the reason.)
    const capture = checks.find((c) => c.name === 'audio capture')!;
    assert.match(capture.detail, /PortAudio could not be loaded \(\/nonexistent\/libportaudio\.so\.2: cannot open shared object file/);
    assert.match(capture.detail, /install libportaudio2/);
  });

  it('npm install takes the prebuilt addon where it loads instead of compiling, and says when capture is off', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'sd-prebuilt-'));
    try {
      mkdirSync(join(pkg, 'scripts'));
      mkdirSync(join(pkg, 'prebuilds', PLATFORM), { recursive: true });
      copyFileSync(join(ROOT, 'scripts/install-addon.mjs'), join(pkg, 'scripts/install-addon.mjs'));
      copyFileSync(PREBUILT, join(pkg, 'prebuilds', PLATFORM, 'spoken_digits.node'));
      const run = (env: Record<string, string>) => spawnSync(process.execPath, ['scripts/install-addon.mjs'], { cwd: pkg, encoding: 'utf8', env: { ...process.env, ...env } });
      const quiet = run({});
      assert.equal(quiet.status, 0, quiet.stderr);
      assert.equal(quiet.stderr, '', 'it tried to build (this copy has nothing to build from)');
      // No libportaudio its loader finds, and none pkg-config knows of: the prebuilt addon, without capture.
      const without = run({ ...NO_PORTAUDIO, PKG_CONFIG_LIBDIR: '/nonexistent' });
      assert.equal(without.status, 0);
      assert.match(without.stderr, /using the prebuilt native addon; live capture through it is off: PortAudio could not be loaded/);
      assert.doesNotMatch(without.stderr, /building|not built/);
      // PortAudio known to pkg-config only: a build that links it is tried (it fails in this bare copy,
      // and the install still succeeds; the prebuilt addon remains).
      const linkable = run(NO_PORTAUDIO);
      assert.equal(linkable.status, 0);
      assert.match(linkable.stderr, /has no capture here .*; building one that links PortAudio/);
      // A prebuilt addon that does not load says why, then builds.
      const broken = join(pkg, 'prebuilds', PLATFORM, 'spoken_digits.node');
      copyFileSync(join(ROOT, 'package.json'), broken);
      const notElf = run({});
      assert.equal(notElf.status, 0);
      assert.match(notElf.stderr, /does not load here \(.*(invalid ELF header|file too short).*\); building it/);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });
});
