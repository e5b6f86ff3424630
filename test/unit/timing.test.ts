import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineExceededError, TransientError } from '../../lambda/shared/errors.js';
import {
  abortAt,
  type Clock,
  DeadlineReached,
  mapWithConcurrency,
  RateLimiter,
  type RetryOptions,
  retry,
  settleBy,
  systemClock,
} from '../../lambda/shared/timing.js';
import { FakeClock } from '../support/fake-clock.js';

const START = 1_700_000_000_000;

/** A retryable failure, with the wait its remote asked for when given. */
class Retryable extends TransientError {
  constructor(message: string, retryAfterMs?: number) {
    super(message, retryAfterMs === undefined ? undefined : { retryAfterMs });
  }
}

function options(clock: Clock, overrides: Partial<RetryOptions> = {}): RetryOptions {
  return {
    clock,
    isRetryable: (error) => error instanceof Retryable,
    maxAttempts: 4,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    ...overrides,
  };
}

/** An attempt function that fails with the given errors in turn, then answers `value`. */
function failingThen<T>(errors: Error[], value: T): { attempt: () => Promise<T>; calls: number } {
  const state = {
    calls: 0,
    attempt: async () => {
      const error = errors[state.calls++];
      if (error !== undefined) throw error;
      return value;
    },
  };
  return state;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Function: retry', () => {
  it('answers the first success without waiting', async () => {
    const clock = FakeClock.instant(START);
    const work = failingThen([], 'token');

    await expect(retry(work.attempt, options(clock))).resolves.toBe('token');
    expect(work.calls).toBe(1);
    expect(clock.slept).toEqual([]);
  });

  it('retries retryable errors until an attempt succeeds', async () => {
    // Prepare
    const clock = FakeClock.instant(START);
    const work = failingThen([new Retryable('503'), new Retryable('503')], 'token');

    // Act
    const result = await retry(work.attempt, options(clock));

    // Assess
    expect(result).toBe('token');
    expect(work.calls).toBe(3);
    expect(clock.slept).toHaveLength(2);
  });

  it('throws the last error once the attempts are used up', async () => {
    const clock = FakeClock.instant(START);
    const errors = [new Retryable('first'), new Retryable('second'), new Retryable('third')];
    const work = failingThen(errors, 'never');

    await expect(retry(work.attempt, options(clock, { maxAttempts: 3 }))).rejects.toBe(errors[2]);
    expect(work.calls).toBe(3);
    expect(clock.slept).toHaveLength(2);
  });

  it('throws a non-retryable error at once', async () => {
    const clock = FakeClock.instant(START);
    const fatal = new Error('36004005');
    const work = failingThen([new Retryable('503'), fatal], 'never');

    await expect(retry(work.attempt, options(clock))).rejects.toBe(fatal);
    expect(work.calls).toBe(2);
    expect(clock.slept).toHaveLength(1);
  });

  it('makes a single attempt when maxAttempts is 1', async () => {
    const clock = FakeClock.instant(START);
    const error = new Retryable('503');
    const work = failingThen([error], 'never');

    await expect(retry(work.attempt, options(clock, { maxAttempts: 1 }))).rejects.toBe(error);
    expect(clock.slept).toEqual([]);
  });

  it('grows the waits exponentially up to maxDelayMs', async () => {
    // Prepare: the largest jitter, so each wait is its ceiling
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const clock = FakeClock.instant(START);
    const work = failingThen(
      Array.from({ length: 5 }, () => new Retryable('503')),
      'token',
    );

    // Act
    await retry(work.attempt, options(clock, { maxAttempts: 6 }));

    // Assess
    expect(clock.slept).toEqual([200, 400, 800, 1_000, 1_000]);
    expect(clock.now()).toBe(START + 3_400);
  });

  it('spreads the waits with full jitter', async () => {
    vi.spyOn(Math, 'random').mockReturnValueOnce(0).mockReturnValueOnce(0.5);
    const clock = FakeClock.instant(START);
    const work = failingThen([new Retryable('503'), new Retryable('503')], 'token');

    await retry(work.attempt, options(clock));

    expect(clock.slept).toEqual([0, 200]);
  });

  it('honours a retryAfterMs hint longer than the backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const clock = FakeClock.instant(START);
    const work = failingThen([new Retryable('429', 2_500), new Retryable('429', 10)], 'token');

    await retry(work.attempt, options(clock));

    expect(clock.slept).toEqual([2_500, 200]);
  });

  it('stops before a wait that would pass the deadline and throws the last error', async () => {
    // Prepare
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const clock = FakeClock.instant(START);
    const last = new Retryable('second');
    const work = failingThen([new Retryable('first'), last], 'never');

    // Act: the first wait (200 ms) fits, the second (400 ms) would end at the deadline
    const outcome = retry(work.attempt, options(clock, { deadline: START + 600 }));

    // Assess
    await expect(outcome).rejects.toBe(last);
    expect(work.calls).toBe(2);
    expect(clock.slept).toEqual([200]);
  });

  it('starts no attempt when its deadline passed before it was called, saying what it was for', async () => {
    // Prepare: whatever the caller awaited before (a slow read) took the time the plan gave it
    const clock = FakeClock.instant(START);
    const work = failingThen([], 'token');

    // Act
    const outcome = retry(
      work.attempt,
      options(clock, { deadline: START - 1, what: 'call TikTok' }),
    );

    // Assess
    await expect(outcome).rejects.toThrow(DeadlineExceededError);
    await expect(outcome).rejects.toThrow('no time left to call TikTok: its deadline had passed');
    expect(work.calls).toBe(0);
  });

  it('retries freely while the deadline is far away', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const clock = FakeClock.instant(START);
    const work = failingThen([new Retryable('a'), new Retryable('b')], 'token');

    await expect(retry(work.attempt, options(clock, { deadline: START + 60_000 }))).resolves.toBe(
      'token',
    );
    expect(clock.slept).toEqual([200, 400]);
  });
});

describe('Class: RateLimiter', () => {
  it('lets the first call through at once', async () => {
    const clock = FakeClock.instant(START);

    await new RateLimiter(10, clock).take();

    expect(clock.slept).toEqual([]);
  });

  it('spaces calls made together evenly at the rate', async () => {
    // Prepare
    const clock = FakeClock.instant(START);
    const limiter = new RateLimiter(10, clock);

    // Act
    await Promise.all(Array.from({ length: 4 }, () => limiter.take()));

    // Assess: each caller waits for its own slot, 100 ms after the previous one
    expect(clock.slept).toEqual([100, 200, 300]);
    expect(clock.now()).toBe(START + 300);
  });

  it('spaces calls made one after another', async () => {
    const clock = FakeClock.instant(START);
    const limiter = new RateLimiter(4, clock);

    await limiter.take();
    await limiter.take();
    await limiter.take();

    expect(clock.slept).toEqual([250, 250]);
    expect(clock.now()).toBe(START + 500);
  });

  it('does not wait after a pause longer than the spacing', async () => {
    const clock = FakeClock.instant(START);
    const limiter = new RateLimiter(2, clock);

    await limiter.take();
    clock.setNow(START + 5_000);
    await limiter.take();

    expect(clock.slept).toEqual([]);
  });

  it('waits only for the rest of the spacing', async () => {
    const clock = FakeClock.instant(START);
    const limiter = new RateLimiter(2, clock);

    await limiter.take();
    clock.setNow(START + 300);
    await limiter.take();

    expect(clock.slept).toEqual([200]);
  });
});

describe('Function: mapWithConcurrency', () => {
  /** Work whose calls stay in flight until the test lets them finish. */
  function controlledWork() {
    const pending = new Map<number, () => void>();
    const started: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const work = async (item: number): Promise<string> => {
      started.push(item);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((resolve) => pending.set(item, resolve));
      inFlight--;
      return `done ${item}`;
    };
    const finish = async (item: number): Promise<void> => {
      const resolve = pending.get(item);
      if (resolve === undefined) throw new Error(`item ${item} is not in flight`);
      pending.delete(item);
      resolve();
      await new Promise((tick) => setImmediate(tick));
    };
    return { work, finish, started, maxInFlight: () => maxInFlight, pending };
  }

  it('never has more than the limit in flight and answers in input order', async () => {
    // Prepare
    const control = controlledWork();

    // Act
    const run = mapWithConcurrency([1, 2, 3, 4, 5], 2, control.work);
    await new Promise((tick) => setImmediate(tick));
    expect(control.started).toEqual([1, 2]);
    await control.finish(2);
    expect(control.started).toEqual([1, 2, 3]);
    await control.finish(3);
    await control.finish(1);
    expect(control.started).toEqual([1, 2, 3, 4, 5]);
    await control.finish(5);
    await control.finish(4);
    const results = await run;

    // Assess
    expect(control.maxInFlight()).toBe(2);
    expect(results).toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
  });

  it('starts every item at once when the limit exceeds the items', async () => {
    const control = controlledWork();

    const run = mapWithConcurrency([1, 2, 3], 10, control.work);
    await new Promise((tick) => setImmediate(tick));
    expect(control.started).toEqual([1, 2, 3]);
    for (const item of [3, 1, 2]) await control.finish(item);

    await expect(run).resolves.toEqual(['done 1', 'done 2', 'done 3']);
    expect(control.maxInFlight()).toBe(3);
  });

  it('runs one at a time with a limit of 1', async () => {
    const control = controlledWork();

    const run = mapWithConcurrency([1, 2, 3], 1, control.work);
    for (const item of [1, 2, 3]) {
      await new Promise((tick) => setImmediate(tick));
      expect([...control.pending.keys()]).toEqual([item]);
      await control.finish(item);
    }

    await expect(run).resolves.toEqual(['done 1', 'done 2', 'done 3']);
    expect(control.maxInFlight()).toBe(1);
  });

  it('answers an empty list without calling work', async () => {
    const work = vi.fn(async (item: number) => item);

    await expect(mapWithConcurrency([], 5, work)).resolves.toEqual([]);
    expect(work).not.toHaveBeenCalled();
  });

  it("passes each item's position in the list", async () => {
    const positions = await mapWithConcurrency(['a', 'b', 'c'], 2, async (item, index) => ({
      item,
      index,
    }));

    expect(positions).toEqual([
      { item: 'a', index: 0 },
      { item: 'b', index: 1 },
      { item: 'c', index: 2 },
    ]);
  });
});

describe('Constant: systemClock', () => {
  it('tells the time of the system', () => {
    vi.useFakeTimers({ now: START });

    expect(systemClock.now()).toBe(START);
  });

  it('sleeps for the given time', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    let woke = false;

    // Act
    const sleeping = systemClock.sleep(1_000).then(() => {
      woke = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    const beforeTime = woke;
    await vi.advanceTimersByTimeAsync(1);
    await sleeping;

    // Assess
    expect(beforeTime).toBe(false);
    expect(woke).toBe(true);
  });

  it('wakes at once when the signal aborts, and leaves no timer behind', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });
    const cancel = new AbortController();

    // Act
    const sleeping = systemClock.sleep(60_000, cancel.signal);
    cancel.abort();
    await sleeping;

    // Assess
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not sleep on an aborted signal', async () => {
    vi.useFakeTimers({ now: START });

    await systemClock.sleep(60_000, AbortSignal.abort());

    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Function: abortAt', () => {
  it('aborts its signal at the given time, with the deadline as the reason', async () => {
    // Prepare
    vi.useFakeTimers({ now: START });

    // Act
    const { signal } = abortAt(systemClock, START + 5_000);
    await vi.advanceTimersByTimeAsync(4_999);
    const early = signal.aborted;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(early).toBe(false);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(DeadlineReached);
  });

  it('never aborts once cancelled, and stops its timer', async () => {
    vi.useFakeTimers({ now: START });

    const deadline = abortAt(systemClock, START + 5_000);
    deadline.cancel();
    await vi.advanceTimersByTimeAsync(10_000);

    expect(deadline.signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sets no timer for an infinite deadline', () => {
    vi.useFakeTimers({ now: START });

    const { signal } = abortAt(systemClock, Number.POSITIVE_INFINITY);

    expect(signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Function: settleBy', () => {
  it("answers the work's value when it settles before the deadline, and stops its timer", async () => {
    vi.useFakeTimers({ now: START });

    const settled = settleBy(Promise.resolve('done'), START + 5_000, systemClock);

    await expect(settled).resolves.toBe('done');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('answers undefined at the deadline when the work goes on', async () => {
    vi.useFakeTimers({ now: START });
    let answer: string | undefined = 'not yet';

    const settled = settleBy(new Promise<string>(() => {}), START + 5_000, systemClock).then(
      (value) => {
        answer = value;
      },
    );
    await vi.advanceTimersByTimeAsync(4_999);
    const early = answer;
    await vi.advanceTimersByTimeAsync(1);
    await settled;

    expect(early).toBe('not yet');
    expect(answer).toBeUndefined();
  });

  it('waits for the work, with no timer, when the deadline is infinite', async () => {
    vi.useFakeTimers({ now: START });

    const settled = settleBy(Promise.resolve(7), Number.POSITIVE_INFINITY, systemClock);

    expect(vi.getTimerCount()).toBe(0);
    await expect(settled).resolves.toBe(7);
  });
});
