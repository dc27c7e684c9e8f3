import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { distUnusable } from '../built-dist.js';
import { ROOT, launch } from './harness.js';

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.wav': 'audio/wav' };

/**
 * A page of an embedder's own (`main.js`, which imports `spoken-digits/web`), bundled by Vite with its
 * default settings as an embedder's app would be (onnxruntime-web's .wasm and the package's worker
 * found by the bundler, no paths set), with the package's default model at /models/default.int8.onnx,
 * served from memory on http://localhost (a secure context) to headless Chromium. The import
 * resolves through the package's exports to the built dist/web, as in an embedder's node_modules (CI
 * builds before testing); while dist/ is missing or older than src/, to the sources instead.
 * `files` takes more files to serve (clips, WAVs) before pages are opened.
 */
export class EmbedderPage {
  private readonly browsers: Browser[] = [];

  private constructor(readonly files: Map<string, Buffer | string>) {}

  static async build(main: string, bundler: 'vite' | 'webpack' = 'vite'): Promise<EmbedderPage> {
    const work = mkdtempSync(join(tmpdir(), 'sd-embed-'));
    try {
      // Vite bundles from the page's module script; webpack's bundle is a classic script (its chunks load from output.publicPath).
      const script = bundler === 'webpack' ? '<script src="/main.js"></script>' : '<script type="module" src="./main.js"></script>';
      writeFileSync(join(work, 'index.html'), `<!doctype html><meta charset="utf-8"><title>embedder</title>${script}`);
      writeFileSync(join(work, 'main.js'), main);
      const stale = distUnusable();
      if (stale) console.log(`    (the page bundles src/web: ${stale})`);
      mkdirSync(join(work, 'node_modules'));
      symlinkSync(ROOT, join(work, 'node_modules/spoken-digits'), 'dir');
      const files = bundler === 'webpack' ? await webpackBuild(work) : await viteBuild(work, stale);
      if (![...files.keys()].some((f) => f.endsWith('.wasm'))) throw new Error(`the bundler did not copy onnxruntime-web's .wasm: ${[...files.keys()]}`);
      files.set('/models/default.int8.onnx', readFileSync(join(ROOT, 'models/default.int8.onnx')));
      return new EmbedderPage(files);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * The page in a new headless Chromium (with `mic` as its fake microphone, and `csp` as the page's
   * Content-Security-Policy header), once its main.js has set `window.ready`; `errors` collects its
   * uncaught errors.
   */
  async open(mic?: string, csp?: string): Promise<{ page: Page; errors: string[] }> {
    const browser = await launch(mic);
    this.browsers.push(browser);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.route('http://localhost/**', (route) => {
      const path = new URL(route.request().url()).pathname;
      const body = this.files.get(path === '/' ? '/index.html' : path);
      if (body === undefined) return route.fulfill({ status: 404, body: 'not found' });
      const headers: Record<string, string> = { 'content-type': TYPES[extname(path)] ?? (path === '/' ? 'text/html' : 'application/octet-stream') };
      if (csp) headers['content-security-policy'] = csp;
      return route.fulfill({ body, headers });
    });
    await page.goto('http://localhost/');
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 30000 });
    return { page, errors };
  }

  /** Closes every browser it opened. */
  async close(): Promise<void> {
    await Promise.all(this.browsers.map((b) => b.close().catch(() => undefined)));
  }
}

/** `work`'s page bundled by Vite with its default settings (from the sources when dist/ is stale). */
async function viteBuild(work: string, stale: string | null): Promise<Map<string, Buffer | string>> {
  const out = await build({
    root: work,
    configFile: false,
    logLevel: 'silent',
    base: '/',
    build: { write: false, target: 'es2022', minify: false },
    // The sources' worker has lazy chunks; the built one is a single file, as a default (iife) worker build needs.
    ...(stale
      ? {
          resolve: { alias: [{ find: /^spoken-digits\/web$/, replacement: join(ROOT, 'src/web/index.ts') }, { find: /^node:fs(\/promises)?$/, replacement: join(ROOT, 'src/web/no-fs.ts') }] },
          worker: { format: 'es' as const },
        }
      : {}),
  });
  const files = new Map<string, Buffer | string>();
  for (const o of Array.isArray(out) ? out : [out]) {
    if (!('output' in o)) continue;
    for (const f of o.output) files.set(`/${f.fileName}`, f.type === 'chunk' ? f.code : Buffer.from(f.source));
  }
  return files;
}

/**
 * `work`'s page bundled by webpack 5 with its defaults (production mode), as an embedder's app
 * would be: the package's worker and onnxruntime-web's .wasm found by webpack from their
 * `new URL(..., import.meta.url)`. Only `publicPath` is set, which a page that loads its bundle
 * from a known place sets. Bundles the built dist/web (webpack has no TypeScript loader here).
 */
async function webpackBuild(work: string): Promise<Map<string, Buffer | string>> {
  const stale = distUnusable();
  if (stale) throw new Error(`a webpack build takes the built package: ${stale} (npm run build)`);
  const { default: webpack } = await import('webpack');
  const out = join(work, 'dist');
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'embedder', private: true, type: 'module' }));
  const compiler = webpack({ mode: 'production', context: work, entry: './main.js', output: { path: out, publicPath: '/' }, performance: { hints: false } });
  const stats = await new Promise<import('webpack').Stats>((resolve, reject) => compiler.run((err, result) => (err || !result ? reject(err ?? new Error('webpack gave no result')) : resolve(result))));
  await new Promise<void>((resolve) => compiler.close(() => resolve()));
  if (stats.hasErrors()) throw new Error(`webpack: ${stats.toString({ all: false, errors: true })}`);
  const files = new Map<string, Buffer | string>([['/index.html', readFileSync(join(work, 'index.html'), 'utf8')]]);
  for (const name of readdirSync(out)) files.set(`/${name}`, readFileSync(join(out, name)));
  return files;
}
