import {
  type DestinationState,
  type DestinationWrite,
  type KeptAnswer,
  type ShopTokenDestination,
  storedSeller,
} from '../onboarding/destination.js';
import { FileTokenStore, tokenFileTarget } from './file-store.js';

/**
 * A shop's token in a local file, for `npm run authorize -- --token-file`: the file store's
 * compare-and-swap (the replaced token kept as `<file>.previous`), a link followed to its
 * target, and a recovery file reserved before the code is exchanged. One file is one shop, so
 * no other shop can hold the seller; consent links are not used with files.
 */
export class TokenFileDestination implements ShopTokenDestination {
  readonly shop: string;
  readonly name: string;
  readonly #store = new FileTokenStore();

  constructor(path: string, shop: string) {
    this.name = path;
    this.shop = shop;
  }

  /**
   * Fails unless the file can be written (not a folder, its folder takes new files). Checked
   * before the code is exchanged: a code works once, so finding out afterwards loses the token.
   */
  prepareWrite(): Promise<void> {
    return this.#store.prepareWrite(this.name);
  }

  release(): Promise<void> {
    return this.#store.release();
  }

  async inspect(): Promise<DestinationState> {
    const current = await this.#store.readIfExists(this.name);
    return current === undefined
      ? { linkUsed: false }
      : { linkUsed: false, current: storedSeller(current.versionId, current.raw) };
  }

  async shopsOfSeller(): Promise<ShopTokenDestination[]> {
    return [];
  }

  /** `<file>.kept`, beside the token file (created or not). */
  async keep(raw: string): Promise<KeptAnswer> {
    const versionId = await this.#store.keep(this.name, raw);
    const file = `${await tokenFileTarget(this.name)}.kept`;
    return { versionId, label: file, where: `file ${file}` };
  }

  async write(
    raw: string,
    options: { readonly basedOnVersionId: string | undefined },
  ): Promise<DestinationWrite> {
    if (options.basedOnVersionId === undefined) {
      const versionId = await this.#store.create(this.name, raw);
      return versionId === undefined
        ? { stored: false, reason: 'moved' }
        : { stored: true, versionId, created: true, warnings: [] };
    }
    const outcome = await this.#store.replace(this.name, raw, options.basedOnVersionId);
    return outcome.stored
      ? { stored: true, versionId: outcome.versionId, created: false, warnings: [] }
      : { stored: false, reason: 'moved' };
  }
}
