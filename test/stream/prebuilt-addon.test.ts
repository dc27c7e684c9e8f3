import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeAlsaFileDevice } from './alsa-file.js';
import { editDistance, makeDigitString, rng } from './fixtures.js';
import { ROOT, distUnusable, skipWhereMissing } from '../built-dist.js';
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

/**
 * CI builds the prebuilt addons in .ci/run; a developer checkout builds one here when it is missing or
 * older than what it is built from (needs what build:native needs, and the cross tools for arm64).
 */
function buildIfStale(addon: string, args: string[]): void {
  const built = existsSync(addon) ? statSync(addon).mtimeMs : 0;
  const sources = [join(ROOT, 'CMakeLists.txt'), join(ROOT, 'scripts/prebuild.sh'), ...['cmake', 'native'].flatMap((dir) => readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name)))];
  if (!sources.some((f) => statSync(f).mtimeMs > built)) return;
  const r = spawnSync('bash', ['scripts/prebuild.sh', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' } });
  assert.equal(r.status, 0, `scripts/prebuild.sh ${args.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
}

/** No libportaudio among its NEEDED libraries, and nothing exported but its two Node-API entry points. */
function assertLoadsPortAudioAtRunTimeOnly(addon: string, nm: string): void {
  const needed = execFileSync('readelf', ['-d', addon], { encoding: 'utf8' });
  assert.doesNotMatch(needed, /NEEDED.*portaudio/);
  assert.match(needed, /NEEDED.*libc\.so/);
  // Every defined dynamic symbol, whatever its kind (weak template instances too).
  const exported = execFileSync(nm, ['-D', '--defined-only', addon], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.split(' ').at(-1));
  assert.deepEqual(exported.sort(), ['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
}

describe('the prebuilt addon (PortAudio loaded at run time)', function () {
  this.timeout(300_000);

  before(function () {
    if (process.platform !== 'linux') this.skip();
    buildIfStale(PREBUILT, []);
  });

  it('links no libportaudio and exports nothing but its Node-API entry points', () => {
    assertLoadsPortAudioAtRunTimeOnly(PREBUILT, 'nm');
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
      // A prebuilt addon that does not load says why, then builds; the kissfft fetch it runs is told to leave
      // the system's apt sources alone (a stand-in script records what it was told).
      const told = join(pkg, 'told.txt');
      writeFileSync(join(pkg, 'scripts', 'fetch-kissfft.sh'), `printf '%s' "\${SPOKEN_DIGITS_NO_APT_CHANGES:-unset}" > ${JSON.stringify(told)}; echo 'no sources here' >&2; exit 1\n`);
      const broken = join(pkg, 'prebuilds', PLATFORM, 'spoken_digits.node');
      copyFileSync(join(ROOT, 'package.json'), broken);
      const notElf = run({});
      assert.equal(notElf.status, 0);
      assert.match(notElf.stderr, /does not load here \(.*(invalid ELF header|file too short).*\); building it/);
      assert.match(notElf.stderr, /native addon not built \(no sources here\); the WebAssembly backend will be used/);
      assert.equal(readFileSync(told, 'utf8'), '1');
      // None for this platform at all: said before the build.
      rmSync(broken);
      assert.match(run({}).stderr, new RegExp(`no prebuilt native addon for ${PLATFORM}; building it`));
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });
});

/*
 * The Linux arm64 prebuilt addon (Raspberry Pi OS 64-bit, arm64 servers), cross-built by
 * `scripts/prebuild.sh --arch arm64` and run here in an arm64 Node under qemu-user: it loads, its DSP
 * gives the x64 addon's features, and the built CLI recognizes clips with it (onnxruntime-node
 * carries its own arm64 binaries). CI installs the cross compiler and qemu (.ci/run); elsewhere the
 * block is skipped when they are missing.
 */
describe('the linux-arm64 prebuilt addon (cross-built, run under qemu-user)', function () {
  this.timeout(600_000);
  const ARM64 = join(ROOT, 'prebuilds', 'linux-arm64', 'spoken_digits.node');
  let armNode: string[] = [];

  /** Runs an ES module script in a Node (the arm64 one under qemu, or this one); it prints one JSON line last. */
  function run(node: string[], script: string, args: string[], env: Record<string, string> = {}) {
    const [cmd, ...pre] = node;
    const r = spawnSync(cmd, [...pre, '--input-type=module', '-e', script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1', ...env } });
    assert.equal(r.status, 0, `${cmd}: ${r.stderr.slice(-1500)}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  }

  before(function () {
    const missing = ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
    if (process.platform !== 'linux' || process.arch !== 'x64' || (missing.length && !process.env.CI)) {
      console.log(`    (skipped: needs linux-x64 with ${missing.join(' and ') || 'a cross compiler and qemu-user'}: apt-get install g++-aarch64-linux-gnu qemu-user)`);
      this.skip();
    }
    assert.deepEqual(missing, [], 'CI installs g++-aarch64-linux-gnu and qemu-user (.ci/run)');
    buildIfStale(ARM64, ['--arch', 'arm64']);
    const node = spawnSync('bash', ['scripts/arm64-node.sh'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(node.status, 0, node.stderr);
    armNode = node.stdout.trim().split('\n');
  });

  it('is an arm64 ELF that links no libportaudio and exports only its Node-API entry points', () => {
    const header = execFileSync('readelf', ['-h', ARM64], { encoding: 'utf8' });
    assert.match(header, /Machine:\s+AArch64/);
    assertLoadsPortAudioAtRunTimeOnly(ARM64, 'aarch64-linux-gnu-nm');
  });

  it('gives the x64 addon\'s features (log-mel and MFCC) and resampling', () => {
    // Through the addon itself (no bundler, no TypeScript runtime in the arm64 Node).
    const script = `
      import { createRequire } from 'node:module';
      import { readFileSync } from 'node:fs';
      const [addonFile, config, wav] = process.argv.slice(1);
      const a = createRequire(import.meta.url)(addonFile);
      const bytes = readFileSync(wav);
      const pcm = new Int16Array(bytes.buffer, bytes.byteOffset + 44, (bytes.length - 44) >> 1);
      const samples = Float32Array.from(pcm, (v) => v / 32768);
      const out = {};
      for (const [name, params] of Object.entries(JSON.parse(config))) {
        const x = new a.Extractor(Float64Array.from(params));
        out[name] = Array.from(x.compute(samples));
        x.dispose();
      }
      const r = new a.Resampler(8000, 16000);
      out.resampled = Array.from(r.process(samples));
      console.log(JSON.stringify({ arch: process.arch, out }));`;
    // encodeFeatureConfig's layout, for the default log-mel and MFCC configurations.
    const configs = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
        import { encodeFeatureConfig } from './src/features/core-abi.ts';
        import { resolveFeatureConfig } from './src/features/config.ts';
        console.log(JSON.stringify({ logmel: Array.from(encodeFeatureConfig(resolveFeatureConfig({}))), mfcc: Array.from(encodeFeatureConfig(resolveFeatureConfig({ kind: 'mfcc' }))) }));`], { cwd: ROOT, encoding: 'utf8' }),
    );
    const wav = join(FSDD_RECORDINGS, '3_theo_0.wav');
    const arm = run(armNode, script, [ARM64, JSON.stringify(configs), wav]);
    const x64 = run([process.execPath], script, [PREBUILT, JSON.stringify(configs), wav]);
    assert.equal(arm.arch, 'arm64');
    assert.equal(x64.arch, 'x64');
    for (const name of ['logmel', 'mfcc', 'resampled']) {
      const p = arm.out[name] as number[];
      const q = x64.out[name] as number[];
      assert.equal(p.length, q.length, name);
      assert.ok(p.length > 100, name);
      const worst = p.reduce((m, v, i) => Math.max(m, Math.abs(v - q[i])), 0);
      assert.ok(worst < 1e-3, `${name}: arm64 and x64 differ by up to ${worst}`);
    }
  });

  it('the built library recognizes clips on arm64 with it, as on x64', function () {
    skipWhereMissing(this, distUnusable(), '      ');
    const clips = ['0_nicolas_1.wav', '5_lucas_2.wav', '7_jackson_0.wav', '9_yweweler_3.wav'].map((f) => join(FSDD_RECORDINGS, f));
    const script = `
      const { DigitRecognizer, loadFeatureBackend } = await import('./dist/index.js');
      const features = await loadFeatureBackend({ backend: 'native' });
      const r = await DigitRecognizer.load({ backend: 'native' });
      const out = [];
      for (const f of process.argv.slice(1)) {
        const p = await r.predict(f);
        out.push({ digit: p.digit, confidence: p.confidence });
      }
      await r.dispose();
      console.log(JSON.stringify({ arch: process.arch, backend: features.name, out }));`;
    const arm = run(armNode, script, clips, { SPOKEN_DIGITS_ADDON: '' });
    const x64 = run([process.execPath], script, clips, { SPOKEN_DIGITS_ADDON: '' });
    assert.equal(arm.arch, 'arm64');
    assert.match(String(arm.backend), /native/);
    assert.deepEqual(arm.out.map((o: { digit: number }) => o.digit), [0, 5, 7, 9]);
    for (let i = 0; i < clips.length; i++) assert.ok(Math.abs(arm.out[i].confidence - x64.out[i].confidence) < 0.02, `clip ${i}: ${arm.out[i].confidence} vs ${x64.out[i].confidence}`);
  });
  it('with Debian\'s arm64 libportaudio2: `digits listen` captures through PortAudio on arm64 (ALSA file device)', function () {
    const lib = '/usr/lib/aarch64-linux-gnu/libportaudio.so.2';
    skipWhereMissing(this, distUnusable() ?? (existsSync(lib) ? null : `${lib} is missing: dpkg --add-architecture arm64 && apt-get install libportaudio2:arm64`), '      ');
    const spoken = makeDigitString('4071', 'george', rng(17), {});
    const dev = makeAlsaFileDevice(spoken.samples, 8000);
    try {
      const seconds = spoken.samples.length / 8000;
      const [cmd, ...pre] = armNode;
      const doctor = spawnSync(cmd, [...pre, 'dist/cli.js', 'doctor', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, SPOKEN_DIGITS_ADDON: '', ALSA_CONFIG_PATH: dev.configPath } });
      const checks = JSON.parse(doctor.stdout).checks as { name: string; detail: string }[];
      assert.match(checks.find((c) => c.name === 'native addon')!.detail, /prebuilds\/linux-arm64\/spoken_digits\.node/);
      assert.match(checks.find((c) => c.name === 'audio capture')!.detail, /PortAudio \(addon, libportaudio\.so\.2 loaded at run time\)/);
      const r = spawnSync(cmd, [...pre, 'dist/cli.js', 'listen', '--json', '--capture-rate', '8000', '--capture-latency', String(Math.ceil(seconds) + 1), '--duration', String(seconds)], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 300_000,
        env: { ...process.env, NO_COLOR: '1', SPOKEN_DIGITS_ADDON: '', ALSA_CONFIG_PATH: dev.configPath },
      });
      assert.equal(r.status, 0, r.stderr.slice(-1500));
      const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; digit?: number; source?: string });
      const heard = events.filter((e) => e.type === 'digit').map((e) => e.digit).join('');
      assert.ok(editDistance('4071', heard) <= 1, `heard ${heard}`);
    } finally {
      dev.remove();
    }
  });
});
