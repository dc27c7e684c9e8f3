/**
 * The normalization adaptation thread (AdaptThread): a recognizer loaded from the main thread's model
 * bytes and settings, which adapts the model to the clips each request carries and sends back the
 * adapted bytes. Started by AdaptThread, never imported.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AdaptClose, AdaptReply, AdaptRequest, AdaptThreadInit } from './adapt-thread.js';
import { DigitRecognizer } from './recognizer.js';

const init = workerData as AdaptThreadInit;
const loaded = DigitRecognizer.load({ model: init.model, backend: init.backend, session: init.session, maxDurationSec: init.maxDurationSec, threshold: 0 });
// A load failure is answered per request (below), not thrown here as an unhandled rejection.
loaded.catch(() => undefined);
const port = parentPort!;

// One request at a time, in order: the main thread asks for one adaptation at a time anyway. Asked
// to close, it finishes the one under way (terminating a thread inside an onnxruntime-node run aborts
// the process), skips the rest, and ends by closing its port.
let queue: Promise<void> = Promise.resolve();
let closing = false;
port.on('message', (message: AdaptRequest | AdaptClose) => {
  if ('close' in message) {
    closing = true;
    queue = queue.then(async () => {
      await (await loaded.catch(() => null))?.dispose();
      port.close();
    });
  } else queue = queue.then(() => (closing ? undefined : answer(message)));
});

async function answer({ id, clips, shift, selfEnroll }: AdaptRequest): Promise<void> {
  let reply: AdaptReply;
  try {
    const recognizer = await loaded;
    recognizer.voiceShift = shift;
    const { model, selfEnrolled } = await recognizer.adaptedModel(clips, { selfEnroll });
    reply = { id, model, selfEnrolled };
  } catch (err) {
    const e = err as Error;
    reply = { id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err) } };
  }
  port.postMessage(reply);
}
