import { DEFAULTS, DETAIL_TYPE, METRIC } from '../shared/contract.js';
import {
  DeadlineExceededError,
  describeError,
  MalformedSecretError,
  ReauthorizationRequiredError,
  RefresherError,
  TokenNotStoredError,
} from '../shared/errors.js';
import type { EventPublisher, RefresherEvent } from '../shared/event-publisher.js';
import type { StoredToken, TokenStore, WriteOutcome } from '../shared/secrets-store.js';
import { type Clock, mapWithConcurrency } from '../shared/timing.js';
import {
  type AppCredentials,
  expiresAt,
  type ParsedToken,
  parseJson,
  type TokenDocument,
  TokenDocument as TokenDocumentSchema,
} from '../shared/token.js';
import type { RunRequest } from './run-request.js';
import type { Shop } from './shops.js';

export type Outcome = 'refreshed' | 'skipped' | 'superseded' | 'failed';

/** One shop's line in the summary. Holds no token, secret or URL. */
export interface ShopResult {
  readonly shop: string;
  readonly outcome: Outcome;
  /** Why a shop was skipped: its token is not due, or the run was a dry run. */
  readonly reason?: 'not-due' | 'dry-run';
  /** The new token came from an earlier run's write that had not been made current. */
  readonly recovered?: boolean;
  /** Expiry of the token stored after this run (ISO 8601). */
  readonly accessTokenExpiresAt?: string;
  readonly refreshTokenExpiresAt?: string;
  readonly errorType?: string;
  readonly tiktokCode?: number;
  readonly message?: string;
  /** A later attempt may succeed; the invocation fails so that Lambda retries it. */
  readonly retryable?: boolean;
}

export interface RunSummary {
  readonly trigger: RunRequest['trigger'];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly counts: Readonly<Record<Outcome, number>>;
  readonly shops: readonly ShopResult[];
}

export interface Logger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface Metrics {
  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): void;
}

export interface TokenRefresher {
  /** Longest one refresh call can take, retries included. */
  readonly worstCaseMs: number;
  refreshToken(
    credentials: AppCredentials,
    refreshToken: string,
    deadline?: number,
  ): Promise<ParsedToken>;
}

/** Everything the core talks to, passed in so that it builds nothing itself. */
export interface RefreshDependencies {
  readonly store: TokenStore;
  readonly tiktok: TokenRefresher;
  readonly appCredentials: () => Promise<AppCredentials>;
  readonly events: EventPublisher;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Milliseconds left in the invocation. */
  readonly remainingMs: () => number;
}

export interface RefreshSettings {
  readonly refreshBeforeExpirySeconds: number;
  readonly maxConcurrency: number;
}

/** Time kept back in the invocation for storing a token TikTok has answered with. */
const STORE_RESERVE_MS = 30_000;

interface ShopReport {
  readonly result: ShopResult;
  /** The token readers get after this run, if one could be read. */
  readonly inEffect?: TokenDocument;
  readonly events: readonly RefresherEvent[];
}

/**
 * One run over the given shops: read each token, refresh the due ones, store the answers, then
 * report. One shop's failure never stops the others; every outcome is logged, counted and,
 * where someone may need to act, published as an event.
 */
export async function refreshShops(
  shops: readonly Shop[],
  request: RunRequest,
  settings: RefreshSettings,
  deps: RefreshDependencies,
): Promise<RunSummary> {
  const credentials = once(deps.appCredentials);
  // Read beside the shops' own reads, so that a refresh does not wait a round trip for it.
  // A failure here is reported by each shop that needs the credentials.
  if (!request.dryRun && shops.length > 0) credentials().catch(() => {});
  const reports = await mapWithConcurrency(shops, settings.maxConcurrency, (shop) =>
    refreshShop(shop, request, settings, deps, credentials),
  );

  for (const { result } of reports) {
    // Powertools reserves `message` for the log line's own text, so the result's goes elsewhere.
    const { message: errorMessage, ...fields } = result;
    const extra = errorMessage === undefined ? fields : { ...fields, errorMessage };
    if (result.outcome === 'failed') deps.logger.error('shop failed', extra);
    else deps.logger.info(`shop ${result.outcome}`, extra);
  }
  const published = await deps.events.publish(reports.flatMap((report) => report.events));
  if (published.failed > 0) {
    deps.logger.warn('events not published', {
      failed: published.failed,
      reasons: published.reasons,
    });
  }
  recordMetrics(reports, published.failed, deps);

  const results = reports.map((report) => report.result);
  const counts = { refreshed: 0, skipped: 0, superseded: 0, failed: 0 };
  for (const result of results) counts[result.outcome]++;
  const summary = {
    trigger: request.trigger,
    force: request.force,
    dryRun: request.dryRun,
    counts,
    shops: results,
  };
  deps.logger.info('refresh run finished', {
    trigger: request.trigger,
    dryRun: request.dryRun,
    counts,
  });
  return summary;
}

async function refreshShop(
  shop: Shop,
  request: RunRequest,
  settings: RefreshSettings,
  deps: RefreshDependencies,
  credentials: () => Promise<AppCredentials>,
): Promise<ShopReport> {
  let inEffect: TokenDocument | undefined;
  try {
    const stored = await deps.store.read(shop.id);
    let token = parseStoredToken(stored.current.raw, shop);
    let basedOn = stored.current.versionId;
    inEffect = token;

    // An earlier run stored a newer token but did not get to make it current. Its refresh token
    // may be the only one TikTok still accepts, so it is promoted instead of refreshing again.
    const interrupted = request.dryRun ? undefined : interruptedWrite(stored, token);
    if (interrupted !== undefined) {
      const promoted = await deps.store.promote(shop.id, interrupted.versionId, basedOn);
      if (!promoted.stored) return supersededReport(shop);
      token = interrupted.token;
      basedOn = interrupted.versionId;
      inEffect = token;
    }
    const recovered = interrupted !== undefined;

    const now = deps.clock.now();
    const msLeft = token.data.access_token_expire_in * 1000 - now;
    if (!request.force && msLeft >= settings.refreshBeforeExpirySeconds * 1000) {
      return recovered
        ? refreshedReport(shop, token, true, now)
        : skippedReport(shop, token, 'not-due');
    }
    if (token.data.refresh_token_expire_in * 1000 <= now) {
      throw new ReauthorizationRequiredError(
        `seller must authorize again: the stored refresh token expired at ${expiresAt(token.data.refresh_token_expire_in)}`,
      );
    }
    if (request.dryRun) {
      await credentials(); // a dry run still proves that the app credentials are readable
      return skippedReport(shop, token, 'dry-run');
    }
    const neededMs = deps.tiktok.worstCaseMs + STORE_RESERVE_MS;
    if (deps.remainingMs() < neededMs) {
      throw new DeadlineExceededError(
        `refresh not started: ${Math.round(deps.remainingMs() / 1000)} s left in the invocation, one needs up to ${Math.round(neededMs / 1000)} s`,
      );
    }

    let answer: ParsedToken;
    try {
      const deadline = now + deps.remainingMs() - STORE_RESERVE_MS;
      answer = await deps.tiktok.refreshToken(
        await credentials(),
        token.data.refresh_token,
        deadline,
      );
    } catch (error) {
      if (
        error instanceof ReauthorizationRequiredError &&
        (await anotherWriterMovedOn(shop, basedOn, deps))
      ) {
        return supersededReport(shop);
      }
      throw error;
    }

    let written: WriteOutcome;
    try {
      written = await deps.store.replace(shop.id, answer.raw, basedOn);
    } catch (error) {
      throw new TokenNotStoredError(
        `TikTok issued a new token that could not be stored: ${describeError(error).message}`,
        { cause: error },
      );
    }
    if (!written.stored) return supersededReport(shop);
    return refreshedReport(shop, answer.document, recovered, now);
  } catch (error) {
    return failedReport(shop, error, inEffect);
  }
}

/** Pauses between looks at the store after TikTok refused a refresh token, in ms. */
const MOVED_ON_CHECKS_MS = [0, 500, 1_000, 2_000, 4_000];

/**
 * With rotating refresh tokens, a concurrent writer's refresh makes ours look revoked, and its
 * new token may still be on its way to the store (written, not yet current). So the store is
 * looked at a few times before concluding that the seller must authorize again: a new current
 * version, or a pending one written after it, means someone else holds the working token.
 */
async function anotherWriterMovedOn(
  shop: Shop,
  basedOn: string,
  deps: RefreshDependencies,
): Promise<boolean> {
  for (const pauseMs of MOVED_ON_CHECKS_MS) {
    if (deps.remainingMs() - pauseMs < STORE_RESERVE_MS) break;
    await deps.clock.sleep(pauseMs);
    const latest = await deps.store.read(shop.id);
    if (latest.current.versionId !== basedOn) return true;
    const pending = latest.pending;
    if (pending !== undefined && (pending.createdAt ?? 0) >= (latest.current.createdAt ?? 0)) {
      return true;
    }
  }
  return false;
}

/**
 * The pending version, if it is an interrupted write: written after the current version (a
 * label left behind on an older version does not count) and holding a valid token that
 * outlives the current one.
 */
function interruptedWrite(
  stored: StoredToken,
  current: TokenDocument,
): { versionId: string; token: TokenDocument } | undefined {
  const { pending } = stored;
  if (pending === undefined) return undefined;
  if ((pending.createdAt ?? 0) < (stored.current.createdAt ?? 0)) return undefined;
  const token = tryParseToken(pending.raw);
  if (token === undefined) return undefined;
  if (token.data.access_token_expire_in <= current.data.access_token_expire_in) return undefined;
  return { versionId: pending.versionId, token };
}

function skippedReport(
  shop: Shop,
  token: TokenDocument,
  reason: 'not-due' | 'dry-run',
): ShopReport {
  return {
    result: { shop: shop.name, outcome: 'skipped', reason, ...expiries(token) },
    inEffect: token,
    events: [],
  };
}

function supersededReport(shop: Shop): ShopReport {
  const message = 'another writer stored a newer token first; it was kept';
  return { result: { shop: shop.name, outcome: 'superseded', message }, events: [] };
}

function refreshedReport(
  shop: Shop,
  token: TokenDocument,
  recovered: boolean,
  now: number,
): ShopReport {
  const times = expiries(token);
  const result: ShopResult = {
    shop: shop.name,
    outcome: 'refreshed',
    ...(recovered ? { recovered } : {}),
    ...times,
  };
  const events: RefresherEvent[] = [
    { detailType: DETAIL_TYPE.tokenRefreshed, detail: { shop: shop.name, ...times } },
  ];
  // Announced once per refresh (every few days), not every hour, so a subscriber is not flooded.
  if (authorizationExpiring(token, now)) {
    events.push({
      detailType: DETAIL_TYPE.authorizationExpiring,
      detail: { shop: shop.name, ...times },
    });
  }
  return { result, inEffect: token, events };
}

function failedReport(shop: Shop, error: unknown, inEffect: TokenDocument | undefined): ShopReport {
  const described = describeError(error);
  const retryable = error instanceof RefresherError ? error.retryable : true;
  const result: ShopResult = {
    shop: shop.name,
    outcome: 'failed',
    ...described,
    retryable,
    ...(inEffect === undefined ? {} : expiries(inEffect)),
  };
  const detailType =
    error instanceof ReauthorizationRequiredError
      ? DETAIL_TYPE.reauthorizationRequired
      : DETAIL_TYPE.tokenRefreshFailed;
  return {
    result,
    ...(inEffect === undefined ? {} : { inEffect }),
    events: [{ detailType, detail: { ...result } }],
  };
}

function recordMetrics(
  reports: readonly ShopReport[],
  unpublished: number,
  deps: RefreshDependencies,
): void {
  const count = (predicate: (result: ShopResult) => boolean): number =>
    reports.filter((report) => predicate(report.result)).length;
  const now = deps.clock.now();
  const metrics: [string, number][] = [
    [METRIC.tokensRefreshed, count((r) => r.outcome === 'refreshed')],
    [METRIC.tokensSkipped, count((r) => r.outcome === 'skipped')],
    [METRIC.tokensSuperseded, count((r) => r.outcome === 'superseded')],
    [METRIC.refreshFailures, count((r) => r.outcome === 'failed')],
    [METRIC.reauthorizationRequired, count((r) => r.errorType === 'ReauthorizationRequiredError')],
    [METRIC.transientFailures, count((r) => r.outcome === 'failed' && r.retryable === true)],
    [METRIC.unexpectedResponses, count((r) => r.errorType === 'UnexpectedResponseError')],
    [METRIC.malformedSecrets, count((r) => r.errorType === 'MalformedSecretError')],
    [METRIC.tokensNotStored, count((r) => r.errorType === 'TokenNotStoredError')],
    [
      METRIC.authorizationExpiring,
      reports.filter(
        (report) => report.inEffect !== undefined && authorizationExpiring(report.inEffect, now),
      ).length,
    ],
    [METRIC.eventPublishFailures, unpublished],
  ];
  for (const [name, value] of metrics) deps.metrics.addMetric(name, 'Count', value);

  const lifetimes = reports.flatMap((report) =>
    report.inEffect === undefined ? [] : [report.inEffect.data.access_token_expire_in - now / 1000],
  );
  // No datapoint when no token could be read: the expiry alarm treats missing data as breaching.
  if (lifetimes.length > 0) {
    deps.metrics.addMetric(
      METRIC.minAccessTokenLifetime,
      'Seconds',
      Math.max(0, Math.floor(Math.min(...lifetimes))),
    );
  }
}

function parseStoredToken(raw: string, shop: Shop): TokenDocument {
  const parsed = parseJson(raw, TokenDocumentSchema);
  if (!parsed.ok) {
    throw new MalformedSecretError(
      `secret ${shop.name} does not hold a TikTok token document (${parsed.problems.join('; ')}); TikTok was not called`,
    );
  }
  return parsed.value;
}

function tryParseToken(raw: string): TokenDocument | undefined {
  const parsed = parseJson(raw, TokenDocumentSchema);
  return parsed.ok ? parsed.value : undefined;
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

function authorizationExpiring(token: TokenDocument, now: number): boolean {
  return (
    token.data.refresh_token_expire_in * 1000 - now < DEFAULTS.authorizationWarningSeconds * 1000
  );
}

/** Calls `load` at most once, and only when first needed: runs with nothing due never read it. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    promise ??= load();
    return promise;
  };
}
