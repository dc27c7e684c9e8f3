import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { OptionsError } from '../../errors.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { realPath } from '../../real-path.js';
import { resolveModelPath } from '../../model/package-root.js';

/** One model given as two members: by one file twice, or by two byte-identical files. */
export class DuplicateMemberError extends OptionsError {}

/**
 * Members whose files hold the same bytes (a copy, a second download) are one model given twice: their
 * mean is that model at twice its cost, which whoever lists them does not mean. Names each such group.
 */
export function checkDistinctMembers(paths: readonly string[], bytes: readonly Uint8Array[]): void {
  const same = repeated(bytes.map((b) => createHash('sha256').update(b).digest('hex')));
  if (same.length === 0) return;
  const names = (members: number[]) => `${members.slice(0, -1).map((i) => paths[i]).join(', ')} and ${paths[members[members.length - 1]]}`;
  throw new DuplicateMemberError(
    `${same.map(([hash, members]) => `${names(members)} are the same model (byte-identical files, sha256 ${hash.slice(0, 12)})`).join('; ')}: ` +
      'an ensemble of one model with itself only doubles its cost; fuse models trained apart (another seed, architecture or features)',
  );
}

/** Each key given more than once, with the places it was given at (in order). */
function repeated(keys: readonly string[]): [string, number[]][] {
  const at = new Map<string, number[]>();
  keys.forEach((k, i) => at.set(k, [...(at.get(k) ?? []), i]));
  return [...at].filter(([, places]) => places.length > 1);
}

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
      // One file by two paths (another spelling, a link) is said before any is read, naming both.
      const twice = repeated(models.map((m) => realPath(m))).map(([, [first, ...others]]) => {
        const spellings = [...new Set(others.map((i) => models[i]).filter((o) => o !== models[first]))];
        return `${models[first]} is a member twice${spellings.length ? ` (also as ${spellings.join(', ')})` : ''}`;
      });
      if (twice.length) throw new DuplicateMemberError(`${twice.join('; ')}: an ensemble of one model with itself only doubles its cost`);
      const [{ fuseEnsemble }, { readModelBytes }] = await Promise.all([import('../../train/onnx/fuse.js'), import('../../model/recognizer.js')]);
      const members = await Promise.all(
        models.map(async (m) => (await readModelBytes(m)).bytes),
      );
      checkDistinctMembers(models, members);
      const fused = fuseEnsemble(members, { sources: models });
      await writeOutFile(opts.out, fused);
      process.stdout.write(`wrote ${opts.out} (${fused.length} bytes, ${models.length} members, fp32)\n`);
      // The mean of the members' probabilities is less peaked than each, so the strictest member's threshold rejects more than it did.
      process.stdout.write("its rejection threshold is the highest of its members' and rejects more than it did in that member: try others with digits eval --threshold T, and give the one you pick with --threshold (predict, eval, listen) or the recognizer's threshold option\n");
    });
}
