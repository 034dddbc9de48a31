// Writes in flight to the store. Locking waits for them, so that an edit typed just before the
// Lock button (an autosave, or the save a screen makes as it closes) reaches the store before
// the backend drops its key, instead of failing on a locked store and losing keystrokes.

const inflight = new Set<Promise<unknown>>();

/** Track a write; returns it unchanged. */
export function track<T>(p: Promise<T>): Promise<T> {
  inflight.add(p);
  const done = () => void inflight.delete(p);
  p.then(done, done);
  return p;
}

/** How many writes are in flight. */
export function pendingWrites(): number {
  return inflight.size;
}

/** Resolves once no write is in flight, including writes started by the ones that finished
 * (a save that finds more typing queued behind it starts another one). Never rejects. */
export async function writesSettled(): Promise<void> {
  while (inflight.size > 0) {
    await Promise.allSettled([...inflight]);
    // Let the finished writes' own continuations run (and start any queued write).
    await new Promise((r) => setTimeout(r, 0));
  }
}
