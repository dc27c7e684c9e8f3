import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, ROOT, distUnusable, skipWhereMissing } from './built-dist.js';
import { FSDD_RECORDINGS } from './fsdd.js';

/**
 * The built package, as `npm install spoken-digits` delivers it (skipped while dist/ is missing or
 * older than src/; CI builds right before testing): the ESM and CommonJS entry points and the CLI
 * bundle recognize a clip, and no bundle reads a member of `undefined`, which is how esbuild renders
 * a name it could not resolve (an `export *` from a CommonJS package once turned ONNX Runtime's
 * InferenceSession into `(void 0).create`). The browser entry imports nothing of Node's.
 */
const CLIP = join(FSDD_RECORDINGS, '7_jackson_0.wav');

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

describe('the built package (dist/)', function () {
  this.timeout(60000);
  before(function () {
    skipWhereMissing(this, distUnusable());
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

  it('the CLI bundle is executable and prints the package\'s version', () => {
    const r = spawnSync(join(DIST, 'cli.js'), ['--version'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('the library and the CLI share their chunks: no module is bundled twice', () => {
    // esbuild marks each module it bundles with a "// src/..." comment; one ESM build holds both entries.
    const seen = new Map<string, string[]>();
    for (const f of readdirSync(DIST).filter((n) => n.endsWith('.js'))) {
      const modules = new Set([...readFileSync(join(DIST, f), 'utf8').matchAll(/^\/\/ (src\/\S+\.ts)$/gm)].map((m) => m[1]));
      for (const m of modules) seen.set(m, [...(seen.get(m) ?? []), f]);
    }
    assert.ok(seen.size > 50, `only ${seen.size} modules found`);
    assert.deepEqual([...seen].filter(([, files]) => files.length > 1).map(([m, files]) => `${m}: ${files.join(', ')}`), []);
  });

  it('no bundle reads a member of undefined', () => {
    const bad: string[] = [];
    for (const f of readdirSync(DIST).filter((n) => /\.(c|m)?js$/.test(n))) {
      const m = readFileSync(join(DIST, f), 'utf8').match(/\(void 0\)\s*\.\s*[A-Za-z_$][\w$]*/g);
      if (m) bad.push(`${f}: ${[...new Set(m)].join(', ')}`);
    }
    assert.deepEqual(bad, []);
  });

  it('the npm package stays small: no .gz files, ONNX Runtime\'s .wasm only as .br', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const pack = (JSON.parse(r.stdout) as { size: number; unpackedSize: number; files: { path: string }[] }[])[0];
    const files = pack.files.map((f) => f.path);
    assert.deepEqual(files.filter((f) => f.endsWith('.gz') || /^web-dist\/.*\.wasm$/.test(f)), []);
    assert.ok(files.some((f) => /^web-dist\/assets\/ort-wasm.*\.wasm\.br$/.test(f)), 'the page needs ONNX Runtime\'s .wasm.br');
    // Every file of the built app is in the package, as itself or as its .br (digits serve decodes it).
    const built = readdirSync(join(ROOT, 'web-dist'), { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && !/\.(br|gz)$/.test(d.name))
      .map((d) => join(d.parentPath, d.name).slice(ROOT.length + 1));
    assert.deepEqual(built.filter((f) => !files.includes(f) && !files.includes(`${f}.br`)), []);
    // 5.1 MB packed / 8.6 MB unpacked when this was written (12.8 / 27.3 MB with every encoding of the app);
    // 6.2 / 12.2 MB once dist/web bundled protobufjs' minimal runtime (with its source maps); 6.7 / 13.3 MB with
    // docs/ (0.33 MB), which README.md links to, and the prebuilt addons.
    assert.ok(pack.size < 7e6, `package ${pack.size} bytes`);
    assert.ok(pack.unpackedSize < 14e6, `unpacked ${pack.unpackedSize} bytes`);
  });

  it('the browser entry (dist/web/) loads nothing but onnxruntime-web (ES modules only: protobufjs/minimal is bundled in), the enrollment\'s graph code only when it enrolls; its adaptation worker is one file', () => {
    // Static and dynamic imports and re-exports alike; node:fs is stubbed in the bundle (tsup.config.ts).
    // test/web/library.test.ts bundles this entry into a page through the package's exports and runs it.
    const dir = join(DIST, 'web');
    const importsOf = (file: string) => {
      const code = readFileSync(join(dir, file), 'utf8');
      return {
        eager: [...code.matchAll(/(?:\bfrom\s*|\bimport\s+)["']([^"']+)["']/g)].map((m) => m[1]),
        lazy: [...code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]),
      };
    };
    // What a page loads with the entry (its static imports, followed), and what it may load later.
    const reach = (lazyToo: boolean) => {
      const files = new Set<string>();
      const external = new Set<string>();
      const walk = (file: string) => {
        if (files.has(file)) return;
        files.add(file);
        const { eager, lazy } = importsOf(file);
        for (const s of lazyToo ? [...eager, ...lazy] : eager) {
          if (s.startsWith('./')) walk(s.slice(2));
          else external.add(s);
        }
      };
      walk('index.js');
      return { external: [...external].sort(), files: [...files] };
    };
    assert.deepEqual(reach(false).external, ['onnxruntime-web/wasm']);
    // The lazy chunks (the ONNX graph code) need nothing more: the codec is static code on protobufjs/minimal, bundled in.
    const all = reach(true);
    assert.deepEqual(all.external, ['onnxruntime-web/wasm']);
    assert.ok(all.files.length > reach(false).files.length, 'the graph code is a lazy chunk');
    // The normalization adaptation's worker, beside the entry: one file, since bundlers build workers as
    // classic scripts by default (Vite's worker.format 'iife'), which cannot load chunks of their own.
    const worker = importsOf('adapt-worker.js');
    assert.deepEqual(worker.lazy, []);
    assert.deepEqual([...new Set(worker.eager)].sort(), ['onnxruntime-web/wasm']);
    assert.match(readFileSync(join(dir, all.files.find((f) => readFileSync(join(dir, f), 'utf8').includes('adapt-worker.js'))!), 'utf8'), /new Worker\(new URL\("\.\/adapt-worker\.js", import\.meta\.url\)/);
  });
});
