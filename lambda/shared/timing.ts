/** Time, waiting, pacing and bounded parallelism: everything the core does with the clock. */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RetryOptions {
  readonly clock: Clock;
  readonly isRetryable: (error: unknown) => boolean;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Epoch ms after which no further attempt is started. */
  readonly deadline?: number;
}

/**
 * Calls `attempt` until it succeeds, a non-retryable error comes, the attempts are used up or the
 * next wait would pass the deadline; then the last error is thrown. Waits grow exponentially with
 * full jitter so that parallel callers spread out; a `retryAfterMs` on the error is honoured.
 */
export async function retry<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= options.maxAttempts || !options.isRetryable(error)) throw error;
      const backoff = Math.random() * Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** n);
      const delay = Math.max(backoff, retryAfterOf(error));
      if (options.deadline !== undefined && options.clock.now() + delay >= options.deadline) {
        throw error;
      }
      await options.clock.sleep(delay);
    }
  }
}

function retryAfterOf(error: unknown): number {
  const hint = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof hint === 'number' ? hint : 0;
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
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
