/**
 * How long each part of a refresh may take, from the timeouts that bound its calls. The function
 * plans every run with it (when a refresh may still start, when storing and reporting must end)
 * and the construct refuses a function timeout too short for one refresh: both read it here, so
 * the two never disagree.
 */

/** The longest one AWS call (Secrets Manager, EventBridge) may take, connection included. */
export const AWS_REQUEST_TIMEOUT_MS = 2_000;
/** The longest the connection phase of one AWS call may take. */
export const AWS_CONNECTION_TIMEOUT_MS = 1_000;

/**
 * The SDK clients' request handler options. `throwOnRequestTimeout` is what makes a request
 * timeout an error the retry strategy sees: without it, the SDK only logs a warning and the call
 * goes on waiting.
 */
export const AWS_REQUEST_HANDLER = {
  connectionTimeout: AWS_CONNECTION_TIMEOUT_MS,
  requestTimeout: AWS_REQUEST_TIMEOUT_MS,
  throwOnRequestTimeout: true,
} as const;

/** The token store's retry policy: throttling, 5xx and network errors, until the deadline. */
export const STORE_RETRY = { maxAttempts: 12, baseDelayMs: 100, maxDelayMs: 5_000 } as const;

/** Storing a new token: PutSecretValue (as AWSPENDING), then UpdateSecretVersionStage. */
const STORE_CALLS = 2;
/** Each store call is planned with one retry; more are made when time allows. */
const STORE_ATTEMPTS_PLANNED = 2;
/** Logs, metrics and the returned summary, after the events are out. */
const FINISH_MARGIN_MS = 1_000;
/** From the start of an invocation to the first shop's decision: init, listing, first reads. */
const STARTUP_ALLOWANCE_MS = 2_000;

export interface BudgetSettings {
  /** One TikTok attempt (TIKTOK_TIMEOUT_MS). */
  readonly tiktokTimeoutMs: number;
  /** Shops in flight at once (MAX_CONCURRENCY): how many writes may queue before one. */
  readonly maxConcurrency: number;
  /** Pace of writes (SECRET_WRITES_PER_SECOND). */
  readonly secretWritesPerSecond: number;
}

export interface RunBudget {
  /** One TikTok attempt: a refresh starts only when one fits, and retries only while one fits. */
  readonly tiktokAttemptMs: number;
  /** Kept after TikTok's last attempt for storing its answer: each store call with one retry. */
  readonly storeReserveMs: number;
  /** Kept after storing for publishing the events. */
  readonly reportReserveMs: number;
  /** Kept after the events for logs, metrics and the returned summary. */
  readonly finishMarginMs: number;
  /** What must be left in the invocation to start a refresh: all of the above. */
  readonly refreshNeedMs: number;
  /**
   * What must be left of the run's work time (up to `workEnd`, which already keeps the report
   * reserve and finish margin back) to start a refresh: one TikTok attempt and storing.
   */
  readonly workNeedMs: number;
  /** The shortest function timeout in which a run refreshes a shop: start-up, then one refresh. */
  readonly minimumTimeoutMs: number;
}

export function runBudget(settings: BudgetSettings): RunBudget {
  const firstBackoffMs = STORE_RETRY.baseDelayMs * 2;
  // Every shop in flight may have one write queued before ours at the paced rate.
  const pacingMs = (settings.maxConcurrency * 1000) / settings.secretWritesPerSecond;
  const storeReserveMs = Math.ceil(
    STORE_CALLS *
      (STORE_ATTEMPTS_PLANNED * AWS_REQUEST_TIMEOUT_MS +
        (STORE_ATTEMPTS_PLANNED - 1) * firstBackoffMs +
        pacingMs),
  );
  const reportReserveMs = AWS_REQUEST_TIMEOUT_MS;
  const refreshNeedMs =
    settings.tiktokTimeoutMs + storeReserveMs + reportReserveMs + FINISH_MARGIN_MS;
  return {
    tiktokAttemptMs: settings.tiktokTimeoutMs,
    storeReserveMs,
    reportReserveMs,
    finishMarginMs: FINISH_MARGIN_MS,
    refreshNeedMs,
    workNeedMs: settings.tiktokTimeoutMs + storeReserveMs,
    minimumTimeoutMs: Math.ceil((refreshNeedMs + STARTUP_ALLOWANCE_MS) / 1000) * 1000,
  };
}

/** `21.8 s (one TikTok attempt 10.0 s, storing 8.8 s, reporting 3.0 s)` */
export function describeRefreshNeed(budget: RunBudget): string {
  return (
    `${seconds(budget.refreshNeedMs)} (one TikTok attempt ${seconds(budget.tiktokAttemptMs)}, ` +
    `storing ${seconds(budget.storeReserveMs)}, ` +
    `reporting ${seconds(budget.reportReserveMs + budget.finishMarginMs)})`
  );
}

export interface RunDeadlines {
  /** Epoch ms by which every shop's work (reads, TikTok, writes) is over. */
  readonly workEnd: number;
  /** Epoch ms by which the events are published; logs, metrics and the result follow. */
  readonly reportEnd: number;
}

/** The run's deadlines, for an invocation with `remainingMs` left at `now`. */
export function runDeadlines(now: number, remainingMs: number, budget: RunBudget): RunDeadlines {
  const reportEnd = now + remainingMs - budget.finishMarginMs;
  return { workEnd: reportEnd - budget.reportReserveMs, reportEnd };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
