import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import * as errors from '../src/errors.js';
import { ROOT } from './built-dist.js';

/** The package as `npm pack` makes it: what it holds, and what a web page's bundler makes of it. */
describe('the package', function () {
  this.timeout(60000);

  it('holds every file README.md links to or shows (the README is what an installed package documents itself with)', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    // Markdown links and images to files of the repository: ](path) or ](path#anchor), not URLs or anchors alone.
    const targets = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t));
    assert.ok(targets.length >= 10, `${targets.length} links found`);
    const missing = targets.filter((t) => !files.includes(t) && !files.some((f) => f.startsWith(`${t.replace(/\/$/, '')}/`)));
    assert.deepEqual([...new Set(missing)], []);
  });

  it('exports the shipped models, so a page can import one (e.g. Vite\'s `?url`)', () => {
    // Node's resolver reads `exports` as bundlers do: a path it does not export is ERR_PACKAGE_PATH_NOT_EXPORTED.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('spoken-digits/models/default.int8.onnx'))"], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `file://${join(ROOT, 'models', 'default.int8.onnx')}`);
  });
});

// A page's bundler minifies class names ("Ft: ONNX Runtime Web did not start"); an error's `name` is what a
// console and a log show, so the library's own error classes keep theirs through minification.
describe('error names', () => {
  const classes = Object.entries(errors).filter(([, v]) => typeof v === 'function' && /Error$/.test(v.name)) as [string, new (...a: string[]) => Error][];

  it('every error class of the library is named after itself', () => {
    assert.ok(classes.length >= 10);
    for (const [name, Cls] of classes) assert.equal(new Cls(name === 'SpokenDigitsError' ? 'ERR_X' : 'message', 'message').name, name);
  });

  it('and still is once a bundler has minified the classes away', () => {
    const bundled = buildSync({ entryPoints: ['src/errors.ts'], bundle: true, minify: true, format: 'cjs', write: false, platform: 'neutral', logLevel: 'silent' });
    const source = bundled.outputFiles[0].text;
    const module = { exports: {} as Record<string, new (...a: string[]) => Error> };
    new Function('module', 'exports', source)(module, module.exports);
    for (const [name] of classes) {
      const Cls = module.exports[name];
      assert.ok(Cls, `${name} exported by the bundle`);
      assert.equal(new Cls(name === 'SpokenDigitsError' ? 'ERR_X' : 'message', 'message').name, name, `${name} after minification`);
    }
  });
});
