// Auto-lock: a timer that input keeps pushing back. After `seconds` without keyboard, mouse,
// wheel or touch input in the window, `onIdle` runs once. The clock and the scheduler are
// injectable so the logic is tested without waiting.

export const ACTIVITY_EVENTS = ['keydown', 'mousedown', 'mousemove', 'wheel', 'touchstart'] as const;

/** The choices offered in the settings, in seconds (0: never). */
export const AUTO_LOCK_CHOICES = [60, 120, 300, 600, 900, 1800, 0] as const;

export interface Scheduler {
  set(f: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realScheduler: Scheduler = {
  set: (f, ms) => setTimeout(f, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** An idle timer; `poke()` on every input, `stop()` when the app locks or unmounts. */
export class IdleTimer {
  private handle: unknown = null;
  private stopped = false;

  constructor(
    private readonly seconds: number,
    private readonly onIdle: () => void,
    private readonly scheduler: Scheduler = realScheduler,
  ) {
    this.poke();
  }

  /** Input happened: start the countdown again. */
  poke(): void {
    if (this.stopped || this.seconds <= 0) return;
    if (this.handle !== null) this.scheduler.clear(this.handle);
    this.handle = this.scheduler.set(() => {
      this.handle = null;
      if (!this.stopped) {
        this.stopped = true;
        this.onIdle();
      }
    }, this.seconds * 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.handle !== null) this.scheduler.clear(this.handle);
    this.handle = null;
  }
}

/** Watch the window's input and call `onIdle` after `seconds` of none. Returns a stopper. */
export function watchIdle(seconds: number, onIdle: () => void, target: EventTarget = window): () => void {
  const timer = new IdleTimer(seconds, onIdle);
  const poke = () => timer.poke();
  for (const e of ACTIVITY_EVENTS) target.addEventListener(e, poke, { passive: true, capture: true });
  return () => {
    timer.stop();
    for (const e of ACTIVITY_EVENTS) target.removeEventListener(e, poke, { capture: true });
  };
}
