import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SpokenDigitsError } from '../errors.js';
import { realPath } from '../real-path.js';

/** An --out file that cannot or must not be written: checked before the work, and the write itself. */
export class OutputFileError extends SpokenDigitsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_OUTPUT', message, options);
  }
}

/**
 * Checks `--out FILE` before a command's work (minutes for quantize --auto): not one of its inputs
 * (a model fused or quantized into itself is lost; `what` names the inputs, e.g. "the model being
 * quantized"), not a folder, and in a folder that exists.
 */
export function checkOutFile(out: string, inputs: readonly string[], what: string): void {
  if (out.trim() === '') throw new OutputFileError('--out is empty: name the file to write');
  const target = realPath(out);
  if (inputs.some((input) => realPath(input) === target)) throw new OutputFileError(`--out ${out} is ${what}; write to another file`);
  if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw new OutputFileError(`--out ${out} is a folder; name a file`);
  if (!statSync(dirname(target), { throwIfNoEntry: false })?.isDirectory()) throw new OutputFileError(`--out ${out}: no such folder ${dirname(out)}`);
}

/** Writes `bytes` to `--out FILE`, a failure (permission, a full disk) said as one. */
export async function writeOutFile(out: string, bytes: Uint8Array): Promise<void> {
  await writeFile(out, bytes).catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'EISDIR' ? 'it is a folder; name a file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'ENOENT' ? 'no such folder' : err.code === 'ENOSPC' ? 'no space left on the device' : err.message;
    throw new OutputFileError(`cannot write --out ${out}: ${why}`, { cause: err });
  });
}
