/** What a recognizer's model session must offer to be swapped (onnxruntime-node's and onnxruntime-web's sessions both do). */
interface Releasable {
  release(): Promise<void>;
}

/**
 * The model session a recognizer runs on, which normalization adaptation replaces while runs may be in
 * flight: every run is counted on the session it started on, and a replaced session is released only
 * once its last run ends; so is the last one at `close()` (a recognizer disposed while it recognizes).
 * Shared by DigitRecognizer (Node) and WebRecognizer (the page). No imports: the browser build takes
 * it as is.
 */
export class SessionSwap<S extends Releasable> {
  private readonly runsOn = new Map<S, number>();
  /** Sessions replaced (or closed) with runs in flight, and what to call once each is released. */
  private readonly retired = new Map<S, () => void>();
  private closing: Promise<void> | undefined;
  /** Changes of session begun (begin()), and the latest one whose session is in use. */
  private calls = 0;
  private installed = 0;
  /** Changes abandoned while under way (abandon): never installed, whatever came before or after them. */
  private readonly abandoned = new Set<number>();
  /** Changes begun with beginCancellable and not installed yet: what cancel() abandons. */
  private readonly cancellable = new Set<number>();

  /** `closedRun`: the error a run on the closed session is refused with (the recognizer's kind of "disposed"). */
  constructor(
    private active: S,
    private readonly closedRun: () => Error = () => new Error('the model session was closed (dispose): no run starts after it'),
  ) {}

  /** The session new runs start on. */
  get current(): S {
    return this.active;
  }

  /**
   * `work` on `session` (default: the current one), counted so that replacing it meanwhile does not
   * release it under the run. Refused once close() was called on the session it closed (released,
   * or about to be); a session of the caller's own (an adaptation's probe) still runs.
   */
  async run<T>(work: (session: S) => Promise<T>, session: S = this.active): Promise<T> {
    if (this.closing && session === this.active) throw this.closedRun();
    this.runsOn.set(session, (this.runsOn.get(session) ?? 0) + 1);
    try {
      return await work(session);
    } finally {
      const left = this.runsOn.get(session)! - 1;
      if (left > 0) this.runsOn.set(session, left);
      else {
        this.runsOn.delete(session);
        const released = this.retired.get(session);
        if (released) {
          this.retired.delete(session);
          void session.release().catch(() => undefined).then(released);
        }
      }
    }
  }

  /**
   * Numbers a change of session about to be made (an adaptation, a reset), in call order, so that
   * the latest call's session is the one in use however long each took (replace, keep).
   */
  begin(): number {
    return ++this.calls;
  }

  /**
   * Whether a later call's session is in use already: `call`'s session would only be made, warmed
   * and released (replace says 'superseded'), so its maker may skip that work.
   */
  superseded(call: number): boolean {
    return call <= this.installed || this.abandoned.has(call);
  }

  /**
   * Change `call` is not wanted any more (an adaptation cancelled): its session will not be installed
   * (replace says 'superseded'), and the changes before and after it are as if it had not been made.
   */
  abandon(call: number): void {
    if (call > this.installed) this.abandoned.add(call);
  }

  /** begin(), for a change cancel() may abandon while it is under way (an adaptation; not a reset). */
  beginCancellable(): number {
    const call = this.begin();
    this.cancellable.add(call);
    return call;
  }

  /** Abandons every change begun with beginCancellable that is still under way. */
  cancel(): void {
    for (const call of this.cancellable) this.abandon(call);
    this.cancellable.clear();
  }

  /**
   * Makes `next`, the session change `call` made, the current session, and calls `installed` at that
   * moment (what the recognizer says about its session must change with it, before any other call
   * can install another); the one it replaces is released now (awaited), or when its runs end. Not
   * when a later call's session is in use already ('superseded'), nor after close() ('closed': a
   * recognizer disposed while an adaptation made `next`): `next` is released instead.
   */
  async replace(next: S, call: number = this.begin(), installed?: () => void): Promise<'installed' | 'superseded' | 'closed'> {
    if (next === this.active) {
      this.keep(call);
      installed?.();
      return 'installed';
    }
    const outcome = this.closing ? 'closed' : this.superseded(call) ? 'superseded' : 'installed';
    this.abandoned.delete(call);
    this.cancellable.delete(call);
    if (outcome !== 'installed') {
      await next.release().catch(() => undefined);
      return outcome;
    }
    this.installed = call;
    this.forgetAbandoned();
    const old = this.active;
    this.active = next;
    installed?.();
    const released = this.retire(old);
    if (!this.runsOn.get(old)) await released;
    return outcome;
  }

  /**
   * A new session (`call`'s) run once by `warm` (its first run pays the runtime's lazy set-up, which
   * a digit should not), then `replace`d in: released instead when `warm` fails (its error thrown),
   * the swap was closed meanwhile, or a later call's session is in use (then not warmed either).
   */
  async install(next: S, warm: (session: S) => Promise<unknown>, call: number, installed?: () => void): Promise<'installed' | 'superseded' | 'closed'> {
    try {
      // Not warmed when it could not be installed anyway.
      if (!this.closing && !this.superseded(call)) await warm(next);
    } catch (err) {
      await next.release().catch(() => undefined);
      throw err;
    }
    return this.replace(next, call, installed);
  }

  /** `call` wants the session in use as it is (a reset when nothing is adapted): earlier calls still under way are superseded. */
  keep(call: number): void {
    this.installed = Math.max(this.installed, call);
    this.forgetAbandoned();
  }

  /** Changes a later one superseded anyway (or that ended without installing) need not be kept. */
  private forgetAbandoned(): void {
    for (const set of [this.abandoned, this.cancellable]) for (const c of set) if (c <= this.installed) set.delete(c);
  }

  /** Releases the current session once the runs in flight on it end (resolves then). Safe to call twice. */
  close(): Promise<void> {
    return (this.closing ??= this.retire(this.active));
  }

  private retire(session: S): Promise<void> {
    if (!this.runsOn.get(session)) return session.release().catch(() => undefined);
    return new Promise((resolve) => this.retired.set(session, resolve));
  }
}
