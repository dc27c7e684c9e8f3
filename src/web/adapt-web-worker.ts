import { ADAPT_WORKER_IDLE_MS, AdaptClient, type AdaptedBytes, type AdaptReply } from '../model/adapt-client.js';
import { ModelError } from '../errors.js';
import type { ClipInput } from './recognizer.js';

/** What the page's worker loads its recognizer from: the page recognizer's model and where ONNX Runtime's .wasm is. */
export interface WebAdaptInit {
  init: {
    model: Uint8Array;
    /** The page's `ort.env.wasm.wasmPaths`, made absolute (unset: ORT finds its .wasm beside its own module). */
    wasmPaths?: string | Record<string, string>;
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

/** The worker could not start here (its script not served, a CSP, ORT's .wasm not found in it): adapt in line instead. */
export class AdaptWorkerUnavailable extends Error {}

/**
 * A Web Worker that adapts a page recognizer's model to a speaker (WebRecognizer.adaptedModel on a
 * recognizer of its own, loaded from the same model bytes), so that the 0.2-2 s of feature
 * extraction, ONNX Runtime passes and head refit do not freeze the page (onnxruntime-web runs on
 * the thread that calls it). One adaptation at a time, in order; the worker ends after `idleMs`
 * without work, and `close()` ends it at once.
 *
 * A worker that cannot start (its script missing, a CSP without worker-src 'self', onnxruntime-web
 * failing inside it) makes the adaptations waiting on it fail with AdaptWorkerUnavailable and is not
 * tried again: the recognizer adapts in line, as before. One that dies after it started fails what
 * waits on it with a ModelError, and the next adaptation starts another.
 */
export class WebAdaptWorker extends AdaptClient<Omit<WebAdaptRequest, 'id'>> {
  private worker: Worker | null = null;
  /** Why a worker cannot run in this page (null: not known to fail). */
  unavailable: string | null = null;

  constructor(
    private readonly init: WebAdaptInit['init'],
    private readonly create: () => Worker,
    idleMs = ADAPT_WORKER_IDLE_MS,
  ) {
    super(idleMs);
  }

  /** The model adapted to the clips heard at `shift`, computed by the worker. */
  adapt(clips: readonly ClipInput[], shift: number, selfEnroll: boolean): Promise<AdaptedBytes> {
    if (this.unavailable !== null) return Promise.reject(new AdaptWorkerUnavailable(this.unavailable));
    try {
      if (!this.closed) this.start();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.ask({ clips, shift, selfEnroll });
  }

  protected get running(): boolean {
    return this.worker !== null;
  }

  protected post(request: WebAdaptRequest): void {
    // The clips are copied (structured clone): the caller keeps its own.
    this.start().postMessage(request);
  }

  protected async end(): Promise<void> {
    this.stopIdleTimer();
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
      this.worker = null;
      worker.terminate();
      if (ready) this.failAll(new ModelError(`the normalization adaptation worker failed: ${why}`));
      else {
        this.unavailable = `the adaptation worker did not start: ${why}`;
        this.failAll(new AdaptWorkerUnavailable(this.unavailable));
      }
    };
    worker.onmessage = (e: MessageEvent<WebAdaptReady | AdaptReply>) => {
      const data = e.data;
      if ('ready' in data) {
        if (data.ready) ready = true;
        else gone(data.error);
      } else this.settle(data, 'worker');
    };
    worker.onerror = (e: ErrorEvent) => {
      // Handled here: not also an uncaught error of the page.
      e.preventDefault();
      gone(e.message || 'its script could not be loaded or run');
    };
    worker.onmessageerror = () => gone('a message from it could not be read');
    // The model bytes are copied to the worker: the recognizer keeps its own.
    worker.postMessage({ init: this.init } satisfies WebAdaptInit);
    this.worker = worker;
    return worker;
  }
}
