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

/**
 * The browser builds (dist/web/): ESM for bundlers, onnxruntime-web left as an import for the embedder's
 * bundler to resolve (it copies its .wasm). protobufjs' minimal runtime (CommonJS) is bundled in, so the
 * entry imports ES modules only: a dev server that serves the package unbundled (Vite's, with the
 * package excluded from pre-bundling so its worker's URL holds) runs it as it is.
 */
const browserBuild = {
  outDir: 'dist/web',
  format: ['esm' as const],
  sourcemap: true,
  platform: 'browser' as const,
  target: 'es2022',
  external: ['onnxruntime-web'],
  noExternal: ['protobufjs'],
  removeNodeProtocol: false,
  esbuildPlugins: [noFs],
};

export default defineConfig([
  {
    // The library and the CLI in one ESM build, so the code they share is one set of chunks, not two
    // copies (the CLI's hashbang comes from src/cli/main.ts).
    // The normalization adaptation process's script (AdaptProcess) is an entry of its own beside them.
    entry: { index: 'src/index.ts', cli: 'src/cli/main.ts', 'adapt-worker': 'src/model/adapt-worker.ts' },
    format: ['esm'],
    dts: { entry: { index: 'src/index.ts' } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    shims: true,
  },
  {
    entry: { index: 'src/index.ts' },
    format: ['cjs'],
    dts: { entry: { index: 'src/index.ts' } },
    sourcemap: true,
    target: 'node20',
    shims: true,
  },
  {
    // A folder of its own: its lazy chunks (the enrollment's ONNX graph code, with the full protobufjs)
    // stay apart from the Node build's, and a page loads them only when it enrolls a speaker.
    entry: { index: 'src/web/index.ts' },
    dts: true,
    ...browserBuild,
  },
  {
    // The normalization adaptation's Web Worker (WebAdaptWorker), beside the web entry where its
    // `new URL('./adapt-worker.js', import.meta.url)` finds it: one file with no chunks of its own
    // (its lazy imports inlined), because bundlers build workers as classic scripts by default
    // (Vite's worker.format 'iife'), which cannot be split.
    entry: { 'adapt-worker': 'src/web/adapt-worker.ts' },
    splitting: false,
    ...browserBuild,
  },
]);
