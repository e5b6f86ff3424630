// Onboarding's and the refresher's writes of a shop's state tags (lambda/shared/shop-state.ts):
// the TikTok shop ids its token covers, which the webhook receiver finds it by, and the end of a
// deauthorization once the seller connected again.
import {
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { AwsCalls, type SendOptions } from './aws-call.js';
import { SHOP_STATE_TAG } from './contract.js';
import { shopIdTagKey } from './shop-state.js';
import type { Clock } from './timing.js';

/**
 * A secret holds at most 50 tags; the product's own take up to 6 (discovery, seller, app and the
 * receiver's three), which leaves room for this many shop ids, more than any seller has.
 */
export const MAX_SHOP_ID_TAGS = 40;
/** Tags are best effort (a later connection or refresh writes them again): a few quick tries. */
const TAG_RETRY = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 } as const;
/** What a TikTok shop id may be to name a tag key (the receiver refuses any other). */
const SHOP_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The tags naming `ids`, each once, only well-formed ids, at most MAX_SHOP_ID_TAGS. */
export function shopIdTags(ids: readonly string[]): { Key: string; Value: string }[] {
  return [...new Set(ids)]
    .filter((id) => SHOP_ID.test(id))
    .slice(0, MAX_SHOP_ID_TAGS)
    .map((id) => ({ Key: shopIdTagKey(id), Value: '1' }));
}

/** Where a shop's state tags are written. */
export interface ShopTagWriter {
  /** Tags the secret with each TikTok shop id its token covers (none removed). */
  tagShopIds(secretId: string, ids: readonly string[]): Promise<void>;
  /** Removes the receiver's deauthorized mark: the seller connected again. */
  clearDeauthorized(secretId: string): Promise<void>;
}

export interface SecretsManagerShopTagsOptions {
  readonly client: SecretsManagerClient;
  readonly clock?: Clock;
  /** Epoch ms after which no retry starts. */
  readonly deadline?: () => number;
  /** Aborts a call in flight (the refresher's run deadline). */
  readonly signal?: AbortSignal;
}

/** TagResource and UntagResource create no secret version: they never race a token's write. */
export class SecretsManagerShopTags implements ShopTagWriter {
  readonly #client: SecretsManagerClient;
  readonly #calls: AwsCalls;

  constructor(options: SecretsManagerShopTagsOptions) {
    this.#client = options.client;
    this.#calls = new AwsCalls('Secrets Manager', { ...options, retry: TAG_RETRY });
  }

  async tagShopIds(secretId: string, ids: readonly string[]): Promise<void> {
    const tags = shopIdTags(ids);
    if (tags.length === 0) return;
    await this.#call('TagResource', secretId, (send) =>
      this.#client.send(new TagResourceCommand({ SecretId: secretId, Tags: tags }), send),
    );
  }

  async clearDeauthorized(secretId: string): Promise<void> {
    await this.#call('UntagResource', secretId, (send) =>
      this.#client.send(
        new UntagResourceCommand({ SecretId: secretId, TagKeys: [SHOP_STATE_TAG.deauthorized] }),
        send,
      ),
    );
  }

  #call<T>(
    operation: string,
    secretId: string,
    call: (send: SendOptions) => Promise<T>,
  ): Promise<T> {
    return this.#calls.run(operation, call, `secret ${secretId}`);
  }
}
