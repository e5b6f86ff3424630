/**
 * For other teams' Lambda functions: call the TikTok Shop API for a shop, or read its token.
 *
 * ```ts
 * import { tiktokShopApi } from 'tiktok-shop-token-refresher/reader';
 * const api = tiktokShopApi(); // SHOP_TOKEN_SECRET_ID, TIKTOK_API_BASE_URL, APP_CREDENTIALS_SECRET_ID?
 * const { orders } = await api.post('/order/202309/orders/search', {
 *   query: { page_size: 50 },
 *   body: { order_status: 'AWAITING_SHIPMENT' },
 * });
 * ```
 *
 * The client signs every request, finds the shop's cipher, re-reads a refused token and rides
 * out rate limits (lambda/reader/api-client.ts). To call TikTok some other way, read the token
 * with `withShopToken` / `getShopToken`.
 *
 * Reads go through Powertools Parameters, which caches the secret in memory for `maxAge`
 * seconds per execution environment. A reader never refreshes a token: the refresher does, at
 * least 48 hours before the access token expires, so any token a reader holds is valid. The
 * cache only bounds how long a reader keeps using a token that a new authorization (or an early
 * refresh) replaced; when TikTok refuses it, `withShopToken` re-reads the secret and retries once.
 * Needs `secretsmanager:GetSecretValue` on the secret (and `kms:Decrypt` for a customer key):
 * the refresher construct's `grantApiAccess` (token and app credentials) or `grantReadToken`.
 * Both grant `secretsmanager:DescribeSecret` too, with which a read looks, once per cache age, for
 * the webhook receiver's mark of a seller who revoked the app: such a shop fails with
 * ShopDeauthorizedError before anything is sent to TikTok, until the seller authorizes again.
 *
 * Without APP_CREDENTIALS_SECRET_ID (or `appCredentialsSecretId`) the client finds the shop's
 * app from its token secret: the `tiktok-shop-app` tag (DescribeSecret, once per execution
 * environment) names it, no tag means the default app, and the credentials are read beside the
 * token secret, `<prefix>apps/<app>/credentials` or `<prefix>app-credentials`.
 */
import { AccessTokenRejectedError } from './errors.js';
import { getShopToken, type ReadOptions, type ShopToken } from './secrets.js';

export {
  ConfigurationError,
  DeadlineExceededError,
  MalformedSecretError,
  OversizedAnswerError,
  ReauthorizationRequiredError,
  SecretStoreError,
  ShopDeauthorizedError,
  TransientError,
  UnexpectedResponseError,
  UsageError,
} from '../shared/errors.js';
export { type SignatureInput, signRequest } from '../shared/signing.js';
export { tiktokShopApi } from './api-client.js';
export type {
  ApiRequestOptions,
  QueryValue,
  TikTokShopApi,
  TikTokShopApiOptions,
} from './api-request.js';
export {
  AccessTokenRejectedError,
  IpNotAllowedError,
  isTikTokShopError,
  RateLimitedError,
  ScopeNotGrantedError,
  ShopSelectionError,
  ShopTokenExpiredError,
  SignatureRejectedError,
  TikTokApiError,
  TikTokShopError,
} from './errors.js';
export {
  DEFAULT_MAX_AGE_SECONDS,
  getShopToken,
  type ReadOptions,
  type ShopToken,
} from './secrets.js';
export type { ShopSelector } from './shops.js';

export interface WithTokenOptions extends ReadOptions {
  /**
   * Whether an error from the call means TikTok refused the access token.
   * @default isAccessTokenRejected
   */
  readonly isTokenRejected?: (error: unknown) => boolean;
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
 * The default test for "TikTok refused the access token": an AccessTokenRejectedError, or
 * TikTok's code 105002 (access token expired) or 36009004 (invalid access token, among other
 * request errors) as `code`, `tiktokCode`, `response.data.code` or `body.code`, or an HTTP 401
 * (as `status`, `statusCode`, `response.status` or `$metadata.httpStatusCode`) that carries no
 * other code. Mapped narrowly: a rate limit (36009002), a signature error (106001, also HTTP
 * 401), a missing scope (105005) or an IP allow-list refusal (36009033) is no stale token, and
 * re-reading the secret for it only hides the real cause.
 */
export function isAccessTokenRejected(error: unknown): boolean {
  if (error instanceof AccessTokenRejectedError) return true;
  const codes = [['code'], ['tiktokCode'], ['response', 'data', 'code'], ['body', 'code']]
    .map((path) => numberAt(error, path))
    .filter((code): code is number => code !== undefined);
  if (codes.some((code) => TOKEN_REFUSED_CODES.has(code))) return true;
  const statuses = [
    ['status'],
    ['statusCode'],
    ['response', 'status'],
    ['$metadata', 'httpStatusCode'],
  ].map((path) => numberAt(error, path));
  return statuses.includes(401) && codes.length === 0;
}

/** 105002: the access token expired; 36009004: invalid access token (or another request error). */
const TOKEN_REFUSED_CODES: ReadonlySet<number> = new Set([105002, 36009004]);

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
