/**
 * The wasm backend in a real browser: src/features/wasm.ts is bundled for the browser with Vite
 * (which fails on any Node import, so this also guards the kiosk's bundle), loaded in headless
 * Chromium, and must give the same features as the wasm backend in Node.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { resolveFeatureConfig } from '../src/features/config.js';
import { createWasmBackend } from '../src/features/wasm.js';
import { skipWhereMissing } from './built-dist.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('wasm feature backend in Chromium', function () {
  this.timeout(120000);
  let browser: Browser | undefined;
  let bundle = '';

  before(async function () {
    // CI installs chromium (.ci/run); a developer machine without it cannot run this test.
    skipWhereMissing(this, existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM}; set CHROMIUM_PATH`);
    const out = await build({
      root,
      logLevel: 'silent',
      configFile: false,
      build: {
        write: false,
        minify: false,
        lib: { entry: join(root, 'src/features/wasm.ts'), formats: ['es'], fileName: 'wasm-backend' },
      },
    });
    const outputs = Array.isArray(out) ? out : [out];
    const chunk = outputs.flatMap((o) => ('output' in o ? o.output : [])).find((c) => c.type === 'chunk');
    assert.ok(chunk && chunk.type === 'chunk', 'vite produced no bundle');
    bundle = chunk.code;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
  });

  it('bundles without Node built-ins and computes the same features as in Node', async () => {
    assert.doesNotMatch(bundle, /from ["']node:/);
    const page = await browser!.newPage();
    await page.route('http://spoken-digits.test/**', (route) => {
      const url = route.request().url();
      if (url.endsWith('/wasm-backend.js')) return route.fulfill({ body: bundle, contentType: 'text/javascript' });
      return route.fulfill({ body: '<!doctype html><title>wasm</title>', contentType: 'text/html' });
    });
    await page.goto('http://spoken-digits.test/');
    const config = resolveFeatureConfig({ kind: 'logmel', deltas: 1 });
    const signal = Array.from({ length: 6000 }, (_, i) => 0.4 * Math.sin((2 * Math.PI * 523 * i) / 8000) * Math.exp(-i / 3000));
    const inBrowser = await page.evaluate(
      async ({ config, signal, url }) => {
        const mod = await import(url);
        const backend = await mod.createWasmBackend();
        const ex = backend.createExtractor(config);
        const out = ex.compute(Float32Array.from(signal));
        let error = '';
        try {
          ex.compute(new Float32Array(0));
        } catch (err) {
          error = `${(err as Error).name}: ${(err as Error).message}`;
        }
        return { frames: out.frames, dims: out.dims, data: Array.from(out.data), error, resampled: backend.resample(new Float32Array(4800), 48000, 8000).length };
      },
      { config, signal, url: 'http://spoken-digits.test/wasm-backend.js' },
    );
    const node = (await createWasmBackend()).createExtractor(config).compute(Float32Array.from(signal));
    assert.equal(inBrowser.frames, node.frames);
    assert.equal(inBrowser.dims, node.dims);
    assert.deepEqual(Float32Array.from(inBrowser.data), node.data);
    assert.equal(inBrowser.error, 'AudioInputError: audio is empty (0 samples); pass at least one sample');
    assert.equal(inBrowser.resampled, 800);
    await page.close();
  });
});
