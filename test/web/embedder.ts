import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build, createServer, type ViteDevServer } from 'vite';
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

  private constructor(
    readonly files: Map<string, Buffer | string>,
    private readonly origin = 'http://localhost',
    private readonly dev?: { server: ViteDevServer; work: string },
  ) {}

  /**
   * The same page served by Vite's dev server instead of a build, as an embedder first runs it (`vite`):
   * modules served one by one from the sources, the package's worker from node_modules, with
   * `optimizeDeps` as the README tells embedders to set it. `files` are served in front of it.
   */
  static async devServer(main: string): Promise<EmbedderPage> {
    const stale = distUnusable();
    if (stale) throw new Error(`the dev server serves the built package: ${stale} (npm run build)`);
    const work = mkdtempSync(join(tmpdir(), 'sd-embed-dev-'));
    try {
      writeEmbedder(work, main, '<script type="module" src="./main.js"></script>', 'installed');
      const server = await createServer({
        root: work,
        configFile: false,
        logLevel: 'silent',
        // The other packages are links into this checkout's node_modules, outside `work`: let the server read them.
        server: { port: 0, host: '127.0.0.1', strictPort: false, fs: { allow: [work, join(ROOT, 'node_modules')] } },
        optimizeDeps: DEV_OPTIMIZE_DEPS,
      });
      const address = await server
        .listen()
        .then(() => server.httpServer?.address())
        .catch(async (err: unknown) => {
          await server.close();
          throw err;
        });
      if (!address || typeof address === 'string') {
        await server.close();
        throw new Error('the Vite dev server has no port');
      }
      const files = new Map<string, Buffer | string>([['/models/default.int8.onnx', readFileSync(join(ROOT, 'models/default.int8.onnx'))]]);
      // localhost, not 127.0.0.1: a secure context, as the microphone and workers need.
      return new EmbedderPage(files, `http://localhost:${address.port}`, { server, work });
    } catch (err) {
      rmSync(work, { recursive: true, force: true });
      throw err;
    }
  }

  static async build(main: string, bundler: 'vite' | 'webpack' = 'vite'): Promise<EmbedderPage> {
    const work = mkdtempSync(join(tmpdir(), 'sd-embed-'));
    try {
      // Vite bundles from the page's module script; webpack's bundle is a classic script (its chunks load from output.publicPath).
      writeEmbedder(work, main, bundler === 'webpack' ? '<script src="/main.js"></script>' : '<script type="module" src="./main.js"></script>');
      const stale = distUnusable();
      if (stale) console.log(`    (the page bundles src/web: ${stale})`);
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
    await page.route(`${this.origin}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      const body = this.files.get(path === '/' && !this.dev ? '/index.html' : path);
      if (body === undefined) return this.dev ? route.continue() : route.fulfill({ status: 404, body: 'not found' });
      const headers: Record<string, string> = { 'content-type': TYPES[extname(path)] ?? (path === '/' ? 'text/html' : 'application/octet-stream') };
      if (csp) headers['content-security-policy'] = csp;
      return route.fulfill({ body, headers });
    });
    await page.goto(`${this.origin}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 30000 });
    return { page, errors };
  }

  /** Closes every browser it opened. */
  async close(): Promise<void> {
    await Promise.all(this.browsers.map((b) => b.close().catch(() => undefined)));
    if (this.dev) {
      await this.dev.server.close();
      rmSync(this.dev.work, { recursive: true, force: true });
    }
  }
}

/**
 * What the README tells a Vite dev server embedder to set: onnxruntime-web (whose pre-bundling loses its
 * .wasm) and the package (whose pre-bundling loses its worker's URL) served as they are.
 */
export const DEV_OPTIMIZE_DEPS = { exclude: ['onnxruntime-web', 'spoken-digits'] };

/**
 * The embedder's app in `work`: its page, its main.js, and the package in its node_modules. 'linked':
 * a link to this checkout (bundlers resolve its dependencies from there). 'installed': as `npm install`
 * leaves it, a folder of its own (its package.json and built dist/web) beside links to this checkout's
 * node_modules, so that a dev server takes it for a dependency (pre-bundled), not for linked sources.
 */
function writeEmbedder(work: string, main: string, script: string, pkg: 'linked' | 'installed' = 'linked'): void {
  writeFileSync(join(work, 'index.html'), `<!doctype html><meta charset="utf-8"><title>embedder</title>${script}`);
  writeFileSync(join(work, 'main.js'), main);
  const modules = join(work, 'node_modules');
  mkdirSync(modules);
  if (pkg === 'linked') {
    symlinkSync(ROOT, join(modules, 'spoken-digits'), 'dir');
    return;
  }
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (!name.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', name), join(modules, name), 'dir');
  }
  const installed = join(modules, 'spoken-digits');
  cpSync(join(ROOT, 'package.json'), join(installed, 'package.json'));
  cpSync(join(ROOT, 'dist/web'), join(installed, 'dist/web'), { recursive: true });
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
