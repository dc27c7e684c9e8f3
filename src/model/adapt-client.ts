import { AudioInputError, BackendUnavailableError, EnrollmentError, FeatureConfigError, ModelError, SpokenDigitsError, WavFormatError } from '../errors.js';

/**
 * An adaptation asked of a worker and cancelled before it answered (a recognizer's
 * `cancelAdaptation()`: a listener stopped, a voice forgotten): its worker was ended in the run.
 */
export class AdaptCancelledError extends ModelError {
  constructor() {
    super('the normalization adaptation was cancelled (cancelAdaptation) before it ended');
  }
}

/** A model adapted to a speaker by a worker: its bytes, and whether its last layers were refitted too. */
export interface AdaptedBytes {
  model: Uint8Array;
  selfEnrolled: boolean;
}

/** A worker's answer to one adaptation: the adapted model, or the error it threw (its class name and message). */
export type AdaptReply = ({ id: number } & AdaptedBytes) | { id: number; error: { name: string; message: string } };

/**
 * How long an adaptation worker waits idle before it ends, giving back the ~100-200 MB a
 * self-enrolling adaptation leaves it holding; the next adaptation starts another (~0.3 s more, off
 * the event loop). A live session adapts every 10 digits, well within it.
 */
export const ADAPT_WORKER_IDLE_MS = 30_000;

/**
 * How long an adaptation may wait on its worker before the worker counts as hung: it is ended and
 * what waits on it fails with a ModelError (the next adaptation starts another). This much, plus
 * ADAPT_TIMEOUT_PER_CLIP_MS for each clip: 220 s for 200 clips, where an adaptation takes 0.2-3.5 s
 * here (a worker's start-up included), so only a worker that is stuck reaches it.
 */
export const ADAPT_REQUEST_TIMEOUT_MS = 120_000;
export const ADAPT_TIMEOUT_PER_CLIP_MS = 500;

/** A worker's reply to adaptation `id`: what `adapt` gives, or the error it threw (its class name and message). */
export async function answerAdaptation(id: number, adapt: () => Promise<AdaptedBytes>): Promise<AdaptReply> {
  try {
    const { model, selfEnrolled } = await adapt();
    return { id, model, selfEnrolled };
  } catch (err) {
    const e = err as Error;
    return { id, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err) } };
  }
}

/** The error a worker threw, as the class it was thrown as (the library's own kinds; anything else a ModelError). */
export function rebuildError(error: { name: string; message: string }, worker: string): SpokenDigitsError {
  const kinds: Record<string, new (message: string) => SpokenDigitsError> = { AudioInputError, BackendUnavailableError, EnrollmentError, FeatureConfigError, ModelError, WavFormatError };
  const Kind = kinds[error.name];
  return Kind ? new Kind(error.message) : new ModelError(`normalization adaptation failed in its ${worker}: ${error.message}`);
}

/**
 * The recognizer's side of a normalization adaptation worker (a process in Node, a Web Worker in a
 * page): each adaptation numbered and answered by its number, one failing alone when it cannot be
 * sent, all failing when the worker dies or the client closes, and the worker ended after `idleMs`
 * without work. Subclasses start, message and end the worker. No imports beyond the library's
 * errors: the web build bundles it.
 */
export abstract class AdaptClient<Request> {
  protected closed = false;
  private nextId = 0;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly pending = new Map<number, { resolve: (r: AdaptedBytes) => void; reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    protected readonly idleMs: number,
    private readonly timeoutMs = ADAPT_REQUEST_TIMEOUT_MS,
  ) {}

  /** Sends one request to the worker, starting one if none runs; throws when it cannot be sent. */
  protected abstract post(request: Request & { id: number }): void;
  /** Ends the worker now, in a run or not; the next request starts another. */
  protected abstract end(): Promise<void>;
  /** Whether a worker runs now. */
  protected abstract get running(): boolean;
  /** Called with true when requests wait on the worker, false when none does (Node: whether it keeps the process alive). */
  protected waiting(_busy: boolean): void {}

  /** One adaptation of `clips` clips, answered by the worker (or failed, see the class). */
  protected ask(request: Request, clips: number): Promise<AdaptedBytes> {
    if (this.closed) return Promise.reject(new ModelError('the recognizer was disposed; load a new one to adapt'));
    this.stopIdleTimer();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A worker that neither answers nor dies (a hung run, a script that ignores the request).
      const limitMs = this.timeoutMs + clips * ADAPT_TIMEOUT_PER_CLIP_MS;
      const timer = setTimeout(() => void this.hung(limitMs), limitMs);
      (timer as { unref?: () => void }).unref?.();
      this.pending.set(id, { resolve, reject, timer });
      this.waiting(true);
      try {
        this.post({ ...request, id });
      } catch (err) {
        // A value the worker's channel cannot take, or a worker that cannot be started.
        this.fail(id, err instanceof SpokenDigitsError ? err : new ModelError(`could not send clips to the normalization adaptation worker: ${(err as Error)?.message ?? err}`, { cause: err }));
      }
    });
  }

  /**
   * Adaptations asked for and not finished fail with AdaptCancelledError, and the worker running them
   * is ended in its run (resolves once it has gone); the next adaptation starts another. Nothing
   * happens when none is asked for: an idle worker stays for the next.
   */
  async cancel(): Promise<void> {
    if (this.pending.size === 0) return;
    this.failAll(new AdaptCancelledError());
    await this.end();
  }

  /** Ends the worker; an adaptation asked for and not finished fails with a ModelError. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new ModelError('the recognizer was disposed during a normalization adaptation'));
    await this.end();
  }

  /** The worker's answer to the adaptation it names. */
  protected settle(reply: AdaptReply, worker: string): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.pending.delete(reply.id);
    this.idleIfDone();
    if ('error' in reply) waiting.reject(rebuildError(reply.error, worker));
    else waiting.resolve({ model: reply.model, selfEnrolled: reply.selfEnrolled });
  }

  /** One adaptation failed before the worker answered it. */
  protected fail(id: number, err: SpokenDigitsError): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.pending.delete(id);
    this.idleIfDone();
    waiting.reject(err);
  }

  /** Every adaptation waiting on the worker fails with `err` (it died, or the client closed). */
  protected failAll(err: unknown): void {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(err);
    }
    this.pending.clear();
    this.idleIfDone();
  }

  /** An adaptation waited its time limit: the worker is ended, and everything waiting on it fails. */
  private async hung(limitMs: number): Promise<void> {
    this.failAll(new ModelError(`the normalization adaptation worker did not answer within ${limitMs / 1000} s; it was ended`));
    await this.end();
  }

  protected stopIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** With nothing asked of it, the worker ends after idleMs. */
  private idleIfDone(): void {
    if (this.pending.size > 0 || !this.running || this.closed) return;
    this.waiting(false);
    this.stopIdleTimer();
    const timer = setTimeout(() => void this.end(), this.idleMs);
    // Node: an idle worker's timer does not keep the process alive (a page has no such notion).
    (timer as { unref?: () => void }).unref?.();
    this.idleTimer = timer;
  }
}
