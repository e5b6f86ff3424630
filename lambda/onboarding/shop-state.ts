// After a shop's token is stored: the receiver's deauthorized mark removed (the seller connected
// again) and the TikTok shop ids the token covers tagged, so that webhooks find the shop.
import { describeError } from '../shared/errors.js';
import type { ShopTagWriter } from '../shared/shop-tags.js';
import type { AppCredentials } from '../shared/token.js';

/** What onboarding needs to keep a secret's shop state; a file destination has none. */
export interface ShopStateDependencies {
  readonly tags: ShopTagWriter;
  /** The TikTok shop ids a token covers (TikTok's Get Authorized Shops). */
  readonly shopIds: (credentials: AppCredentials, accessToken: string) => Promise<string[]>;
}

export interface SettledShopState {
  /** The TikTok shop ids tagged; absent when they could not be learned or tagged. */
  readonly tiktokShopIds?: readonly string[];
  /** Whether the ids were learned and tagged; the refresher's first refresh tries again if not. */
  readonly shopIdsLearned: boolean;
  /** What went wrong, for the log: never a reason to fail the connection, whose token is stored. */
  readonly warnings: readonly string[];
}

/**
 * Removes the deauthorized mark and tags the shop ids. Nothing here throws: the token is stored
 * already, a mark left behind is moot (the token is newer than it), and ids not learned now are
 * learned at the shop's next refresh.
 */
export async function settleShopState(
  secretId: string,
  credentials: AppCredentials,
  accessToken: string,
  deps: ShopStateDependencies,
): Promise<SettledShopState> {
  const warnings: string[] = [];
  const [cleared, learned] = await Promise.allSettled([
    deps.tags.clearDeauthorized(secretId),
    deps.shopIds(credentials, accessToken),
  ]);
  if (cleared.status === 'rejected') {
    warnings.push(
      `the secret's deauthorized mark was not removed (the refresher and readers ignore it: the token is newer): ${describeError(cleared.reason).message}`,
    );
  }
  if (learned.status === 'rejected') {
    warnings.push(
      `the TikTok shop ids of the token were not learned (the next refresh tries again; until then webhooks do not find the shop): ${describeError(learned.reason).message}`,
    );
    return { shopIdsLearned: false, warnings };
  }
  try {
    await deps.tags.tagShopIds(secretId, learned.value);
  } catch (error) {
    warnings.push(
      `the TikTok shop ids ${learned.value.slice(0, 5).join(', ')} were not tagged on the secret (the next refresh tries again): ${describeError(error).message}`,
    );
    return { shopIdsLearned: false, warnings };
  }
  return { tiktokShopIds: learned.value, shopIdsLearned: true, warnings };
}
