import { describe, expect, it } from 'vitest';
import { pendingWrites, track, writesSettled } from '../src/lib/writes';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('writes in flight before a lock', () => {
  it('resolves at once when nothing is in flight', async () => {
    expect(pendingWrites()).toBe(0);
    await writesSettled();
  });

  it('waits for every write, failed ones too, and for writes they start', async () => {
    const first = deferred<string>();
    const failing = deferred<string>();
    const order: string[] = [];
    // Like the incident form: when a save ends with typing queued behind it, it saves again.
    track(first.promise).then(() => {
      const second = deferred<string>();
      track(second.promise).then(() => order.push('second'));
      setTimeout(() => second.resolve('ok'), 5);
    });
    track(failing.promise).catch(() => order.push('failed'));
    expect(pendingWrites()).toBe(2);
    const settled = writesSettled().then(() => order.push('settled'));
    failing.reject(new Error('locked'));
    first.resolve('ok');
    await settled;
    expect(order).toEqual(['failed', 'second', 'settled']);
    expect(pendingWrites()).toBe(0);
  });

  it('returns the write unchanged', async () => {
    await expect(track(Promise.resolve(42))).resolves.toBe(42);
    await expect(track(Promise.reject(new Error('no')))).rejects.toThrow('no');
  });
});
