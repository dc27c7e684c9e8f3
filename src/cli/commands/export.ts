import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ModelError } from '../../errors.js';
import { checkLabels } from '../../model/metadata.js';
import { parseThreshold } from '../options.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { withTfjs } from '../tfjs-peer.js';
import type { ExportMetadata } from '../../train/onnx/export.js';

interface ExportCliOptions {
  model: string;
  out: string;
  meta?: string;
  modelType?: string;
  labels?: string;
  threshold?: string;
  output: 'auto' | 'probabilities' | 'logits';
}

async function readJson(file: string, what: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ModelError(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Export metadata from --meta (JSON, or an ONNX file whose metadata is reused), else metadata.json
 * beside model.json, else the model.onnx that `digits train` wrote one folder up. From an ONNX file:
 * everything that describes the model and its input (the cut to speech included, or the export would
 * hear whole clips where the model learnt cut ones); `normTargets` says whether it had normalization
 * targets, which describe that file's graph and are not carried.
 */
async function loadMetadata(meta: string | undefined, jsonPath: string): Promise<{ meta: Record<string, unknown>; normTargets: boolean }> {
  const dir = path.dirname(jsonPath);
  const candidates = meta ? [meta] : [path.join(dir, 'metadata.json'), path.join(dir, '..', 'model.onnx')];
  for (const file of candidates) {
    if (!meta && !(await stat(file).catch(() => null))) continue;
    if (file.endsWith('.onnx')) {
      const { readModelMetadata } = await import('../../model/read-metadata.js');
      const m = await readModelMetadata(file);
      return {
        meta: { featureConfig: m.featureConfig, labels: m.labels, modelType: m.modelType, rejection: m.rejection, training: m.training, metrics: m.metrics, speechTrim: m.speechTrim },
        normTargets: m.normTargets,
      };
    }
    const json = await readJson(file, 'export metadata');
    if (typeof (json.featureConfig as { normalization?: unknown } | undefined)?.normalization === 'string') {
      throw new ModelError(`${file} is a model card, without the feature normalization statistics: pass --meta with the run's tfjs/metadata.json (digits train writes it beside model.json) or its model.onnx`);
    }
    return { meta: json, normTargets: false };
  }
  throw new ModelError(`no export metadata: pass --meta FILE (JSON or .onnx), or put metadata.json beside ${jsonPath}`);
}

export function register(program: Command): void {
  program
    .command('export')
    .description('Convert a trained tfjs model (model.json + weights) to an ONNX model file with spoken-digits metadata')
    .requiredOption('--model <path>', 'tfjs model directory or its model.json')
    .requiredOption('--out <file>', 'ONNX file to write')
    .option('--meta <file>', 'JSON with featureConfig, labels, modelType, rejection, training, metrics, speechTrim, or an .onnx whose metadata to reuse (default: metadata.json beside model.json, else ../model.onnx)')
    .option('--model-type <name>', 'architecture name (overrides --meta)')
    .option('--labels <list>', 'comma-separated labels in output order (overrides --meta)')
    .option('--threshold <p>', 'rejection threshold in [0, 1] (overrides --meta)')
    .option('--output <kind>', 'auto | probabilities | logits: whether the model already ends in softmax', 'auto')
    .action(async (opts: ExportCliOptions) => {
      checkOutFile(opts.out, [], '');
      const threshold = opts.threshold === undefined ? undefined : parseThreshold(opts.threshold);
      const [{ exportToOnnx }, { loadLayersModelFromFiles, modelJsonPath }, { initTrainingBackend }] = await withTfjs('export', () =>
        Promise.all([import('../../train/onnx/export.js'), import('../../train/onnx/load.js'), import('../../train/backend.js')]),
      );
      // The backend training uses (tfjs' cpu backend greets Node users with a banner on stderr).
      await initTrainingBackend();
      const { meta, normTargets } = await loadMetadata(opts.meta, await modelJsonPath(opts.model));
      if (opts.modelType) meta.modelType = opts.modelType;
      if (opts.labels) meta.labels = opts.labels.split(',').map((s) => s.trim());
      // What the recognizer will load: a file it refuses is not written (the library's exporter also makes other models, e.g. tests' toy teachers).
      if (Array.isArray(meta.labels)) checkLabels(meta.labels as string[], 'export metadata');
      if (threshold !== undefined) meta.rejection = { threshold };
      if (!meta.featureConfig) throw new ModelError('the export metadata has no featureConfig; the model file must record the features it was trained on');
      if (!['auto', 'probabilities', 'logits'].includes(opts.output)) throw new ModelError(`--output must be auto, probabilities or logits, not '${opts.output}'`);
      const model = await loadLayersModelFromFiles(opts.model);
      const bytes = exportToOnnx(model, meta as unknown as ExportMetadata, { output: opts.output });
      await writeOutFile(opts.out, bytes);
      process.stdout.write(`wrote ${opts.out} (${bytes.length} bytes, ${String(meta.modelType)}, fp32${meta.speechTrim ? ', clips cut to speech' : ''})\n`);
      if (normTargets) process.stdout.write(`its metadata's source had normalization targets, which describe that file's graph: measure this one's with npx tsx scripts/add-norm-targets.ts\n`);
    });
}
