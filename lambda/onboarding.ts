import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SHOP_NAME } from './contract';
import { describeError, SecretStoreError, TokenNotStoredError, UsageError } from './errors';
import { FileTokenStore } from './file-store';
import type { FirstTokenStored } from './secrets-store';
import type { AppCredentials, ParsedToken } from './token';
import { expiresAt } from './token';

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

/**
 * Stores a first token in a local file, as FileTokenStore keeps tokens: an existing token is
 * replaced through `<file>.pending` and kept as `<file>.previous`; a new file is written to a
 * temporary name and linked into place, which fails rather than overwrite a file that appeared
 * meanwhile.
 */
export async function storeFirstTokenFile(path: string, raw: string): Promise<StoredFirstToken> {
  const store = new FileTokenStore();
  if (await createExclusively(path, raw)) {
    const { current } = await store.read(path);
    return { name: path, versionId: current.versionId, created: true };
  }
  const { current } = await store.read(path);
  const outcome = await store.replace(path, raw, current.versionId);
  if (!outcome.stored) {
    throw new SecretStoreError(`token file ${path} changed while the new token was written`);
  }
  return { name: path, versionId: outcome.versionId, created: false };
}

/**
 * Fails unless a token file can be written at `path`. Checked before the code is exchanged:
 * a code works once, so finding out afterwards would lose the token.
 */
export async function checkTokenFileWritable(path: string): Promise<void> {
  try {
    await access(dirname(path), constants.W_OK);
  } catch (error) {
    throw fileError(path, 'cannot be written', error);
  }
}

/** True when the file was created; false when it already existed. */
async function createExclusively(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(content, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await link(temp, path);
      return true;
    } finally {
      await unlink(temp);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fileError(path, 'cannot be written', error);
  }
}

function fileError(path: string, what: string, error: unknown): SecretStoreError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  return new SecretStoreError(`token file ${path} ${what} (${code})`, { cause: error });
}
