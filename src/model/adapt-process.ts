import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { ModelError } from '../errors.js';
import { ADAPT_WORKER_IDLE_MS, AdaptClient, type AdaptedBytes, type AdaptReply } from './adapt-client.js';
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
  // createRequire, not import.meta.resolve: the CommonJS build has no import.meta.resolve (tsx's "." export is one file either way).
  return script.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
}

/** How much of the worker's stderr is kept for the message when it dies. */
const STDERR_TAIL = 2000;

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
export class AdaptProcess extends AdaptClient<Omit<AdaptRequest, 'id'>> {
  private child: ChildProcess | null = null;

  private constructor(
    private readonly script: string,
    private readonly init: AdaptWorkerInit['init'],
    idleMs: number,
    timeoutMs?: number,
  ) {
    super(idleMs, timeoutMs);
  }

  /** A worker for this recognizer's settings, or null where no worker script is found (the caller adapts in line). */
  static start(init: AdaptWorkerInit['init'], idleMs = ADAPT_WORKER_IDLE_MS, timeoutMs?: number): AdaptProcess | null {
    const script = workerScript();
    return script ? new AdaptProcess(script, init, idleMs, timeoutMs) : null;
  }

  /** The worker's pid while one runs (it starts at the first adaptation and ends when idle or closed). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** The model adapted to the clips heard at `shift` (DigitRecognizer.adaptedModel), computed by the worker. */
  adapt(clips: readonly AudioInput[], shift: number, selfEnroll: boolean): Promise<AdaptedBytes> {
    return this.ask({ clips, shift, selfEnroll }, clips.length);
  }

  protected get running(): boolean {
    return this.child !== null;
  }

  protected post(request: AdaptRequest): void {
    const id = request.id;
    this.start().send(request, (err) => err && this.fail(id, new ModelError(`could not send clips to the normalization adaptation process: ${err.message}`, { cause: err })));
  }

  protected override waiting(busy: boolean): void {
    if (this.child) keepAlive(this.child, busy);
  }

  /** Ends the worker at once (in a run or not: it is a process of its own); the next adaptation starts another. */
  protected async end(): Promise<void> {
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

  private start(): ChildProcess {
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
    child.on('message', (reply: AdaptReply) => this.settle(reply, 'worker process'));
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
}

/** Whether the worker (its process handle, channel and stderr pipe) keeps this process's event loop alive. */
function keepAlive(child: ChildProcess, on: boolean): void {
  const handles = [child, child.channel, child.stderr] as ({ ref(): void; unref(): void } | null | undefined)[];
  for (const h of handles) {
    if (on) h?.ref();
    else h?.unref();
  }
}
