import { CHAINED_EVENT } from '../../infra/run-events.js';
import { runBudget } from '../../lambda/shared/budget.js';
import { DEFAULTS, ENV } from '../../lambda/shared/contract.js';
import type { LocalDeployment } from '../support/local-deployment.js';
import type { BacklogPace } from './backlog-chain.js';

/**
 * More due shops than one run can refresh: what a run does with the time it has. Every shop is
 * due, with expiries spread over 1 to 41 hours in no particular order, and TikTok answers in
 * 300 ms; the run refreshes the most urgent while one more refresh fits, leaves the rest
 * (DeadlineExceededError, no event) and reports before its deadline. Each invocation is one of
 * a run state machine's (CHAINED_EVENT): it returns how many shops it left, and the next takes
 * them. (Without the chain the same shops fail the invocation, so Lambda retries it.) The runs
 * here are shorter than the default 5 minutes so that the bench stays short; the projections
 * scale the measured pace to longer timeouts.
 */

const HOUR = 3600;
const MIN_TTL_SECONDS = HOUR;
const TTL_SPREAD_SECONDS = 40 * HOUR;
const DEFAULT_TIMEOUT_MS = 300_000;
/** Issue 19: the backlog is measured with TikTok answering in 300 ms. */
export const TIKTOK_LATENCY_MS = 300;
/** Lambda's async invocation: the run itself and up to two retries. */
const ATTEMPTS_PER_EVENT = 3;

export interface BacklogRun {
  readonly refreshed: number;
  /** Refused for lack of time: left to the next invocation. */
  readonly deferred: number;
  /** What the invocation returned: the shops it left for the next one. */
  readonly shopsLeft: number;
  readonly otherFailures: number;
  /** From the invocation's start until every shop was read (the `shops read` log line). */
  readonly readAllMs: number;
  /** Refreshed once every shop was read: from then on the most urgent shop left goes next. */
  readonly refreshedAfterReading: number;
  /** Of those, how many expire before every shop still due after the run. */
  readonly moreUrgentThanLeftover: number;
  /** From the invocation's start to its first and its last TikTok call. */
  readonly firstRefreshMs: number;
  readonly lastRefreshMs: number;
  readonly durationMs: number;
  readonly cutShort: boolean;
  readonly errorType?: string;
  readonly errorMessageLength: number;
  readonly longestLogLine: number;
  readonly unpublishedEvents: number;
  readonly maxRssKb: number;
}

export interface Backlog {
  readonly shops: number;
  readonly timeoutMs: number;
  /** Time one refresh needs: no refresh starts with less left. */
  readonly refreshNeedMs: number;
  readonly runs: readonly BacklogRun[];
  /** Shops one run of the default timeout refreshes at the measured pace. */
  readonly perDefaultRun: number;
  readonly attemptsPerEvent: number;
}

export async function runBacklog(
  deployment: LocalDeployment,
  size: number,
  timeoutMs: number,
  runs: number,
): Promise<Backlog> {
  const tagKey = 'bench-backlog';
  const expiries = seedBacklog(deployment, size, tagKey);
  const environment = { [ENV.tokenSecretIds]: '', [ENV.tokenSecretTagKey]: tagKey };
  const budget = runBudget({
    tiktokTimeoutMs: Number(deployment.functionEnvironment[ENV.tiktokTimeoutMs]),
    maxConcurrency: Number(deployment.functionEnvironment[ENV.maxConcurrency]),
    secretWritesPerSecond: Number(deployment.functionEnvironment[ENV.secretWritesPerSecond]),
  });
  const stillDue = new Map(expiries);
  const results: BacklogRun[] = [];
  const latency = deployment.tiktok.latencyMs;
  deployment.tiktok.latencyMs = TIKTOK_LATENCY_MS;
  try {
    for (let run = 0; run < runs; run++) {
      results.push(
        await runBacklogInvocation(deployment, environment, timeoutMs, expiries, stillDue),
      );
    }
  } finally {
    deployment.tiktok.latencyMs = latency;
  }
  const first = results[0];
  const pace =
    first === undefined || first.lastRefreshMs <= first.firstRefreshMs
      ? 0
      : first.refreshed / ((first.lastRefreshMs - first.firstRefreshMs) / 1000);
  const window = DEFAULT_TIMEOUT_MS - budget.refreshNeedMs - (first?.firstRefreshMs ?? 0);
  return {
    shops: size,
    timeoutMs,
    refreshNeedMs: budget.refreshNeedMs,
    runs: results,
    perDefaultRun: Math.floor((pace * window) / 1000),
    attemptsPerEvent: ATTEMPTS_PER_EVENT,
  };
}

/** Every shop due, expiries spread evenly over 1 to 41 hours in a shuffled order. */
function seedBacklog(deployment: LocalDeployment, size: number, tagKey: string) {
  const expiries = new Map<string, number>();
  const now = Math.floor(Date.now() / 1000);
  for (let index = 0; index < size; index++) {
    // 7919 is prime and does not divide the size: a permutation of the positions.
    const position = (index * 7919) % size;
    const ttl = MIN_TTL_SECONDS + Math.floor((position * TTL_SPREAD_SECONDS) / size);
    const name = `tiktok-shop/tokens/backlog-${String(index).padStart(5, '0')}`;
    deployment.seedShop(name, { accessTtlSeconds: ttl, tagKey });
    expiries.set(name, now + ttl);
  }
  return expiries;
}

/** One chained invocation over a backlog whose shops' expiries are `expiries`; `stillDue` shrinks. */
export async function runBacklogInvocation(
  deployment: LocalDeployment,
  environment: Record<string, string>,
  timeoutMs: number,
  expiries: ReadonlyMap<string, number>,
  stillDue: Map<string, number>,
): Promise<BacklogRun> {
  const tiktokFrom = deployment.tiktok.calls.length;
  const started = Date.now();
  const outcome = await deployment.invoke(CHAINED_EVENT, { environment, timeoutMs });
  const durationMs = Date.now() - started;
  const refreshTimes = deployment.tiktok.calls.slice(tiktokFrom).map((call) => call.at - started);

  const entries = outcome.logs.flatMap((line): Record<string, unknown>[] => {
    const entry = parse(line);
    return entry === undefined ? [] : [entry];
  });
  const at = (entry: Record<string, unknown>) => Date.parse(String(entry.timestamp)) - started;
  const readAll = entries.find((entry) => entry.message === 'shops read');
  const readAllMs = readAll === undefined ? Number.NaN : at(readAll);
  const refreshed = entries.filter((entry) => entry.message === 'shop refreshed');
  const failed = entries.filter((entry) => entry.message === 'shop failed');
  for (const entry of refreshed) stillDue.delete(String(entry.shop));
  const soonestLeft = Math.min(...stillDue.values());
  const afterReading = refreshed.filter((entry) => at(entry) > readAllMs);
  const unpublished = entries.find((entry) => entry.message === 'events not published')?.failed;
  return {
    refreshed: refreshed.length,
    shopsLeft: Number(
      (outcome.result as { shopsLeft?: number } | undefined)?.shopsLeft ?? Number.NaN,
    ),
    deferred: failed.filter((entry) => entry.errorType === 'DeadlineExceededError').length,
    otherFailures: failed.filter((entry) => entry.errorType !== 'DeadlineExceededError').length,
    readAllMs,
    refreshedAfterReading: afterReading.length,
    moreUrgentThanLeftover: afterReading.filter(
      (entry) => (expiries.get(String(entry.shop)) ?? Number.POSITIVE_INFINITY) <= soonestLeft,
    ).length,
    firstRefreshMs: Math.min(...refreshTimes),
    lastRefreshMs: Math.max(...refreshTimes),
    durationMs,
    cutShort: outcome.error?.errorType === 'Sandbox.Timedout' || durationMs >= timeoutMs,
    ...(outcome.error === undefined ? {} : { errorType: outcome.error.errorType }),
    errorMessageLength: outcome.error?.errorMessage.length ?? 0,
    longestLogLine: Math.max(...outcome.logs.map((line) => line.length)),
    unpublishedEvents: typeof unpublished === 'number' ? unpublished : 0,
    maxRssKb: outcome.maxRssKb ?? Number.NaN,
  };
}

/** The pace and reads of a backlog's first invocation, for projections. */
export function backlogPace(
  store: BacklogPace['store'],
  shops: number,
  run: BacklogRun,
): BacklogPace {
  const refreshingMs = run.lastRefreshMs - run.firstRefreshMs;
  return {
    store,
    shops,
    readAllMs: run.readAllMs,
    refreshesPerSecond: refreshingMs > 0 ? run.refreshed / (refreshingMs / 1000) : 0,
    urgentFirstShare:
      run.refreshedAfterReading === 0 ? 1 : run.moreUrgentThanLeftover / run.refreshedAfterReading,
  };
}

function parse(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The part of a default run in which a refresh may start, and what is kept back. */
export function refreshWindow(): { reserveMs: number; timeoutMs: number; share: number } {
  const { refreshNeedMs } = runBudget(DEFAULTS);
  return {
    reserveMs: refreshNeedMs,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    share: refreshNeedMs / DEFAULT_TIMEOUT_MS,
  };
}
