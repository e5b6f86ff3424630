// Stores whose first read of a shop comes from elsewhere than a read of its own: started early
// beside other reads (PrefetchedReads), or one BatchGetItem for many shops (BatchedFirstReads).
import type { StoredToken, TokenStore, WriteOutcome } from '../shared/secrets-store.js';

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
 * survey's read may be early: a later read of the same shop reads again.
 */
export class PrefetchedReads extends FirstReads {
  readonly #first = new Map<string, Promise<StoredToken>>();

  constructor(store: TokenStore, shopIds: readonly string[]) {
    super(store);
    for (const shopId of new Set(shopIds)) {
      const read = store.read(shopId);
      // Whoever reads the shop sees the failure; a shop the run never reads leaves none unhandled.
      read.catch(() => {});
      this.#first.set(shopId, read);
    }
  }

  read(shopId: string): Promise<StoredToken> {
    const first = this.#first.get(shopId);
    if (first === undefined) return this.store.read(shopId);
    this.#first.delete(shopId);
    return first;
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
