import { describeRefreshNeed, type RunBudget, runDeadlines } from '../shared/budget.js';
import { DEFAULT_APP, DEFAULTS, DETAIL_TYPE, METRIC } from '../shared/contract.js';
import {
  ConfigurationError,
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
import { UrgencyQueue } from './urgency-queue.js';

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
  /** No attempt starts after `deadline` (epoch ms); each attempt is bounded by its own timeout. */
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
  /** The credentials of an app (DEFAULT_APP unless a shop says otherwise); read once per run. */
  readonly appCredentials: (app: string) => Promise<AppCredentials>;
  readonly events: EventPublisher;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Milliseconds left before the invocation ends (Lambda's getRemainingTimeInMillis). */
  readonly remainingMs: () => number;
}

export interface RefreshSettings {
  readonly refreshBeforeExpirySeconds: number;
  readonly maxConcurrency: number;
  /** How long each part of a refresh may take (see runBudget): when a refresh may still start. */
  readonly budget: RunBudget;
  /** Pauses between looks at the store after TikTok refused a refresh token, in ms. */
  readonly movedOnChecksMs: readonly number[];
}

/** The second look after a refusal: 7.5 s in all, enough for a concurrent writer's two writes. */
export const MOVED_ON_CHECKS_MS: readonly number[] = [0, 500, 1_000, 2_000, 4_000];

/**
 * TikTok's access tokens live 7 days. A token is refreshed as if it expired this long after its
 * version was stored at the latest, whatever expiry it states: an answer that drifted to a far
 * expiry is refreshed on the usual schedule (7 days minus the refresh window after it was stored)
 * instead of being trusted until it silently stops working.
 */
export const ACCESS_TOKEN_MAX_LIFE_SECONDS = 7 * 24 * 3600;

/**
 * Due shops whose stored token is kept from the survey to the refresh; the others are read
 * again when their turn comes, so that memory does not grow with the fleet.
 */
const KEPT_TOKENS = 100;
/** Reading a large fleet goes on this long before the first refresh starts beside it. */
const SURVEY_HEAD_START_MS = 1_000;

interface ShopReport {
  readonly result: ShopResult;
  /** The token readers get after this run, if one could be read. */
  readonly inEffect?: TokenDocument;
  readonly events: readonly RefresherEvent[];
}

/** What a shop was doing, for one that had not finished when the run's time was up. */
type Stage = 'reading' | 'promoting' | 'refreshing' | 'storing';

/** A shop the survey found due (or with an interrupted write to settle), by urgency. */
interface DueShop {
  readonly index: number;
  readonly shop: Shop;
  /** When the access token is refreshed by (see refreshBy), epoch ms: the soonest goes first. */
  readonly refreshBy: number;
  readonly stored?: StoredToken;
}

/** One run's shared state. */
interface Run {
  readonly request: RunRequest;
  readonly settings: RefreshSettings;
  readonly deps: RefreshDependencies;
  /** An app's credentials, read at most once per run. */
  readonly credentials: (app: string) => Promise<AppCredentials>;
  /** Epoch ms by which every shop's work is over; reporting comes after. */
  readonly workEnd: number;
  /** The time the run had at its start: tells a timeout too short from a run that ran out. */
  readonly startedWithMs: number;
  readonly stages: Map<number, Stage>;
  readonly tally: Tally;
}

/**
 * One run over the given shops, each refreshed with its app's credentials (a shop without a
 * known app fails alone). Every shop is read: those that are not due are settled at once,
 * the due ones are queued and refreshed soonest access-token expiry first, so that a run that
 * runs out of time leaves the least urgent shops to the next. A refresh starts only while one
 * TikTok attempt plus storing and reporting fits in the time left. Whatever any call does, the
 * run stops its work at its deadline and reports every shop (logs, metrics, events, the summary)
 * before the invocation ends; one shop's failure never stops the others.
 */
export async function refreshShops(
  shops: readonly Shop[],
  request: RunRequest,
  settings: RefreshSettings,
  deps: RefreshDependencies,
): Promise<RunSummary> {
  const startedAt = deps.clock.now();
  const startedWithMs = deps.remainingMs();
  const { workEnd, reportEnd } = runDeadlines(startedAt, startedWithMs, settings.budget);
  const credentials = oncePerKey(deps.appCredentials);
  // Every app with a shop in the run (the default app's in a run without shops) is read at once,
  // due shops or not, so that broken credentials show in every run and not days later when a
  // token falls due. A failure is reported by each due shop of that app, and by no other shop.
  const apps = new Set(shops.filter((shop) => shop.appProblem === undefined).map(appOf));
  if (shops.length === 0) apps.add(DEFAULT_APP);
  for (const app of apps) credentials(app).catch(() => {});
  const run: Run = {
    request,
    settings,
    deps,
    credentials,
    workEnd,
    startedWithMs,
    stages: new Map(),
    tally: new Tally(
      shops.length,
      deps.logger,
      new Outbox(deps.events, settings.maxConcurrency),
      startedAt,
    ),
  };

  const finished = await settleBy(
    work(shops, run).then(() => true),
    workEnd,
    deps.clock,
  );
  if (finished === undefined) {
    shops.forEach((shop, index) => {
      if (!run.tally.has(index)) {
        run.tally.add(index, unfinishedReport(shop, run.stages.get(index)));
      }
    });
  }
  run.tally.close();

  const { outbox } = run.tally;
  const flushed = await settleBy(
    outbox.flush().then(() => true),
    reportEnd,
    deps.clock,
  );
  const unpublished = outbox.total - outbox.delivered;
  if (unpublished > 0) {
    const late = flushed === undefined ? ["not published before the invocation's deadline"] : [];
    deps.logger.warn('events not published', {
      failed: unpublished,
      reasons: [...outbox.reasons, ...late],
    });
  }
  const results = run.tally.results();
  recordMetrics(results, run.tally, unpublished, deps);

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

/**
 * Reads every shop and refreshes the due ones, most urgent first. Refreshing starts once every
 * shop is read or, for a fleet too large to read in a moment, after SURVEY_HEAD_START_MS: from
 * then on it takes the most urgent shop found so far, while the reading goes on beside it. The
 * reading is many times faster than the paced writes, so a run that runs out of time has read
 * everything long before and leaves exactly the least urgent shops.
 */
async function work(shops: readonly Shop[], run: Run): Promise<void> {
  const { maxConcurrency } = run.settings;
  const queue = new UrgencyQueue<DueShop>();
  const startedAt = run.deps.clock.now();
  let due = 0;
  let heldTokens = 0;
  const surveyed = mapWithConcurrency(shops, maxConcurrency, async (shop, index) => {
    if (run.tally.closed) return;
    const found = await survey(shop, index, run);
    run.stages.delete(index);
    if (!('index' in found)) return run.tally.add(index, found);
    due++;
    // Only a few due shops keep the token they were read with; the others read it again.
    const keep = found.stored !== undefined && heldTokens < KEPT_TOKENS;
    if (keep) heldTokens++;
    queue.put(found.refreshBy, keep ? found : { ...found, stored: undefined });
  })
    .then(() => {
      const ms = run.deps.clock.now() - startedAt;
      run.deps.logger.info('shops read', { shops: shops.length, due, ms });
    })
    .finally(() => queue.close());

  const headStart = new AbortController();
  await Promise.race([
    surveyed,
    run.deps.clock.sleep(SURVEY_HEAD_START_MS, headStart.signal),
  ]).finally(() => headStart.abort());
  const refreshed = Array.from({ length: maxConcurrency }, async () => {
    for (let next = await queue.take(); next !== undefined; next = await queue.take()) {
      if (next.stored !== undefined) heldTokens--;
      if (run.tally.closed) return;
      run.tally.add(next.index, await refreshShop(next, run));
      run.stages.delete(next.index);
    }
  });
  await Promise.all([surveyed, ...refreshed]);
}

/**
 * Reads a shop's token and settles what needs no refresh: not due, a dry run, a malformed secret,
 * an expired refresh token. Anything else is queued, with an interrupted write to settle or not.
 */
async function survey(shop: Shop, index: number, run: Run): Promise<ShopReport | DueShop> {
  const { request, settings, deps } = run;
  let inEffect: TokenDocument | undefined;
  try {
    // Nothing could refresh its token: it fails every run, loudly, until a person binds it.
    if (shop.appProblem !== undefined) throw new ConfigurationError(shop.appProblem);
    run.stages.set(index, 'reading');
    const stored = await deps.store.read(shop.id);
    const token = parseStoredToken(stored.current.raw, shop);
    inEffect = token;
    const by = refreshBy(token, stored.current.createdAt);
    if (request.dryRun || interruptedWrite(stored, token) === undefined) {
      const now = deps.clock.now();
      if (!isDue(by, request, settings, now)) return skippedReport(shop, token, 'not-due');
      checkRefreshTokenAlive(token, now);
      if (request.dryRun) {
        // A dry run still proves that the shop's app credentials are readable.
        await run.credentials(appOf(shop));
        return skippedReport(shop, token, 'dry-run');
      }
    }
    return { index, shop, refreshBy: by, stored };
  } catch (error) {
    return failedReport(shop, error, inEffect);
  }
}

async function refreshShop(due: DueShop, run: Run): Promise<ShopReport> {
  const { shop, index } = due;
  const { request, settings, deps } = run;
  const { budget } = settings;
  let inEffect: TokenDocument | undefined;
  try {
    if (msLeft(run) < budget.workNeedMs) return deferredReport(shop, run, undefined);
    run.stages.set(index, 'reading');
    const stored = due.stored ?? (await deps.store.read(shop.id));
    let token = parseStoredToken(stored.current.raw, shop);
    let basedOn = stored.current.versionId;
    let storedAt = stored.current.createdAt;
    inEffect = token;

    // An earlier run stored a newer token but did not get to make it current. Its refresh token
    // may be the only one TikTok still accepts, so it is promoted instead of refreshing again.
    const interrupted = interruptedWrite(stored, token);
    if (interrupted !== undefined) {
      run.stages.set(index, 'promoting');
      const promoted = await deps.store.promote(shop.id, interrupted.versionId, basedOn);
      if (!promoted.stored) return supersededReport(shop);
      token = interrupted.token;
      basedOn = interrupted.versionId;
      storedAt = interrupted.createdAt;
      inEffect = token;
    }
    const recovered = interrupted !== undefined;

    const now = deps.clock.now();
    if (!isDue(refreshBy(token, storedAt), request, settings, now)) {
      return recovered
        ? refreshedReport(shop, token, true, now)
        : skippedReport(shop, token, 'not-due');
    }
    checkRefreshTokenAlive(token, now);
    if (msLeft(run) < budget.workNeedMs) return deferredReport(shop, run, inEffect);

    refuseWhileAnswerKept(shop, stored);
    let answer: TokenAnswer;
    try {
      run.stages.set(index, 'refreshing');
      // No attempt starts that could not end before the time kept for storing its answer.
      const deadline = run.workEnd - budget.storeReserveMs - budget.tiktokAttemptMs;
      answer = await deps.tiktok.refreshToken(
        await run.credentials(appOf(shop)),
        token.data.refresh_token,
        deadline,
      );
    } catch (error) {
      if (
        error instanceof ReauthorizationRequiredError &&
        (await anotherWriterMovedOn(shop, basedOn, run))
      ) {
        return supersededReport(shop);
      }
      throw error;
    }
    run.stages.set(index, 'storing');
    return await storeAnswer(shop, answer, token, basedOn, recovered, run.deps);
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
 * answer current or removed its label. The kept label was read with the token, in the same round.
 */
function refuseWhileAnswerKept(shop: Shop, stored: StoredToken): void {
  const { current, kept } = stored;
  if (kept === undefined || kept.versionId === current.versionId) return;
  if ((kept.createdAt ?? 0) < (current.createdAt ?? 0)) return;
  throw new TokenNotCurrentError(
    `an earlier run kept TikTok's answer as version ${kept.versionId} (label ${KEPT_LABEL}) of secret ${shop.name}, newer than the current token; TikTok is not called until someone makes it current or removes the label`,
    { versionId: kept.versionId, label: KEPT_LABEL },
  );
}

/**
 * When the access token is treated as expiring, epoch ms: its stated expiry, but no later than
 * ACCESS_TOKEN_MAX_LIFE_SECONDS after its version was stored (a store that does not know when,
 * like the local token file, leaves the stated expiry).
 */
function refreshBy(token: TokenDocument, storedAt: number | undefined): number {
  const stated = token.data.access_token_expire_in * 1000;
  return storedAt === undefined
    ? stated
    : Math.min(stated, storedAt + ACCESS_TOKEN_MAX_LIFE_SECONDS * 1000);
}

function isDue(
  refreshByMs: number,
  request: RunRequest,
  settings: RefreshSettings,
  now: number,
): boolean {
  return request.force || refreshByMs - now < settings.refreshBeforeExpirySeconds * 1000;
}

function checkRefreshTokenAlive(token: TokenDocument, now: number): void {
  if (token.data.refresh_token_expire_in * 1000 <= now) {
    throw new ReauthorizationRequiredError(
      `seller must authorize again: the stored refresh token expired at ${expiresAt(token.data.refresh_token_expire_in)}`,
    );
  }
}

/** Milliseconds left for the run's work. */
function msLeft(run: Run): number {
  return run.workEnd - run.deps.clock.now();
}

/**
 * A refresh refused for lack of time, with a message that says what one needs and how to get it.
 * Logged and counted like any failure, but published as no event: nothing went wrong with the
 * shop, and a run out of time would otherwise send one event per shop it left to the retry.
 */
function deferredReport(shop: Shop, run: Run, inEffect: TokenDocument | undefined): ShopReport {
  const { budget } = run.settings;
  const invocationLeftMs = msLeft(run) + budget.reportReserveMs + budget.finishMarginMs;
  const advice =
    run.startedWithMs < budget.refreshNeedMs
      ? `give the function a timeout of at least ${budget.minimumTimeoutMs / 1000} s (the construct's timeout prop)`
      : "the run ran out of time: Lambda's retry or the next run refreshes the shop, most urgent first; a longer timeout or a shorter refreshInterval refreshes more shops per run";
  const error = new DeadlineExceededError(
    `refresh not started: ${(Math.max(0, invocationLeftMs) / 1000).toFixed(1)} s left in the invocation, one refresh needs ${describeRefreshNeed(budget)}; ${advice}`,
  );
  return { ...failedReport(shop, error, inEffect), events: [] };
}

/** A shop still at work when the run's time was up. */
function unfinishedReport(shop: Shop, stage: Stage | undefined): ShopReport {
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
  return failedReport(shop, error, undefined);
}

const STAGE_TEXT: Readonly<Record<Exclude<Stage, 'storing'>, string>> = {
  reading: 'reading the token from Secrets Manager',
  promoting: 'making the token an earlier run stored current',
  refreshing: 'the refresh at TikTok',
};

/**
 * Whether `work` settled by `deadline`: its value then, undefined when the deadline came first
 * (the work goes on unobserved; its calls are bounded by their own timeouts and signals).
 */
async function settleBy<T>(
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

/**
 * With rotating refresh tokens, a concurrent writer's refresh makes ours look revoked, and its
 * new token may still be on its way to the store (written, not yet current). So the store is
 * looked at a few times before concluding that the seller must authorize again: a new current
 * version, or a pending one written after it, means someone else holds the working token.
 */
async function anotherWriterMovedOn(shop: Shop, basedOn: string, run: Run): Promise<boolean> {
  const { deps } = run;
  for (const pauseMs of run.settings.movedOnChecksMs) {
    if (msLeft(run) - pauseMs < run.settings.budget.storeReserveMs) break;
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
): { versionId: string; createdAt: number | undefined; token: TokenDocument } | undefined {
  const { pending } = stored;
  if (pending === undefined) return undefined;
  if ((pending.createdAt ?? 0) < (stored.current.createdAt ?? 0)) return undefined;
  const token = tryParseToken(pending.raw);
  if (token === undefined) return undefined;
  if (token.data.access_token_expire_in <= current.data.access_token_expire_in) return undefined;
  const [before, after] = [current.data.open_id, token.data.open_id];
  if (before !== undefined && after !== undefined && after !== before) return undefined;
  return { versionId: pending.versionId, createdAt: pending.createdAt, token };
}

function skippedReport(
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

function supersededReport(shop: Shop): ShopReport {
  const message = 'another writer stored a newer token first; it was kept';
  return {
    result: { shop: shop.name, ...appField(shop), outcome: 'superseded', message },
    events: [],
  };
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
      detail: { shop: shop.name, ...appField(shop), ...times },
    });
  }
  return { result, inEffect: token, events };
}

function failedReport(shop: Shop, error: unknown, inEffect: TokenDocument | undefined): ShopReport {
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
  results: readonly ShopResult[],
  tally: Tally,
  unpublished: number,
  deps: RefreshDependencies,
): void {
  const count = (predicate: (result: ShopResult) => boolean): number =>
    results.filter(predicate).length;
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
    [METRIC.authorizationExpiring, tally.authorizationExpiring],
    [METRIC.eventPublishFailures, unpublished],
    [METRIC.tokensNotCurrent, count((r) => NOT_CURRENT_TYPES.includes(r.errorType ?? ''))],
    [METRIC.sellersChanged, count((r) => r.errorType === SellerChangedError.name)],
    [METRIC.refreshTokensExpired, count((r) => r.errorType === RefreshTokenExpiredError.name)],
    [METRIC.answersTrimmed, count((r) => r.trimmedFromBytes !== undefined)],
    [METRIC.oversizedAnswers, count((r) => r.errorType === OversizedAnswerError.name)],
  ];
  for (const [name, value] of metrics) deps.metrics.addMetric(name, 'Count', value);

  // No datapoint when no token could be read: the expiry alarm treats missing data as breaching.
  if (tally.soonestAccessExpiry !== undefined) {
    deps.metrics.addMetric(
      METRIC.minAccessTokenLifetime,
      'Seconds',
      Math.max(0, Math.floor(tally.soonestAccessExpiry - deps.clock.now() / 1000)),
    );
  }
}

/**
 * What the run has found so far: each shop's result, in the order the shops were given, logged
 * as soon as it is known; the events to publish; what the metrics need of the tokens in effect.
 * Token documents are not kept, so memory grows with the fleet only by a result per shop.
 */
class Tally {
  readonly outbox: Outbox;
  authorizationExpiring = 0;
  /** Epoch seconds. */
  soonestAccessExpiry: number | undefined;
  readonly #results: (ShopResult | undefined)[];
  readonly #logger: Logger;
  readonly #now: number;
  #closed = false;

  constructor(shops: number, logger: Logger, outbox: Outbox, now: number) {
    this.#results = new Array(shops).fill(undefined);
    this.#logger = logger;
    this.outbox = outbox;
    this.#now = now;
  }

  /** Once closed, late reports of work that went on past the deadline are dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  has(index: number): boolean {
    return this.#results[index] !== undefined;
  }

  add(index: number, { result, inEffect, events }: ShopReport): void {
    if (this.#closed || this.has(index)) return;
    this.#results[index] = result;
    // Powertools reserves `message` for the log line's own text, so the result's goes elsewhere.
    const { message: errorMessage, ...fields } = result;
    const extra = errorMessage === undefined ? fields : { ...fields, errorMessage };
    if (result.outcome === 'failed') this.#logger.error('shop failed', extra);
    else this.#logger.info(`shop ${result.outcome}`, extra);
    this.outbox.add(events);
    if (inEffect !== undefined) {
      const expiry = inEffect.data.access_token_expire_in;
      this.soonestAccessExpiry = Math.min(this.soonestAccessExpiry ?? expiry, expiry);
      if (authorizationExpiring(inEffect, this.#now)) this.authorizationExpiring++;
    }
  }

  close(): void {
    this.#closed = true;
  }

  /** Every shop's result; complete once the run has reported the shops it could not finish. */
  results(): ShopResult[] {
    return this.#results.filter((result) => result !== undefined);
  }
}

/** PutEvents takes at most 10 entries a call. */
const EVENT_BATCH = 10;

/**
 * Sends the run's events as they come, ten to a call and a few calls at a time, so that they
 * neither pile up in memory nor all go out at the end of the run.
 */
class Outbox {
  total = 0;
  delivered = 0;
  readonly reasons = new Set<string>();
  readonly #publisher: EventPublisher;
  readonly #callsAtOnce: number;
  #queue: RefresherEvent[] = [];
  #inFlight = 0;
  #flushing = false;
  #changed: () => void = () => {};

  constructor(publisher: EventPublisher, callsAtOnce: number) {
    this.#publisher = publisher;
    this.#callsAtOnce = callsAtOnce;
  }

  add(events: readonly RefresherEvent[]): void {
    this.#queue.push(...events);
    this.total += events.length;
    this.#send();
  }

  /** Sends what is left; resolves once every event was delivered or failed. */
  async flush(): Promise<void> {
    this.#flushing = true;
    this.#send();
    while (this.#queue.length > 0 || this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#changed = resolve;
      });
    }
  }

  #send(): void {
    while (
      this.#inFlight < this.#callsAtOnce &&
      (this.#queue.length >= EVENT_BATCH || (this.#flushing && this.#queue.length > 0))
    ) {
      const batch = this.#queue.splice(0, EVENT_BATCH);
      this.#inFlight++;
      this.#publisher
        .publish(batch)
        .then(
          (result) => {
            this.delivered += batch.length - result.failed;
            for (const reason of result.reasons) this.reasons.add(reason);
          },
          (error: unknown) => this.reasons.add(describeError(error).errorType),
        )
        .finally(() => {
          this.#inFlight--;
          this.#send();
          this.#changed();
        });
    }
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

function appOf(shop: Shop): string {
  return shop.app ?? DEFAULT_APP;
}

/** What a shop's results and events say of its app: nothing for DEFAULT_APP, as with one app. */
function appField(shop: Shop): { app?: string } {
  const app = appOf(shop);
  return app === DEFAULT_APP ? {} : { app };
}

/** Calls `load` at most once per key, the first time that key is asked for. */
function oncePerKey<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const loaded = new Map<string, Promise<T>>();
  return (key) => {
    let promise = loaded.get(key);
    if (promise === undefined) {
      promise = load(key);
      loaded.set(key, promise);
    }
    return promise;
  };
}
