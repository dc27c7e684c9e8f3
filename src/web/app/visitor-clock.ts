/**
 * When a kiosk's visitor has gone: no digit (nor a word rejected) for the idle time, nor a tap or a key
 * press while what they said is on screen. Before it clears, the visitor is warned with a countdown, so
 * that someone still there can keep it (WCAG 2.2.1: warned, and at least 20 s to extend).
 */

/** The longest delay setTimeout keeps: past 2^31 - 1 ms it fires at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** How long the warning lasts: 20 s, at most half the idle time. */
const WARNING_MS = 20_000;

/**
 * The idle time after which the page forgets a visitor (ms) from the page's `forget-voice` parameter
 * (seconds): a positive number as given (Infinity: never), else 120 s in a kiosk and never elsewhere.
 * At most what setTimeout can hold (24 days).
 */
export function forgetAfterMs(param: string | null, kiosk: boolean): number {
  const seconds = Number(param);
  const chosen = param !== null && seconds > 0 ? seconds : kiosk ? 120 : Infinity;
  return Number.isFinite(chosen) ? Math.min(MAX_TIMEOUT_MS, chosen * 1000) : Infinity;
}

export interface VisitorClockEvents {
  /** The warning, at its start (`first`) and then once a second: cleared in `secondsLeft` unless the visitor acts. */
  warn(secondsLeft: number, first: boolean): void;
  /** The warning is over: the visitor acted, or the time ran out. */
  unwarn(): void;
  /** The visitor is gone: clear what they said. */
  gone(): void;
}

export class VisitorClock {
  /** How long before clearing the warning starts (ms). */
  readonly warningMs: number;
  private goneTimer: ReturnType<typeof setTimeout> | undefined;
  private warningTimer: ReturnType<typeof setTimeout> | undefined;
  private countdown: ReturnType<typeof setInterval> | undefined;

  /** `idleMs` Infinity: a clock that never runs (a page that keeps what was said). */
  constructor(
    private readonly idleMs: number,
    private readonly events: VisitorClockEvents,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.warningMs = Math.min(WARNING_MS, idleMs / 2);
  }

  /** Whether the clock runs: something a visitor said is kept (on screen, and in the voice adapted to). */
  get running(): boolean {
    return this.goneTimer !== undefined;
  }

  /** The visitor said something (a digit or a word): the idle time starts again. */
  spoke(): void {
    if (!Number.isFinite(this.idleMs)) return;
    this.stop();
    this.warningTimer = setTimeout(() => this.startWarning(), this.idleMs - this.warningMs);
    this.goneTimer = setTimeout(() => {
      this.stop();
      this.events.gone();
    }, this.idleMs);
  }

  /** A tap or a key press: the visitor is still here, if anything of theirs is on screen. */
  active(): void {
    if (this.running) this.spoke();
  }

  private stop(): void {
    const warned = this.countdown !== undefined;
    clearTimeout(this.goneTimer);
    clearTimeout(this.warningTimer);
    clearInterval(this.countdown);
    this.goneTimer = this.warningTimer = this.countdown = undefined;
    if (warned) this.events.unwarn();
  }

  private startWarning(): void {
    const clearAt = this.now() + this.warningMs;
    const secondsLeft = () => Math.max(1, Math.ceil((clearAt - this.now()) / 1000));
    this.events.warn(secondsLeft(), true);
    this.countdown = setInterval(() => this.events.warn(secondsLeft(), false), 1000);
  }
}
