import { DEFAULTS, DETAIL_TYPE, METRIC } from '../shared/contract.js';
import {
  DeadlineExceededError,
  describeError,
  MalformedSecretError,
  OversizedAnswerError,
  ReauthorizationRequiredError,
  RefresherError,
  RefreshTokenExpiredError,
  SellerChangedError,
  TokenNotCurrentError,
  TokenNotStoredError,
} from '../shared/errors.js';
import type { EventPublisher, RefresherEvent } from '../shared/event-publisher.js';
import {
  KEPT_LABEL,
  type StoredToken,
  type StoredVersion,
  type TokenStore,
  type WriteOutcome,
} from '../shared/secrets-store.js';
import { type Clock, mapWithConcurrency } from '../shared/timing.js';
import {
  type AppCredentials,
  expiresAt,
  fitToStore,
  MAX_STORED_BYTES,
  parseTokenDocument,
  type TokenAnswer,
  type TokenDocument,
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
  ): Promise<TokenAnswer>;
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

    await refuseWhileAnswerKept(shop, stored.current, deps);
    let answer: TokenAnswer;
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
    return await storeAnswer(shop, answer, token, basedOn, recovered, deps);
  } catch (error) {
    return failedReport(shop, error, inEffect);
  }
}

/**
 * What TikTok answered is written before anything else can fail: made current when it is a
 * usable token for this seller, otherwise kept under KEPT_LABEL and reported with where it is.
 * Nothing between TikTok's answer and the write can throw.
 */
async function storeAnswer(
  shop: Shop,
  answer: TokenAnswer,
  previous: TokenDocument,
  basedOn: string,
  recovered: boolean,
  deps: RefreshDependencies,
): Promise<ShopReport> {
  const now = deps.clock.now();
  const verdict = judge(answer, previous, now);
  const fitted = fitToStore(answer.raw);
  if (fitted === undefined) {
    throw new TokenNotStoredError(
      `TikTok issued a new token in an answer of ${Buffer.byteLength(answer.raw)} bytes, and even its token fields do not fit in the ${MAX_STORED_BYTES} bytes a secret holds; it could not be stored`,
    );
  }
  if (!verdict.current) {
    let versionId: string;
    try {
      versionId = await deps.store.keep(shop.id, fitted.text);
    } catch (error) {
      throw new TokenNotStoredError(
        `TikTok answered code 0 with a refresh token that could not be stored (${verdict.reason}): ${describeError(error).message}`,
        { cause: error },
      );
    }
    const where = `kept as version ${versionId} (label ${KEPT_LABEL}) of secret ${shop.name}, not made current`;
    const kept = { versionId, label: KEPT_LABEL };
    if (verdict.sellerChanged) {
      throw new SellerChangedError(`TikTok's answer ${verdict.reason}: ${where}`, kept);
    }
    throw new TokenNotCurrentError(`TikTok answered code 0 but ${verdict.reason}: ${where}`, kept);
  }

  let written: WriteOutcome;
  try {
    written = await deps.store.replace(shop.id, fitted.text, basedOn);
  } catch (error) {
    throw new TokenNotStoredError(
      `TikTok issued a new token that could not be stored: ${describeError(error).message}`,
      { cause: error },
    );
  }
  if (!written.stored) return supersededReport(shop);
  const { data } = verdict.document;
  if (data.refresh_token_expire_in * 1000 <= now) {
    return failedReport(
      shop,
      new RefreshTokenExpiredError(
        `seller must authorize again: TikTok issued a new access token, made current (version ${written.versionId}) and valid until ${expiresAt(data.access_token_expire_in)}, but its refresh token expired at ${expiresAt(data.refresh_token_expire_in)}`,
      ),
      verdict.document,
    );
  }
  const report = refreshedReport(shop, verdict.document, recovered, now);
  if (fitted.trimmedFromBytes === undefined) return report;
  return { ...report, result: { ...report.result, trimmedFromBytes: fitted.trimmedFromBytes } };
}

/**
 * Whether an answer may become current, and why not: it is not a token document, its access
 * token no longer works, or it is another seller's (readers would act on that seller's shop).
 */
function judge(
  answer: TokenAnswer,
  previous: TokenDocument,
  now: number,
):
  | { readonly current: true; readonly document: TokenDocument }
  | { readonly current: false; readonly reason: string; readonly sellerChanged: boolean } {
  if (!answer.usable) {
    const reason = `it is not a token document (${answer.problems.join('; ')})`;
    return { current: false, reason, sellerChanged: false };
  }
  const { data } = answer.document;
  if (data.access_token_expire_in * 1000 <= now) {
    const reason = `its access token had already expired (at ${expiresAt(data.access_token_expire_in)})`;
    return { current: false, reason, sellerChanged: false };
  }
  const before = previous.data.open_id;
  if (before !== undefined && data.open_id !== undefined && data.open_id !== before) {
    const reason =
      "names another seller (its open_id is not the stored token's): readers would act on that seller's shop";
    return { current: false, reason, sellerChanged: true };
  }
  return { current: true, document: answer.document };
}

/**
 * Before TikTok is called (a call that cannot be undone): an answer kept by an earlier run and
 * written after the current token may hold the only refresh token that works. Presenting the
 * replaced one could make TikTok revoke it, so nothing is asked until a person has made the kept
 * answer current or removed its label.
 */
async function refuseWhileAnswerKept(
  shop: Shop,
  current: StoredVersion,
  deps: RefreshDependencies,
): Promise<void> {
  const kept = await deps.store.readKept(shop.id);
  if (kept === undefined || kept.versionId === current.versionId) return;
  if ((kept.createdAt ?? 0) < (current.createdAt ?? 0)) return;
  throw new TokenNotCurrentError(
    `an earlier run kept TikTok's answer as version ${kept.versionId} (label ${KEPT_LABEL}) of secret ${shop.name}, newer than the current token; TikTok is not called until someone makes it current or removes the label`,
    { versionId: kept.versionId, label: KEPT_LABEL },
  );
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
 * label left behind on an older version does not count) and holding a valid token of the same
 * seller that outlives the current one. Another seller's token is never made current here, as
 * in `judge`: only an onboarding write interrupted before its compare-and-swap leaves one.
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
  const [before, after] = [current.data.open_id, token.data.open_id];
  if (before !== undefined && after !== undefined && after !== before) return undefined;
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
  const kept = error instanceof TokenNotCurrentError ? error.kept : undefined;
  return {
    result,
    ...(inEffect === undefined ? {} : { inEffect }),
    events: [{ detailType: detailTypeOf(error), detail: { ...result, ...(kept ?? {}) } }],
  };
}

function detailTypeOf(error: unknown): string {
  if (error instanceof ReauthorizationRequiredError) return DETAIL_TYPE.reauthorizationRequired;
  if (error instanceof RefreshTokenExpiredError) return DETAIL_TYPE.refreshTokenExpired;
  if (error instanceof SellerChangedError) return DETAIL_TYPE.sellerChanged;
  if (error instanceof TokenNotCurrentError) return DETAIL_TYPE.tokenNotCurrent;
  return DETAIL_TYPE.tokenRefreshFailed;
}

/** Failures after which only the seller authorizing again helps. */
const REAUTHORIZATION_TYPES: readonly string[] = [
  ReauthorizationRequiredError.name,
  RefreshTokenExpiredError.name,
];
/** Failures that left TikTok's answer stored as a version that is not current. */
const NOT_CURRENT_TYPES: readonly string[] = [TokenNotCurrentError.name, SellerChangedError.name];

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
    [
      METRIC.reauthorizationRequired,
      count((r) => REAUTHORIZATION_TYPES.includes(r.errorType ?? '')),
    ],
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
    [METRIC.tokensNotCurrent, count((r) => NOT_CURRENT_TYPES.includes(r.errorType ?? ''))],
    [METRIC.sellersChanged, count((r) => r.errorType === SellerChangedError.name)],
    [METRIC.refreshTokensExpired, count((r) => r.errorType === RefreshTokenExpiredError.name)],
    [METRIC.answersTrimmed, count((r) => r.trimmedFromBytes !== undefined)],
    [METRIC.oversizedAnswers, count((r) => r.errorType === OversizedAnswerError.name)],
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
  const parsed = parseTokenDocument(raw);
  if (!parsed.ok) {
    throw new MalformedSecretError(
      `secret ${shop.name} does not hold a TikTok token document (${parsed.problems.join('; ')}); TikTok was not called`,
    );
  }
  return parsed.value;
}

function tryParseToken(raw: string): TokenDocument | undefined {
  const parsed = parseTokenDocument(raw);
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
