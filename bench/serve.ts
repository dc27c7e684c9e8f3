/**
 * Load test of `digits serve` on loopback with autocannon: the app shell, the biggest hashed asset
 * (ORT's .wasm, brotli) and the model. Bounded: `--seconds` per target (default 5).
 * Usage: npx tsx bench/serve.ts [--seconds 5] [--connections 50] [--root web-dist] [--models models]
 * Reports figures only; never fails on timing.
 */
import autocannon from 'autocannon';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseBenchArgs } from './args.js';
import { spawn } from 'node:child_process';

const { values } = parseBenchArgs(import.meta.url, {
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    root: { type: 'string', default: 'web-dist' },
    models: { type: 'string', default: 'models' },
    json: { type: 'boolean' },
  },
});
const seconds = Math.min(60, Math.max(1, Number(values.seconds)));
const connections = Math.min(500, Math.max(1, Number(values.connections)));
const root = resolve(values.root!);
if (!existsSync(join(root, 'index.html'))) {
  console.error(`bench/serve: ${root}/index.html not found; run \`npm run build:web\` first`);
  process.exit(1);
}

function biggest(dir: string, ext: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
}

// The server runs in its own process (the real `digits serve`), so autocannon's parsing does not
// share its event loop.
const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--root', root, '--models', resolve(values.models!)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const srv = {
  url: await new Promise<string>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) ok(m[0]);
    });
    child.once('exit', (code) => fail(new Error(`digits serve exited with ${code}: ${out}`)));
  }),
  close: async () => {
    child.kill('SIGTERM');
  },
};
const targets: { name: string; path: string; headers?: Record<string, string> }[] = [{ name: 'app shell /', path: '/' }];
const wasm = biggest(join(root, 'assets'), '.wasm');
if (wasm) targets.push({ name: `${wasm} (br)`, path: `/assets/${wasm}`, headers: { 'accept-encoding': 'br' } });
const model = existsSync(resolve(values.models!, 'default.int8.onnx')) ? 'default.int8.onnx' : biggest(resolve(values.models!), '.onnx');
if (model) targets.push({ name: `models/${model} (br)`, path: `/models/${model}`, headers: { 'accept-encoding': 'br' } });

const log = values.json ? () => undefined : console.log;
const rows: { target: string; requestsPerSec: number; p50Ms: number; p99Ms: number; mbPerSec: number; failed: number }[] = [];
log(`digits serve load test: ${connections} connections, ${seconds} s per target, loopback (${srv.url})`);
log('target'.padEnd(52), 'req/s'.padStart(9), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'MB/s'.padStart(8), 'non-2xx'.padStart(8));
try {
  for (const t of targets) {
    const r = await autocannon({ url: srv.url + t.path, connections, duration: seconds, headers: t.headers });
    rows.push({ target: t.name, requestsPerSec: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, mbPerSec: r.throughput.average / 1e6, failed: r.non2xx + r.errors });
    log(
      t.name.padEnd(52),
      r.requests.average.toFixed(0).padStart(9),
      String(r.latency.p50).padStart(8),
      String(r.latency.p99).padStart(8),
      (r.throughput.average / 1e6).toFixed(1).padStart(8),
      String(r.non2xx + r.errors).padStart(8),
    );
  }
} finally {
  await srv.close();
}
if (values.json) console.log(JSON.stringify({ connections, seconds, targets: rows }));
