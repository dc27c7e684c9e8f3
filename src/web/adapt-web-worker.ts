import { ADAPT_REQUEST_TIMEOUT_MS, ADAPT_WORKER_IDLE_MS, AdaptClient, type AdaptedBytes, type AdaptReply } from '../model/adapt-client.js';
import { ModelError } from '../errors.js';
import type { ClipInput } from './recognizer.js';

/** What the page's worker loads its recognizer from: the page recognizer's model and where ONNX Runtime's .wasm is. */
export interface WebAdaptInit {
  init: {
    model: Uint8Array;
    /** What the page calls the model (its URL), for the worker's errors and a self-enrolled model's metadata. */
    name: string;
    /** The page's `ort.env.wasm.wasmPaths`, made absolute (unset: ORT finds its .wasm beside its own module). */
    wasmPaths?: string | Record<string, string>;
    /** The page's `ort.env.wasm.wasmBinary`, when it gave ORT its .wasm as bytes. */
    wasmBinary?: ArrayBufferLike | Uint8Array;
  };
}

/** One adaptation asked of the worker. */
export interface WebAdaptRequest {
  id: number;
  clips: readonly ClipInput[];
  shift: number;
  selfEnroll: boolean;
}

/** The worker's first word: its recognizer loaded, or why it could not be. */
export type WebAdaptReady = { ready: true } | { ready: false; error: string };

/** The worker's first word, or not. */
function isReady(data: unknown): data is WebAdaptReady {
  const d = data as Partial<{ ready: unknown; error: unknown }> | null;
  return typeof d === 'object' && d !== null && (d.ready === true || (d.ready === false && typeof d.error === 'string'));
}

/** An answer to an adaptation as the worker sends one (an id, and the model bytes or an error), or not. */
function isReply(data: unknown): data is AdaptReply {
  const d = data as Partial<{ id: unknown; model: unknown; selfEnrolled: unknown; error: { name?: unknown; message?: unknown } }> | null;
  if (typeof d !== 'object' || d === null || typeof d.id !== 'number') return false;
  return d.model !== undefined ? d.model instanceof Uint8Array && typeof d.selfEnrolled === 'boolean' : typeof d.error?.message === 'string' && typeof d.error?.name === 'string';
}

/** The worker could not start here (its script not served, a CSP, ORT's .wasm not found in it): adapt in line instead. */
export class AdaptWorkerUnavailable extends Error {}

/** How long a new worker may take to load its recognizer (onnxruntime-web, the DSP core, the model) before it counts as unable to start. */
export const ADAPT_WORKER_START_TIMEOUT_MS = 30_000;

/**
 * A Web Worker that adapts a page recognizer's model to a speaker (WebRecognizer.adaptedModel on a
 * recognizer of its own, loaded from the same model bytes), so that the 0.2-2 s of feature
 * extraction, ONNX Runtime passes and head refit do not freeze the page (onnxruntime-web runs on
 * the thread that calls it). One adaptation at a time, in order; the worker ends after `idleMs`
 * without work, and `close()` ends it at once.
 *
 * A worker that cannot start (its script missing, a CSP without worker-src 'self', onnxruntime-web
 * failing inside it, no word from it within `startTimeoutMs`) makes the adaptations waiting on it
 * fail with AdaptWorkerUnavailable and is not tried again: the recognizer adapts in line, as before.
 * One that dies after it started, or does not answer within AdaptClient's timeout, fails what waits
 * on it with a ModelError, and the next adaptation starts another.
 */
export class WebAdaptWorker extends AdaptClient<Omit<WebAdaptRequest, 'id'>> {
  private worker: Worker | null = null;
  /** The running worker's time limit to say it is ready (cleared when it does, or when it ends). */
  private startTimer: ReturnType<typeof setTimeout> | undefined;
  /** Why a worker cannot run in this page (null: not known to fail). */
  unavailable: string | null = null;

  constructor(
    private readonly init: WebAdaptInit['init'],
    private readonly create: () => Worker,
    idleMs = ADAPT_WORKER_IDLE_MS,
    timeoutMs = ADAPT_REQUEST_TIMEOUT_MS,
    private readonly startTimeoutMs = ADAPT_WORKER_START_TIMEOUT_MS,
  ) {
    super(idleMs, timeoutMs);
  }

  /** The model adapted to the clips heard at `shift`, computed by the worker. */
  adapt(clips: readonly ClipInput[], shift: number, selfEnroll: boolean): Promise<AdaptedBytes> {
    if (this.unavailable !== null) return Promise.reject(new AdaptWorkerUnavailable(this.unavailable));
    try {
      if (!this.closed) this.start();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.ask({ clips, shift, selfEnroll }, clips.length);
  }

  protected get running(): boolean {
    return this.worker !== null;
  }

  protected post(request: WebAdaptRequest): void {
    // The clips are copied (structured clone): the caller keeps its own. A view into a larger buffer
    // is cut out first, or the whole buffer would be copied with it.
    const clips = request.clips.map((c) => (c.samples.byteLength === c.samples.buffer.byteLength ? c : { ...c, samples: c.samples.slice() }));
    this.start().postMessage({ ...request, clips });
  }

  protected async end(): Promise<void> {
    this.stopIdleTimer();
    clearTimeout(this.startTimer);
    this.worker?.terminate();
    this.worker = null;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    let worker: Worker;
    try {
      worker = this.create();
    } catch (err) {
      this.unavailable = `the adaptation worker could not be created: ${(err as Error)?.message ?? err}`;
      throw new AdaptWorkerUnavailable(this.unavailable);
    }
    let ready = false;
    const gone = (why: string) => {
      if (this.worker !== worker) return;
      clearTimeout(this.startTimer);
      this.worker = null;
      worker.terminate();
      if (ready) this.failAll(new ModelError(`the normalization adaptation worker failed: ${why}`));
      else {
        this.unavailable = `the adaptation worker did not start: ${why}`;
        this.failAll(new AdaptWorkerUnavailable(this.unavailable));
      }
    };
    this.worker = worker;
    this.startTimer = setTimeout(() => gone(`no word from it within ${this.startTimeoutMs / 1000} s`), this.startTimeoutMs);
    worker.onmessage = (e: MessageEvent<unknown>) => {
      const data = e.data;
      if (isReady(data)) {
        clearTimeout(this.startTimer);
        if (data.ready) ready = true;
        else gone(data.error);
      } else if (!isReply(data)) gone("it sent something that is not an adaptation worker's message");
      else if (ready) this.settle(data, 'worker');
      else gone('it answered before it was ready');
    };
    worker.onerror = (e: Event) => {
      // Handled here: not also an uncaught error of the page.
      e.preventDefault();
      gone((e as ErrorEvent).message || 'its script could not be loaded or run');
    };
    worker.onmessageerror = () => gone('a message from it could not be read');
    try {
      // The model bytes are copied to the worker: the recognizer keeps its own.
      worker.postMessage({ init: this.init } satisfies WebAdaptInit);
    } catch (err) {
      gone(`its settings could not be sent: ${(err as Error)?.message ?? err}`);
      throw new AdaptWorkerUnavailable(this.unavailable!);
    }
    return worker;
  }
}
