import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

// The browser entry shares the WAV decoder and the model metadata reader, whose file helpers import
// node:fs; the page only calls their byte-level functions, so node:fs becomes a stub that throws (as in the kiosk).
const noFs = {
  name: 'spoken-digits-no-fs',
  setup(build: { onResolve(o: { filter: RegExp }, f: () => { path: string }): void }) {
    build.onResolve({ filter: /^(node:)?fs(\/promises)?$/ }, () => ({ path: fileURLToPath(new URL('./src/web/no-fs.ts', import.meta.url)) }));
  },
};

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    shims: true,
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    entry: { web: 'src/web/index.ts' },
    format: ['esm'],
    dts: true,
    sourcemap: true,
    platform: 'browser',
    target: 'es2022',
    // onnxruntime-web stays an import: the embedder's bundler resolves it and copies its .wasm.
    external: ['onnxruntime-web'],
    removeNodeProtocol: false,
    esbuildPlugins: [noFs],
  },
]);
