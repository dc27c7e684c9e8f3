import assert from 'node:assert/strict';
import { SessionSwap } from '../src/model/session-swap.js';

/** A stand-in for an ORT session: counts its releases, and refuses runs once released. */
class FakeSession {
  releases = 0;
  constructor(readonly name: string) {}
  async release(): Promise<void> {
    this.releases++;
  }
  async run(until: Promise<void>): Promise<string> {
    if (this.releases) throw new Error(`${this.name} was released`);
    await until;
    if (this.releases) throw new Error(`${this.name} was released under the run`);
    return this.name;
  }
}

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('SessionSwap (the session a recognizer runs on)', () => {
  it('a replaced session is released when its last run ends, and new runs start on the new one', async () => {
    const [a, b] = [new FakeSession('a'), new FakeSession('b')];
    const swap = new SessionSwap(a);
    const g = gate();
    const first = swap.run((s) => s.run(g.opened));
    const second = swap.run((s) => s.run(g.opened));
    assert.equal(await swap.replace(b), 'installed'); // does not wait for the runs
    assert.equal(swap.current, b);
    assert.equal(a.releases, 0);
    assert.equal(await swap.run((s) => s.run(Promise.resolve())), 'b');
    g.open();
    assert.deepEqual(await Promise.all([first, second]), ['a', 'a']);
    await new Promise((r) => setImmediate(r));
    assert.equal(a.releases, 1);
    // Nothing in flight: released at once, before replace resolves.
    const c = new FakeSession('c');
    await swap.replace(c);
    assert.equal(b.releases, 1);
  });

  it('of changes that overlap (adaptations, resets), the last one begun is the one in use, whichever ends last', async () => {
    const swap = new SessionSwap(new FakeSession('loaded'));
    const [first, second] = [swap.begin(), swap.begin()];
    const [a, b] = [new FakeSession('a'), new FakeSession('b')];
    assert.equal(await swap.replace(b, second), 'installed');
    assert.equal(await swap.replace(a, first), 'superseded');
    assert.deepEqual([swap.current, a.releases], [b, 1]);
    // A reset that keeps the session in use (nothing adapted yet) supersedes an adaptation begun before it.
    const adapting = swap.begin();
    swap.keep(swap.begin());
    const c = new FakeSession('c');
    assert.equal(await swap.replace(c, adapting), 'superseded');
    assert.deepEqual([swap.current, c.releases], [b, 1]);
    // In order, each is installed in turn.
    const d = new FakeSession('d');
    assert.equal(await swap.replace(d, swap.begin()), 'installed');
    assert.equal(swap.current, d);
  });

  it('says what changed with the session at the moment it is installed, before the old one is released; the session in use itself is kept, not released', async () => {
    let releaseOld!: () => void;
    const old = new FakeSession('old');
    old.release = () => new Promise<void>((r) => (releaseOld = () => (old.releases++, r())));
    const swap = new SessionSwap(old);
    const next = new FakeSession('next');
    const order: string[] = [];
    const replaced = swap.replace(next, swap.begin(), () => order.push('installed'));
    assert.deepEqual(order, ['installed']); // at once, while the old one is still being released
    swap.keep(swap.begin()); // a reset right after it sees the adapted session in use
    releaseOld();
    assert.equal(await replaced, 'installed');
    assert.equal(await swap.replace(next, swap.begin(), () => order.push('again')), 'installed');
    assert.deepEqual([order, next.releases, swap.current], [['installed', 'again'], 0, next]);
  });

  it('install(): a session whose warm-up run fails is released and the error thrown; after close() it is not warmed, only released', async () => {
    const swap = new SessionSwap(new FakeSession('loaded'));
    const broken = new FakeSession('broken');
    await assert.rejects(
      swap.install(broken, async () => {
        throw new Error('warm-up failed');
      }, swap.begin()),
      /warm-up failed/,
    );
    assert.deepEqual([broken.releases, swap.current.name], [1, 'loaded']);
    const warmed: string[] = [];
    const ok = new FakeSession('ok');
    assert.equal(await swap.install(ok, async (s) => warmed.push(s.name), swap.begin()), 'installed');
    await swap.close();
    const late = new FakeSession('late');
    assert.equal(await swap.install(late, async (s) => warmed.push(s.name), swap.begin()), 'closed');
    assert.deepEqual([warmed, late.releases, ok.releases], [['ok'], 1, 1]);
  });

  it('install(): a call already superseded when its session is ready is not warmed, only released (superseded() says so beforehand)', async () => {
    const swap = new SessionSwap(new FakeSession('loaded'));
    const [slow, fast] = [swap.begin(), swap.begin()];
    assert.deepEqual([swap.superseded(slow), swap.superseded(fast)], [false, false]);
    const warmed: string[] = [];
    const warm = async (s: FakeSession) => void warmed.push(s.name);
    assert.equal(await swap.install(new FakeSession('fast'), warm, fast), 'installed');
    assert.equal(swap.superseded(slow), true);
    const stale = new FakeSession('slow');
    assert.equal(await swap.install(stale, warm, slow), 'superseded');
    assert.deepEqual([warmed, stale.releases, swap.current.name], [['fast'], 1, 'fast']);
  });

  it('close() with a run in flight, then a replace(): close still resolves once the run ends, and the new session is released', async () => {
    const [a, b] = [new FakeSession('a'), new FakeSession('b')];
    const swap = new SessionSwap(a);
    const g = gate();
    const run = swap.run((s) => s.run(g.opened));
    const closing = swap.close();
    assert.equal(await swap.replace(b), 'closed');
    assert.deepEqual([a.releases, b.releases], [0, 1]);
    g.open();
    await run;
    await closing;
    assert.equal(a.releases, 1);
  });

  it('abandon(): a change given up while under way is never installed, and the changes around it are as if it had not been made', async () => {
    const a = new FakeSession('a');
    const swap = new SessionSwap(a);
    const adapt = swap.begin();
    const reset = swap.begin();
    swap.abandon(adapt);
    assert.equal(swap.superseded(adapt), true);
    assert.equal(swap.superseded(reset), false);
    const adapted = new FakeSession('adapted');
    assert.equal(await swap.replace(adapted, adapt), 'superseded');
    assert.deepEqual([swap.current, adapted.releases], [a, 1]);
    const back = new FakeSession('back');
    assert.equal(await swap.replace(back, reset), 'installed');
    assert.equal(swap.current, back);
    // Abandoning one already installed changes nothing.
    swap.abandon(reset);
    assert.equal(swap.current, back);
    // cancel() abandons the cancellable changes under way (adaptations), not the others (resets).
    const adapting = swap.beginCancellable();
    const resetting = swap.begin();
    swap.cancel();
    assert.deepEqual([swap.superseded(adapting), swap.superseded(resetting)], [true, false]);
    const again = swap.beginCancellable();
    assert.equal(swap.superseded(again), false, 'a change begun after cancel() is not abandoned');
  });

  it('close() (a recognizer disposed) lets the runs in flight finish, then releases; twice is safe; runs after it are refused', async () => {
    const a = new FakeSession('a');
    const swap = new SessionSwap(a);
    const g = gate();
    const run = swap.run((s) => s.run(g.opened));
    let closed = false;
    const closing = swap.close().then(() => (closed = true));
    const again = swap.close();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([closed, a.releases], [false, 0]);
    g.open();
    assert.equal(await run, 'a');
    await Promise.all([closing, again]);
    assert.deepEqual([closed, a.releases], [true, 1]);
    let ran = false;
    await assert.rejects(
      swap.run((s) => ((ran = true), s.run(Promise.resolve()))),
      /the model session was closed \(dispose\): no run starts after it/,
    );
    assert.equal(ran, false, 'the work was not started on the released session');
    // A session of the caller's own (an adaptation's probe) still runs.
    assert.equal(await swap.run((s) => s.run(Promise.resolve()), new FakeSession('probe')), 'probe');
    // A session made meanwhile (an adaptation that ended after dispose): released, not installed.
    const late = new FakeSession('late');
    assert.equal(await swap.replace(late), 'closed');
    assert.deepEqual([late.releases, a.releases, swap.current], [1, 1, a]);
    // Nothing in flight: released at once.
    const idle = new FakeSession('idle');
    await new SessionSwap(idle).close();
    assert.equal(idle.releases, 1);
  });
});
