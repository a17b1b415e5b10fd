// Time: the system clock, and a fake one that tests advance by hand.

export interface TimerHandle {
  cancel(): void;
}

/** Every time decision goes through a Clock, so tests never sleep. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs fn after ms; the timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in order and letting their promises settle. */
  advance(ms: number): Promise<void>;
  /** Number of timers still pending. */
  pending(): number;
  /** When the earliest pending timer is due, if any. */
  nextDue(): number | undefined;
}

/** Lets pending promise chains (and I/O callbacks already queued) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export function createFakeClock(start = Date.parse('2026-01-01T00:00:00Z')): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return { cancel: () => void timers.delete(id) };
    },
    pending: () => timers.size,
    nextDue: () => (timers.size ? Math.min(...[...timers.values()].map((t) => t.at)) : undefined),
    async advance(ms) {
      const end = now + ms;
      await settle();
      for (;;) {
        let nextId = -1;
        let nextAt = Infinity;
        for (const [id, t] of timers) if (t.at < nextAt || (t.at === nextAt && id < nextId)) { nextAt = t.at; nextId = id; }
        if (nextId < 0 || nextAt > end) break;
        const timer = timers.get(nextId)!;
        timers.delete(nextId);
        now = Math.max(now, timer.at);
        timer.fn();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}
