/** What a recognizer's model session must offer to be swapped (onnxruntime-node's and onnxruntime-web's sessions both do). */
interface Releasable {
  release(): Promise<void>;
}

/**
 * The model session a recognizer runs on, which normalization adaptation replaces while runs may be in
 * flight: every run is counted on the session it started on, and a replaced session is released only
 * once its last run ends. Shared by DigitRecognizer (Node) and WebRecognizer (the page). No imports:
 * the browser build takes it as is.
 */
export class SessionSwap<S extends Releasable> {
  private readonly runsOn = new Map<S, number>();
  private readonly retired = new Set<S>();

  constructor(private active: S) {}

  /** The session new runs start on. */
  get current(): S {
    return this.active;
  }

  /** `work` on `session` (default: the current one), counted so that replacing it meanwhile does not release it under the run. */
  async run<T>(work: (session: S) => Promise<T>, session: S = this.active): Promise<T> {
    this.runsOn.set(session, (this.runsOn.get(session) ?? 0) + 1);
    try {
      return await work(session);
    } finally {
      const left = this.runsOn.get(session)! - 1;
      if (left > 0) this.runsOn.set(session, left);
      else {
        this.runsOn.delete(session);
        if (this.retired.delete(session)) void session.release().catch(() => undefined);
      }
    }
  }

  /** Makes `next` the current session; the one it replaces is released now, or when its runs end. */
  async replace(next: S): Promise<void> {
    const old = this.active;
    this.active = next;
    if (this.runsOn.get(old)) this.retired.add(old);
    else await old.release().catch(() => undefined);
  }
}
