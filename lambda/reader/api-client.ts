import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import * as z from 'zod/mini';
import { checkBaseUrl } from '../shared/base-url.js';
import { API_READER_ENV, DEFAULT_TIKTOK_API_BASE_URL } from '../shared/contract.js';
import type { AppCredentials } from '../shared/credentials.js';
import {
  AccessTokenRejectedError,
  ConfigurationError,
  DeadlineExceededError,
  IpNotAllowedError,
  MalformedSecretError,
  RateLimitedError,
  ReauthorizationRequiredError,
  redact,
  ScopeNotGrantedError,
  ShopSelectionError,
  SignatureRejectedError,
  TikTokApiError,
  TransientError,
  UnexpectedResponseError,
  UsageError,
} from '../shared/errors.js';
import { type Clock, retry, systemClock } from '../shared/timing.js';
import { describeIssue, parseJson, TikTokEnvelope } from '../shared/token.js';
import {
  type AppLookupOptions,
  canFindAppCredentials,
  forgetAppOfToken,
  readAppCredentialsOf,
} from './app-credentials.js';
import { getShopToken, type ReadOptions, readAppCredentials } from './secrets.js';
import { signRequest } from './signing.js';

/**
 * A TikTok Shop Open API client for other teams' Lambda functions: one call per API request,
 * written the way TikTok's docs write the request.
 *
 * ```ts
 * const api = tiktokShopApi({ tokenSecretId, appCredentialsSecretId });
 * const { orders } = await api.post('/order/202309/orders/search', {
 *   query: { page_size: 50 },
 *   body: { order_status: 'AWAITING_SHIPMENT' },
 * });
 * ```
 *
 * Every request is signed (lambda/reader/signing.ts) with a fresh timestamp, carries the access
 * token in `x-tts-access-token` and, unless the endpoint is seller-level, the shop's
 * `shop_cipher`. The token and the app credentials are read through Powertools' cache on each
 * call; the shops the token covers, and the app of the token secret when no app-credentials
 * secret is given, are looked up once per execution environment. A call costs one round trip
 * once those are cached.
 *
 * TikTok's answers are mapped narrowly: an expired token is read again (bypassing the cache) and
 * the call retried once; a cipher TikTok refuses is looked up again once; rate limits, HTTP 5xx,
 * timeouts and network errors are retried with jittered backoff, a bounded number of times;
 * signature, scope, IP allow-list and deauthorization refusals fail at once, each with its own
 * error class. Nothing thrown carries the token, the app secret, the signature, the cipher or
 * the URL's query.
 */

export interface TikTokShopApiOptions {
  /** Name or ARN of the shop's token secret. @default process.env.SHOP_TOKEN_SECRET_ID */
  readonly tokenSecretId?: string;
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
  /** Largest answer read; a larger one fails. @default 8 MiB */
  readonly maxResponseBytes?: number;
  /** Seconds the token and the app credentials are served from the cache. @default 60 */
  readonly maxAge?: number;
  /** A Powertools provider whose client points elsewhere. @default Powertools' shared provider */
  readonly provider?: SecretsProvider;
  readonly clock?: Clock;
  readonly fetch?: typeof globalThis.fetch;
}

/** A shop among those the token covers; every field given must match. */
export interface ShopSelector {
  /** TikTok's shop id. */
  readonly id?: string;
  /** The shop's name, case ignored. */
  readonly name?: string;
  /** The shop's region, e.g. `GB`, case ignored. */
  readonly region?: string;
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

export const AUTHORIZED_SHOPS_PATH = '/authorization/202309/shops';
const DEFAULTS = { timeoutMs: 10_000, maxAttempts: 3, maxResponseBytes: 8 * 1024 * 1024 };
const MAX_BACKOFF_MS = 4_000;
const MAX_RETRY_AFTER_MS = 10_000;
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
/**
 * What the token header may hold. fetch refuses anything else with an error that quotes the
 * header's value, the token, so it is checked before.
 */
const HEADER_VALUE = /^[\x21-\x7e]+$/;
/** Longest request_id quoted: TikTok's are about 32 characters. */
const MAX_REQUEST_ID_LENGTH = 128;

const AuthorizedShops = z.looseObject({
  shops: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string(),
      region: z.string(),
      seller_type: z.optional(z.string()),
      cipher: z.string().check(z.minLength(1, 'must not be empty')),
    }),
  ),
});
type AuthorizedShop = z.infer<typeof AuthorizedShops>['shops'][number];

/**
 * The shops each token covers, per base URL and token secret, for the life of the execution
 * environment: a pending lookup is shared by concurrent calls, a failed one is forgotten.
 */
const shopLists = new Map<string, Promise<readonly AuthorizedShop[]>>();

export function tiktokShopApi(options: TikTokShopApiOptions = {}): TikTokShopApi {
  return new TikTokShopApiClient(options);
}

interface Payload {
  readonly text?: string;
  readonly form?: FormData;
}

interface Credentials {
  readonly accessToken: string;
  readonly app: AppCredentials;
  /** Where `app` was read: the secret a wrong app secret is in. */
  readonly appCredentialsSecretId: string;
}

class TikTokShopApiClient implements TikTokShopApi {
  readonly #tokenSecretId: string;
  /** Given, or undefined: then found from the token secret's app tag. */
  readonly #appCredentialsSecretId: string | undefined;
  readonly #lookup: AppLookupOptions;
  readonly #shop: ShopSelector;
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #maxResponseBytes: number;
  readonly #read: ReadOptions;
  readonly #clock: Clock;
  readonly #fetch: typeof globalThis.fetch;

  constructor(options: TikTokShopApiOptions) {
    const env = process.env;
    const tokenSecretId = options.tokenSecretId ?? env[API_READER_ENV.shopTokenSecretId];
    const credentialsId =
      options.appCredentialsSecretId ?? env[API_READER_ENV.appCredentialsSecretId];
    const baseUrl =
      options.baseUrl ?? (env[API_READER_ENV.tiktokApiBaseUrl] || DEFAULT_TIKTOK_API_BASE_URL);
    const problems = tokenSecretId
      ? []
      : [`tokenSecretId (or ${API_READER_ENV.shopTokenSecretId}) is required`];
    if (tokenSecretId && !credentialsId && !canFindAppCredentials(tokenSecretId)) {
      problems.push(
        `appCredentialsSecretId (or ${API_READER_ENV.appCredentialsSecretId}) is required: the token secret ${tokenSecretId.slice(0, 200)} is not named <prefix>tokens/<shop>, so its app's credentials cannot be found beside it`,
      );
    }
    const urlProblem = checkBaseUrl(baseUrl) ?? originProblem(baseUrl);
    if (urlProblem !== undefined) problems.push(`the API base URL ${urlProblem}`);
    if (problems.length > 0 || !tokenSecretId) {
      throw new ConfigurationError(`TikTok Shop API client: ${problems.join('; ')}`);
    }
    this.#tokenSecretId = tokenSecretId;
    this.#appCredentialsSecretId = credentialsId || undefined;
    this.#shop = options.shop ?? {};
    this.#baseUrl = new URL(baseUrl).origin;
    this.#timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.#maxAttempts = options.maxAttempts ?? DEFAULTS.maxAttempts;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
    this.#clock = options.clock ?? systemClock;
    this.#read = {
      ...(options.maxAge === undefined ? {} : { maxAge: options.maxAge }),
      ...(options.provider === undefined ? {} : { provider: options.provider }),
      now: () => this.#clock.now(),
    };
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#lookup = {
      timeoutMs: this.#timeoutMs,
      ...(options.provider === undefined ? {} : { provider: options.provider }),
    };
  }

  get<T>(path: string, options?: Omit<ApiRequestOptions, 'body'>): Promise<T> {
    return this.request('GET', path, options);
  }

  post<T>(path: string, options?: ApiRequestOptions): Promise<T> {
    return this.request('POST', path, options);
  }

  put<T>(path: string, options?: ApiRequestOptions): Promise<T> {
    return this.request('PUT', path, options);
  }

  delete<T>(path: string, options?: ApiRequestOptions): Promise<T> {
    return this.request('DELETE', path, options);
  }

  forgetShops(): void {
    shopLists.delete(this.#shopListKey);
    // A new authorization may have bound the shop to another app.
    forgetAppOfToken(this.#tokenSecretId, this.#lookup);
  }

  async request<T>(method: string, path: string, options: ApiRequestOptions = {}): Promise<T> {
    const verb = method.toUpperCase();
    const query = encodeQuery(path, options.query);
    const payload = encodeBody(verb, path, options.body);
    const shopScoped = options.shopScoped ?? isShopScoped(path);
    const selector = options.shop ?? this.#shop;
    let forceTokenRead = false;
    let refusedToken: string | undefined;
    let cipherLookedUpAgain = false;
    for (;;) {
      const credentials = await this.#credentials(forceTokenRead);
      if (refusedToken !== undefined && credentials.accessToken === refusedToken) {
        throw new AccessTokenRejectedError(
          `TikTok refused the access token of secret ${this.#tokenSecretId} and the secret holds no newer one: the refresher renews it (check its alarms), or the seller must authorize again`,
        );
      }
      try {
        const cipher = shopScoped
          ? await this.#cipherFor(selector, credentials, options.deadline)
          : undefined;
        return (await this.#send(verb, path, query, payload, credentials, cipher, options)) as T;
      } catch (error) {
        if (error instanceof AccessTokenRejectedError && !forceTokenRead) {
          forceTokenRead = true;
          refusedToken = credentials.accessToken;
          continue;
        }
        if (shopScoped && isCipherRefusal(error) && !cipherLookedUpAgain) {
          cipherLookedUpAgain = true;
          this.forgetShops();
          continue;
        }
        throw error;
      }
    }
  }

  get #shopListKey(): string {
    return `${this.#baseUrl} ${this.#tokenSecretId}`;
  }

  async #credentials(forceTokenRead: boolean): Promise<Credentials> {
    const [token, app] = await Promise.all([
      getShopToken(this.#tokenSecretId, { ...this.#read, forceFetch: forceTokenRead }),
      this.#appCredentials(),
    ]);
    // fetch trims a header value itself; a line break or a non-ASCII character inside it is refused.
    const accessToken = token.accessToken.trim();
    if (!HEADER_VALUE.test(accessToken)) {
      throw new MalformedSecretError(
        `secret ${this.#tokenSecretId} does not hold a usable token (data.access_token: holds a space, a line break or a character other than printable ASCII, which an HTTP header cannot carry)`,
      );
    }
    return { accessToken, app: app.credentials, appCredentialsSecretId: app.secretId };
  }

  async #appCredentials(): Promise<{ credentials: AppCredentials; secretId: string }> {
    const secretId = this.#appCredentialsSecretId;
    if (secretId === undefined) {
      return readAppCredentialsOf(this.#tokenSecretId, { ...this.#lookup, ...this.#read });
    }
    return { credentials: await readAppCredentials(secretId, this.#read), secretId };
  }

  async #cipherFor(
    selector: ShopSelector,
    credentials: Credentials,
    deadline: number | undefined,
  ): Promise<string> {
    const key = this.#shopListKey;
    let shops = shopLists.get(key);
    if (shops === undefined) {
      shops = this.#lookUpShops(credentials, deadline);
      shopLists.set(key, shops);
      shops.catch(() => {
        if (shopLists.get(key) === shops) shopLists.delete(key);
      });
    }
    return selectShop(await shops, selector, this.#tokenSecretId).cipher;
  }

  async #lookUpShops(
    credentials: Credentials,
    deadline: number | undefined,
  ): Promise<readonly AuthorizedShop[]> {
    const data = await this.#send(
      'GET',
      AUTHORIZED_SHOPS_PATH,
      {},
      {},
      credentials,
      undefined,
      deadline === undefined ? {} : { deadline },
    );
    const parsed = AuthorizedShops.safeParse(data);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) =>
        describeIssue({ ...issue, path: ['data', ...issue.path] }, { data }),
      );
      throw new UnexpectedResponseError(
        `TikTok answered GET ${AUTHORIZED_SHOPS_PATH} without a usable shop list (${problems.join('; ')})`,
        0,
      );
    }
    return parsed.data.shops;
  }

  #send(
    method: string,
    path: string,
    query: Readonly<Record<string, string>>,
    payload: Payload,
    credentials: Credentials,
    cipher: string | undefined,
    options: { readonly deadline?: number; readonly idempotent?: boolean },
  ): Promise<unknown> {
    const idempotent = options.idempotent ?? method === 'GET';
    return retry(() => this.#once(method, path, query, payload, credentials, cipher, options), {
      clock: this.#clock,
      isRetryable: (error) =>
        error instanceof RateLimitedError || (idempotent && error instanceof TransientError),
      maxAttempts: this.#maxAttempts,
      baseDelayMs: 250,
      maxDelayMs: MAX_BACKOFF_MS,
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
    });
  }

  async #once(
    method: string,
    path: string,
    query: Readonly<Record<string, string>>,
    payload: Payload,
    credentials: Credentials,
    cipher: string | undefined,
    options: { readonly deadline?: number },
  ): Promise<unknown> {
    const { app, accessToken } = credentials;
    const params: Record<string, string> = {
      ...query,
      app_key: app.app_key,
      timestamp: String(Math.floor(this.#clock.now() / 1000)),
      ...(cipher === undefined ? {} : { shop_cipher: cipher }),
    };
    const sign = signRequest({
      appSecret: app.app_secret,
      path,
      query: params,
      ...(payload.text === undefined ? {} : { body: payload.text }),
      contentType: payload.form === undefined ? 'application/json' : 'multipart/form-data',
    });
    const url = `${this.#baseUrl}${path}?${new URLSearchParams({ ...params, sign })}`;
    const what = `${method} ${path}`;
    const secrets = [accessToken, app.app_secret, sign, ...(cipher === undefined ? [] : [cipher])];
    const timeoutMs = Math.min(
      this.#timeoutMs,
      (options.deadline ?? Number.POSITIVE_INFINITY) - this.#clock.now(),
    );
    if (timeoutMs <= 0) throw new DeadlineExceededError(`no time left to call ${what}`);

    let response: Response;
    let text: string | undefined;
    try {
      response = await this.#fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          'x-tts-access-token': accessToken,
          // fetch writes multipart/form-data with its boundary itself.
          ...(payload.form === undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(payload.text === undefined ? {} : { body: payload.text }),
        ...(payload.form === undefined ? {} : { body: payload.form }),
        // A redirect could carry the signed query to another host.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = isRedirect(response.status)
        ? await discard(response)
        : await readCapped(response, this.#maxResponseBytes);
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      throw new TransientError(
        timedOut
          ? `TikTok did not answer ${what} within ${timeoutMs} ms`
          : `could not reach TikTok for ${what} (network error)`,
        { cause: error },
      );
    }
    const { status } = response;
    if (isRedirect(status)) {
      throw new UnexpectedResponseError(
        `TikTok answered ${what} with a redirect (HTTP ${status}), which is not followed: check TIKTOK_API_BASE_URL`,
      );
    }
    if (text === undefined) {
      throw new UnexpectedResponseError(
        `TikTok's answer to ${what} is larger than ${this.#maxResponseBytes} bytes; not read`,
      );
    }
    const envelope = parseJson(text, TikTokEnvelope);
    if (!envelope.ok) {
      throw answerWithoutEnvelope(what, status, response.headers.get('retry-after'));
    }
    const { code, message = '', request_id: requestId } = envelope.value;
    if (code === 0 && status >= 200 && status < 300) return envelope.value.data;
    throw refusal({
      what,
      status,
      code,
      said: redact(message, secrets),
      ...(requestId === undefined ? {} : { requestId: boundedRequestId(requestId, secrets) }),
      retryAfter: response.headers.get('retry-after'),
      tokenSecretId: this.#tokenSecretId,
      appCredentialsSecretId: credentials.appCredentialsSecretId,
    });
  }
}

/** The API's query as strings, refusing what the client sets itself. */
function encodeQuery(
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

function encodeBody(method: string, path: string, body: unknown): Payload {
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
function isShopScoped(path: string): boolean {
  return !/^\/(authorization|seller)\//.test(path) && !/\/upload$/.test(path);
}

function originProblem(baseUrl: string): string | undefined {
  return new URL(baseUrl).pathname === '/' ? undefined : 'must be the host only, without a path';
}

function isCipherRefusal(error: unknown): boolean {
  return (
    error instanceof TikTokApiError && (error.tiktokCode === 101000 || error.tiktokCode === 106013)
  );
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** The answer, or undefined when it is larger than `maxBytes` (then it is not read further). */
async function readCapped(response: Response, maxBytes: number): Promise<string | undefined> {
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) return discard(response);
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) return discard(response);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function discard(response: Response): Promise<undefined> {
  await response.body?.cancel().catch(() => undefined);
  return undefined;
}

function retryAfterMs(header: string | null): number {
  return Math.min(Number(header) * 1000 || 0, MAX_RETRY_AFTER_MS);
}

function answerWithoutEnvelope(what: string, status: number, retryAfter: string | null): Error {
  if (status === 429) {
    return Object.assign(new RateLimitedError(`TikTok rate-limited ${what} (HTTP 429)`), {
      retryAfterMs: retryAfterMs(retryAfter),
    });
  }
  if (status >= 500) return new TransientError(`TikTok answered ${what} with HTTP ${status}`);
  return new UnexpectedResponseError(
    `TikTok answered ${what} with HTTP ${status} and a body that is not its JSON envelope`,
  );
}

/** TikTok's request_id as it may be quoted: another host's may repeat the signed request. */
function boundedRequestId(requestId: string, secrets: readonly string[]): string {
  const clean = redact(requestId, secrets);
  return clean.length > MAX_REQUEST_ID_LENGTH ? `${clean.slice(0, MAX_REQUEST_ID_LENGTH)}…` : clean;
}

interface Refusal {
  readonly what: string;
  readonly status: number;
  readonly code: number;
  /** TikTok's message, redacted. */
  readonly said: string;
  /** Redacted and bounded. */
  readonly requestId?: string;
  readonly retryAfter: string | null;
  readonly tokenSecretId: string;
  readonly appCredentialsSecretId: string;
}

/** TikTok's reference table, narrowly: each code to the one error that says what to do. */
function refusal(answer: Refusal): Error {
  const { what, status, code, said, requestId } = answer;
  const told = `TikTok code ${code}: ${said}${requestId === undefined ? '' : `, request_id ${requestId}`}`;
  const api = (
    ErrorClass: new (
      message: string,
      tiktokCode: number,
      httpStatus: number,
      requestId?: string,
    ) => TikTokApiError,
    advice: string,
  ) => new ErrorClass(`TikTok refused ${what} (${told}): ${advice}`, code, status, requestId);

  if (code === 105002 || (code === 36009004 && /access[\s_-]?token/i.test(said))) {
    return new AccessTokenRejectedError(
      `TikTok refused the access token of secret ${answer.tokenSecretId} for ${what} (${told})`,
    );
  }
  switch (code) {
    case 105001:
      return new ReauthorizationRequiredError(
        `seller must authorize again: TikTok says the authorization behind secret ${answer.tokenSecretId} was revoked (${told})`,
        code,
      );
    case 105005:
      return api(
        ScopeNotGrantedError,
        'the app lacks the scope this API needs: add it in Partner Center, then the seller authorizes again (a token refresh does not help)',
      );
    case 106001:
      return api(
        SignatureRejectedError,
        `the signature does not match: a signing bug, or secret ${answer.appCredentialsSecretId} holds another app's secret; not retried`,
      );
    case 36009033:
      return api(
        IpNotAllowedError,
        "this function's IP is not in the app's IP allow list (Partner Center, App & Service): give it a fixed egress IP (VPC subnets behind a NAT gateway with an Elastic IP) and list that IP",
      );
    case 36009002:
    case 36009037:
      return Object.assign(
        new RateLimitedError(
          `TikTok rate-limited ${what} (${told}): call less often, or spread calls out`,
        ),
        { retryAfterMs: retryAfterMs(answer.retryAfter) },
      );
    case 36009003:
    case 36009007:
      return new TransientError(`TikTok failed ${what} on its side (${told})`);
    case 101000:
      return api(
        TikTokApiError,
        'the shop cipher does not belong to this token, even after looking it up again: check the shop option',
      );
    case 106013:
      return api(TikTokApiError, 'this API needs a shop: call it with shopScoped: true');
    case 36009004:
      return api(
        TikTokApiError,
        'a bad app_key, signature, timestamp or an unexpected shop_cipher (a seller-level API called with shopScoped: true?); not retried',
      );
  }
  if (status === 429) {
    return Object.assign(new RateLimitedError(`TikTok rate-limited ${what} (${told})`), {
      retryAfterMs: retryAfterMs(answer.retryAfter),
    });
  }
  if (status >= 500) return new TransientError(`TikTok failed ${what} (${told})`);
  return api(TikTokApiError, 'see TikTok’s error code reference for this API');
}

function selectShop(
  shops: readonly AuthorizedShop[],
  selector: ShopSelector,
  tokenSecretId: string,
): AuthorizedShop {
  const same = (a: string | undefined, b: string) =>
    a === undefined || a.trim().toLowerCase() === b.trim().toLowerCase();
  const matching = shops.filter(
    (shop) =>
      (selector.id === undefined || selector.id === shop.id) &&
      same(selector.name, shop.name) &&
      same(selector.region, shop.region),
  );
  const [only] = matching;
  if (matching.length === 1 && only !== undefined) return only;
  const covered = `the token in secret ${tokenSecretId} covers`;
  if (shops.length === 0) {
    throw new ShopSelectionError(
      `${covered} no shop (TikTok's ${AUTHORIZED_SHOPS_PATH} lists none): the seller must authorize the app for a shop`,
    );
  }
  const wanted = describeSelector(selector);
  if (matching.length === 0) {
    throw new ShopSelectionError(
      `no shop ${wanted}: ${covered} ${listShops(shops)}; choose one with the shop option (id, name or region)`,
    );
  }
  throw new ShopSelectionError(
    `${wanted === '' ? 'which shop?' : `more than one shop ${wanted}:`} ${covered} ${listShops(shops)}; choose one with the shop option (id, name or region)`,
  );
}

function describeSelector(selector: ShopSelector): string {
  return (['id', 'name', 'region'] as const)
    .flatMap((field) => (selector[field] === undefined ? [] : [`${field} ${selector[field]}`]))
    .join(', ');
}

/** `2 shops: 7494… "Acme UK" (GB, LOCAL), …`, at most five named. */
function listShops(shops: readonly AuthorizedShop[]): string {
  const named = shops
    .slice(0, 5)
    .map(
      (shop) =>
        `${shop.id} "${shop.name.slice(0, 40)}" (${shop.region}${shop.seller_type === undefined ? '' : `, ${shop.seller_type}`})`,
    );
  const more = shops.length > 5 ? `, and ${shops.length - 5} more` : '';
  return `${shops.length} shop${shops.length === 1 ? '' : 's'}: ${named.join(', ')}${more}`;
}
