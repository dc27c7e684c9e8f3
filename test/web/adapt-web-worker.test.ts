import { strict as assert } from 'node:assert';
import { AdaptWorkerUnavailable, WebAdaptWorker } from '../../src/web/adapt-web-worker.js';
import { ModelError } from '../../src/errors.js';

/*
 * WebAdaptWorker's time limits, in Node. A worker that never speaks or never answers cannot be made
 * to order in a browser (test/web/library.test.ts runs the real worker, one that cannot start and
 * one that crashes), and the browser's Worker is not in Node: a stand-in takes the messages and
 * answers as each case says.
 */
class StandInWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  onmessageerror: (() => void) | null = null;
  readonly posted: unknown[] = [];
  terminated = false;

  constructor(private readonly says: { ready: boolean; answer?: 'never' | 'echo' | 'junk' | 'shapeless' }) {}

  postMessage(message: { init?: unknown; id?: number }): void {
    this.posted.push(message);
    const reply = (data: unknown) => setTimeout(() => !this.terminated && this.onmessage?.({ data }), 5);
    if ('init' in message) {
      if (this.says.ready) reply({ ready: true });
    } else if (this.says.answer === 'echo') reply({ id: message.id, model: new Uint8Array([1, 2, 3]), selfEnrolled: false });
    else if (this.says.answer === 'junk') reply(42);
    else if (this.says.answer === 'shapeless') reply({ id: message.id });
  }

  terminate(): void {
    this.terminated = true;
  }
}

const clip = { samples: new Float32Array(800), sampleRate: 8000 };
const MODEL = { model: new Uint8Array(4), name: 'test.onnx' };

describe('WebAdaptWorker (the page side of the adaptation Web Worker): time limits and bad answers', () => {
  it('a worker that never says it is ready counts as unable to start: the adaptation falls back (AdaptWorkerUnavailable), and no other is tried', async () => {
    const made: StandInWorker[] = [];
    const client = new WebAdaptWorker(MODEL, () => (made.push(new StandInWorker({ ready: false })), made.at(-1) as unknown as Worker), 30_000, 10_000, 100);
    await assert.rejects(client.adapt([clip, clip], 1, false), AdaptWorkerUnavailable);
    assert.match(client.unavailable!, /did not start: no word from it within 0\.1 s/);
    assert.equal(made[0].terminated, true);
    await assert.rejects(client.adapt([clip, clip], 1, false), AdaptWorkerUnavailable);
    assert.equal(made.length, 1);
    await client.close();
  });

  it('a ready worker that does not answer is ended after the time limit and its adaptation fails (ModelError); the next starts another', async () => {
    const made: StandInWorker[] = [];
    const says = [{ ready: true, answer: 'never' as const }, { ready: true, answer: 'echo' as const }];
    const client = new WebAdaptWorker(MODEL, () => (made.push(new StandInWorker(says[made.length])), made.at(-1) as unknown as Worker), 30_000, 200, 1000);
    const started = performance.now();
    // 0.2 s, and 0.5 s per clip.
    await assert.rejects(client.adapt([clip, clip], 1, false), (err: unknown) => err instanceof ModelError && /did not answer within 1\.2 s/.test(String(err)));
    assert.ok(performance.now() - started < 3000);
    assert.equal(made[0].terminated, true);
    assert.equal(client.unavailable, null);
    assert.deepEqual(await client.adapt([clip, clip], 1, false), { model: new Uint8Array([1, 2, 3]), selfEnrolled: false });
    assert.equal(made.length, 2);
    await client.close();
    assert.equal(made[1].terminated, true);
  });

  it('a worker that sends something else than its messages is ended, not trusted; clips that are views of a larger buffer are sent cut out', async () => {
    const made: StandInWorker[] = [];
    const client = new WebAdaptWorker(MODEL, () => (made.push(new StandInWorker({ ready: true, answer: 'junk' })), made.at(-1) as unknown as Worker), 30_000, 10_000, 1000);
    const big = new Float32Array(100_000);
    await assert.rejects(client.adapt([{ samples: big.subarray(0, 800), sampleRate: 8000 }, clip], 1, false), /adaptation worker failed: it sent something that is not/);
    assert.equal(made[0].terminated, true);
    const sent = made[0].posted[1] as { clips: { samples: Float32Array }[] };
    assert.equal(sent.clips[0].samples.buffer.byteLength, 800 * 4);
    await client.close();
  });

  it('an answer without the model or an error is not taken as one: the worker is ended and its adaptation fails at once', async () => {
    const made: StandInWorker[] = [];
    const client = new WebAdaptWorker(MODEL, () => (made.push(new StandInWorker({ ready: true, answer: 'shapeless' })), made.at(-1) as unknown as Worker), 30_000, 10_000, 1000);
    await assert.rejects(client.adapt([clip, clip], 1, false), /adaptation worker failed: it sent something that is not/);
    assert.equal(made[0].terminated, true);
    await client.close();
  });

  it('close() fails what waits and ends the worker; adapting after it is refused', async () => {
    const made: StandInWorker[] = [];
    const client = new WebAdaptWorker(MODEL, () => (made.push(new StandInWorker({ ready: true, answer: 'never' })), made.at(-1) as unknown as Worker), 30_000, 10_000, 1000);
    const waiting = assert.rejects(client.adapt([clip, clip], 1, false), /disposed during a normalization adaptation/);
    await client.close();
    await waiting;
    assert.equal(made[0].terminated, true);
    await assert.rejects(client.adapt([clip, clip], 1, false), /disposed; load a new one/);
    assert.equal(made.length, 1);
  });
});
