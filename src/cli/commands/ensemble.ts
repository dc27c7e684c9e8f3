import type { Command } from 'commander';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { realPath } from '../../real-path.js';
import { resolveModelPath } from '../../model/package-root.js';

export function register(program: Command): void {
  program
    .command('ensemble')
    .description(
      'Fuse fp32 models into one ONNX model that averages their probabilities (members may be log-mel or MFCC models over the same front end; the first must be log-mel and sets the features)',
    )
    .argument('<models...>', 'two or more fp32 ONNX models made by `digits train` / `digits export`, each a different model (one file twice, or byte-identical copies, are refused)')
    .requiredOption('--out <file>', 'fused fp32 ONNX file to write (then `digits quantize` it)')
    .action(async (given: string[], opts: { out: string }) => {
      const models = given.map(resolveModelPath);
      checkOutFile(opts.out, models, 'one of the members');
      const [{ fuseEnsemble, DuplicateMemberError, repeated }, { checkModelLoads, readModelBytes }] = await Promise.all([import('../../train/onnx/fuse.js'), import('../../model/recognizer.js')]);
      // One file by two paths (another spelling, a link) is said before any is read, naming both.
      const twice = repeated(models.map((m) => realPath(m))).map(([, [first, ...others]]) => {
        const spellings = [...new Set(others.map((i) => models[i]).filter((o) => o !== models[first]))];
        return `${models[first]} is a member twice${spellings.length ? ` (also as ${spellings.join(', ')})` : ''}`;
      });
      if (twice.length) throw new DuplicateMemberError(`${twice.join('; ')}: an ensemble of one model with itself only doubles its cost`);
      const members = await Promise.all(
        models.map(async (m) => (await readModelBytes(m)).bytes),
      );
      const fused = fuseEnsemble(members, { sources: models });
      // Each member must run as its metadata says (a graph of another width or label count fuses, but the file would not load), and so must the result.
      for (const [i, m] of members.entries()) await checkModelLoads(m, models[i]);
      await checkModelLoads(fused, `the fused model for ${opts.out}`);
      await writeOutFile(opts.out, fused);
      process.stdout.write(`wrote ${opts.out} (${fused.length} bytes, ${models.length} members, fp32)\n`);
      // The mean of the members' probabilities is less peaked than each, so the strictest member's threshold rejects more than it did.
      process.stdout.write("its rejection threshold is the highest of its members' and rejects more than it did in that member: try others with digits eval --threshold T, and give the one you pick with --threshold (predict, eval, listen) or the recognizer's threshold option\n");
    });
}
