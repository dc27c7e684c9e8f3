import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AudioInputError, BackendUnavailableError, EnrollmentError, FeatureConfigError, ModelError, SpokenDigitsError, WavFormatError } from '../errors.js';
import type { FeatureBackend } from '../features/backend.js';
import type { AudioInput, SessionOptions } from './recognizer.js';

/** What the worker loads its recognizer from: the recognizer's own model and settings. */
export interface AdaptThreadInit {
  model: Uint8Array;
  source: string;
  backend: FeatureBackend['name'];
  session: SessionOptions;
  maxDurationSec: number;
}

/** One adaptation asked of the worker. */
export interface AdaptRequest {
  id: number;
  clips: readonly AudioInput[];
  shift: number;
  selfEnroll: boolean;
}

/** Asks the worker to finish the adaptation it computes, skip the rest and end. */
export interface AdaptClose {
  close: true;
}

/** The worker's answer: the adapted model, or the error it threw (its class name and message). */
export type AdaptReply = { id: number; model: Uint8Array; selfEnrolled: boolean } | { id: number; error: { name: string; message: string } };

/** The worker script beside this module: the built one in dist/, or the TypeScript source under tsx. */
function workerScript(): URL | null {
  for (const name of ['adapt-worker.js', 'adapt-worker.ts']) {
    const url = new URL(`./${name}`, import.meta.url);
    if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) return url;
  }
  return null;
}

/**
 * How to start the script: the built one as it is; the TypeScript source (tests and benches run from
 * src/ under tsx) through tsx's loader, which a worker does not inherit from tsx's command line.
 */
function workerEntry(script: URL): [URL | string, { eval?: boolean }] {
  if (!script.pathname.endsWith('.ts')) return [script, {}];
  const tsx = import.meta.resolve('tsx/esm/api');
  return [`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); });`, { eval: true }];
}

/** The error the worker threw, as the class it was thrown as (the library's own kinds; anything else a ModelError). */
function rebuild(error: { name: string; message: string }): SpokenDigitsError {
  const kinds: Record<string, new (message: string) => SpokenDigitsError> = { AudioInputError, BackendUnavailableError, EnrollmentError, FeatureConfigError, ModelError, WavFormatError };
  const Kind = kinds[error.name];
  return Kind ? new Kind(error.message) : new ModelError(`normalization adaptation failed on its worker thread: ${error.message}`);
}

/**
 * A worker thread that adapts a recognizer's model to a speaker (DigitRecognizer.adaptedModel on a
 * recognizer of its own, loaded from the same model bytes, feature backend and session settings), so
 * the 0.2-3 s of feature extraction, ONNX Runtime passes and head refit do not hold up the event loop
 * that decodes a live stream (onnxruntime-node's run blocks it). One adaptation at a time, in order.
 * The thread does not keep the process alive while idle; `close` ends it.
 */
export class AdaptThread {
  private worker: Worker | null = null;
  private closed = false;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: { model: Uint8Array; selfEnrolled: boolean }) => void; reject: (e: unknown) => void }>();

  private constructor(
    private readonly script: URL,
    private readonly init: AdaptThreadInit,
  ) {}

  /** A thread for this recognizer's settings, or null where no worker script is found (the caller adapts in line). */
  static start(init: AdaptThreadInit): AdaptThread | null {
    const script = workerScript();
    return script ? new AdaptThread(script, init) : null;
  }

  /** The model adapted to the clips heard at `shift` (DigitRecognizer.adaptedModel), computed on the thread. */
  adapt(clips: readonly AudioInput[], shift: number, selfEnroll: boolean): Promise<{ model: Uint8Array; selfEnrolled: boolean }> {
    if (this.closed) return Promise.reject(new ModelError('the recognizer was disposed; load a new one to adapt'));
    const worker = this.running();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      const request: AdaptRequest = { id, clips, shift, selfEnroll };
      worker.postMessage(request);
    });
  }

  /**
   * Ends the thread; an adaptation asked for and not finished fails with a ModelError at once. Waits
   * for the one the thread is computing, if any, to end first (within seconds): onnxruntime-node
   * aborts the whole process when a thread is terminated in the middle of a run. Safe to call twice.
   */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll(new ModelError('the recognizer was disposed during a normalization adaptation'));
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ close: true } satisfies AdaptClose);
    await exited;
  }

  private running(): Worker {
    if (this.worker) return this.worker;
    // The model bytes are copied to the worker: the recognizer keeps its own.
    const [entry, options] = workerEntry(this.script);
    const worker = new Worker(entry, { ...options, workerData: this.init });
    worker.unref();
    worker.on('message', (reply: AdaptReply) => this.settle(reply));
    worker.on('error', (err) => this.failAll(new ModelError(`the normalization adaptation thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return; // closed
      this.worker = null;
      this.failAll(new ModelError(`the normalization adaptation thread exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: AdaptReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if ('error' in reply) waiting.reject(rebuild(reply.error));
    else waiting.resolve({ model: reply.model, selfEnrolled: reply.selfEnrolled });
  }

  private failAll(err: SpokenDigitsError): void {
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
  }
}
