import { describe, expect, it } from 'vitest';
import {
  BatchedFirstReads,
  firstRead,
  PrefetchedReads,
} from '../../../lambda/refresher/first-reads.js';
import type { StoredToken, TokenStore } from '../../../lambda/shared/secrets-store.js';
import { shopFromId } from '../../../lambda/shared/shop.js';

/** A store that answers each read with a new version and counts the reads of each shop. */
function countingStore(failing: readonly string[] = []) {
  const reads = new Map<string, number>();
  const store: TokenStore = {
    read: async (shopId) => {
      const count = (reads.get(shopId) ?? 0) + 1;
      reads.set(shopId, count);
      if (failing.includes(shopId)) throw new Error(`cannot read ${shopId}`);
      return {
        current: { raw: '{}', versionId: `${shopId}-v${count}` },
      } as unknown as StoredToken;
    },
    replace: async () => ({ stored: true, versionId: 'new' }) as never,
    promote: async () => ({ stored: true }) as never,
    keep: async () => 'kept',
  };
  return { store, reads };
}

/** A clock that stands still: every early read is as young as can be. */
const YOUNG = { now: () => 0, maxAgeMs: 1_000 };

describe('Class: PrefetchedReads', () => {
  it('reads again when the early read was answered longer ago than it may be', async () => {
    const { store, reads } = countingStore();
    let now = 0;
    const prefetched = new PrefetchedReads(store, ['a'], { now: () => now, maxAgeMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    now = 1_001;

    const first = await prefetched.read('a');

    expect(first.current.versionId).toBe('a-v2');
    expect(reads.get('a')).toBe(2);
  });

  it('starts the first reads of the shops it is given at once', () => {
    const { store, reads } = countingStore();

    new PrefetchedReads(store, ['a', 'b', 'a'], YOUNG);

    expect(Object.fromEntries(reads)).toEqual({ a: 1, b: 1 });
  });

  it('answers the first read of a shop with the early read, and reads again after that', async () => {
    const { store, reads } = countingStore();
    const prefetched = new PrefetchedReads(store, ['a'], YOUNG);

    const first = await prefetched.read('a');
    const second = await prefetched.read('a');

    expect(first.current.versionId).toBe('a-v1');
    expect(second.current.versionId).toBe('a-v2');
    expect(reads.get('a')).toBe(2);
  });

  it('reads a shop it was not given when asked', async () => {
    const { store, reads } = countingStore();
    const prefetched = new PrefetchedReads(store, ['a'], YOUNG);

    await prefetched.read('b');

    expect(reads.get('b')).toBe(1);
  });

  it("gives the early read's failure to whoever reads the shop, and none unhandled otherwise", async () => {
    const { store } = countingStore(['a', 'b']);

    const prefetched = new PrefetchedReads(store, ['a', 'b'], YOUNG);

    await expect(prefetched.read('a')).rejects.toThrow('cannot read a');
    // 'b' is never read: its failure must not surface as an unhandled rejection.
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
});

describe('Class: BatchedFirstReads', () => {
  const stored = (shop: string, n: number): StoredToken =>
    ({ current: { versionId: `${shop}-${n}`, raw: `raw-${n}` } }) as StoredToken;

  it('answers each planned shop first from one batch read, then from the store', async () => {
    // Prepare
    const batches: string[][] = [];
    const single: string[] = [];
    const store = {
      read: async (shop: string) => {
        single.push(shop);
        return stored(shop, 2);
      },
    } as unknown as TokenStore;
    const reads = new BatchedFirstReads(
      store,
      async (ids) => {
        batches.push([...ids]);
        return new Map(ids.map((id) => [id, stored(id, 1)]));
      },
      ['a', 'b', 'c'],
      2,
    );

    // Act
    const first = await Promise.all(['a', 'b', 'c'].map((shop) => reads.read(shop)));
    const again = await reads.read('a');

    // Assess
    expect(first.map((token) => token.current.versionId)).toEqual(['a-1', 'b-1', 'c-1']);
    expect(batches).toEqual([['a', 'b'], ['c']]);
    expect(again.current.versionId).toBe('a-2');
    expect(single).toEqual(['a']);
  });

  it('reads a shop the batch did not find from the store, whose error names it', async () => {
    const store = {
      read: async (shop: string) => {
        throw new Error(`shop ${shop} has no token`);
      },
    } as unknown as TokenStore;
    const reads = new BatchedFirstReads(store, async () => new Map(), ['gone'], 100);

    await expect(reads.read('gone')).rejects.toThrow('shop gone has no token');
  });
});

describe('Function: firstRead', () => {
  const DEAUTHORIZED_AT = 1_800_000_000;
  const shop = {
    ...shopFromId('tiktok-shop/tokens/shop-a'),
    deauthorized: { at: DEAUTHORIZED_AT, notificationId: 'n-1' },
  };
  /** A store whose first answer is a token from before the deauthorization, then a newer one. */
  function reconnectedStore() {
    const answers = [DEAUTHORIZED_AT * 1000 - 1, DEAUTHORIZED_AT * 1000 + 60_000];
    let reads = 0;
    const store = {
      read: async () => {
        const createdAt = answers[Math.min(reads++, 1)];
        return { current: { versionId: `v${reads}`, raw: '{}', createdAt } } as StoredToken;
      },
    } as unknown as TokenStore;
    return { store, reads: () => reads };
  }

  it("reads again a token older than its shop's deauthorization mark, and takes the newer one", async () => {
    const { store, reads } = reconnectedStore();

    const stored = await firstRead(store, shop, undefined);

    expect(stored.current.versionId).toBe('v2');
    expect(reads()).toBe(2);
  });

  it('reads once a shop without a deauthorization mark', async () => {
    const { store, reads } = reconnectedStore();

    await firstRead(store, { ...shop, deauthorized: undefined }, undefined);

    expect(reads()).toBe(1);
  });
});
