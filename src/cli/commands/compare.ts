import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { statSync } from 'node:fs';
import { colors, ms, percent, printJson, renderTable, interactive } from '../output.js';
import { noteUnread } from '../text.js';
import { DatasetError } from '../../errors.js';
import { checkSplitTarget, parseBackend, parsePositiveInt, recordingsFolder } from '../options.js';
import type { ComparedModel, UseCase } from '../../model/compare.js';

export function register(program: Command): void {
  program
    .command('compare')
    .description('every shipped model (and any given) on the same eval set and latency bench, in one table')
    .argument('[models...]', 'extra ONNX model files to include (or shipped models by name: they are in already)')
    .option('--data <target>', 'eval set: FSDD-named folder or CSV manifest (default: the local FSDD copy, test split)')
    .option('--split <name>', 'official FSDD split for folders: test | train | all', 'test')
    .option('--use-case <name>', 'recommend a model for: speed | accuracy | balanced', 'balanced')
    .option('--backend <name>', 'feature backend: auto | native | wasm', 'auto')
    .option('--runs <n>', 'latency runs per model', '500')
    .option('--json', 'print one JSON object')
    .action(async (given: string[], opts, command: Command) => {
      if (!['speed', 'accuracy', 'balanced'].includes(opts.useCase)) throw new InvalidArgumentError(`use case '${opts.useCase}' must be speed, accuracy or balanced`);
      checkSplitTarget(opts.data, command);
      const { modelsDir, resolveModelPath } = await import('../../model/package-root.js');
      const extra = given.map(resolveModelPath);
      // The models given are read before the shipped ones are measured, not after.
      const [{ readModelBytes }, { parseModelMetadata }] = await Promise.all([import('../../model/recognizer.js'), import('../../model/read-metadata.js')]);
      for (const model of extra) parseModelMetadata((await readModelBytes(model)).bytes, model);
      const [{ DigitRecognizer }, { evaluate, loadEvalSet }, bench, { recommend }, { loadFsdd }, fs, path] = await Promise.all([
        import('../../model/recognizer.js'),
        import('../../model/evaluate.js'),
        import('../../model/benchmark.js'),
        import('../../model/compare.js'),
        import('../../data/index.js'),
        import('node:fs/promises'),
        import('node:path'),
      ]);
      const shipped = (await fs.readdir(modelsDir()).catch(() => [] as string[])).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(modelsDir(), f));
      // A shipped model given by name or path is in the table once.
      const models = [...shipped];
      for (const m of extra) if (!models.some((known) => path.resolve(known) === path.resolve(m))) models.push(m);
      if (models.length === 0) throw new InvalidArgumentError('no models: none shipped in models/ and none given');
      const dataDir = opts.data !== undefined ? await recordingsFolder(opts.data) : (await loadFsdd({ download: false })).dir;
      const items = await loadEvalSet(dataDir, opts.split);
      if (!items.some((it) => it.label !== 'none')) throw new DatasetError(`${dataDir}: no digit clips (only 'none' ones): models are compared on how many digits they get right`);
      await noteUnread(dataDir);
      const latencyClips = await bench.loadBenchClips(items.slice(0, 100).map((it) => it.path));
      const rows: ComparedModel[] = [];
      for (const model of models) {
        if (interactive && !opts.json) process.stderr.write(`\r\x1b[Kevaluating ${model}`);
        const recognizer = await DigitRecognizer.load({ model, backend: parseBackend(opts.backend), session: { intraOpNumThreads: 1 } });
        const report = await evaluate(recognizer, items);
        if (report.accuracy === null || report.falseReject === null) {
          await recognizer.dispose();
          throw new DatasetError(`${dataDir}: none of its digit clips could be read (${report.errors.length} unreadable): nothing to compare on`);
        }
        const latency = await bench.measureLatency(recognizer, latencyClips, parsePositiveInt('runs', opts.runs));
        rows.push({
          model,
          type: recognizer.info.modelType,
          precision: recognizer.info.precision,
          sizeKB: (await fs.stat(model)).size / 1024,
          accuracy: report.accuracy,
          falseReject: report.falseReject,
          p50Ms: latency.endToEnd.p50,
          p99Ms: latency.endToEnd.p99,
          clipsPerSec: report.clipsPerSec,
        });
        await recognizer.dispose();
      }
      if (interactive && !opts.json) process.stderr.write('\r\x1b[K');
      const useCase = opts.useCase as UseCase;
      const pick = recommend(rows, useCase);
      if (opts.json) return printJson({ evalSet: dataDir, split: opts.split, n: items.length, models: rows, useCase, recommended: pick.model });
      console.log(`${items.length} clips of ${dataDir}${statSync(dataDir, { throwIfNoEntry: false })?.isDirectory() ? ` (${opts.split} split)` : ''}`);
      console.log(
        renderTable(
          ['model', 'type', 'precision', 'size', 'accuracy', 'false reject', 'p50', 'p99', 'clips/s'],
          rows.map((r) => [path.basename(r.model), r.type, r.precision, `${r.sizeKB.toFixed(1)} KiB`, percent(r.accuracy, 2), percent(r.falseReject, 2), ms(r.p50Ms), ms(r.p99Ms), r.clipsPerSec.toFixed(0)]),
        ),
      );
      console.log(`\nfor ${colors.bold(useCase)}: ${colors.green(path.basename(pick.model))}`);
    });
}
