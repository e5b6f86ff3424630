import { describe, expect, it } from 'vitest';
import { refreshShops } from '../../../lambda/refresher/refresh.js';
import type { ShopIdsPort } from '../../../lambda/refresher/shop-ids.js';
import type { Shop } from '../../../lambda/refresher/shops.js';
import { TransientError } from '../../../lambda/shared/errors.js';
import { dependencies, type Fakes, fakes, settings } from '../../support/refresh-fakes.js';
import { seedShop } from '../../support/seed-shop.js';

const HOUR = 3600;

/** Get Authorized Shops and the tag write, recorded; `fail` makes the lookup fail. */
function port(fail = false): ShopIdsPort & { asked: string[]; tagged: [string, string[]][] } {
  const asked: string[] = [];
  const tagged: [string, string[]][] = [];
  return {
    asked,
    tagged,
    async lookUp(_credentials, accessToken) {
      asked.push(accessToken);
      if (fail) throw new TransientError('TikTok did not answer GET /authorization/202309/shops');
      return ['7494000000000000001'];
    },
    async tag(shop, ids) {
      tagged.push([shop.name, [...ids]]);
    },
  };
}

function dueShop(parts: Fakes, name: string, marks: Partial<Shop> = {}): Shop {
  const id = `tiktok-shop/tokens/${name}`;
  seedShop({ tiktok: parts.tiktok, secretsManager: parts.store }, id, {
    accessTtlSeconds: HOUR,
    now: parts.clock.now(),
  });
  return { id, name: id, ...marks };
}

async function run(parts: Fakes, shops: readonly Shop[], shopIds: ShopIdsPort) {
  const { deps } = dependencies(parts, 300_000);
  const request = { trigger: 'schedule', force: false, dryRun: false } as const;
  return parts.clock.run(refreshShops(shops, request, settings(), { ...deps, shopIds }));
}

describe('Function: refreshShops, the TikTok shop ids of a refreshed shop', () => {
  it('learns them with the new access token and tags them, for a shop whose secret names none', async () => {
    // Prepare
    const parts = fakes();
    const ids = port();
    const unknown = dueShop(parts, 'unknown');
    const known = dueShop(parts, 'known', { tiktokShopIds: ['7494000000000000009'] });

    // Act
    const summary = await run(parts, [unknown, known], ids);

    // Assess
    expect(summary.counts.refreshed).toBe(2);
    const stored = JSON.parse(parts.store.current(unknown.id) ?? '{}') as {
      data: { access_token: string };
    };
    expect(ids.asked).toEqual([stored.data.access_token]);
    expect(ids.tagged).toEqual([[unknown.name, ['7494000000000000001']]]);
  });

  it('logs a failure and reports the shop refreshed all the same', async () => {
    // Prepare
    const parts = fakes();
    const shop = dueShop(parts, 'unknown');

    // Act
    const summary = await run(parts, [shop], port(true));

    // Assess
    expect(summary.shops).toEqual([expect.objectContaining({ outcome: 'refreshed' })]);
    expect(parts.logger.lines).toContainEqual({
      level: 'warn',
      message: 'TikTok shop ids not learned; the next refresh tries again',
      extra: {
        shop: shop.name,
        errorType: 'TransientError',
        errorMessage: 'TikTok did not answer GET /authorization/202309/shops',
      },
    });
  });

  it('asks nothing for a shop that was not refreshed', async () => {
    // Prepare
    const parts = fakes();
    const ids = port();
    const id = 'tiktok-shop/tokens/fresh';
    seedShop({ tiktok: parts.tiktok, secretsManager: parts.store }, id, {
      accessTtlSeconds: 6 * 24 * HOUR,
      now: parts.clock.now(),
    });

    // Act
    await run(parts, [{ id, name: id }], ids);

    // Assess
    expect(ids.asked).toEqual([]);
  });
});
