import { describe, expect, it } from 'vitest';
import {
  type RefreshSettings,
  type RunSummary,
  refreshShops,
} from '../../lambda/refresher/refresh.js';
import type { RunRequest } from '../../lambda/refresher/run-request.js';
import type { Shop } from '../../lambda/refresher/shops.js';
import { runBudget } from '../../lambda/shared/budget.js';
import { DEFAULTS, DETAIL_TYPE, METRIC } from '../../lambda/shared/contract.js';
import { MalformedSecretError, TransientError } from '../../lambda/shared/errors.js';
import { TikTokAuthClient } from '../../lambda/shared/tiktok-auth-client.js';
import type { AppCredentials } from '../../lambda/shared/token.js';
import {
  APP_CREDENTIALS,
  dependencies,
  type Fakes,
  fakes,
  settings,
} from '../support/refresh-fakes.js';
import { seedShop } from '../support/seed-shop.js';

const SCHEDULED: RunRequest = { trigger: 'schedule', force: false, dryRun: false };
const HOUR = 3600;
const DAY = 24 * HOUR;
const BUDGET = runBudget(DEFAULTS);

function shop(name: string): Shop {
  return { id: `tiktok-shop/tokens/${name}`, name: `tiktok-shop/tokens/${name}` };
}

/** Seeds each shop with a seller's token whose access token ends in the given seconds. */
function seed(parts: Fakes, ttls: Record<string, number>): Shop[] {
  return Object.entries(ttls).map(([name, ttl]) => {
    const seeded = shop(name);
    const hosts = { tiktok: parts.tiktok, secretsManager: parts.store };
    seedShop(hosts, seeded.id, { accessTtlSeconds: ttl, now: parts.clock.now() });
    return seeded;
  });
}

function refreshTokenOf(raw: string | undefined): string {
  return (
    (JSON.parse(raw ?? '{}') as { data?: { refresh_token?: string } }).data?.refresh_token ?? ''
  );
}

async function run(
  parts: Fakes,
  shops: readonly Shop[],
  options: {
    remainingMs?: number;
    request?: RunRequest;
    settings?: RefreshSettings;
    appCredentials?: () => Promise<AppCredentials>;
  } = {},
): Promise<{ summary: RunSummary; elapsedMs: number; credentialReads: number }> {
  const remainingMs = options.remainingMs ?? 300_000;
  const { deps, credentialReads } = dependencies(parts, remainingMs, options.appCredentials);
  const startedAt = parts.clock.now();
  const summary = await parts.clock.run(
    refreshShops(shops, options.request ?? SCHEDULED, options.settings ?? settings(), deps),
  );
  return { summary, elapsedMs: parts.clock.now() - startedAt, credentialReads: credentialReads() };
}

/** A fetch for the real TikTok client: each attempt times out on the fake clock or answers. */
function scriptedFetch(
  parts: Fakes,
  attempts: ('timeout' | 'answer')[],
): { fetch: typeof globalThis.fetch; calls: number[] } {
  const calls: number[] = [];
  const fetch = (async () => {
    calls.push(parts.clock.now());
    const next = attempts.shift() ?? 'timeout';
    if (next === 'timeout') {
      await parts.clock.sleep(DEFAULTS.tiktokTimeoutMs);
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    }
    const now = Math.floor(parts.clock.now() / 1000);
    const data = {
      access_token: 'new-access',
      access_token_expire_in: now + 7 * DAY,
      refresh_token: 'new-refresh',
      refresh_token_expire_in: now + 365 * DAY,
    };
    return new Response(JSON.stringify({ code: 0, message: 'success', data }), { status: 200 });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

describe('Function: refreshShops', () => {
  describe('time: a refresh starts whenever one TikTok attempt, storing and reporting fit', () => {
    it('refreshes a due shop with 60 s left, retrying TikTok while another attempt fits', async () => {
      // Prepare: TikTok times out twice, then answers
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });
      const { fetch, calls } = scriptedFetch(parts, ['timeout', 'timeout', 'answer']);
      const { deps } = dependencies(parts, 60_000);
      const tiktok = new TikTokAuthClient({
        baseUrl: 'https://auth.example',
        timeoutMs: DEFAULTS.tiktokTimeoutMs,
        clock: parts.clock,
        fetch,
      });

      // Act
      const summary = await parts.clock.run(
        refreshShops(shops, SCHEDULED, settings(), { ...deps, tiktok }),
      );

      // Assess
      expect(summary.shops[0]).toMatchObject({ outcome: 'refreshed' });
      expect(calls).toHaveLength(3);
      expect(refreshTokenOf(parts.store.current(shops[0]?.id ?? ''))).toBe('new-refresh');
    });

    it('refreshes a due shop with 30 s left', async () => {
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });

      const { summary, elapsedMs } = await run(parts, shops, { remainingMs: 30_000 });

      expect(summary.counts).toEqual({ refreshed: 1, skipped: 0, superseded: 0, failed: 0 });
      expect(elapsedMs).toBeLessThan(30_000);
    });

    it('refreshes a due shop in a function given the minimum timeout, less its start-up', async () => {
      // Prepare: what the construct accepts at the least, once start-up has used its allowance
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });
      const { minimumTimeoutMs, refreshNeedMs } = runBudget(DEFAULTS);

      // Act
      const { summary } = await run(parts, shops, { remainingMs: refreshNeedMs });

      // Assess
      expect(minimumTimeoutMs).toBeGreaterThan(refreshNeedMs);
      expect(summary.counts).toEqual({ refreshed: 1, skipped: 0, superseded: 0, failed: 0 });
    });

    it('with 30 s left, makes one TikTok attempt only: a retry would eat the time for storing', async () => {
      // Prepare
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });
      const { fetch, calls } = scriptedFetch(parts, ['timeout', 'answer']);
      const { deps } = dependencies(parts, 30_000);
      const tiktok = new TikTokAuthClient({
        baseUrl: 'https://auth.example',
        timeoutMs: DEFAULTS.tiktokTimeoutMs,
        clock: parts.clock,
        fetch,
      });
      const startedAt = parts.clock.now();

      // Act
      const summary = await parts.clock.run(
        refreshShops(shops, SCHEDULED, settings(), { ...deps, tiktok }),
      );

      // Assess
      expect(calls).toHaveLength(1);
      expect(summary.shops[0]).toMatchObject({
        outcome: 'failed',
        errorType: 'TransientError',
        retryable: true,
      });
      expect(parts.clock.now() - startedAt).toBeLessThan(30_000 - BUDGET.finishMarginMs);
    });

    it('refuses a refresh with too little time, saying what one needs and how to get it', async () => {
      // Prepare
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });

      // Act
      const { summary } = await run(parts, shops, { remainingMs: 20_000 });

      // Assess
      expect(summary.shops[0]).toMatchObject({
        outcome: 'failed',
        errorType: 'DeadlineExceededError',
        retryable: true,
        message:
          "refresh not started: 20.0 s left in the invocation, one refresh needs 21.8 s (one TikTok attempt 10.0 s, storing 8.8 s, reporting 3.0 s); give the function a timeout of at least 24 s (the construct's timeout prop)",
      });
      expect(parts.tiktok.calls).toHaveLength(0);
    });

    it('refreshes the most urgent shops first when the time runs out, and leaves the rest', async () => {
      // Prepare: one shop at a time, 5 s per TikTok call, 40 s in the invocation: a refresh
      // starts while 21.8 s of the 37 s of work time are left, so four of the five fit.
      const parts = fakes();
      const shops = seed(parts, { d: 4 * HOUR, b: 2 * HOUR, e: 5 * HOUR, a: HOUR, c: 3 * HOUR });
      parts.tiktok.latencyMs = 5_000;

      // Act
      const { summary } = await run(parts, shops, {
        remainingMs: 40_000,
        settings: settings({ maxConcurrency: 1 }),
      });

      // Assess
      const seeded = (name: string) => `rt-${'dbeac'.indexOf(name) + 1}`;
      expect(parts.tiktok.calls.map((call) => call.refreshToken)).toEqual(
        ['a', 'b', 'c', 'd'].map(seeded),
      );
      expect(summary.shops.map((result) => [result.shop, result.outcome])).toEqual([
        ['tiktok-shop/tokens/d', 'refreshed'],
        ['tiktok-shop/tokens/b', 'refreshed'],
        ['tiktok-shop/tokens/e', 'failed'],
        ['tiktok-shop/tokens/a', 'refreshed'],
        ['tiktok-shop/tokens/c', 'refreshed'],
      ]);
      expect(summary.shops[2]?.message).toContain(
        "the run ran out of time: the next invocation (the run state machine's, Lambda's retry or the next run) refreshes the shop, most urgent first",
      );
      // A shop left to the retry is logged and counted, but is no event of its own.
      expect(parts.events.published.map((event) => event.detailType)).toEqual(
        Array(4).fill(DETAIL_TYPE.tokenRefreshed),
      );
      expect(parts.metrics.values.get(METRIC.refreshFailures)).toBe(1);
    });

    it('starts refreshing a fleet that takes long to read beside the reading', async () => {
      // Prepare: 300 due shops, each read takes 50 ms: 1.5 s to read them all, ten at a time
      const parts = fakes();
      const ttls = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`s${i}`, HOUR + i]));
      const shops = seed(parts, ttls);
      parts.store.next('read', { kind: 'delay', ms: 50 }, 1_000);
      const startedAt = parts.clock.now();

      // Act
      const { summary } = await run(parts, shops);

      // Assess: the first refresh a second in, before the reading ended
      expect(summary.counts.refreshed).toBe(300);
      expect((parts.tiktok.calls[0]?.at ?? 0) - startedAt).toBe(1_000);
      expect(parts.logger.lines.find((line) => line.message === 'shops read')).toEqual({
        level: 'info',
        message: 'shops read',
        extra: { shops: 300, due: 300, ms: 1_500 },
      });
    });
  });

  describe('a run always reports before the invocation ends, whatever a call does', () => {
    it('reports a shop whose write hangs as not stored, and every other shop, in time', async () => {
      // Prepare: the put of the first due shop never answers
      const parts = fakes();
      const shops = seed(parts, { hung: HOUR, fine: 2 * HOUR, fresh: 6 * DAY });
      parts.store.next('put', { kind: 'hang' });

      // Act
      const { summary, elapsedMs } = await run(parts, shops, {
        remainingMs: 60_000,
        settings: settings({ maxConcurrency: 2 }),
      });

      // Assess
      expect(elapsedMs).toBeLessThanOrEqual(60_000 - BUDGET.finishMarginMs);
      expect(summary.shops.map((result) => result.outcome)).toEqual([
        'failed',
        'refreshed',
        'skipped',
      ]);
      expect(summary.shops[0]).toMatchObject({
        errorType: 'TokenNotStoredError',
        retryable: true,
        message:
          "TikTok issued a new token and storing it did not finish before the invocation's deadline; if it reached Secrets Manager it waits as AWSPENDING and the next run makes it current",
      });
      expect(parts.logger.lines.filter((line) => line.message.startsWith('shop '))).toHaveLength(3);
      expect(parts.metrics.values.get(METRIC.tokensNotStored)).toBe(1);
      expect(parts.events.published.map((event) => event.detailType)).toContain(
        DETAIL_TYPE.tokenRefreshFailed,
      );
    });

    it('lets the next run make current a token whose write was stored but not promoted', async () => {
      // Prepare: the new token reaches the store as AWSPENDING, then the promotion hangs
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });
      parts.store.next('promote', { kind: 'hang' });
      const first = await run(parts, shops, { remainingMs: 60_000 });
      const issued = refreshTokenOf(parts.store.pending(shops[0]?.id ?? ''));

      // Act
      const next = await run(parts, shops);

      // Assess
      expect(first.summary.shops[0]?.errorType).toBe('TokenNotStoredError');
      expect(next.summary.shops[0]).toMatchObject({ outcome: 'refreshed', recovered: true });
      expect(parts.tiktok.calls).toHaveLength(1);
      expect(refreshTokenOf(parts.store.current(shops[0]?.id ?? ''))).toBe(issued);
      expect(parts.tiktok.isValid(issued)).toBe(true);
    });

    it('reports a shop whose read hangs, and the others', async () => {
      const parts = fakes();
      const shops = seed(parts, { hung: 6 * DAY, fine: 6 * DAY });
      parts.store.next('read', { kind: 'hang' });

      const { summary, elapsedMs } = await run(parts, shops, { remainingMs: 30_000 });

      expect(elapsedMs).toBeLessThanOrEqual(30_000 - BUDGET.finishMarginMs);
      expect(summary.shops[0]).toMatchObject({
        outcome: 'failed',
        errorType: 'DeadlineExceededError',
        message:
          "reading the token from Secrets Manager did not finish before the invocation's deadline; the next run tries again",
      });
      expect(summary.shops[1]).toMatchObject({ outcome: 'skipped', reason: 'not-due' });
    });

    it('counts events that could not be published in time, and still returns its summary', async () => {
      // Prepare
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });
      parts.events.hang = true;

      // Act
      const { summary, elapsedMs } = await run(parts, shops, { remainingMs: 30_000 });

      // Assess
      expect(summary.counts.refreshed).toBe(1);
      expect(elapsedMs).toBeLessThanOrEqual(30_000 - BUDGET.finishMarginMs);
      expect(parts.logger.lines.find((line) => line.message === 'events not published')).toEqual({
        level: 'warn',
        message: 'events not published',
        extra: { failed: 1, reasons: ["not published before the invocation's deadline"] },
      });
      expect(parts.metrics.values.get(METRIC.eventPublishFailures)).toBe(1);
    });
  });

  describe('app credentials', () => {
    it.each([
      ['no shop is due', { a: 6 * DAY }],
      ['no shop is configured', {}],
    ])('reads them once at the start of a run even when %s', async (_case, ttls) => {
      const parts = fakes();

      const { credentialReads } = await run(parts, seed(parts, ttls));

      expect(credentialReads).toBe(1);
    });

    it('fails due shops with their problem, without calling TikTok, and skips the others', async () => {
      // Prepare
      const parts = fakes();
      const shops = seed(parts, { due: HOUR, fresh: 6 * DAY });
      const problem = new MalformedSecretError(
        'app credentials: secret tiktok-shop/app-credentials does not hold {"app_key","app_secret"} (app_secret: missing)',
      );

      // Act
      const { summary, credentialReads } = await run(parts, shops, {
        appCredentials: () => Promise.reject(problem),
      });

      // Assess
      expect(summary.shops.map((result) => [result.outcome, result.errorType])).toEqual([
        ['failed', 'MalformedSecretError'],
        ['skipped', undefined],
      ]);
      expect(summary.shops[0]?.message).toBe(problem.message);
      expect(parts.tiktok.calls).toHaveLength(0);
      expect(credentialReads).toBe(1);
    });
  });

  describe('every await before TikTok is inside the plan', () => {
    it('does not call TikTok when the app credentials arrive after the last time an attempt may start', async () => {
      // Prepare: the credentials' secret answers at +48 s of a 60 s run, as a drip would
      const parts = fakes();
      const [due] = seed(parts, { due: HOUR });
      const before = parts.store.current(due?.id ?? '');

      // Act
      const { summary } = await run(parts, due === undefined ? [] : [due], {
        remainingMs: 60_000,
        appCredentials: async () => {
          await parts.clock.sleep(48_000);
          return APP_CREDENTIALS;
        },
      });

      // Assess
      expect(parts.tiktok.calls).toEqual([]);
      expect(summary.shops[0]).toMatchObject({
        outcome: 'failed',
        errorType: 'DeadlineExceededError',
        retryable: true,
      });
      expect(summary.shops[0]?.message).toMatch(/^refresh not started: /);
      expect(parts.store.current(due?.id ?? '')).toBe(before);
    });
  });

  describe('an answer kept by an earlier run', () => {
    it.each<[string, RunRequest, number]>([
      ['a scheduled run, not due', SCHEDULED, 6 * DAY],
      ['a dry run', { trigger: 'manual', force: false, dryRun: true }, HOUR],
      ['a dry run, not due', { trigger: 'manual', force: false, dryRun: true }, 6 * DAY],
      ['a scheduled run, due', SCHEDULED, HOUR],
    ])('reports the shop failed in %s, until a person acts', async (_case, request, ttl) => {
      // Prepare: a console run kept an answer it could not make current
      const parts = fakes();
      const [kept] = seed(parts, { kept: ttl });
      const id = kept?.id ?? '';
      parts.clock.setNow(parts.clock.now() + 1_000);
      const versionId = await parts.store.keep(id, '{"code":0,"data":{"refresh_token":"rt-kept"}}');

      // Act
      const { summary } = await run(parts, kept === undefined ? [] : [kept], { request });

      // Assess
      expect(summary.shops[0]).toMatchObject({
        outcome: 'failed',
        errorType: 'TokenNotCurrentError',
      });
      expect(summary.shops[0]?.message).toContain(`kept TikTok's answer as version ${versionId}`);
      expect(parts.metrics.values.get(METRIC.tokensNotCurrent)).toBe(1);
      expect(parts.metrics.values.get(METRIC.refreshFailures)).toBe(1);
      expect(parts.events.published).toMatchObject([
        { detailType: DETAIL_TYPE.tokenNotCurrent, detail: { versionId } },
      ]);
      expect(parts.tiktok.calls).toEqual([]);
    });
  });

  describe('a large fleet', () => {
    it('keeps the tokens of at most 100 due shops between reading and refreshing them', async () => {
      // Prepare: 150 due shops, the least urgent first
      const parts = fakes();
      const ttls = Object.fromEntries(
        Array.from({ length: 150 }, (_, i) => [`shop-${i}`, (150 - i) * 60]),
      );
      const shops = seed(parts, ttls);

      // Act
      const { summary } = await run(parts, shops);

      // Assess: 150 reads to find them, 50 more for the ones not kept, most urgent first
      expect(summary.counts.refreshed).toBe(150);
      expect(parts.store.calls.filter((call) => call.operation === 'read')).toHaveLength(200);
      const expiries = parts.tiktok.calls.map((call) => Number(call.refreshToken.slice(3)));
      expect(expiries.slice(0, 10)).toEqual([150, 149, 148, 147, 146, 145, 144, 143, 142, 141]);
    });
  });

  describe('the second look after TikTok refuses a refresh token', () => {
    it('looks at the store on the configured schedule before asking for reauthorization', async () => {
      // Prepare: another process used the refresh token; nothing new reaches the store
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });
      const stored = refreshTokenOf(parts.store.current(shops[0]?.id ?? ''));
      await parts.tiktok.refreshToken(APP_CREDENTIALS, stored);
      parts.tiktok.calls.length = 0;

      // Act
      const { summary, elapsedMs } = await run(parts, shops, {
        settings: settings({ movedOnChecksMs: [0, 10, 20] }),
      });

      // Assess
      expect(summary.shops[0]).toMatchObject({
        outcome: 'failed',
        errorType: 'ReauthorizationRequiredError',
      });
      expect(parts.store.calls.filter((call) => call.operation === 'read')).toHaveLength(1 + 3);
      expect(elapsedMs).toBe(30);
    });

    it('reports superseded when another writer stored a newer token meanwhile', async () => {
      // Prepare: another writer refreshes and writes its token just after ours is refused
      const parts = fakes();
      const shops = seed(parts, { a: HOUR });
      const id = shops[0]?.id ?? '';
      const stored = refreshTokenOf(parts.store.current(id));
      const theirs = await parts.tiktok.refreshToken(APP_CREDENTIALS, stored);
      parts.tiktok.calls.length = 0;
      void parts.clock.sleep(5).then(() => parts.store.seed(id, theirs.raw));

      // Act
      const { summary } = await run(parts, shops, {
        settings: settings({ movedOnChecksMs: [0, 10] }),
      });

      // Assess
      expect(summary.shops[0]).toMatchObject({ outcome: 'superseded' });
      expect(refreshTokenOf(parts.store.current(id))).toBe(refreshTokenOf(theirs.raw));
    });
  });

  describe('what it reports', () => {
    it('counts outcomes and the smallest access-token lifetime left after the run', async () => {
      // Prepare
      const parts = fakes();
      const shops = seed(parts, { due: HOUR, fresh: 5 * DAY, soon: 3 * DAY });
      parts.store.next('read', { kind: 'fail', error: new TransientError('throttled') });

      // Act
      const { summary } = await run(parts, shops);

      // Assess
      expect(summary.counts).toEqual({ refreshed: 0, skipped: 2, superseded: 0, failed: 1 });
      expect(parts.metrics.values.get(METRIC.transientFailures)).toBe(1);
      expect(parts.metrics.values.get(METRIC.minAccessTokenLifetime)).toBe(3 * DAY);
    });
  });
});
