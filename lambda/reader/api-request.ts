// What a caller of the Open API client gives (its options and each call's), and how a call's
// query and body are encoded and checked before anything is signed or sent.
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { AUTHORIZED_SHOPS_PATH } from '../shared/authorized-shops.js';
import { UsageError } from '../shared/errors.js';
import type { Clock } from '../shared/timing.js';
import type { ShopSelector } from './shops.js';

export interface TikTokShopApiOptions {
  /** Name or ARN of the shop's token secret. @default process.env.SHOP_TOKEN_SECRET_ID */
  readonly tokenSecretId?: string;
  /**
   * The DynamoDB token table holding the shop's token (a deployment on `TokenStoreKind.DYNAMODB`),
   * with `shopName`; `appCredentialsSecretId` is then required.
   * @default process.env.TOKEN_TABLE_NAME; unset: the token secret
   */
  readonly tableName?: string;
  /** The shop's item in the token table. @default process.env.SHOP_NAME */
  readonly shopName?: string;
  /**
   * Name or ARN of the app-credentials secret. Without it, the token secret (named
   * `<prefix>tokens/<shop>`) tells its app by its `tiktok-shop-app` tag, read with DescribeSecret
   * once per execution environment, and the credentials are read beside it:
   * `<prefix>apps/<app>/credentials`, or `<prefix>app-credentials` when it carries no app tag.
   * @default process.env.APP_CREDENTIALS_SECRET_ID, else found from the token secret
   */
  readonly appCredentialsSecretId?: string;
  /**
   * Which of the shops the token covers shop-scoped calls act for; needed only when it covers
   * several. A call's own `shop` overrides it.
   * @default the token's only shop
   */
  readonly shop?: ShopSelector;
  /**
   * The Open API host; https unless loopback.
   * @default process.env.TIKTOK_API_BASE_URL, else https://open-api.tiktokglobalshop.com
   */
  readonly baseUrl?: string;
  /** Timeout of one attempt, answer included. @default 10000 */
  readonly timeoutMs?: number;
  /** Attempts for rate limits, HTTP 5xx, 36009003/36009007, timeouts and network errors. @default 3 */
  readonly maxAttempts?: number;
  /** Largest answer read; a larger one fails with OversizedAnswerError. @default 8 MiB */
  readonly maxResponseBytes?: number;
  /** Seconds the token and the app credentials are served from the cache. @default 60 */
  readonly maxAge?: number;
  /** A Powertools provider whose client points elsewhere. @default Powertools' shared provider */
  readonly provider?: SecretsProvider;
  readonly clock?: Clock;
  readonly fetch?: typeof globalThis.fetch;
}

/** Arrays are sent comma-joined; `undefined`, `null`, `''` and `[]` are not sent. */
export type QueryValue =
  | string
  | number
  | boolean
  | readonly (string | number)[]
  | null
  | undefined;

export interface ApiRequestOptions {
  /** Query parameters of the API; `app_key`, `timestamp`, `sign` and `shop_cipher` are the client's. */
  readonly query?: Readonly<Record<string, QueryValue>>;
  /**
   * Serialized as JSON once, signed and sent as serialized; a string is sent as it is; a
   * FormData is sent as multipart/form-data (which TikTok does not sign).
   */
  readonly body?: unknown;
  /** The shop for this call. @default the client's `shop` */
  readonly shop?: ShopSelector;
  /**
   * Whether the call names a shop with `shop_cipher`.
   * @default false for /authorization/*, /seller/* and uploads (paths ending /upload), else true
   */
  readonly shopScoped?: boolean;
  /** Epoch ms after which no attempt starts, e.g. from `context.getRemainingTimeInMillis()`. */
  readonly deadline?: number;
  /**
   * Whether sending the call twice does no harm. A timeout, a dropped connection or an HTTP 5xx
   * may come after TikTok acted on the call (a package shipped, a price changed), so only an
   * idempotent call is repeated then; a rate limit (TikTok did nothing) is ridden out for any.
   * @default true for GET, false for POST, PUT and DELETE
   */
  readonly idempotent?: boolean;
}

export interface TikTokShopApi {
  /** GET `path`; answers TikTok's `data`. */
  get<T = unknown>(path: string, options?: Omit<ApiRequestOptions, 'body'>): Promise<T>;
  post<T = unknown>(path: string, options?: ApiRequestOptions): Promise<T>;
  put<T = unknown>(path: string, options?: ApiRequestOptions): Promise<T>;
  delete<T = unknown>(path: string, options?: ApiRequestOptions): Promise<T>;
  request<T = unknown>(method: string, path: string, options?: ApiRequestOptions): Promise<T>;
  /** Forgets the shops and ciphers looked up for this token, e.g. after a new authorization. */
  forgetShops(): void;
}

/** Set by the client: a caller's value would be signed wrongly or name the wrong shop. */
const RESERVED_PARAMETERS = [
  'app_key',
  'app_secret',
  'timestamp',
  'sign',
  'access_token',
  'shop_cipher',
];
/** Segments of letters, digits, `_`, `-`, `.` and `~`, none starting with a dot. */
const API_PATH = /^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/;

export interface Payload {
  readonly text?: string;
  readonly form?: FormData;
}

/** The API's query as strings, refusing what the client sets itself. */
export function encodeQuery(
  path: string,
  query: Readonly<Record<string, QueryValue>> = {},
): Record<string, string> {
  if (path.length > 300 || !API_PATH.test(path)) {
    // A query string is not quoted: a URL copied from elsewhere may carry a token or a signature.
    const [shown = ''] = path.split(/[?#]/, 1);
    throw new UsageError(
      `not an API path: ${JSON.stringify(shown.slice(0, 100))}${shown.length < path.length ? ' with a query string (not shown)' : ''}; give the path only, e.g. ${AUTHORIZED_SHOPS_PATH}, and parameters in query`,
    );
  }
  const encoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    if (RESERVED_PARAMETERS.includes(key)) {
      throw new UsageError(
        key === 'shop_cipher'
          ? `query parameter shop_cipher is added by the client: choose the shop with the shop option (id, name or region)`
          : `query parameter ${key} is set by the client; leave it out`,
      );
    }
    const text = Array.isArray(value) ? value.join(',') : value === null ? '' : String(value ?? '');
    if (text !== '') encoded[key] = text;
  }
  return encoded;
}

export function encodeBody(method: string, path: string, body: unknown): Payload {
  if (body === undefined) return {};
  if (method === 'GET') throw new UsageError(`GET ${path}: a GET request has no body`);
  if (body instanceof FormData) return { form: body };
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  if (typeof text !== 'string') {
    throw new UsageError(`${method} ${path}: the body cannot be serialized as JSON`);
  }
  return { text };
}

/** Seller-level endpoints and uploads refuse a shop_cipher (TikTok code 36009004). */
export function isShopScoped(path: string): boolean {
  return !/^\/(authorization|seller)\//.test(path) && !/\/upload$/.test(path);
}
