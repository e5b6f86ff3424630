import { describe, expect, it } from 'vitest';
import { BATCH_FROM_SHOPS, readGroups } from '../../../lambda/refresher/batch-reads.js';
import { type RunSummary, refreshShops } from '../../../lambda/refresher/refresh.js';
import type { RunRequest } from '../../../lambda/refresher/run-request.js';
import type { Shop } from '../../../lambda/refresher/shops.js';
import { TransientError } from '../../../lambda/shared/errors.js';
import { dependencies, type Fakes, fakes, settings } from '../../support/refresh-fakes.js';
import { seedShop } from '../../support/seed-shop.js';

const SCHEDULED: RunRequest = { trigger: 'schedule', force: false, dryRun: false };
const HOUR = 3600;
const DAY = 24 * HOUR;
/** Not due for days. */
const FRESH = 6 * DAY;

const nameOf = (i: number) => `tiktok-shop/tokens/shop-${String(i).padStart(3, '0')}`;

/** Seeds `count` shops, the access token of shop i ending in `ttl(i)` seconds. */
function seedFleet(parts: Fakes, count: number, ttl: (i: number) => number = () => FRESH) {
  return Array.from({ length: count }, (_, i) => {
    const name = nameOf(i);
    const hosts = { tiktok: parts.tiktok, secretsManager: parts.store };
    seedShop(hosts, name, { accessTtlSeconds: ttl(i), now: parts.clock.now() });
    return name;
  });
}

/** The shops as a listing taken now shows them. */
function listed(parts: Fakes, names: readonly string[]): Shop[] {
  return names.map((name) => ({ id: name, name, listed: parts.store.listing(name) }));
}

async function run(parts: Fakes, shops: readonly Shop[], request = SCHEDULED): Promise<RunSummary> {
  const { deps } = dependencies(parts, 300_000);
  return parts.clock.run(refreshShops(shops, request, settings(), { ...deps, batch: parts.store }));
}

const operations = (parts: Fakes, operation: string) =>
  parts.store.calls.filter((call) => call.operation === operation);
const resultOf = (summary: RunSummary, name: string) =>
  summary.shops.find((shop) => shop.shop === name);

/** A newer token of the shop's seller, as an interrupted write leaves it pending. */
function newerToken(parts: Fakes, name: string, ttlSeconds: number): string {
  const stored = JSON.parse(parts.store.current(name) ?? '{}') as { data: { open_id: string } };
  const refreshToken = parts.tiktok.addSeller().refreshToken;
  const data = parts.tiktok.tokenDocument(refreshToken, {
    accessTokenExpiresAt: Math.floor(parts.clock.now() / 1000) + ttlSeconds,
  });
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: { ...data, open_id: stored.data.open_id },
    request_id: 'r',
  });
}

describe('Function: refreshShops, reading in batches', () => {
  it('reads 45 listed shops that are not due in three batch calls and no full read', async () => {
    // Prepare
    const parts = fakes();
    const shops = listed(parts, seedFleet(parts, 45));

    // Act
    const summary = await run(parts, shops);

    // Assess
    expect(summary.counts.skipped).toBe(45);
    expect(operations(parts, 'batch')).toHaveLength(3);
    expect(operations(parts, 'read')).toHaveLength(0);
  });

  it('reads a shop listed with a pending version in full and recovers the interrupted write', async () => {
    // Prepare
    const parts = fakes();
    const names = seedFleet(parts, 30);
    const interrupted = nameOf(7);
    const pending = newerToken(parts, interrupted, 7 * DAY);
    parts.store.seedPending(interrupted, pending);
    const shops = listed(parts, names);

    // Act
    const summary = await run(parts, shops);

    // Assess
    expect(resultOf(summary, interrupted)).toMatchObject({ outcome: 'refreshed', recovered: true });
    expect(parts.store.current(interrupted)).toBe(pending);
    expect(parts.tiktok.calls).toHaveLength(0);
    expect(operations(parts, 'read').every((call) => call.shopId === interrupted)).toBe(true);
    expect(operations(parts, 'batch')).toHaveLength(2);
  });

  it('reports the answer an earlier run kept for a due shop, and calls TikTok for none', async () => {
    // Prepare
    const parts = fakes();
    const names = seedFleet(parts, 30, (i) => (i === 3 ? HOUR : FRESH));
    const keeper = nameOf(3);
    await parts.store.keep(keeper, newerToken(parts, keeper, 7 * DAY));
    const shops = listed(parts, names);

    // Act
    const summary = await run(parts, shops);

    // Assess
    expect(resultOf(summary, keeper)).toMatchObject({
      outcome: 'failed',
      errorType: 'TokenNotCurrentError',
    });
    expect(parts.tiktok.calls).toHaveLength(0);
    expect(summary.counts.skipped).toBe(29);
  });

  it('reads a shop in full when its current version is not the listed one', async () => {
    // Prepare: another writer made a new version current after the listing was taken
    const parts = fakes();
    const names = seedFleet(parts, 25);
    const shops = listed(parts, names);
    const moved = nameOf(11);
    parts.store.seed(moved, newerToken(parts, moved, FRESH));

    // Act
    const summary = await run(parts, shops);

    // Assess
    expect(summary.counts.skipped).toBe(25);
    expect(operations(parts, 'read').map((call) => call.shopId)).toEqual([moved]);
  });

  it('recovers a write interrupted after the listing was taken in the next run, whose listing shows it', async () => {
    // Prepare: the listing lags behind a pending version written after it
    const parts = fakes();
    const names = seedFleet(parts, 25);
    const stale = listed(parts, names);
    const late = nameOf(4);
    const pending = newerToken(parts, late, 7 * DAY);
    parts.store.seedPending(late, pending);

    // Act
    const first = await run(parts, stale);
    const second = await run(parts, listed(parts, names));

    // Assess: current untouched by the first run, recovered by the second
    expect(resultOf(first, late)).toMatchObject({ outcome: 'skipped' });
    expect(resultOf(second, late)).toMatchObject({ outcome: 'refreshed', recovered: true });
    expect(parts.store.current(late)).toBe(pending);
  });

  it('reads a due shop again in full before refreshing it, and refreshes the most urgent first', async () => {
    // Prepare: shops 0, 10 and 20 due, 20 the most urgent
    const parts = fakes();
    const ttl = (i: number) => (i % 10 === 0 ? (4 - i / 10) * HOUR : FRESH);
    const names = seedFleet(parts, 30, ttl);
    const before = [0, 10, 20].map((i) => parts.store.current(nameOf(i)));

    // Act
    const summary = await run(parts, listed(parts, names));

    // Assess
    expect(summary.counts).toMatchObject({ refreshed: 3, skipped: 27, failed: 0 });
    expect(
      operations(parts, 'read')
        .map((call) => call.shopId)
        .sort(),
    ).toEqual([nameOf(0), nameOf(10), nameOf(20)].sort());
    const order = parts.tiktok.calls.map((call) =>
      before.findIndex((raw) => raw?.includes(`"refresh_token":"${call.refreshToken}"`)),
    );
    expect(order).toEqual([2, 1, 0]);
  });

  it('reads every shop in full when a batch call fails, and warns once', async () => {
    // Prepare
    const parts = fakes();
    const shops = listed(parts, seedFleet(parts, 40));
    parts.store.next('batch', { kind: 'fail', error: new TransientError('throttled') }, 2);

    // Act
    const summary = await run(parts, shops);

    // Assess
    expect(summary.counts.skipped).toBe(40);
    expect(operations(parts, 'read')).toHaveLength(40);
    const warnings = parts.logger.lines.filter((line) => line.message === 'batch read failed');
    expect(warnings).toHaveLength(1);
    expect(parts.logger.lines.find((line) => line.message === 'shops read')?.extra).toMatchObject({
      batchFailures: 2,
    });
  });

  it('reads every shop in full in a run too small for batches, and in a forced run', async () => {
    // Prepare
    const parts = fakes();
    const small = listed(parts, seedFleet(parts, BATCH_FROM_SHOPS - 1));

    // Act
    await run(parts, small);
    const afterSmall = operations(parts, 'read').length;
    const forced = listed(parts, seedFleet(parts, BATCH_FROM_SHOPS));
    await run(parts, forced, { ...SCHEDULED, force: true });

    // Assess
    expect(afterSmall).toBe(BATCH_FROM_SHOPS - 1);
    expect(operations(parts, 'batch')).toHaveLength(0);
  });
});

describe('Function: readGroups', () => {
  const plain = (name: string): Shop => ({
    id: name,
    name,
    listed: { currentVersionId: 'v1', hasPending: false, hasKept: false },
  });

  it('groups listed shops 20 at a time and leaves every other shop alone, in order', () => {
    // Prepare
    const shops: Shop[] = [
      ...Array.from({ length: 25 }, (_, i) => plain(`p${i}`)),
      { id: 'unlisted', name: 'unlisted' },
      { ...plain('pending'), listed: { currentVersionId: 'v1', hasPending: true, hasKept: false } },
      { ...plain('no-app'), appProblem: 'unknown app' },
    ];

    // Act
    const groups = readGroups(shops, true);

    // Assess
    expect(groups.map((group) => group.length)).toEqual([20, 1, 1, 1, 5]);
    expect(
      groups
        .flat()
        .map(({ index }) => index)
        .sort((a, b) => a - b),
    ).toEqual(shops.map((_, index) => index));
  });

  it('leaves every shop alone when the run does not batch', () => {
    expect(readGroups([plain('a'), plain('b')], false).map((group) => group.length)).toEqual([
      1, 1,
    ]);
  });
});
