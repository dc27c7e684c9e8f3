import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { DIST, ROOT, distUnusable } from './built-dist.js';
import { FSDD_RECORDINGS } from './fsdd.js';

/**
 * The built package, as `npm install spoken-digits` delivers it (skipped while dist/ is missing or
 * older than src/; CI builds right before testing): the ESM and CommonJS entry points and the CLI
 * bundle recognize a clip, and no bundle reads a member of `undefined`, which is how esbuild renders
 * a name it could not resolve (an `export *` from a CommonJS package once turned ONNX Runtime's
 * InferenceSession into `(void 0).create`). The browser entry bundles into a page the way an
 * embedder's Vite would build it.
 */
const CLIP = join(FSDD_RECORDINGS, '7_jackson_0.wav');

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

describe('the built package (dist/)', function () {
  this.timeout(60000);
  before(function () {
    const why = distUnusable();
    if (why) {
      console.log(`    (skipped: ${why})`);
      this.skip();
    }
  });

  it('the ESM entry recognizes a clip', () => {
    const r = node(['--input-type=module', '-e', `import { DigitRecognizer } from './dist/index.js'; const r = await DigitRecognizer.load(); console.log((await r.predict(${JSON.stringify(CLIP)})).digit);`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '7');
  });

  it('the CommonJS entry recognizes a clip', () => {
    const r = node(['-e', `require('./dist/index.cjs').DigitRecognizer.load().then((r) => r.predict(${JSON.stringify(CLIP)})).then((p) => console.log(p.digit), (e) => { console.error(e); process.exit(1); });`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '7');
  });

  it('the CLI bundle runs `digits predict`', () => {
    const r = node([join(DIST, 'cli.js'), 'predict', '--json', CLIP]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).results[0].digit, 7);
  });

  it('no bundle reads a member of undefined', () => {
    const bad: string[] = [];
    for (const f of readdirSync(DIST).filter((n) => /\.(c|m)?js$/.test(n))) {
      const m = readFileSync(join(DIST, f), 'utf8').match(/\(void 0\)\s*\.\s*[A-Za-z_$][\w$]*/g);
      if (m) bad.push(`${f}: ${[...new Set(m)].join(', ')}`);
    }
    assert.deepEqual(bad, []);
  });

  it('the browser entry (spoken-digits/web) bundles into a page through the package exports, with no Node built-ins', async () => {
    const web = readFileSync(join(DIST, 'web.js'), 'utf8');
    const imports = [...new Set([...web.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]))].sort();
    assert.deepEqual(imports, ['onnxruntime-web/wasm', 'protobufjs/minimal.js']);
    // An embedder's project: spoken-digits installed in its node_modules (here a link to this checkout).
    const app = mkdtempSync(join(tmpdir(), 'sd-embedder-'));
    try {
      mkdirSync(join(app, 'node_modules'));
      symlinkSync(ROOT, join(app, 'node_modules/spoken-digits'), 'dir');
      writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
      writeFileSync(join(app, 'main.js'), "import { WebListener } from 'spoken-digits/web';\nwindow.listener = WebListener;\n");
      const out = await build({ root: app, configFile: false, logLevel: 'silent', build: { write: false } });
      const files = (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : []));
      const names = files.map((f) => f.fileName);
      assert.ok(names.some((n) => /ort-wasm-simd-threaded.*\.wasm$/.test(n)), `onnxruntime-web's .wasm was not emitted: ${names}`);
      const code = files.map((f) => (f.type === 'chunk' ? f.code : '')).join('\n');
      assert.doesNotMatch(code, /from\s*["']node:/);
      assert.match(code, /sd-capture/);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
