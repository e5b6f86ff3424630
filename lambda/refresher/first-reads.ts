// Stores whose first read of a shop comes from elsewhere than a read of its own: started early
// beside other reads (PrefetchedReads), or one BatchGetItem for many shops (BatchedFirstReads).
import type { StoredToken, TokenStore, WriteOutcome } from '../shared/secrets-store.js';
import { deauthorizationInEffect } from '../shared/shop-state.js';
import type { Shop } from './shops.js';

/**
 * A shop's first read in a run (`batchRead` when a batch brought it), made again when it pairs
 * with its tags' deauthorization mark: the tags may be younger than the read (read beside it, or
 * listed apart), and a reconnect between the two would look like a revoked shop.
 */
export async function firstRead(
  store: TokenStore,
  shop: Shop,
  batchRead: StoredToken | undefined,
): Promise<StoredToken> {
  const stored = batchRead ?? (await store.read(shop.id));
  if (!deauthorizationInEffect(shop.deauthorized, stored.current.createdAt)) return stored;
  return store.read(shop.id);
}

/** Every later read, and every write, goes to the store itself. */
abstract class FirstReads implements TokenStore {
  protected readonly store: TokenStore;

  constructor(store: TokenStore) {
    this.store = store;
  }

  abstract read(shopId: string): Promise<StoredToken>;

  replace(shopId: string, raw: string, basedOnVersionId: string): Promise<WriteOutcome> {
    return this.store.replace(shopId, raw, basedOnVersionId);
  }

  promote(shopId: string, versionId: string, basedOnVersionId: string): Promise<WriteOutcome> {
    return this.store.promote(shopId, versionId, basedOnVersionId);
  }

  keep(shopId: string, raw: string): Promise<string> {
    return this.store.keep(shopId, raw);
  }
}

/**
 * The first token reads of shops whose secret's tags are still being read, started when the
 * store is built: learning a shop's app then costs a run no round trip of its own. Only the
 * survey's read may be early, and only while young: a read answered more than `maxAgeMs` before
 * the survey asks (slow tag reads) is made again, as is any later read of the shop.
 */
export class PrefetchedReads extends FirstReads {
  readonly #first = new Map<string, { read: Promise<StoredToken>; answeredAt?: number }>();
  readonly #now: () => number;
  readonly #maxAgeMs: number;

  constructor(
    store: TokenStore,
    shopIds: readonly string[],
    options: { readonly now: () => number; readonly maxAgeMs: number },
  ) {
    super(store);
    this.#now = options.now;
    this.#maxAgeMs = options.maxAgeMs;
    for (const shopId of new Set(shopIds)) {
      const early: { read: Promise<StoredToken>; answeredAt?: number } = {
        read: store.read(shopId),
      };
      // Whoever reads the shop sees the failure; a shop the run never reads leaves none unhandled.
      early.read.then(
        () => {
          early.answeredAt = this.#now();
        },
        () => {},
      );
      this.#first.set(shopId, early);
    }
  }

  read(shopId: string): Promise<StoredToken> {
    const early = this.#first.get(shopId);
    this.#first.delete(shopId);
    if (early === undefined) return this.store.read(shopId);
    const { answeredAt } = early;
    if (answeredAt !== undefined && this.#now() - answeredAt > this.#maxAgeMs) {
      return this.store.read(shopId);
    }
    return early.read;
  }
}

/**
 * The store as the core uses it, whose first read of each planned shop comes from one
 * BatchGetItem for the next 100 shops in the order the core reads them (strongly consistent,
 * as GetItem). Every later read, and every write, goes to the store itself.
 */
export class BatchedFirstReads extends FirstReads {
  readonly #readMany: (shopIds: readonly string[]) => Promise<Map<string, StoredToken>>;
  readonly #order: readonly string[];
  readonly #place: Map<string, number>;
  readonly #batchSize: number;
  readonly #started = new Set<number>();
  /** Shops of a started batch not read yet, with the batch's answer. */
  readonly #unread = new Map<string, Promise<Map<string, StoredToken>>>();

  constructor(
    store: TokenStore,
    readMany: (shopIds: readonly string[]) => Promise<Map<string, StoredToken>>,
    order: readonly string[],
    batchSize: number,
  ) {
    super(store);
    this.#readMany = readMany;
    this.#order = order;
    this.#place = new Map(order.map((id, index) => [id, index]));
    this.#batchSize = batchSize;
  }

  async read(shopId: string): Promise<StoredToken> {
    const place = this.#place.get(shopId);
    if (place !== undefined) this.#start(Math.floor(place / this.#batchSize));
    const batch = this.#unread.get(shopId);
    if (batch === undefined) return this.store.read(shopId);
    this.#unread.delete(shopId);
    // A shop the batch did not find is read alone: the store's own error says what is missing.
    return (await batch).get(shopId) ?? this.store.read(shopId);
  }

  #start(index: number): void {
    if (this.#started.has(index)) return;
    this.#started.add(index);
    const ids = this.#order.slice(index * this.#batchSize, (index + 1) * this.#batchSize);
    const batch = this.#readMany(ids);
    // Whoever reads a shop of the batch sees its failure; a shop never read leaves none unhandled.
    batch.catch(() => {});
    for (const id of ids) this.#unread.set(id, batch);
  }
}
