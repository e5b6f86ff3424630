import { describe, expect, it } from 'vitest';
import type { RunRequest } from '../../../lambda/refresher/run-request.js';
import { planTableRun, TableRunMetrics } from '../../../lambda/refresher/table-run.js';
import { DEFAULT_APP, METRIC } from '../../../lambda/shared/contract.js';
import type { ShopSurvey } from '../../../lambda/shared/dynamodb-item.js';
import { InvalidEventError } from '../../../lambda/shared/errors.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 24 * 3600;
const SCHEDULED: RunRequest = { trigger: 'schedule', force: false, dryRun: false };
const SETTINGS = {
  refreshBeforeExpirySeconds: 2 * DAY,
  apps: {
    credentialsSecretIds: new Map([[DEFAULT_APP, 'creds']]),
    shopApps: new Map<string, string>(),
  },
};

/** A surveyed shop whose access token expires `inDays` from NOW, stored a day ago. */
function surveyed(shop: string, inDays: number, extra: Partial<ShopSurvey> = {}): ShopSurvey {
  return {
    shop,
    currentVersionId: `v-${shop}`,
    currentCreatedAt: NOW - DAY * 1000,
    accessExpiresAt: NOW / 1000 + inDays * DAY,
    refreshExpiresAt: NOW / 1000 + 300 * DAY,
    hasPending: false,
    hasKept: false,
    ...extra,
  };
}

async function* pages(...lists: ShopSurvey[][]): AsyncGenerator<ShopSurvey[]> {
  for (const list of lists) yield list;
}

describe('Function: planTableRun', () => {
  it('reads only the shops the survey cannot settle as not due', async () => {
    // Prepare
    const fleet = pages(
      [surveyed('fresh', 5), surveyed('due', 1)],
      [
        surveyed('pending', 5, { hasPending: true }),
        surveyed('unknown-expiry', 5, { accessExpiresAt: undefined }),
        surveyed('stale-store', 5, { currentCreatedAt: NOW - 6 * DAY * 1000 }),
        surveyed('dead', 5, { refreshExpiresAt: NOW / 1000 - 1 }),
        surveyed('unknown-app', 5, { app: 'eu' }),
        surveyed('also-fresh', 6),
      ],
    );

    // Act
    const plan = await planTableRun(fleet, SCHEDULED, SETTINGS, NOW);

    // Assess
    expect(plan.shops.map((shop) => shop.name)).toEqual([
      'due',
      'pending',
      'unknown-expiry',
      'stale-store',
      'dead',
      'unknown-app',
    ]);
    expect(plan.shops.find((shop) => shop.name === 'unknown-app')?.appProblem).toBeDefined();
    expect(plan.notDue).toEqual({
      count: 2,
      authorizationExpiring: 0,
      soonestAccessExpiry: NOW / 1000 + 5 * DAY,
    });
  });

  it('reads every shop of a forced run', async () => {
    const plan = await planTableRun(
      pages([surveyed('a', 5), surveyed('b', 6)]),
      { ...SCHEDULED, force: true },
      SETTINGS,
      NOW,
    );

    expect(plan.shops.map((shop) => shop.name)).toEqual(['a', 'b']);
    expect(plan.notDue.count).toBe(0);
  });

  it('reads the shops a person names, due or not, and refuses a name with no item', async () => {
    const named = await planTableRun(
      pages([surveyed('a', 5), surveyed('b', 6)]),
      { ...SCHEDULED, trigger: 'manual', shops: ['b'] },
      SETTINGS,
      NOW,
    );
    const typo = planTableRun(
      pages([surveyed('a', 5)]),
      { ...SCHEDULED, trigger: 'manual', shops: ['a', 'nope'] },
      SETTINGS,
      NOW,
    );

    expect(named.shops.map((shop) => shop.name)).toEqual(['b']);
    await expect(typo).rejects.toBeInstanceOf(InvalidEventError);
    await expect(typo).rejects.toThrow(/not configured: nope/);
  });

  it('counts the settled shops whose authorization ends within the warning period', async () => {
    const plan = await planTableRun(
      pages([surveyed('ending', 5, { refreshExpiresAt: NOW / 1000 + 10 * DAY })]),
      SCHEDULED,
      SETTINGS,
      NOW,
    );

    expect(plan.notDue).toMatchObject({ count: 1, authorizationExpiring: 1 });
  });
});

describe('Class: TableRunMetrics', () => {
  it('adds the settled shops to the skipped count and the soonest expiry', () => {
    // Prepare
    const sent: [string, number][] = [];
    const metrics = new TableRunMetrics(
      { addMetric: (name, _unit, value) => sent.push([name, value]) },
      { count: 3, authorizationExpiring: 1, soonestAccessExpiry: NOW / 1000 + 100 },
      () => NOW,
    );

    // Act
    metrics.addMetric(METRIC.tokensSkipped, 'Count', 2);
    metrics.addMetric(METRIC.authorizationExpiring, 'Count', 0);
    metrics.addMetric(METRIC.minAccessTokenLifetime, 'Seconds', 5_000);
    const summary = metrics.finish({
      trigger: 'schedule',
      force: false,
      dryRun: false,
      counts: { refreshed: 1, skipped: 2, superseded: 0, failed: 0 },
      shops: [],
    });

    // Assess
    expect(sent).toEqual([
      [METRIC.tokensSkipped, 5],
      [METRIC.authorizationExpiring, 1],
      [METRIC.minAccessTokenLifetime, 100],
    ]);
    expect(summary.counts).toEqual({ refreshed: 1, skipped: 5, superseded: 0, failed: 0 });
  });

  it('sends the soonest expiry of the settled shops when the core read none', () => {
    const sent: [string, number][] = [];
    const metrics = new TableRunMetrics(
      { addMetric: (name, _unit, value) => sent.push([name, value]) },
      { count: 1, authorizationExpiring: 0, soonestAccessExpiry: NOW / 1000 + 60 },
      () => NOW,
    );

    metrics.finish({
      trigger: 'schedule',
      force: false,
      dryRun: false,
      counts: { refreshed: 0, skipped: 0, superseded: 0, failed: 0 },
      shops: [],
    });

    expect(sent).toEqual([[METRIC.minAccessTokenLifetime, 60]]);
  });
});
