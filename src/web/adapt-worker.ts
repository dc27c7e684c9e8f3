/**
 * The page's normalization adaptation worker (WebAdaptWorker): a WebRecognizer loaded from the page
 * recognizer's model bytes, which adapts the model to the clips each request carries and sends back
 * the adapted bytes. Started by WebAdaptWorker as a module worker, never imported.
 */
import { type AdaptReply, answerAdaptation } from '../model/adapt-client.js';
import type { WebAdaptInit, WebAdaptReady, WebAdaptRequest } from './adapt-web-worker.js';
import { ort, WebRecognizer } from './recognizer.js';

/** The worker's global scope, as far as it is used here (the DOM typings the project compiles with have no worker scope). */
const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(message: unknown, transfer?: Transferable[]): void };
let loaded: Promise<WebRecognizer> | null = null;
// One request at a time, in order: the page asks for one adaptation at a time anyway.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e: MessageEvent<WebAdaptInit | WebAdaptRequest>) => {
  const message = e.data;
  if ('init' in message) {
    if (message.init.wasmPaths) ort.env.wasm.wasmPaths = message.init.wasmPaths;
    if (message.init.wasmBinary) ort.env.wasm.wasmBinary = message.init.wasmBinary;
    loaded = WebRecognizer.load(message.init.model, { name: message.init.name, adaptWorker: false });
    loaded.then(
      () => scope.postMessage({ ready: true } satisfies WebAdaptReady),
      (err: Error) => scope.postMessage({ ready: false, error: err?.message ?? String(err) } satisfies WebAdaptReady),
    );
  } else queue = queue.then(() => answer(message)).catch(() => undefined);
};

async function answer({ id, clips, shift, selfEnroll }: WebAdaptRequest): Promise<void> {
  const reply = await answerAdaptation(id, async () => {
    if (!loaded) throw new Error('no recognizer to adapt: the worker was not given one');
    const recognizer = await loaded;
    recognizer.voiceShift = shift;
    return recognizer.adaptedModel(clips, { selfEnroll });
  });
  try {
    if ('error' in reply) scope.postMessage(reply);
    else {
      // The adapted bytes are moved, not copied (a view of a larger buffer is cut out first).
      const model = reply.model.byteLength === reply.model.buffer.byteLength ? reply.model : reply.model.slice();
      scope.postMessage({ ...reply, model }, [model.buffer]);
    }
  } catch (err) {
    scope.postMessage({ id, error: { name: 'ModelError', message: `the adapted model could not be sent back: ${(err as Error)?.message ?? err}` } } satisfies AdaptReply);
  }
}
