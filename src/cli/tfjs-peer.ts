import { BackendUnavailableError } from '../errors.js';

/** TensorFlow.js as package.json names it: an optional peer dependency, installed only to train. */
export const TFJS_INSTALL = 'npm install @tensorflow/tfjs@^4.22.0 @tensorflow/tfjs-backend-wasm@^4.22.0';

/**
 * Runs `load` (the dynamic imports of a command that trains or reads tfjs models) and turns a missing
 * TensorFlow.js into a typed error that says how to install it. The package leaves TensorFlow.js
 * (~290 MB) out of its install: recognizing, evaluating, quantizing and serving never load it.
 */
export async function withTfjs<T>(command: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const missing = /Cannot find (?:package|module) '(@tensorflow\/[\w-]+)/.exec(String(e?.message))?.[1];
    if (!missing || (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'MODULE_NOT_FOUND')) throw err;
    throw new BackendUnavailableError(
      `\`${command}\` needs TensorFlow.js (${missing} is not installed); it is an optional peer dependency of spoken-digits, left out of its install: ${TFJS_INSTALL}`,
      { cause: err },
    );
  }
}
