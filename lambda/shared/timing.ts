/** Time, waiting, pacing and bounded parallelism: everything the core does with the clock. */

import { DeadlineExceededError, TransientError } from './errors.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (its timer is then cleared). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const stop = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', stop);
        resolve();
      }, ms);
      signal?.addEventListener('abort', stop, { once: true });
    }),
};

/** Why a signal from `abortAt` aborted: the time it stood for has come. */
export class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
}

/**
 * A signal that aborts at `epochMs` by `clock`, with a DeadlineReached reason; never for an
 * infinite deadline. `cancel` stops its timer; `stop` also aborts at once, so that nothing
 * outlives the invocation.
 */
export function abortAt(
  clock: Clock,
  epochMs: number,
): { signal: AbortSignal; cancel(): void; stop(): void } {
  const controller = new AbortController();
  const cancelled = new AbortController();
  if (Number.isFinite(epochMs)) {
    void clock.sleep(Math.max(0, epochMs - clock.now()), cancelled.signal).then(() => {
      if (!cancelled.signal.aborted) controller.abort(new DeadlineReached('deadline reached'));
    });
  }
  const cancel = () => cancelled.abort();
  return {
    signal: controller.signal,
    cancel,
    // The work is over: whatever is still in flight (a read no one waits for) stops now.
    stop: () => {
      cancel();
      controller.abort(new DeadlineReached('invocation over'));
    },
  };
}

/**
 * Whether `work` settled by `deadline`: its value then, undefined when the deadline came first
 * (the work goes on unobserved; its calls are bounded by their own timeouts and signals).
 */
export async function settleBy<T>(
  work: Promise<T>,
  deadline: number,
  clock: Clock,
): Promise<T | undefined> {
  if (!Number.isFinite(deadline)) return work;
  const stop = new AbortController();
  try {
    return await Promise.race([
      work,
      clock.sleep(Math.max(0, deadline - clock.now()), stop.signal).then(() => undefined),
    ]);
  } finally {
    stop.abort();
  }
}

export interface RetryOptions {
  readonly clock: Clock;
  readonly isRetryable: (error: unknown) => boolean;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Epoch ms after which no attempt is started, the first one included. */
  readonly deadline?: number;
  /** What the call does, for the error when its deadline passed before it started: `call X`. */
  readonly what?: string;
}

/**
 * Calls `attempt` until it succeeds, a non-retryable error comes, the attempts are used up or the
 * next wait would pass the deadline; then the last error is thrown. Waits grow exponentially with
 * full jitter so that parallel callers spread out; a TransientError's `retryAfterMs` is honoured.
 * A deadline already past when it is called is a DeadlineExceededError: whatever the caller
 * awaited before may have taken the time the plan gave the call.
 */
export async function retry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  if (options.deadline !== undefined && options.clock.now() > options.deadline) {
    throw new DeadlineExceededError(
      `no time left to ${options.what ?? 'start the call'}: its deadline had passed`,
    );
  }
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= options.maxAttempts || !options.isRetryable(error)) throw error;
      const backoff = Math.random() * Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** n);
      const delay = Math.max(backoff, error instanceof TransientError ? error.retryAfterMs : 0);
      if (options.deadline !== undefined && options.clock.now() + delay >= options.deadline) {
        throw error;
      }
      await options.clock.sleep(delay);
    }
  }
}

/**
 * Spaces calls evenly at a fixed rate, shared by every caller. Secrets Manager's write quota is
 * regional and shared, so pacing below it beats bursting into throttling and backing off.
 */
export class RateLimiter {
  #nextSlot = 0;

  constructor(
    private readonly perSecond: number,
    private readonly clock: Clock,
  ) {}

  async take(): Promise<void> {
    const now = this.clock.now();
    const slot = Math.max(now, this.#nextSlot);
    this.#nextSlot = slot + 1000 / this.perSecond;
    if (slot > now) await this.clock.sleep(slot - now);
  }
}

/** Runs `work` over `items` with at most `limit` in flight; `work` must not throw. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
