// The kiosk's visitor clock (src/web/app/visitor-clock.ts) on fake timers: when it warns, counts down,
// clears, and what keeps a visitor's words. The page itself is tested in Chromium (kiosk.test.ts).
import assert from 'node:assert/strict';
import * as FakeTimers from '@sinonjs/fake-timers';
import { VisitorClock, forgetAfterMs } from '../../src/web/app/visitor-clock.js';

describe('kiosk visitor clock', () => {
  let clock: FakeTimers.Clock;
  beforeEach(() => (clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] })));
  afterEach(() => clock.uninstall());

  /** A clock whose events are logged with the fake time they came at (seconds). */
  function watched(idleMs: number) {
    const log: string[] = [];
    const at = () => `${clock.now / 1000}s`;
    const visitor = new VisitorClock(idleMs, {
      warn: (left, first) => log.push(`${at()} ${first ? 'warn' : 'tick'} ${left}`),
      unwarn: () => log.push(`${at()} unwarn`),
      gone: () => log.push(`${at()} gone`),
    });
    return { visitor, log };
  }

  it('warns 20 s before it clears, counts down each second, and clears once', () => {
    const { visitor, log } = watched(60_000);
    visitor.spoke();
    clock.tick(39_999);
    assert.equal(log.length, 0, log.join(', '));
    clock.tick(1);
    assert.deepEqual(log, ['40s warn 20']);
    clock.tick(20_000);
    assert.equal(log.at(-1), '60s gone');
    assert.equal(log.at(-2), '60s unwarn');
    assert.deepEqual(log.filter((e) => e.includes('tick')).map((e) => Number(e.split(' ')[2])), [19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert.equal(visitor.running, false);
    clock.tick(600_000);
    assert.equal(log.at(-1), '60s gone', 'nothing after it cleared');
  });

  it('warns for half the idle time when that is under 20 s', () => {
    const { visitor, log } = watched(4000);
    assert.equal(visitor.warningMs, 2000);
    visitor.spoke();
    clock.tick(4000);
    assert.deepEqual(log, ['2s warn 2', '3s tick 1', '4s unwarn', '4s gone']);
  });

  it('a word during the warning ends it and starts the idle time again', () => {
    const { visitor, log } = watched(60_000);
    visitor.spoke();
    clock.tick(45_000);
    visitor.spoke();
    assert.equal(log.at(-1), '45s unwarn');
    clock.tick(59_999);
    assert.ok(!log.some((e) => e.endsWith('gone')));
    clock.tick(1);
    assert.equal(log.at(-1), '105s gone');
  });

  it('a tap keeps the words on screen, but starts no clock when none is on screen', () => {
    const { visitor, log } = watched(60_000);
    visitor.active();
    assert.equal(visitor.running, false);
    clock.tick(120_000);
    assert.equal(log.length, 0, log.join(', '));
    visitor.spoke();
    clock.tick(50_000);
    assert.equal(log[0], '160s warn 20');
    visitor.active();
    assert.equal(log.at(-1), '170s unwarn');
    clock.tick(59_999);
    assert.equal(log.filter((e) => e.endsWith('warn 20')).length, 2, 'warned again 40 s after the tap');
    assert.ok(!log.some((e) => e.endsWith('gone')));
    clock.tick(1);
    assert.equal(log.at(-1), '230s gone');
  });

  it('never runs for an infinite idle time', () => {
    const { visitor, log } = watched(Infinity);
    visitor.spoke();
    clock.tick(10 * 24 * 3600_000);
    assert.equal(visitor.running, false);
    assert.equal(log.length, 0, log.join(', '));
  });

  it('forget-voice: seconds as given, else 120 s in a kiosk and never elsewhere, Infinity never, at most what setTimeout holds', () => {
    assert.equal(forgetAfterMs('3', true), 3000);
    assert.equal(forgetAfterMs('0.5', false), 500);
    assert.equal(forgetAfterMs(null, true), 120_000);
    assert.equal(forgetAfterMs(null, false), Infinity);
    for (const junk of ['', '0', '-5', 'soon', 'NaN']) assert.equal(forgetAfterMs(junk, true), 120_000, junk);
    assert.equal(forgetAfterMs('1e12', true), 2 ** 31 - 1);
    assert.equal(forgetAfterMs('Infinity', true), Infinity);
  });
});
