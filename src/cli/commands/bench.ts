import { type Command, InvalidArgumentError } from 'commander';
import { colors, ms, printJson, renderTable } from '../output.js';
import { decimal, parseBackend, parsePositiveInt } from '../options.js';
import type { Percentiles } from '../../model/benchmark.js';
import { DatasetError } from '../../errors.js';

export function register(program: Command): void {
  program
    .command('bench')
    .description('end-to-end latency (features + model, with and without WAV decoding), batch throughput and memory')
    .option('-m, --model <file>', 'ONNX model file, or a shipped model by name: default, small (default: default)')
    .option('--data <dir>', 'folder of FSDD-named WAV files to use as input (default: the local FSDD copy)')
    .option('--backend <name>', 'feature backend: auto | native | wasm', 'auto')
    .option('--runs <n>', 'timed runs per measurement (>= 1000 recommended)', '1000')
    .option('--clips <n>', 'number of distinct clips to cycle through', '200')
    .option('--idle-ms <ms>', 'sleep this long before each timed run, as a live stream idles between digits (cold caches; 0: back to back)', '0')
    .option('--json', 'print one JSON object')
    .action(async (opts) => {
      const [{ DigitRecognizer }, bench, { loadFsdd, officialSplit }] = await Promise.all([
        import('../../model/recognizer.js'),
        import('../../model/benchmark.js'),
        import('../../data/index.js'),
      ]);
      const runs = parsePositiveInt('runs', opts.runs);
      const clipCount = parsePositiveInt('clips', opts.clips);
      const idleMs = decimal(opts.idleMs);
      if (!(Number.isInteger(idleMs) && idleMs >= 0 && idleMs <= 10_000)) throw new InvalidArgumentError(`--idle-ms '${opts.idleMs}' must be a whole number of ms from 0 to 10000`);
      const fsdd = await loadFsdd({ data: opts.data, download: false });
      const chosen = officialSplit(fsdd.clips).test.slice(0, clipCount);
      if (chosen.length === 0) throw new DatasetError(`${fsdd.dir} has no clips of the official test split (takes 0-4) to time`);
      const clips = await bench.loadBenchClips(chosen.map((c) => c.path));
      const results: Record<string, unknown> = {};
      for (const [name, threads] of [['singleThread', 1], ['defaultThreads', 0]] as const) {
        const recognizer = await DigitRecognizer.load({ model: opts.model, backend: parseBackend(opts.backend), session: { intraOpNumThreads: threads } });
        results[name] = {
          latency: await bench.measureLatency(recognizer, clips, runs, idleMs),
          throughput: await bench.measureThroughput(recognizer, clips, 64),
        };
        results.model ??= recognizer.source;
        results.backend ??= recognizer.backend.name;
        await recognizer.dispose();
      }
      results.idleMs = idleMs;
      results.rssMB = process.memoryUsage().rss / 2 ** 20;
      results.node = process.version;
      if (opts.json) return printJson(results);
      console.log(`${colors.bold('model')} ${results.model}   ${colors.bold('features')} ${results.backend}   ${runs} runs, ${clips.length} FSDD test clips${idleMs ? `, ${idleMs} ms idle before each` : ''}`);
      const row = (label: string, p: Percentiles) => [label, ms(p.p50), ms(p.p90), ms(p.p99), ms(p.mean)];
      for (const name of ['singleThread', 'defaultThreads'] as const) {
        const r = results[name] as { latency: Awaited<ReturnType<typeof bench.measureLatency>>; throughput: { clipsPerSec: number; batchSize: number } };
        console.log(`\n${colors.bold(name === 'singleThread' ? 'one ORT thread' : 'ORT default threads')}`);
        console.log(
          renderTable(['per clip', 'p50', 'p90', 'p99', 'mean'], [
            row('features', r.latency.features),
            row('model', r.latency.model),
            row('end-to-end (PCM in)', r.latency.endToEnd),
            row('end-to-end (WAV bytes in)', r.latency.withDecode),
          ]),
        );
        console.log(`batch throughput: ${r.throughput.clipsPerSec.toFixed(0)} clips/s (batches of ${r.throughput.batchSize}, WAV bytes in)`);
      }
      console.log(`\nprocess RSS ${(results.rssMB as number).toFixed(0)} MB`);
    });
}
