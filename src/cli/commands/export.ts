import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ModelError } from '../../errors.js';
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

export function register(program: Command): void {
  program
    .command('export')
    .description('Convert a trained tfjs model (model.json + weights) to an ONNX model file with spoken-digits metadata')
    .requiredOption('--model <path>', 'tfjs model directory or its model.json')
    .requiredOption('--out <file>', 'ONNX file to write')
    .option('--meta <file>', 'JSON with featureConfig, labels, modelType, rejection, training, metrics (default: metadata.json next to model.json)')
    .option('--model-type <name>', 'architecture name (overrides --meta)')
    .option('--labels <list>', 'comma-separated labels in output order (overrides --meta)')
    .option('--threshold <p>', 'rejection threshold in [0, 1] (overrides --meta)')
    .option('--output <kind>', 'auto | probabilities | logits: whether the model already ends in softmax', 'auto')
    .action(async (opts: ExportCliOptions) => {
      const [{ exportToOnnx }, { loadLayersModelFromFiles, modelJsonPath }, tf] = await Promise.all([
        import('../../train/onnx/export.js'),
        import('../../train/onnx/load.js'),
        import('@tensorflow/tfjs'),
      ]);
      await tf.setBackend('cpu');
      const metaFile = opts.meta ?? path.join(path.dirname(await modelJsonPath(opts.model)), 'metadata.json');
      const meta = await readJson(metaFile, 'export metadata');
      if (opts.modelType) meta.modelType = opts.modelType;
      if (opts.labels) meta.labels = opts.labels.split(',').map((s) => s.trim());
      if (opts.threshold !== undefined) meta.rejection = { threshold: Number(opts.threshold) };
      if (!meta.featureConfig) throw new ModelError(`${metaFile} has no featureConfig; the model file must record the features it was trained on`);
      if (!['auto', 'probabilities', 'logits'].includes(opts.output)) throw new ModelError(`--output must be auto, probabilities or logits, not '${opts.output}'`);
      const model = await loadLayersModelFromFiles(opts.model);
      const bytes = exportToOnnx(model, meta as unknown as ExportMetadata, { output: opts.output });
      await writeFile(opts.out, bytes);
      process.stdout.write(`wrote ${opts.out} (${bytes.length} bytes, ${String(meta.modelType)}, fp32)\n`);
    });
}
