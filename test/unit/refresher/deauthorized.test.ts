import { describe, expect, it } from 'vitest';
import { refreshShops } from '../../../lambda/refresher/refresh.js';
import type { RunRequest } from '../../../lambda/refresher/run-request.js';
import type { Shop } from '../../../lambda/refresher/shops.js';
import { DETAIL_TYPE, METRIC } from '../../../lambda/shared/contract.js';
import { dependencies, type Fakes, fakes, settings } from '../../support/refresh-fakes.js';
import { seedShop } from '../../support/seed-shop.js';

const HOUR = 3600;
const SCHEDULED: RunRequest = { trigger: 'schedule', force: false, dryRun: false };

/** A due shop (its access token ends within the hour) whose secret carries `marks`. */
function dueShop(parts: Fakes, name: string, marks: Partial<Shop> = {}): Shop {
  const id = `tiktok-shop/tokens/${name}`;
  seedShop({ tiktok: parts.tiktok, secretsManager: parts.store }, id, {
    accessTtlSeconds: HOUR,
    now: parts.clock.now(),
  });
  return { id, name: id, ...marks };
}

async function run(parts: Fakes, shops: readonly Shop[], request: RunRequest = SCHEDULED) {
  const { deps } = dependencies(parts, 300_000);
  return parts.clock.run(refreshShops(shops, request, settings(), deps));
}

describe('Function: refreshShops, for a shop TikTok said was deauthorized', () => {
  it('does not call TikTok and reports the shop as needing a person, with its event and metrics', async () => {
    // Prepare
    const parts = fakes();
    const seconds = Math.floor(parts.clock.now() / 1000);
    // The notification came a minute after the token was stored.
    parts.clock.setNow(parts.clock.now() + 60_000);
    const gone = dueShop(parts, 'gone');
    const mark = { at: seconds + 120, notificationId: 'n-6' };
    const shops = [{ ...gone, deauthorized: mark }, dueShop(parts, 'fine')];

    // Act
    const summary = await run(parts, shops);

    // Assess
    expect(parts.tiktok.calls).toHaveLength(1);
    expect(summary.counts).toEqual({ refreshed: 1, skipped: 0, superseded: 0, failed: 1 });
    expect(summary.shops.find((shop) => shop.shop === gone.name)).toMatchObject({
      outcome: 'failed',
      errorType: 'ShopDeauthorizedError',
      retryable: false,
      failsInvocation: false,
    });
    expect(
      parts.events.published.filter((e) => e.detailType === DETAIL_TYPE.shopDeauthorized),
    ).toEqual([
      {
        detailType: DETAIL_TYPE.shopDeauthorized,
        detail: expect.objectContaining({
          shop: gone.name,
          deauthorizedAt: new Date(mark.at * 1000).toISOString(),
        }),
      },
    ]);
    expect(parts.metrics.values.get(METRIC.reauthorizationRequired)).toBe(1);
    expect(parts.metrics.values.get(METRIC.shopsDeauthorized)).toBe(1);
  });

  it('reports it in a dry run and in a run of a shop that is not due', async () => {
    // Prepare
    const parts = fakes();
    const id = 'tiktok-shop/tokens/quiet';
    seedShop({ tiktok: parts.tiktok, secretsManager: parts.store }, id, {
      accessTtlSeconds: 6 * 24 * HOUR,
      now: parts.clock.now(),
    });
    const mark = { at: Math.floor(parts.clock.now() / 1000) + 1, notificationId: 'n-6' };
    const shop: Shop = { id, name: id, deauthorized: mark };

    // Act
    const dry = await run(parts, [shop], { ...SCHEDULED, dryRun: true });
    const scheduled = await run(parts, [shop]);

    // Assess
    for (const summary of [dry, scheduled]) {
      expect(summary.shops).toEqual([
        expect.objectContaining({ outcome: 'failed', errorType: 'ShopDeauthorizedError' }),
      ]);
    }
    expect(parts.tiktok.calls).toHaveLength(0);
  });

  it('refreshes a shop connected again after the notification, though the mark stayed', async () => {
    // Prepare
    const parts = fakes();
    const mark = { at: Math.floor(parts.clock.now() / 1000), notificationId: 'n-6' };
    parts.clock.setNow(parts.clock.now() + 5_000);
    const shop = dueShop(parts, 'back', { deauthorized: mark });

    // Act
    const summary = await run(parts, [shop]);

    // Assess
    expect(summary.shops).toEqual([expect.objectContaining({ outcome: 'refreshed' })]);
    expect(parts.metrics.values.get(METRIC.shopsDeauthorized)).toBe(0);
  });
});
