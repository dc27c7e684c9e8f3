// Browser-safe (the Node Listener and the browser's WebListener both use it): no Node imports here.

/**
 * The async iterators of an event source (`for await (const e of listener)`): each iterator gets
 * every event published after it was made, in order, and ends when the source ends (or throws the
 * error the source failed with). An iterator made after the end ends at once.
 *
 * A loop left early (break, return, a throw) calls `leftEarly` when it was the last iterator still
 * open, as leaving a loop over a Node stream destroys the stream: one loop that leaves while another
 * still iterates does not end the other's events. Handlers added with `.on()` do not keep the source
 * going (nor does a 'data' handler keep a Node stream from being destroyed); an iterator made and
 * not yet ended or returned counts as open, whether or not its loop has started.
 */
export class EventIterators<E> {
  constructor(private readonly leftEarly: () => void = () => undefined) {}

  private readonly sinks = new Set<{ push(e: E): void; end(err?: unknown): void }>();
  private ended = false;
  private failure: unknown = null;

  publish(event: E): void {
    for (const s of this.sinks) s.push(event);
  }

  /** Ends every iterator: after their queued events, normally, or by throwing `err`. */
  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err ?? null;
    for (const s of this.sinks) s.end(err);
    this.sinks.clear();
  }

  iterator(): AsyncIterator<E> {
    const queue: E[] = [];
    let wake: (() => void) | null = null;
    let done = this.ended;
    let error: unknown = this.failure;
    const sink = {
      push: (e: E) => {
        queue.push(e);
        wake?.();
      },
      end: (err?: unknown) => {
        done = true;
        error = err ?? null;
        wake?.();
      },
    };
    if (!done) this.sinks.add(sink);
    return {
      next: async (): Promise<IteratorResult<E>> => {
        while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
        wake = null;
        if (queue.length) return { value: queue.shift()!, done: false };
        this.sinks.delete(sink);
        if (error) {
          // Thrown once; the iterator is finished after it.
          const e = error;
          error = null;
          throw e;
        }
        return { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<E>> => {
        this.sinks.delete(sink);
        if (!done && this.sinks.size === 0) this.leftEarly();
        done = true;
        return { value: undefined, done: true };
      },
    };
  }
}
