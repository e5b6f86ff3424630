/**
 * For other teams' Lambda functions: read a shop's TikTok access token from its secret.
 *
 * ```ts
 * import { withShopToken } from 'tiktok-shop-token-refresher/reader';
 * const orders = await withShopToken('tiktok-shop/tokens/acme-uk', (accessToken) =>
 *   tiktokShopApi.getOrders({ accessToken }),
 * );
 * ```
 *
 * Reads go through Powertools Parameters, which caches the secret in memory for `maxAge`
 * seconds per execution environment. A reader never refreshes a token: the refresher does, at
 * least 48 hours before the access token expires, so any token a reader holds is valid. The
 * cache only bounds how long a reader keeps using a token that a new authorization (or an early
 * refresh) replaced; when TikTok refuses it, `withShopToken` re-reads the secret and retries once.
 * Needs `secretsmanager:GetSecretValue` on the secret (and `kms:Decrypt` for a customer key).
 */
import { getSecret, type SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import {
  AccessTokenRejectedError,
  MalformedSecretError,
  ShopTokenExpiredError,
  secretReadError,
} from '../shared/errors.js';
import { parseTokenDocument } from '../shared/token.js';

export { AccessTokenRejectedError, ShopTokenExpiredError } from '../shared/errors.js';

/**
 * Seconds a token stays cached. Short on purpose: it costs one GetSecretValue a minute per
 * execution environment, and a reauthorized shop reaches every reader within a minute.
 */
export const DEFAULT_MAX_AGE_SECONDS = 60;

/** What a reader gets: the access token and facts about it, never the refresh token. */
export interface ShopToken {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  readonly sellerName?: string;
  readonly openId?: string;
}

export interface ReadOptions {
  /** Seconds a read is served from the cache. @default 60 */
  readonly maxAge?: number;
  /** Skip the cache and read Secrets Manager now (the new value is cached). @default false */
  readonly forceFetch?: boolean;
  /**
   * A provider whose client points elsewhere (a local endpoint in tests, another region).
   * @default Powertools' shared provider, used through `getSecret`
   */
  readonly provider?: SecretsProvider;
  /** Epoch ms, for deciding whether a cached token has expired. @default Date.now */
  readonly now?: () => number;
}

export interface WithTokenOptions extends ReadOptions {
  /**
   * Whether an error from the call means TikTok refused the access token.
   * @default isAccessTokenRejected
   */
  readonly isTokenRejected?: (error: unknown) => boolean;
}

/**
 * Reads a shop's token, from the cache when it is fresh enough. A cached token that has already
 * expired by the clock is never returned: the secret is read again once, and if that token has
 * expired too, ShopTokenExpiredError says so instead of letting TikTok refuse it.
 */
export async function getShopToken(
  secretId: string,
  options: ReadOptions = {},
): Promise<ShopToken> {
  const now = options.now ?? Date.now;
  let token = await readToken(secretId, options);
  if (token.accessTokenExpiresAt.getTime() <= now() && options.forceFetch !== true) {
    token = await readToken(secretId, { ...options, forceFetch: true });
  }
  if (token.accessTokenExpiresAt.getTime() <= now()) {
    throw new ShopTokenExpiredError(
      `the access token in secret ${secretId} expired at ${token.accessTokenExpiresAt.toISOString()} and has not been renewed; check the refresher (the seller may need to authorize again)`,
    );
  }
  return token;
}

/**
 * Runs `call` with the shop's access token. When it fails because TikTok refused the token (it
 * may have been replaced since it was cached), the secret is read again, bypassing the cache,
 * and `call` runs once more with the token found there. When the secret still holds the refused
 * token, nothing new can be tried and the call's own error is thrown.
 */
export async function withShopToken<T>(
  secretId: string,
  call: (accessToken: string, token: ShopToken) => Promise<T>,
  options: WithTokenOptions = {},
): Promise<T> {
  const isTokenRejected = options.isTokenRejected ?? isAccessTokenRejected;
  const token = await getShopToken(secretId, options);
  try {
    return await call(token.accessToken, token);
  } catch (error) {
    if (!isTokenRejected(error)) throw error;
    const fresh = await getShopToken(secretId, { ...options, forceFetch: true });
    if (fresh.accessToken === token.accessToken) throw error;
    return call(fresh.accessToken, fresh);
  }
}

/**
 * The default test for "TikTok refused the access token": an AccessTokenRejectedError, an HTTP
 * 401 (as `status`, `statusCode`, `response.status` or `$metadata.httpStatusCode`), or a TikTok
 * code of the 105xxx (access token) or 360xxx (authorization) families, as `code`,
 * `tiktokCode`, `response.data.code` or `body.code`. TikTok documents no exact list; clients
 * such as EcomPHP's treat both families as token errors, and a needless re-read costs little.
 */
export function isAccessTokenRejected(error: unknown): boolean {
  if (error instanceof AccessTokenRejectedError) return true;
  const statuses = [
    ['status'],
    ['statusCode'],
    ['response', 'status'],
    ['$metadata', 'httpStatusCode'],
  ].map((path) => numberAt(error, path));
  if (statuses.includes(401)) return true;
  const codes = [['code'], ['tiktokCode'], ['response', 'data', 'code'], ['body', 'code']].map(
    (path) => numberAt(error, path),
  );
  return codes.some(isTokenErrorCode);
}

/** Six digits or more, starting 105 or 360: 105001 invalid, 105002 expired, 36004005 revoked… */
function isTokenErrorCode(code: number | undefined): boolean {
  if (code === undefined || !Number.isInteger(code) || code < 100_000) return false;
  const family = String(code).slice(0, 3);
  return family === '105' || family === '360';
}

/** A number (or a string of digits) at `path` inside an unknown value. */
function numberAt(value: unknown, path: readonly string[]): number | undefined {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  if (typeof current === 'number') return current;
  if (typeof current === 'string' && /^\d{1,12}$/.test(current)) return Number(current);
  return undefined;
}

async function readToken(secretId: string, options: ReadOptions): Promise<ShopToken> {
  const getOptions = {
    maxAge: options.maxAge ?? DEFAULT_MAX_AGE_SECONDS,
    forceFetch: options.forceFetch ?? false,
  };
  let value: unknown;
  try {
    value =
      options.provider === undefined
        ? await getSecret(secretId, getOptions)
        : await options.provider.get(secretId, getOptions);
  } catch (error) {
    throw secretReadError(secretId, error);
  }
  if (typeof value !== 'string') {
    throw new MalformedSecretError(
      `secret ${secretId} holds ${value === undefined ? 'no value' : 'binary data'}, not a token document`,
    );
  }
  const parsed = parseTokenDocument(value);
  if (!parsed.ok) {
    throw new MalformedSecretError(
      `secret ${secretId} does not hold a TikTok token document (${parsed.problems.join('; ')})`,
    );
  }
  const { data } = parsed.value;
  return {
    accessToken: data.access_token,
    accessTokenExpiresAt: new Date(data.access_token_expire_in * 1000),
    ...(data.seller_name === undefined ? {} : { sellerName: data.seller_name }),
    ...(data.open_id === undefined ? {} : { openId: data.open_id }),
  };
}
