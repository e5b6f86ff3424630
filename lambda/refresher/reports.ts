// What a run says about each shop (its summary line, events and log line) and about itself (its
// metrics), built from plain values; nothing here logs, publishes or reads the clock.
import { describeRefreshNeed, type RunBudget } from '../shared/budget.js';
import { DEFAULT_APP, DETAIL_TYPE, METRIC } from '../shared/contract.js';
import {
  DeadlineExceededError,
  describeError,
  OversizedAnswerError,
  ReauthorizationRequiredError,
  RefresherError,
  RefreshTokenExpiredError,
  SellerChangedError,
  ShopDeauthorizedError,
  TokenNotCurrentError,
  TokenNotStoredError,
} from '../shared/errors.js';
import type { RefresherEvent } from '../shared/event-publisher.js';
import { expiresAt, type TokenDocument } from '../shared/token.js';
import type { RunRequest } from './run-request.js';
import { appOf, type Shop } from './shops.js';
import { authorizationExpiring } from './token-policy.js';

export type Outcome = 'refreshed' | 'skipped' | 'superseded' | 'failed';

/** One shop's line in the summary. Holds no token, secret or URL. */
export interface ShopResult {
  readonly shop: string;
  /** The shop's TikTok app, when it is not DEFAULT_APP (a one-app deployment's results have none). */
  readonly app?: string;
  readonly outcome: Outcome;
  /** Why a shop was skipped: its token is not due, or the run was a dry run. */
  readonly reason?: 'not-due' | 'dry-run';
  /** The new token came from an earlier run's write that had not been made current. */
  readonly recovered?: boolean;
  /** TikTok's answer was longer than a secret holds: the token's fields were stored without the rest. */
  readonly trimmedFromBytes?: number;
  /** Expiry of the token stored after this run (ISO 8601). */
  readonly accessTokenExpiresAt?: string;
  readonly refreshTokenExpiresAt?: string;
  readonly errorType?: string;
  readonly tiktokCode?: number;
  readonly message?: string;
  /** A later attempt may succeed; the invocation fails so that Lambda retries it. */
  readonly retryable?: boolean;
  /**
   * The invocation fails: every retryable failure, and those that a retry cannot fix but that a
   * person must see at once (an answer kept but not current, a shop of an unknown app).
   */
  readonly failsInvocation?: boolean;
  /**
   * Left for lack of time before anything irreversible: the refresh was not started (the shop
   * was at most read, or an earlier run's token being made current). The next invocation takes
   * it as it is; a refresh cut while at TikTok or while storing is no such shop.
   */
  readonly deferred?: true;
}

export interface RunSummary {
  readonly trigger: RunRequest['trigger'];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly counts: Readonly<Record<Outcome, number>>;
  readonly shops: readonly ShopResult[];
}

export interface ShopReport {
  readonly result: ShopResult;
  /** The token readers get after this run, if one could be read. */
  readonly inEffect?: TokenDocument;
  readonly events: readonly RefresherEvent[];
}

/** What a shop was doing, for one that had not finished when the run's time was up. */
export type Stage = 'reading' | 'promoting' | 'refreshing' | 'storing';

const STAGE_TEXT: Readonly<Record<Exclude<Stage, 'storing'>, string>> = {
  reading: 'reading the token from Secrets Manager',
  promoting: 'making the token an earlier run stored current',
  refreshing: 'the refresh at TikTok',
};

export function skippedReport(
  shop: Shop,
  token: TokenDocument,
  reason: 'not-due' | 'dry-run',
): ShopReport {
  return {
    result: { shop: shop.name, ...appField(shop), outcome: 'skipped', reason, ...expiries(token) },
    inEffect: token,
    events: [],
  };
}

export function supersededReport(shop: Shop): ShopReport {
  const message = 'another writer stored a newer token first; it was kept';
  return {
    result: { shop: shop.name, ...appField(shop), outcome: 'superseded', message },
    events: [],
  };
}

export function refreshedReport(
  shop: Shop,
  token: TokenDocument,
  recovered: boolean,
  now: number,
): ShopReport {
  const times = expiries(token);
  const result: ShopResult = {
    shop: shop.name,
    ...appField(shop),
    outcome: 'refreshed',
    ...(recovered ? { recovered } : {}),
    ...times,
  };
  const events: RefresherEvent[] = [
    {
      detailType: DETAIL_TYPE.tokenRefreshed,
      detail: { shop: shop.name, ...appField(shop), ...times },
    },
  ];
  // Announced once per refresh (every few days), not every hour, so a subscriber is not flooded.
  if (authorizationExpiring(token, now)) {
    events.push({
      detailType: DETAIL_TYPE.authorizationExpiring,
      // The webhook receiver's event of the same name carries authorizationExpiresAt too.
      detail: {
        shop: shop.name,
        ...appField(shop),
        ...times,
        authorizationExpiresAt: times.refreshTokenExpiresAt,
      },
    });
  }
  return { result, inEffect: token, events };
}

export function failedReport(
  shop: Shop,
  error: unknown,
  inEffect: TokenDocument | undefined,
): ShopReport {
  const described = describeError(error);
  // Something unforeseen (a bug) may pass on its own: it is retried.
  const known = error instanceof RefresherError ? error : undefined;
  const result: ShopResult = {
    shop: shop.name,
    ...appField(shop),
    outcome: 'failed',
    ...described,
    retryable: known?.retryable ?? true,
    failsInvocation: known?.failsInvocation ?? true,
    ...(inEffect === undefined ? {} : expiries(inEffect)),
  };
  const kept = error instanceof TokenNotCurrentError ? error.kept : undefined;
  const deauthorized =
    error instanceof ShopDeauthorizedError ? { deauthorizedAt: error.deauthorizedAt } : undefined;
  const detail = { ...result, ...(kept ?? {}), ...(deauthorized ?? {}) };
  return {
    result,
    ...(inEffect === undefined ? {} : { inEffect }),
    events: [{ detailType: detailTypeOf(error), detail }],
  };
}

/** The run's time, to say why a refresh was not started and what would let it start. */
export interface RunTime {
  readonly budget: RunBudget;
  /** The time the run had at its start: tells a timeout too short from a run that ran out. */
  readonly startedWithMs: number;
  /** Milliseconds left for the run's work. */
  readonly workLeftMs: number;
}

/**
 * A refresh refused for lack of time, with a message that says what one needs and how to get it.
 * Logged and counted like any failure, but published as no event: nothing went wrong with the
 * shop, and a run out of time would otherwise send one event per shop it left to the retry.
 */
export function deferredReport(
  shop: Shop,
  inEffect: TokenDocument | undefined,
  { budget, startedWithMs, workLeftMs }: RunTime,
): ShopReport {
  const invocationLeftMs = workLeftMs + budget.reportReserveMs + budget.finishMarginMs;
  const advice =
    startedWithMs < budget.refreshNeedMs
      ? `give the function a timeout of at least ${budget.minimumTimeoutMs / 1000} s (the construct's timeout prop)`
      : "the run ran out of time: the next invocation (the run state machine's, Lambda's retry or the next run) refreshes the shop, most urgent first; a longer timeout, more invocationsPerRun or a shorter refreshInterval refreshes more shops per run";
  const error = new DeadlineExceededError(
    `refresh not started: ${(Math.max(0, invocationLeftMs) / 1000).toFixed(1)} s left in the invocation, one refresh needs ${describeRefreshNeed(budget)}; ${advice}`,
  );
  const report = failedReport(shop, error, inEffect);
  return { ...report, result: { ...report.result, deferred: true }, events: [] };
}

/** Stages whose cut leaves nothing TikTok issued behind: the next invocation starts again. */
const DEFERRABLE_STAGES: readonly (Stage | undefined)[] = [undefined, 'reading', 'promoting'];

/** A shop still at work when the run's time was up. */
export function unfinishedReport(shop: Shop, stage: Stage | undefined): ShopReport {
  const error =
    stage === 'storing'
      ? new TokenNotStoredError(
          "TikTok issued a new token and storing it did not finish before the invocation's deadline; if it reached Secrets Manager it waits as AWSPENDING and the next run makes it current",
        )
      : new DeadlineExceededError(
          stage === undefined
            ? "not reached before the invocation's deadline; the next run tries again"
            : `${STAGE_TEXT[stage]} did not finish before the invocation's deadline; the next run tries again`,
        );
  const report = failedReport(shop, error, undefined);
  return DEFERRABLE_STAGES.includes(stage)
    ? { ...report, result: { ...report.result, deferred: true } }
    : report;
}

function detailTypeOf(error: unknown): string {
  if (error instanceof ShopDeauthorizedError) return DETAIL_TYPE.shopDeauthorized;
  if (error instanceof ReauthorizationRequiredError) return DETAIL_TYPE.reauthorizationRequired;
  if (error instanceof RefreshTokenExpiredError) return DETAIL_TYPE.refreshTokenExpired;
  if (error instanceof SellerChangedError) return DETAIL_TYPE.sellerChanged;
  if (error instanceof TokenNotCurrentError) return DETAIL_TYPE.tokenNotCurrent;
  return DETAIL_TYPE.tokenRefreshFailed;
}

/** A result as a log line: failures at error level, every other outcome at info. */
export function logLineOf(result: ShopResult): {
  level: 'info' | 'error';
  message: string;
  extra: Record<string, unknown>;
} {
  // Powertools reserves `message` for the log line's own text, so the result's goes elsewhere.
  const { message: errorMessage, ...fields } = result;
  const extra = errorMessage === undefined ? fields : { ...fields, errorMessage };
  return result.outcome === 'failed'
    ? { level: 'error', message: 'shop failed', extra }
    : { level: 'info', message: `shop ${result.outcome}`, extra };
}

/** The run's summary: its request, every shop's result and the count of each outcome. */
export function summaryOf(request: RunRequest, results: readonly ShopResult[]): RunSummary {
  const counts = { refreshed: 0, skipped: 0, superseded: 0, failed: 0 };
  for (const result of results) counts[result.outcome]++;
  const { trigger, force, dryRun } = request;
  return { trigger, force, dryRun, counts, shops: results };
}

/** Failures after which only the seller authorizing again helps: the reauthorization alarm's. */
const REAUTHORIZATION_TYPES: readonly string[] = [
  ReauthorizationRequiredError.name,
  RefreshTokenExpiredError.name,
  ShopDeauthorizedError.name,
];
/** Failures that left TikTok's answer stored as a version that is not current. */
const NOT_CURRENT_TYPES: readonly string[] = [TokenNotCurrentError.name, SellerChangedError.name];

/** What the metrics need of the tokens in effect after the run. */
export interface TokensInEffect {
  readonly authorizationExpiring: number;
  /** Epoch seconds. */
  readonly soonestAccessExpiry: number | undefined;
}

export type Datapoint = readonly [name: string, unit: 'Count' | 'Seconds', value: number];

/** The run's metrics, one datapoint each; `now` in epoch ms. */
export function runMetrics(
  all: readonly ShopResult[],
  tokens: TokensInEffect,
  unpublished: number,
  now: number,
  request: Pick<RunRequest, 'chained'> = {},
): Datapoint[] {
  // In a chain, a deferred shop is the next invocation's: no failure, nothing to alarm on.
  const results = request.chained === true ? all.filter((r) => r.deferred !== true) : all;
  const count = (predicate: (result: ShopResult) => boolean): number =>
    results.filter(predicate).length;
  const counts: [string, number][] = [
    [METRIC.tokensRefreshed, count((r) => r.outcome === 'refreshed')],
    [METRIC.tokensSkipped, count((r) => r.outcome === 'skipped')],
    [METRIC.tokensSuperseded, count((r) => r.outcome === 'superseded')],
    [METRIC.refreshFailures, count((r) => r.outcome === 'failed')],
    [
      METRIC.reauthorizationRequired,
      count((r) => REAUTHORIZATION_TYPES.includes(r.errorType ?? '')),
    ],
    [METRIC.transientFailures, count((r) => r.outcome === 'failed' && r.retryable === true)],
    [METRIC.unexpectedResponses, count((r) => r.errorType === 'UnexpectedResponseError')],
    [METRIC.malformedSecrets, count((r) => r.errorType === 'MalformedSecretError')],
    [METRIC.tokensNotStored, count((r) => r.errorType === 'TokenNotStoredError')],
    [METRIC.authorizationExpiring, tokens.authorizationExpiring],
    [METRIC.eventPublishFailures, unpublished],
    [METRIC.tokensNotCurrent, count((r) => NOT_CURRENT_TYPES.includes(r.errorType ?? ''))],
    [METRIC.sellersChanged, count((r) => r.errorType === SellerChangedError.name)],
    [METRIC.refreshTokensExpired, count((r) => r.errorType === RefreshTokenExpiredError.name)],
    [METRIC.answersTrimmed, count((r) => r.trimmedFromBytes !== undefined)],
    [METRIC.shopsDeauthorized, count((r) => r.errorType === ShopDeauthorizedError.name)],
    [METRIC.oversizedAnswers, count((r) => r.errorType === OversizedAnswerError.name)],
  ];
  const datapoints: Datapoint[] = counts.map(([name, value]) => [name, 'Count', value]);
  // No datapoint when no token could be read: the expiry alarm treats missing data as breaching.
  if (tokens.soonestAccessExpiry !== undefined) {
    datapoints.push([
      METRIC.minAccessTokenLifetime,
      'Seconds',
      Math.max(0, Math.floor(tokens.soonestAccessExpiry - now / 1000)),
    ]);
  }
  return datapoints;
}

function expiries(token: TokenDocument): {
  accessTokenExpiresAt: string;
  refreshTokenExpiresAt: string;
} {
  return {
    accessTokenExpiresAt: expiresAt(token.data.access_token_expire_in),
    refreshTokenExpiresAt: expiresAt(token.data.refresh_token_expire_in),
  };
}

/** What a shop's results and events say of its app: nothing for DEFAULT_APP, as with one app. */
function appField(shop: Shop): { app?: string } {
  const app = appOf(shop);
  return app === DEFAULT_APP ? {} : { app };
}
