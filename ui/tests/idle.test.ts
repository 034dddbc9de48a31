import { describe, expect, it } from 'vitest';
import { IdleTimer, watchIdle, type Scheduler } from '../src/lib/idle';

/** A fake clock: timers fire when `advance` passes their time. */
function fakeClock() {
  let now = 0;
  let next = 1;
  const timers = new Map<number, { at: number; f: () => void }>();
  const scheduler: Scheduler = {
    set: (f, ms) => {
      const id = next++;
      timers.set(id, { at: now + ms, f });
      return id;
    },
    clear: (h) => void timers.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers]) {
      if (t.at <= now) {
        timers.delete(id);
        t.f();
      }
    }
  };
  return { scheduler, advance, pending: () => timers.size };
}

describe('auto-lock', () => {
  it('locks once after the idle time, and input pushes it back', () => {
    const clock = fakeClock();
    let locks = 0;
    const timer = new IdleTimer(60, () => locks++, clock.scheduler);
    clock.advance(59_000);
    timer.poke();
    clock.advance(59_000);
    expect(locks).toBe(0);
    clock.advance(1_000);
    expect(locks).toBe(1);
    timer.poke();
    clock.advance(120_000);
    expect(locks).toBe(1);
  });

  it('never locks when set to 0, and not after stop', () => {
    const clock = fakeClock();
    let locks = 0;
    new IdleTimer(0, () => locks++, clock.scheduler);
    expect(clock.pending()).toBe(0);
    const t = new IdleTimer(5, () => locks++, clock.scheduler);
    t.stop();
    clock.advance(10_000);
    expect(locks).toBe(0);
  });

  it('listens to input on the window and stops listening', () => {
    const target = new EventTarget();
    const stop = watchIdle(3600, () => {}, target);
    target.dispatchEvent(new Event('keydown'));
    stop();
  });
});
