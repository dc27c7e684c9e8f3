/**
 * The normalization adaptation process (AdaptProcess): a recognizer loaded from the parent's model
 * bytes and settings, which adapts the model to the clips each request carries and sends back the
 * adapted bytes. Started by AdaptProcess, never imported.
 */
import { answerAdaptation } from './adapt-client.js';
import type { AdaptMessage, AdaptRequest, AdaptWorkerInit } from './adapt-process.js';
import { DigitRecognizer } from './recognizer.js';

// Ctrl-C on a terminal reaches the whole process group: the parent decides when this worker ends.
process.on('SIGINT', () => undefined);
// The parent went (closed, exited or died): end, between model runs (never inside one).
process.on('disconnect', () => process.exit(0));

let loaded: Promise<DigitRecognizer> | null = null;
// One request at a time, in order: the parent asks for one adaptation at a time anyway. The parent
// ends this process by killing it.
let queue: Promise<void> = Promise.resolve();
process.on('message', (message: AdaptMessage) => {
  if ('init' in message) {
    const { init } = message as AdaptWorkerInit;
    loaded = DigitRecognizer.load({ model: init.model, backend: init.backend, session: init.session, maxDurationSec: init.maxDurationSec, threshold: 0 });
    // A load failure is answered per request (below), not thrown here as an unhandled rejection.
    loaded.catch(() => undefined);
  } else queue = queue.then(() => answer(message));
});

async function answer({ id, clips, shift, selfEnroll }: AdaptRequest): Promise<void> {
  const reply = await answerAdaptation(id, async () => {
    if (!loaded) throw new Error('no recognizer to adapt: the worker was not given one');
    const recognizer = await loaded;
    recognizer.voiceShift = shift;
    return recognizer.adaptedModel(clips, { selfEnroll });
  });
  if (process.connected) process.send!(reply);
}
