// The refresh run: reads every shop, refreshes the due ones most urgent first, stores what TikTok
// answered, and reports every shop before the invocation ends. Its decisions are in token-policy.
import { type RunBudget, runDeadlines } from '../shared/budget.js';
import { ConfigurationError, ReauthorizationRequiredError } from '../shared/errors.js';
import type { EventPublisher } from '../shared/event-publisher.js';
import { errorFields, type Logger, type Metrics } from '../shared/observability.js';
import type { StoredToken, TokenStore } from '../shared/secrets-store.js';
import type { SurveySource } from '../shared/survey-source.js';
import { type Clock, mapWithConcurrency, settleBy } from '../shared/timing.js';
import type { AppCredentials, TokenAnswer, TokenDocument } from '../shared/token.js';
import { batchesReads, readCurrent, readGroups } from './batch-reads.js';
import { firstRead } from './first-reads.js';
import { Outbox } from './outbox.js';
import {
  deferredReport,
  failedReport,
  logLineOf,
  type RunSummary,
  type RunTime,
  refreshedReport,
  runMetrics,
  type ShopReport,
  type Stage,
  skippedReport,
  summaryOf,
  supersededReport,
  unfinishedReport,
} from './reports.js';
import { runCredentials } from './run-credentials.js';
import type { RunRequest } from './run-request.js';
import { learnShopIdsAfter, type ShopIdsPort } from './shop-ids.js';
import { appOf, type Shop } from './shops.js';
import { refuseWhileAnswerKept, storeAnswer } from './store-answer.js';
import { Tally } from './tally.js';
import {
  checkNotDeauthorized,
  checkRefreshTokenAlive,
  type DueRule,
  interruptedWrite,
  isDue,
  movedOn,
  parseStoredToken,
  refreshBy,
} from './token-policy.js';
import { UrgencyQueue } from './urgency-queue.js';

export type { RunSummary };

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
  /**
   * Reads many listed shops' current tokens in one call (see batch-reads); without it, or in a
   * small or forced run, every shop is read in full.
   */
  readonly batch?: Pick<SurveySource, 'readCurrent'>;
  readonly tiktok: TokenRefresher;
  /** The credentials of an app (DEFAULT_APP unless a shop says otherwise); asked once per run. */
  readonly appCredentials: (app: string) => Promise<AppCredentials>;
  readonly events: EventPublisher;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** Milliseconds left before the invocation ends (Lambda's getRemainingTimeInMillis). */
  readonly remainingMs: () => number;
  /** Learns the TikTok shop ids of a refreshed shop whose secret names none; absent: never. */
  readonly shopIds?: ShopIdsPort;
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
 * Due shops whose stored token is kept from the survey to the refresh; the others are read
 * again when their turn comes, so that memory does not grow with the fleet.
 */
const KEPT_TOKENS = 100;
/** Reading a large fleet goes on this long before the first refresh starts beside it. */
const SURVEY_HEAD_START_MS = 1_000;

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
  readonly due: DueRule;
  /** An app's credentials, read at most once per run: the one memo of app credentials. */
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
  const run: Run = {
    request,
    settings,
    deps,
    due: { force: request.force, refreshBeforeExpirySeconds: settings.refreshBeforeExpirySeconds },
    credentials: runCredentials(shops, deps.appCredentials),
    workEnd,
    startedWithMs,
    stages: new Map(),
    tally: new Tally(
      shops.length,
      (result) => {
        const line = logLineOf(result);
        deps.logger[line.level](line.message, line.extra);
      },
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

  const { unpublished, reasons } = await run.tally.outbox.flushBy(reportEnd, deps.clock);
  if (unpublished > 0) deps.logger.warn('events not published', { failed: unpublished, reasons });
  const results = run.tally.results();
  for (const [name, unit, value] of runMetrics(
    results,
    run.tally,
    unpublished,
    deps.clock.now(),
    run.request,
  )) {
    deps.metrics.addMetric(name, unit, value);
  }

  const summary = summaryOf(request, results);
  const { trigger, dryRun } = request;
  deps.logger.info('refresh run finished', { trigger, dryRun, counts: summary.counts });
  return summary;
}

/**
 * Reads every shop and refreshes the due ones, most urgent first. Refreshing starts once every
 * shop is read or, for a fleet too large to read in a moment, after SURVEY_HEAD_START_MS: from
 * then on it takes the most urgent shop found so far, while the reading goes on beside it. The
 * reading is many times faster than the paced writes, so a run that runs out of time has read
 * everything long before and leaves exactly the least urgent shops. A large run reads the
 * current tokens of listed shops in batches (see batch-reads) and the others one by one.
 */
async function work(shops: readonly Shop[], run: Run): Promise<void> {
  const { maxConcurrency } = run.settings;
  const { batch, logger } = run.deps;
  const queue = new UrgencyQueue<DueShop>();
  const startedAt = run.deps.clock.now();
  const batched = batch !== undefined && batchesReads(shops.length, run.request);
  let batchFailures = 0;
  // Each shop of a group whose batch read failed is read in full, which reports its own problem.
  const readFailed = (error: unknown) => {
    if (batchFailures++ === 0) logger.warn('batch read failed', errorFields(error));
  };
  let due = 0;
  let heldTokens = 0;
  const groups = readGroups(shops, batched);
  const surveyed = mapWithConcurrency(groups, maxConcurrency, async (group) => {
    if (run.tally.closed) return;
    for (const { index } of group) run.stages.set(index, 'reading');
    const read = batched ? await readCurrent(group, batch, readFailed) : new Map<number, never>();
    for (const { shop, index } of group) {
      if (run.tally.closed) return;
      const found = await survey(shop, index, run, read.get(index));
      run.stages.delete(index);
      if (!('index' in found)) {
        run.tally.add(index, found);
        continue;
      }
      due++;
      // Only a few due shops keep the token they were read with; the others read it again.
      const keep = found.stored !== undefined && heldTokens < KEPT_TOKENS;
      if (keep) heldTokens++;
      queue.put(found.refreshBy, keep ? found : { ...found, stored: undefined });
    }
  })
    .then(() => {
      const ms = run.deps.clock.now() - startedAt;
      const batches = batched ? { batchFailures } : {};
      logger.info('shops read', { shops: shops.length, due, ms, ...batches });
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
      const report = await refreshShop(next, run);
      run.tally.add(next.index, report);
      run.stages.delete(next.index);
      if (run.deps.shopIds !== undefined && msLeft(run) >= run.settings.budget.workNeedMs) {
        await learnShopIdsAfter(next.shop, report, {
          port: run.deps.shopIds,
          credentials: run.credentials,
          deadline: run.workEnd - run.settings.budget.storeReserveMs,
          logger: run.deps.logger,
        });
      }
    }
  });
  await Promise.all([surveyed, ...refreshed]);
}

/**
 * Reads a shop's token (unless a batch read its current version: `batchRead`) and settles what
 * needs no refresh: not due, a dry run, a malformed secret, an expired refresh token. Anything
 * else is queued, with an interrupted write to settle or not. A due shop that a batch read is
 * read again in full before its refresh: the listing behind the batch may lag behind writes.
 */
async function survey(
  shop: Shop,
  index: number,
  run: Run,
  batchRead?: StoredToken,
): Promise<ShopReport | DueShop> {
  const { request, deps } = run;
  let inEffect: TokenDocument | undefined;
  try {
    // Nothing could refresh its token: it fails every run, loudly, until a person binds it.
    if (shop.appProblem !== undefined) throw new ConfigurationError(shop.appProblem);
    run.stages.set(index, 'reading');
    const stored = await firstRead(deps.store, shop, batchRead);
    const token = parseStoredToken(stored.current.raw, shop);
    inEffect = token;
    // A revoked authorization: reported every run, dry or not, and TikTok is never asked.
    checkNotDeauthorized(shop, stored.current.createdAt);
    const by = refreshBy(token, stored.current.createdAt);
    if (request.dryRun || interruptedWrite(stored, token) === undefined) {
      // Before any exit: a kept answer fails every run, due or not, until a person acts.
      refuseWhileAnswerKept(shop, stored);
      const now = deps.clock.now();
      if (!isDue(by, now, run.due)) return skippedReport(shop, token, 'not-due');
      checkRefreshTokenAlive(token, now);
      if (request.dryRun) {
        // A dry run still proves that the shop's app credentials are readable.
        await run.credentials(appOf(shop));
        return skippedReport(shop, token, 'dry-run');
      }
    }
    return { index, shop, refreshBy: by, ...(batchRead === undefined ? { stored } : {}) };
  } catch (error) {
    return failedReport(shop, error, inEffect);
  }
}

async function refreshShop(due: DueShop, run: Run): Promise<ShopReport> {
  const { shop, index } = due;
  const { deps } = run;
  const { budget } = run.settings;
  let inEffect: TokenDocument | undefined;
  try {
    if (msLeft(run) < budget.workNeedMs) return deferredReport(shop, undefined, runTime(run));
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
    refuseWhileAnswerKept(shop, stored);

    const now = deps.clock.now();
    if (!isDue(refreshBy(token, storedAt), now, run.due)) {
      return recovered
        ? refreshedReport(shop, token, true, now)
        : skippedReport(shop, token, 'not-due');
    }
    checkRefreshTokenAlive(token, now);
    if (msLeft(run) < budget.workNeedMs) return deferredReport(shop, inEffect, runTime(run));

    const credentials = await run.credentials(appOf(shop));
    // The credentials may have come late (a slow read of their secret): the plan is checked
    // again right before TikTok is called, the one call that cannot be undone.
    if (msLeft(run) < budget.workNeedMs) return deferredReport(shop, inEffect, runTime(run));
    let answer: TokenAnswer;
    try {
      run.stages.set(index, 'refreshing');
      // No attempt starts that could not end before the time kept for storing its answer.
      const deadline = run.workEnd - budget.storeReserveMs - budget.tiktokAttemptMs;
      answer = await deps.tiktok.refreshToken(credentials, token.data.refresh_token, deadline);
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
    const answered = { shop, answer, previous: token, basedOn, recovered };
    return await storeAnswer(answered, deps.store, deps.clock.now());
  } catch (error) {
    return failedReport(shop, error, inEffect);
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
    if (movedOn(await deps.store.read(shop.id), basedOn)) return true;
  }
  return false;
}

/** Milliseconds left for the run's work. */
function msLeft(run: Run): number {
  return run.workEnd - run.deps.clock.now();
}

function runTime(run: Run): RunTime {
  return { budget: run.settings.budget, startedWithMs: run.startedWithMs, workLeftMs: msLeft(run) };
}
