import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AudioInputError, BackendUnavailableError, EnrollmentError, FeatureConfigError, ModelError, SpokenDigitsError, WavFormatError } from '../errors.js';
import type { FeatureBackend } from '../features/backend.js';
import type { AudioInput, SessionOptions } from './recognizer.js';

/** What the worker loads its recognizer from: the recognizer's own model and settings. */
export interface AdaptWorkerInit {
  init: {
    model: Uint8Array;
    source: string;
    backend: FeatureBackend['name'];
    session: SessionOptions;
    maxDurationSec: number;
  };
}

/** One adaptation asked of the worker. */
export interface AdaptRequest {
  id: number;
  clips: readonly AudioInput[];
  shift: number;
  selfEnroll: boolean;
}

export type AdaptMessage = AdaptWorkerInit | AdaptRequest;

/** The worker's answer: the adapted model, or the error it threw (its class name and message). */
export type AdaptReply = { id: number; model: Uint8Array; selfEnrolled: boolean } | { id: number; error: { name: string; message: string } };

/** The worker script beside this module: the built one in dist/, or the TypeScript source under tsx. */
function workerScript(): string | null {
  for (const name of ['adapt-worker.js', 'adapt-worker.ts']) {
    const url = new URL(`./${name}`, import.meta.url);
    if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) return fileURLToPath(url);
  }
  return null;
}

/** The worker's Node options: none for the built script (not this process's, e.g. --inspect); tsx's loader for the TypeScript source. */
function workerExecArgv(script: string): string[] {
  return script.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
}

/** The error the worker threw, as the class it was thrown as (the library's own kinds; anything else a ModelError). */
function rebuild(error: { name: string; message: string }): SpokenDigitsError {
  const kinds: Record<string, new (message: string) => SpokenDigitsError> = { AudioInputError, BackendUnavailableError, EnrollmentError, FeatureConfigError, ModelError, WavFormatError };
  const Kind = kinds[error.name];
  return Kind ? new Kind(error.message) : new ModelError(`normalization adaptation failed in its worker process: ${error.message}`);
}

/** How much of the worker's stderr is kept for the message when it dies. */
const STDERR_TAIL = 2000;

/**
 * How long the worker waits idle before it ends, giving back the ~100-200 MB a self-enrolling
 * adaptation leaves it holding; the next adaptation starts another (~0.3 s more, off the event loop).
 * A live session adapts every 10 digits, well within it.
 */
export const ADAPT_WORKER_IDLE_MS = 30_000;

/**
 * A worker process that adapts a recognizer's model to a speaker (DigitRecognizer.adaptedModel on a
 * recognizer of its own, loaded from the same model bytes, feature backend and session settings), so
 * the 0.2-3 s of feature extraction, ONNX Runtime passes and head refit do not hold up the event loop
 * that decodes a live stream (onnxruntime-node's run blocks it). One adaptation at a time, in order.
 *
 * A process, not a worker thread: onnxruntime-node aborts the whole process when a thread is
 * terminated inside a run, which process.exit() does to every worker thread. A worker process can
 * be ended at any moment (`close` kills it), and when this process goes (process.exit, a signal, a
 * crash) its channel closes and it ends after the run it is in. It ignores SIGINT, so Ctrl-C on a
 * terminal leaves its end to this process. Its memory (the passes' tens of MB) is its own and leaves
 * with it, after `idleMs` without work. The worker does not keep the process alive while idle.
 */
export class AdaptProcess {
  private child: ChildProcess | null = null;
  private closed = false;
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly pending = new Map<number, { resolve: (r: { model: Uint8Array; selfEnrolled: boolean }) => void; reject: (e: unknown) => void }>();

  private constructor(
    private readonly script: string,
    private readonly init: AdaptWorkerInit['init'],
    private readonly idleMs: number,
  ) {}

  /** A worker for this recognizer's settings, or null where no worker script is found (the caller adapts in line). */
  static start(init: AdaptWorkerInit['init'], idleMs = ADAPT_WORKER_IDLE_MS): AdaptProcess | null {
    const script = workerScript();
    return script ? new AdaptProcess(script, init, idleMs) : null;
  }

  /** The worker's pid while one runs (it starts at the first adaptation and ends when idle or closed). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** The model adapted to the clips heard at `shift` (DigitRecognizer.adaptedModel), computed by the worker. */
  adapt(clips: readonly AudioInput[], shift: number, selfEnroll: boolean): Promise<{ model: Uint8Array; selfEnrolled: boolean }> {
    if (this.closed) return Promise.reject(new ModelError('the recognizer was disposed; load a new one to adapt'));
    this.stopIdleTimer();
    const child = this.running();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      keepAlive(child, true);
      const request: AdaptRequest = { id, clips, shift, selfEnroll };
      const unsent = (err: Error) => this.fail(id, new ModelError(`could not send clips to the normalization adaptation process: ${err.message}`, { cause: err }));
      try {
        child.send(request, (err) => err && unsent(err));
      } catch (err) {
        // A value the serializer cannot take.
        unsent(err as Error);
      }
    });
  }

  /** Ends the worker; an adaptation asked for and not finished fails with a ModelError. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new ModelError('the recognizer was disposed during a normalization adaptation'));
    await this.end();
  }

  /** Ends the worker at once (in a run or not: it is a process of its own); the next adaptation starts another. */
  private async end(): Promise<void> {
    this.stopIdleTimer();
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Held until it has gone: an idle worker's handles no longer keep the event loop alive, and
    // a caller awaiting dispose() would otherwise see the process end under it.
    keepAlive(child, true);
    child.kill();
    await exited;
  }

  private running(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(this.script, [], {
      execArgv: workerExecArgv(this.script),
      // Typed arrays (clips, model bytes) cross as they are, not as JSON.
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => (stderr = (stderr + s).slice(-STDERR_TAIL)));
    // The model bytes are copied to the worker: the recognizer keeps its own.
    child.send({ init: this.init } satisfies AdaptWorkerInit);
    keepAlive(child, false);
    child.on('message', (reply: AdaptReply) => this.settle(reply));
    child.on('error', (err) => {
      // It could not start (or be signalled): the next adaptation tries a new one.
      if (this.child === child) this.child = null;
      this.failAll(new ModelError(`the normalization adaptation process failed: ${err.message}`, { cause: err }));
    });
    // 'close', not 'exit': its stderr is read to the end by then.
    child.on('close', (code, signal) => {
      if (this.child !== child) return; // closed
      this.child = null;
      const why = signal ? `signal ${signal}` : `code ${code}`;
      this.failAll(new ModelError(`the normalization adaptation process exited (${why})${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
    this.child = child;
    return child;
  }

  private settle(reply: AdaptReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    this.idleIfDone();
    if ('error' in reply) waiting.reject(rebuild(reply.error));
    else waiting.resolve({ model: reply.model, selfEnrolled: reply.selfEnrolled });
  }

  /** One adaptation failed before the worker answered it. */
  private fail(id: number, err: SpokenDigitsError): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    this.idleIfDone();
    waiting.reject(err);
  }

  /** With nothing asked of it, the worker stops keeping the process alive and ends after idleMs. */
  private idleIfDone(): void {
    if (this.pending.size > 0 || !this.child || this.closed) return;
    keepAlive(this.child, false);
    this.stopIdleTimer();
    this.idleTimer = setTimeout(() => void this.end(), this.idleMs).unref();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private failAll(err: SpokenDigitsError): void {
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
    this.idleIfDone();
  }
}

/** Whether the worker (its process handle, channel and stderr pipe) keeps this process's event loop alive. */
function keepAlive(child: ChildProcess, on: boolean): void {
  const handles = [child, child.channel, child.stderr] as ({ ref(): void; unref(): void } | null | undefined)[];
  for (const h of handles) {
    if (on) h?.ref();
    else h?.unref();
  }
}
