import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

  static async build(main: string): Promise<EmbedderPage> {
    const work = mkdtempSync(join(tmpdir(), 'sd-embed-'));
    try {
      writeFileSync(join(work, 'index.html'), '<!doctype html><meta charset="utf-8"><title>embedder</title><script type="module" src="./main.js"></script>');
      writeFileSync(join(work, 'main.js'), main);
      const stale = distUnusable();
      if (stale) console.log(`    (the page bundles src/web: ${stale})`);
      mkdirSync(join(work, 'node_modules'));
      symlinkSync(ROOT, join(work, 'node_modules/spoken-digits'), 'dir');
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
