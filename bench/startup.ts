/**
 * Whole-process wall time of `digits predict FILE` (start-up counts), from the built CLI (dist/).
 * Usage: npm run build && tsx bench/startup.ts [--runs 20] [--json]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from './args.js';
import { percentiles } from '../src/model/benchmark.js';
import { SHARED_RECORDINGS } from './data.js';

const { values } = parseBenchArgs(import.meta.url, { options: { runs: { type: 'string', default: '20' }, clip: { type: 'string' }, json: { type: 'boolean' } } });
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('dist/cli.js is missing: run `npm run build` first');
  process.exit(1);
}
const clip = values.clip ?? join(SHARED_RECORDINGS, '3_theo_0.wav');
const times: number[] = [];
const node0: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  let start = performance.now();
  const r = spawnSync(process.execPath, [cli, 'predict', clip], { encoding: 'utf8' });
  times.push(performance.now() - start);
  if (r.status !== 0) throw new Error(`digits predict failed: ${r.stderr}`);
  start = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  node0.push(performance.now() - start);
}
const report = { command: `digits predict ${clip}`, wallMs: percentiles(times), bareNodeMs: percentiles(node0) };
if (values.json) console.log(JSON.stringify(report));
else console.log(`digits predict (whole process): p50 ${report.wallMs.p50.toFixed(0)} ms, p90 ${report.wallMs.p90.toFixed(0)} ms over ${times.length} runs; bare \`node -e 0\` p50 ${report.bareNodeMs.p50.toFixed(0)} ms`);
