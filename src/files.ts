import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { fsReason } from './fs-reason.js';

/**
 * The bytes of a regular file, read only after checking that it is one and no larger than
 * `maxBytes`: a named pipe would block the open (and with it the event loop's caller) until a
 * writer came, and a device such as /dev/zero would be read without end. Opened non-blocking, so a
 * pipe is refused at once. Errors are made by `fail` (the caller's typed error) with a plain reason.
 */
export async function readRegularFile(path: string, maxBytes: number, fail: (reason: string, cause?: unknown) => Error): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fail(fsReason(err, { ENOENT: 'file not found', EISDIR: 'is a directory' }), err);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw fail(st.isDirectory() ? 'is a directory' : 'is not a regular file');
    if (st.size > maxBytes) throw fail(`is ${(st.size / 1e6).toFixed(1)} MB, more than the ${(maxBytes / 1e6).toFixed(0)} MB allowed`);
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}
