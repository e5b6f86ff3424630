import type { Clock } from '../../lambda/shared/timing.js';

interface Sleeper {
  readonly at: number;
  readonly wake: () => void;
}

/**
 * The tests' clock. Its time moves only under `run`, and only when nothing else can happen: then
 * it jumps to the next sleeper's wake time. Code that waits minutes on it finishes in
 * milliseconds, and in the same order as it would in real time.
 *
 * Code that also waits on real I/O (a local server, a socket) cannot be run so: `run` cannot
 * tell such a wait from one that never ends. For it, `FakeClock.instant()` ends every sleep at
 * once and moves the time to when the sleep would have ended (never backwards), so that
 * sleepers side by side see the time the latest of them woke.
 */
export class FakeClock implements Clock {
  /** Every sleep asked for, in ms, in order: what the code would have waited. */
  readonly slept: number[] = [];
  #now: number;
  #sleepers: Sleeper[] = [];
  readonly #instant: boolean;

  constructor(startMs = Date.UTC(2025, 0, 6, 12), options: { instant?: boolean } = {}) {
    this.#now = startMs;
    this.#instant = options.instant ?? false;
  }

  /** A clock whose sleeps end at once, starting at `startMs` (real time unless told). */
  static instant(startMs = Date.now()): FakeClock {
    return new FakeClock(startMs, { instant: true });
  }

  now(): number {
    return this.#now;
  }

  /** Sets the time, as if the code had been idle until `epochMs`. */
  setNow(epochMs: number): void {
    this.#now = epochMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.slept.push(ms);
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    if (this.#instant) {
      const wake = this.#now + ms;
      return Promise.resolve().then(() => {
        this.#now = Math.max(this.#now, wake);
      });
    }
    return new Promise((resolve) => {
      const sleeper: Sleeper = { at: this.#now + ms, wake: resolve };
      this.#sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.#sleepers = this.#sleepers.filter((other) => other !== sleeper);
          resolve();
        },
        { once: true },
      );
    });
  }

  /**
   * Settles `work`, moving time to the next wake-up whenever the work waits only on sleepers.
   * Fails when it waits on something no clock can end (a fake that never answers, with nothing
   * to time it out): in real time that would hang forever.
   */
  async run<T>(work: Promise<T>): Promise<T> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    work.then(
      (value) => {
        outcome = { ok: true, value };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
    for (;;) {
      await settle();
      if (outcome !== undefined) {
        if (outcome.ok) return outcome.value;
        throw outcome.error;
      }
      const next = this.#next();
      if (next === undefined) {
        throw new Error('FakeClock.run: the work waits on something that no time can end');
      }
      this.#wake(next);
    }
  }

  #next(): Sleeper | undefined {
    let earliest: Sleeper | undefined;
    for (const sleeper of this.#sleepers) {
      if (earliest === undefined || sleeper.at < earliest.at) earliest = sleeper;
    }
    return earliest;
  }

  #wake(sleeper: Sleeper): void {
    this.#sleepers = this.#sleepers.filter((other) => other !== sleeper);
    this.#now = Math.max(this.#now, sleeper.at);
    sleeper.wake();
  }
}

/** Lets every promise continuation that is ready run: the next macrotask comes after them. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
