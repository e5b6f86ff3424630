import { SHOP_NAME } from '../shared/contract.js';
import { describeError, TokenNotStoredError, UsageError } from '../shared/errors.js';
import type { FirstTokenStored } from '../shared/secrets-store.js';
import type { AppCredentials, ParsedToken } from '../shared/token.js';
import { expiresAt } from '../shared/token.js';

/**
 * Connecting a shop: exchange the seller's authorization code for the shop's first token and
 * store TikTok's answer unchanged where the refresher will find it. Shared by the authorize
 * command and the consent callback.
 */

export const DEFAULT_TOKEN_SECRET_PREFIX = 'tiktok-shop/';
export const DEFAULT_APP_CREDENTIALS_SECRET_ID = 'tiktok-shop/app-credentials';
export const DEFAULT_CALLBACK_STATE_SECRET_ID = 'tiktok-shop/callback-state-key';

export function checkShopName(shop: string): string {
  if (!SHOP_NAME.test(shop)) {
    throw new UsageError(
      `shop name must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (got ${JSON.stringify(shop.slice(0, 80))})`,
    );
  }
  return shop;
}

/** `<prefix>tokens/<shop>`, e.g. `tiktok-shop/tokens/acme-uk`. */
export function tokenSecretName(prefix: string, shop: string): string {
  return `${prefix}tokens/${checkShopName(shop)}`;
}

/** Where the token went; `arn` only for a secret. */
export type StoredFirstToken = Omit<FirstTokenStored, 'arn'> & { readonly arn?: string };

/** What may be shown about a connected shop: never a token. */
export interface ConnectedShop {
  readonly shop: string;
  readonly stored: StoredFirstToken;
  readonly sellerName?: string;
  readonly accessTokenExpiresAt: string;
  readonly refreshTokenExpiresAt: string;
}

export interface ConnectDependencies {
  readonly appCredentials: () => Promise<AppCredentials>;
  readonly tiktok: {
    getToken(credentials: AppCredentials, authCode: string): Promise<ParsedToken>;
  };
  /** Stores TikTok's answer exactly as received. */
  readonly store: (raw: string) => Promise<StoredFirstToken>;
}

/**
 * Exchanges the code and stores the answer. A refused code throws TikTok's error before
 * anything is written. An auth code works once, so a token that could not be stored is lost:
 * that is TokenNotStoredError, distinct from anything TikTok said.
 */
export async function connectShop(
  shop: string,
  authCode: string,
  deps: ConnectDependencies,
): Promise<ConnectedShop> {
  const token = await deps.tiktok.getToken(await deps.appCredentials(), authCode);
  let stored: StoredFirstToken;
  try {
    stored = await deps.store(token.raw);
  } catch (error) {
    throw new TokenNotStoredError(
      `TikTok issued the shop's token and it could not be stored; the authorization code is used up, so the seller must approve the app again: ${describeError(error).message}`,
      { cause: error },
    );
  }
  const { data } = token.document;
  return {
    shop,
    stored,
    ...(data.seller_name === undefined ? {} : { sellerName: data.seller_name }),
    accessTokenExpiresAt: expiresAt(data.access_token_expire_in),
    refreshTokenExpiresAt: expiresAt(data.refresh_token_expire_in),
  };
}
