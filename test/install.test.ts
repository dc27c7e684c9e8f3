import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, distUnusable, skipWhereMissing } from './built-dist.js';
import { FSDD_RECORDINGS } from './fsdd.js';

/*
 * `npm install spoken-digits` as a user runs it: the package's tarball (`npm pack`) installed into an
 * empty app from the npm registry (tarballs from npm's cache where `npm ci` left them). It installs
 * without a compiler or TensorFlow.js, recognizes a clip with the prebuilt addon from the library
 * (ESM and CommonJS) and the `digits` bin, and training says what to install. Skipped while dist/ or
 * web-dist/ is missing or stale (CI builds both first).
 */
describe('npm install spoken-digits (the packed tarball, into an empty app)', function () {
  this.timeout(600_000);
  let dir: string;
  let app: string;
  const clip = join(FSDD_RECORDINGS, '4_nicolas_0.wav');

  function run(cmd: string, args: string[], env: Record<string, string> = {}) {
    return spawnSync(cmd, args, { cwd: app, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NO_COLOR: '1', ...env } });
  }

  before(function () {
    skipWhereMissing(this, distUnusable() ?? (existsSync(join(ROOT, 'web-dist', 'index.html')) ? null : 'web-dist/ is not built (npm run build:web)'));
    dir = mkdtempSync(join(tmpdir(), 'sd-install-'));
    app = join(dir, 'app');
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(pack.status, 0, pack.stderr);
    const tarball = join(dir, pack.stdout.trim().split('\n').at(-1)!);
    spawnSync('mkdir', [app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    // onnxruntime-node's own install step would download CUDA libraries (README: Install).
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { ONNXRUNTIME_NODE_INSTALL: 'skip' });
    assert.equal(install.status, 0, install.stderr.slice(-3000));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves out TensorFlow.js and onnxruntime-web (optional peers for training and the browser entry)', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    assert.ok(installed.includes('spoken-digits') && installed.includes('onnxruntime-node'));
    assert.ok(!installed.includes('@tensorflow'), 'TensorFlow.js was installed');
    assert.ok(!installed.includes('onnxruntime-web'), 'onnxruntime-web was installed');
  });

  it('carries its license and the notices of the third-party code it bundles, up to date with the packages bundled', () => {
    const pkg = join(app, 'node_modules', 'spoken-digits');
    assert.match(readFileSync(join(pkg, 'LICENSE'), 'utf8'), /^MIT License/);
    const notices = readFileSync(join(pkg, 'THIRD_PARTY_NOTICES.md'), 'utf8');
    for (const name of ['KISS FFT', 'onnxruntime-web', 'protobufjs', 'long', 'idb-keyval', 'CC BY-SA 4.0']) assert.ok(notices.includes(name), name);
    const check = spawnSync(process.execPath, [join(ROOT, 'scripts', 'third-party-notices.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  it('the `digits` bin recognizes a clip with the package\'s prebuilt addon', () => {
    const predict = run(join(app, 'node_modules/.bin/digits'), ['predict', '--json', clip]);
    assert.equal(predict.status, 0, predict.stderr);
    const result = JSON.parse(predict.stdout);
    assert.equal(result.backend, 'native');
    assert.equal(result.results[0].digit, 4);
    const doctor = run(join(app, 'node_modules/.bin/digits'), ['doctor', '--json']);
    const addon = (JSON.parse(doctor.stdout).checks as { name: string; detail: string }[]).find((c) => c.name === 'native addon')!;
    assert.ok(addon.detail.includes(`node_modules/spoken-digits/prebuilds/${process.platform}-${process.arch}/spoken_digits.node`), addon.detail);
  });

  it('its prebuilt addons were built from its own native sources (what `npm pack` checks: scripts/native-source-hash.mjs)', () => {
    const hash = spawnSync(process.execPath, [join(ROOT, 'scripts', 'native-source-hash.mjs')], { encoding: 'utf8' }).stdout.trim();
    assert.match(hash, /^[0-9a-f]{64}$/);
    const shipped = join(app, 'node_modules/spoken-digits/prebuilds', `${process.platform}-${process.arch}`, 'source.sha256');
    assert.equal(readFileSync(shipped, 'utf8').trim(), hash, 'the prebuilt addon was built from other native sources: npm run build:prebuilt');
  });

  it('the library recognizes a clip from ESM and from CommonJS', () => {
    const esm = run(process.execPath, ['--input-type=module', '-e', `import { DigitRecognizer } from 'spoken-digits'; const r = await DigitRecognizer.load(); console.log((await r.predict(${JSON.stringify(clip)})).digit);`]);
    assert.equal(esm.status, 0, esm.stderr);
    assert.equal(esm.stdout.trim(), '4');
    const cjs = run(process.execPath, ['--input-type=commonjs', '-e', `require('spoken-digits').DigitRecognizer.load().then((r) => r.predict(${JSON.stringify(clip)})).then((p) => console.log(p.digit), (e) => { console.error(e); process.exit(1); });`]);
    assert.equal(cjs.status, 0, cjs.stderr);
    assert.equal(cjs.stdout.trim(), '4');
  });

  it('`digits train` and `digits export` say how to install TensorFlow.js', () => {
    for (const args of [['train', '--arch', 'cnn', '--limit', '20', '--epochs', '1', '--out', join(dir, 'run')], ['export', '--model', join(dir, 'none'), '--out', join(dir, 'x.onnx')]]) {
      const r = run(join(app, 'node_modules/.bin/digits'), args);
      assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /`\w+` needs TensorFlow\.js .*npm install @tensorflow\/tfjs@\^4\.22\.0 @tensorflow\/tfjs-backend-wasm@\^4\.22\.0/);
      assert.ok(!existsSync(join(dir, 'run')));
    }
  });
});
