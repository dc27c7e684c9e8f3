/**
 * The benchmark harness behind `npm run bench`: runs every benchmark as its own process (so
 * memory, threads and JIT state do not leak between them), then writes one Markdown + JSON report
 * with SVG plots. Timing never fails anything; a section that cannot run is reported with why.
 * Usage: npm run bench [-- --out DIR] [--data DIR] [--quick]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseBenchArgs } from './args.js';
import { barChartSvg } from './plot.js';
import { SHARED_RECORDINGS } from './data.js';

const { values } = parseBenchArgs(import.meta.url, { options: { out: { type: 'string', default: 'bench/results' }, data: { type: 'string' }, quick: { type: 'boolean' } } });
const out = resolve(values.out!);
mkdirSync(out, { recursive: true });
const dataArgs = values.data ? ['--data', values.data] : [];
const runs = values.quick ? '200' : '1000';

interface Section {
  key: string;
  title: string;
  args: string[];
}

const fsdd = values.data ?? process.env.SPOKEN_DIGITS_DATA ?? SHARED_RECORDINGS;
const sections: Section[] = [
  { key: 'features', title: 'Feature extraction: native vs wasm vs Meyda', args: ['bench/features.ts', '--json'] },
  { key: 'inference', title: 'Inference: ONNX Runtime fp32 vs int8 per model', args: ['bench/quantization.ts', '--json', ...dataArgs] },
  { key: 'tfjs', title: 'Inference: the same model in tfjs vs ONNX Runtime', args: ['bench/tfjs-vs-ort.ts', '--json', '--runs', values.quick ? '100' : '300'] },
  { key: 'endToEnd', title: 'End-to-end latency (digits bench)', args: ['src/cli/main.ts', 'bench', '--json', '--runs', runs, '--data', fsdd] },
  { key: 'startup', title: '`digits predict` on one file, whole process (built CLI)', args: ['bench/startup.ts', '--json', '--runs', values.quick ? '5' : '20'] },
  { key: 'accuracy', title: 'Accuracy of the default model, FSDD test split (digits eval)', args: ['src/cli/main.ts', 'eval', fsdd, '--split', 'test', '--json'] },
  { key: 'peer', title: 'Peer: PocketSphinx with a digits grammar, same clips', args: ['bench/pocketsphinx.ts', '--json', '--data', fsdd] },
  { key: 'web', title: 'Kiosk page in headless Chromium: download, start-up, per-utterance compute', args: ['bench/web.ts', '--json', '--clips', values.quick ? '100' : '300'] },
  { key: 'serve', title: '`digits serve` load test (autocannon, loopback)', args: ['bench/serve.ts', '--json', '--seconds', values.quick ? '2' : '5'] },
  { key: 'streaming', title: 'Streaming recognition (Listener)', args: ['bench/stream.ts', '--json', ...(values.quick ? ['--strings', '30', '--false-hours', '0.1', '--soak-minutes', '5', '--idle-seconds', '10'] : [])] },
];

const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length };
for (const s of sections) {
  process.stderr.write(`bench: ${s.title} …\n`);
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', ...s.args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - started) / 1000;
  const lastJson = run.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (run.status === 0 && lastJson) {
    try {
      results[s.key] = { ...JSON.parse(run.stdout.trim().startsWith('{') ? run.stdout : lastJson), seconds };
      continue;
    } catch {
      // fall through to the error record
    }
  }
  results[s.key] = { error: (run.stderr || run.stdout || String(run.error)).trim().split('\n').slice(-3).join(' '), seconds };
}

writeFileSync(join(out, 'report.json'), JSON.stringify(results, null, 2));
writeFileSync(join(out, 'report.md'), await renderMarkdown(results));
process.stderr.write(`bench: wrote ${join(out, 'report.md')} and report.json\n`);

async function renderMarkdown(r: Record<string, any>): Promise<string> {
  const md: string[] = [`# spoken-digits benchmark report`, '', `${r.date} · Node ${r.node} · ${r.cpus} CPUs`, ''];
  const fmt = (x: unknown, d = 3) => (typeof x === 'number' ? x.toFixed(d) : String(x ?? '-'));
  for (const s of sections) {
    md.push(`## ${s.title}`, '');
    const v = r[s.key];
    if (!v || v.error) {
      md.push(`Not measured: ${v?.error ?? 'no result'}`, '');
      continue;
    }
    if (s.key === 'endToEnd') {
      md.push('| ORT threads | measure | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|---|');
      for (const t of ['singleThread', 'defaultThreads']) {
        for (const [m, label] of [['features', 'features'], ['model', 'model'], ['endToEnd', 'end-to-end, PCM in'], ['withDecode', 'end-to-end, WAV in']]) {
          const p = v[t].latency[m];
          md.push(`| ${t === 'singleThread' ? '1' : 'default'} | ${label} | ${fmt(p.p50)} | ${fmt(p.p90)} | ${fmt(p.p99)} |`);
        }
      }
      md.push('', `Batch throughput: ${fmt(v.singleThread.throughput.clipsPerSec, 0)} clips/s (1 thread), ${fmt(v.defaultThreads.throughput.clipsPerSec, 0)} clips/s (default threads). RSS ${fmt(v.rssMB, 0)} MB. Model ${v.model}, features ${v.backend}.`, '');
      const p = v.singleThread.latency.endToEnd;
      writeFileSync(join(out, 'latency.svg'), await barChartSvg('End-to-end latency, one thread (ms)', [
        { label: 'p50', value: p.p50 }, { label: 'p90', value: p.p90 }, { label: 'p99', value: p.p99 },
      ], 'ms'));
      md.push('![latency](latency.svg)', '');
    } else if (s.key === 'accuracy') {
      md.push(`Accuracy ${fmt(100 * v.accuracy, 2)}% on ${v.n} clips; false reject ${fmt(100 * v.falseReject, 2)}%; ${fmt(v.clipsPerSec, 0)} clips/s.`, '');
      md.push('| speaker | accuracy |', '|---|---|', ...Object.entries(v.perSpeaker).map(([k, x]: [string, any]) => `| ${k} | ${fmt(100 * x.accuracy, 1)}% |`), '');
    } else if (s.key === 'peer') {
      md.push(v.available ? `${v.peer}: ${fmt(100 * v.accuracy, 1)}% on ${v.n} clips, ${fmt(v.msPerClip, 2)} ms per clip (${v.noResult} clips without a single-digit answer).` : `Unavailable: ${v.reason}`, '');
    } else if (s.key === 'features') {
      md.push('| backend | median µs/clip | p99 µs/clip |', '|---|---|---|', ...v.results.map((x: any) => `| ${x.name} | ${fmt(x.medianUs, 1)} | ${fmt(x.p99Us, 1)} |`), '');
      md.push(`wasm/native ${fmt(v.ratios.wasmOverNative, 2)}x; Meyda/native ${fmt(v.ratios.meydaOverNative, 1)}x; Meyda/wasm ${fmt(v.ratios.meydaOverWasm, 1)}x. Targets: ${Object.entries(v.targets).map(([k, ok]) => `${k} ${ok ? 'met' : 'NOT met'}`).join(', ')}.`, '');
      writeFileSync(join(out, 'features.svg'), await barChartSvg('Feature extraction, 1 s clip (µs, log scale)', v.results.map((x: any) => ({ label: x.name, value: x.medianUs })), 'µs', true));
      md.push('![features](features.svg)', '');
      if (v.streamCoreScans) md.push('Stream core scans (no target; part of the listener\'s compute per segment):', '', '| scan | median µs/clip | p99 µs/clip |', '|---|---|---|', ...v.streamCoreScans.map((x: any) => `| ${x.name} | ${fmt(x.medianUs, 1)} | ${fmt(x.p99Us, 1)} |`), '');
    } else if (s.key === 'inference') {
      md.push('| model | variant | KB | test acc % | agree % | p50 µs | p90 µs |', '|---|---|---|---|---|---|---|');
      md.push(...v.rows.map((x: any) => `| ${x.model} | ${x.variant} | ${fmt(x.bytes / 1024, 0)} | ${fmt(100 * x.accuracy, 2)} | ${fmt(100 * x.agreement, 2)} | ${fmt(x.p50us, 1)} | ${fmt(x.p90us, 1)} |`), '');
      md.push(...Object.entries(v.verdicts).map(([m, x]: [string, any]) => `- ${m}: keep ${x.keep} — ${x.why}`), '');
    } else if (s.key === 'tfjs') {
      md.push(`tfjs backend: ${v.tfjsBackend}; ${v.ort}; input ${v.frames}x${v.dims}.`, '', '| architecture | params | tfjs p50 ms | ORT p50 ms | ORT speed-up | max abs diff |', '|---|---|---|---|---|---|');
      md.push(...v.rows.map((x: any) => `| ${x.arch} | ${x.params} | ${fmt(x.tfjs.p50)} | ${fmt(x.ort.p50)} | ${fmt(x.speedup, 1)}x | ${x.maxDiff.toExponential(1)} |`), '');
    } else if (s.key === 'startup') {
      md.push(`p50 ${fmt(v.wallMs.p50, 0)} ms, p90 ${fmt(v.wallMs.p90, 0)} ms over ${v.wallMs.runs} runs (bare \`node -e 0\`: p50 ${fmt(v.bareNodeMs.p50, 0)} ms).`, '');
    } else if (s.key === 'web') {
      md.push(`Model ${v.model}: first visit ${(v.downloadBytes / 1e6).toFixed(2)} MB over the wire, ready ${v.readyMs} ms after navigation; ` +
        `${v.clips} clips in batch mode, accuracy ${fmt(100 * v.accuracy, 1)}%, compute per utterance p50 ${fmt(v.computeMs.p50, 2)} / p90 ${fmt(v.computeMs.p90, 2)} / p99 ${fmt(v.computeMs.p99, 2)} ms; ` +
        `listening costs ${fmt(v.listeningMainThreadPct, 1)}% of one core on the main thread (script ${fmt(v.listeningScriptPct, 1)}%).`, '');
    } else if (s.key === 'serve') {
      md.push(`${v.connections} connections, ${v.seconds} s per target.`, '', '| target | req/s | p50 ms | p99 ms | MB/s | failed |', '|---|---|---|---|---|---|');
      for (const t of v.targets) md.push(`| ${t.target} | ${fmt(t.requestsPerSec, 0)} | ${t.p50Ms} | ${t.p99Ms} | ${fmt(t.mbPerSec, 1)} | ${t.failed} |`);
      md.push('');
    } else {
      md.push('```json', JSON.stringify(v, null, 2).slice(0, 4000), '```', '');
    }
  }
  if (r.accuracy && !r.accuracy.error && r.peer?.available) {
    writeFileSync(join(out, 'accuracy-vs-peer.svg'), await barChartSvg('FSDD test split accuracy (%)', [
      { label: 'spoken-digits default', value: 100 * r.accuracy.accuracy },
      { label: 'PocketSphinx + digits grammar', value: 100 * r.peer.accuracy },
    ], '%'));
    md.push('![accuracy vs peer](accuracy-vs-peer.svg)', '');
  }
  return md.join('\n');
}
