import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('ensemble')
    .description(
      'Fuse fp32 models into one ONNX model that averages their probabilities (members may be log-mel or MFCC models over the same front end; the first must be log-mel and sets the features)',
    )
    .argument('<models...>', 'two or more fp32 ONNX models made by `digits train` / `digits export`')
    .requiredOption('--out <file>', 'fused fp32 ONNX file to write (then `digits quantize` it)')
    .action(async (models: string[], opts: { out: string }) => {
      const [{ fuseEnsemble }, { readModelBytes }] = await Promise.all([import('../../train/onnx/fuse.js'), import('../../model/recognizer.js')]);
      const members = await Promise.all(
        models.map(async (m) => (await readModelBytes(m)).bytes),
      );
      const fused = fuseEnsemble(members, { sources: models });
      await writeFile(opts.out, fused);
      process.stdout.write(`wrote ${opts.out} (${fused.length} bytes, ${models.length} members, fp32)\n`);
    });
}
