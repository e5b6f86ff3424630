// The first token reads of shops whose secret's tags are still being read, started beside those
// reads: learning a shop's app then costs a run no round trip of its own.
import type { StoredToken, TokenStore, WriteOutcome } from '../shared/secrets-store.js';

/**
 * A store whose first read of each of `shopIds` was started when it was built; every other read,
 * and every write, goes to `store`. A later read of the same shop reads again: only the survey's
 * read may be early.
 */
export class PrefetchedReads implements TokenStore {
  readonly #store: TokenStore;
  readonly #first = new Map<string, Promise<StoredToken>>();

  constructor(store: TokenStore, shopIds: readonly string[]) {
    this.#store = store;
    for (const shopId of new Set(shopIds)) {
      const read = store.read(shopId);
      // Whoever reads the shop sees the failure; a shop the run never reads leaves none unhandled.
      read.catch(() => {});
      this.#first.set(shopId, read);
    }
  }

  read(shopId: string): Promise<StoredToken> {
    const first = this.#first.get(shopId);
    if (first === undefined) return this.#store.read(shopId);
    this.#first.delete(shopId);
    return first;
  }

  replace(shopId: string, raw: string, basedOnVersionId: string): Promise<WriteOutcome> {
    return this.#store.replace(shopId, raw, basedOnVersionId);
  }

  promote(shopId: string, versionId: string, basedOnVersionId: string): Promise<WriteOutcome> {
    return this.#store.promote(shopId, versionId, basedOnVersionId);
  }

  keep(shopId: string, raw: string): Promise<string> {
    return this.#store.keep(shopId, raw);
  }
}
