// The reader's TikTok Shop Open API client: options, the signed request, its retries, and the
// re-reads of the token and the shop cipher that TikTok's refusals call for.
import {
  AUTHORIZED_SHOPS_PATH,
  type AuthorizedShop,
  parseAuthorizedShops,
} from '../shared/authorized-shops.js';
import { API_READER_ENV, DEFAULT_TIKTOK_API_BASE_URL } from '../shared/contract.js';
import type { AppCredentials } from '../shared/credentials.js';
import {
  ConfigurationError,
  DeadlineExceededError,
  MalformedSecretError,
  TransientError,
} from '../shared/errors.js';
import { redact } from '../shared/redact.js';
import { signRequest } from '../shared/signing.js';
import { sendToTikTok, TIKTOK_RETRY } from '../shared/tiktok-http.js';
import { type Clock, retry, systemClock } from '../shared/timing.js';
import { parseJson, TikTokEnvelope } from '../shared/token.js';
import { answerWithoutEnvelope, boundedRequestId, isCipherRefusal, refusal } from './api-errors.js';
import { optionProblems } from './api-options.js';
import {
  type ApiRequestOptions,
  encodeBody,
  encodeQuery,
  isShopScoped,
  type Payload,
  type TikTokShopApi,
  type TikTokShopApiOptions,
} from './api-request.js';
import {
  type AppLookupOptions,
  forgetAppOfToken,
  readAppCredentialsOf,
} from './app-credentials.js';
import { AccessTokenRejectedError, RateLimitedError } from './errors.js';
import { getShopToken, type ReadOptions, readAppCredentials } from './secrets.js';
import { forgetShopsOf, type ShopSelector, selectShop, shopsOf } from './shops.js';

const DEFAULTS = { timeoutMs: 10_000, maxAttempts: 3, maxResponseBytes: 8 * 1024 * 1024 };
/**
 * What the token header may hold. fetch refuses anything else with an error that quotes the
 * header's value, the token, so it is checked before.
 */
const HEADER_VALUE = /^[\x21-\x7e]+$/;

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
 * Every request is signed (lambda/shared/signing.ts) with a fresh timestamp, carries the access
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
export function tiktokShopApi(options: TikTokShopApiOptions = {}): TikTokShopApi {
  return new TikTokShopApiClient(options);
}

interface Credentials {
  readonly accessToken: string;
  readonly app: AppCredentials;
  /** Where `app` was read: the secret a wrong app secret is in. */
  readonly appCredentialsSecretId: string;
}

/** One API call as the client sends it, signed afresh on each attempt. */
interface PreparedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly payload: Payload;
  readonly credentials: Credentials;
  /** The shop's `shop_cipher`, for a shop-scoped call. */
  readonly cipher?: string;
  /** Epoch ms after which no attempt starts. */
  readonly deadline?: number;
  /** Whether a timeout, a dropped connection or an HTTP 5xx may be answered by sending it again. */
  readonly idempotent: boolean;
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
    const tableName = options.tableName ?? (env[API_READER_ENV.tokenTableName] || undefined);
    const tokenSecretId =
      tableName === undefined
        ? (options.tokenSecretId ?? env[API_READER_ENV.shopTokenSecretId])
        : (options.shopName ?? env[API_READER_ENV.shopName]);
    const credentialsId =
      options.appCredentialsSecretId ?? env[API_READER_ENV.appCredentialsSecretId];
    const baseUrl =
      options.baseUrl ?? (env[API_READER_ENV.tiktokApiBaseUrl] || DEFAULT_TIKTOK_API_BASE_URL);
    const problems = optionProblems(options, { tableName, tokenSecretId, credentialsId, baseUrl });
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
      ...(tableName === undefined ? {} : { tableName }),
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
    forgetShopsOf(this.#shopListKey);
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
        return (await this.#send({
          method: verb,
          path,
          query,
          payload,
          credentials,
          ...(cipher === undefined ? {} : { cipher }),
          ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
          idempotent: options.idempotent ?? verb === 'GET',
        })) as T;
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
    const shops = await shopsOf(this.#shopListKey, () => this.#lookUpShops(credentials, deadline));
    const { accessToken, app } = credentials;
    return selectShop(shops, selector, this.#tokenSecretId, [accessToken, app.app_secret]).cipher;
  }

  async #lookUpShops(
    credentials: Credentials,
    deadline: number | undefined,
  ): Promise<readonly AuthorizedShop[]> {
    const data = await this.#send({
      method: 'GET',
      path: AUTHORIZED_SHOPS_PATH,
      query: {},
      payload: {},
      credentials,
      ...(deadline === undefined ? {} : { deadline }),
      idempotent: true,
    });
    return parseAuthorizedShops(data);
  }

  #send(request: PreparedRequest): Promise<unknown> {
    return retry(() => this.#once(request), {
      clock: this.#clock,
      isRetryable: (error) =>
        error instanceof RateLimitedError ||
        (request.idempotent && error instanceof TransientError),
      maxAttempts: this.#maxAttempts,
      baseDelayMs: TIKTOK_RETRY.baseDelayMs,
      maxDelayMs: TIKTOK_RETRY.maxDelayMs,
      ...(request.deadline === undefined ? {} : { deadline: request.deadline }),
      what: `call ${request.method} ${request.path}`,
    });
  }

  async #once(request: PreparedRequest): Promise<unknown> {
    const { method, path, payload, credentials, cipher } = request;
    const { app, accessToken } = credentials;
    const params: Record<string, string> = {
      ...request.query,
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
    const what = `${method} ${path}`;
    const secrets = [accessToken, app.app_secret, sign, ...(cipher === undefined ? [] : [cipher])];
    const timeoutMs = Math.min(
      this.#timeoutMs,
      (request.deadline ?? Number.POSITIVE_INFINITY) - this.#clock.now(),
    );
    if (timeoutMs <= 0) throw new DeadlineExceededError(`no time left to call ${what}`);

    const { status, headers, text } = await sendToTikTok({
      fetch: this.#fetch,
      url: `${this.#baseUrl}${path}?${new URLSearchParams({ ...params, sign })}`,
      init: {
        method,
        headers: {
          accept: 'application/json',
          'x-tts-access-token': accessToken,
          // fetch writes multipart/form-data with its boundary itself.
          ...(payload.form === undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(payload.text === undefined ? {} : { body: payload.text }),
        ...(payload.form === undefined ? {} : { body: payload.form }),
      },
      timeoutMs,
      maxBytes: this.#maxResponseBytes,
      what,
      say: {
        redirect: (code) =>
          `TikTok answered ${what} with a redirect (HTTP ${code}), which is not followed: check TIKTOK_API_BASE_URL`,
        oversized: (maxBytes) =>
          `TikTok's answer to ${what} is larger than ${maxBytes} bytes; not read`,
      },
    });
    const envelope = parseJson(text, TikTokEnvelope);
    if (!envelope.ok) throw answerWithoutEnvelope(what, status, headers.get('retry-after'));
    const { code, message = '', request_id: requestId } = envelope.value;
    if (code === 0 && status >= 200 && status < 300) return envelope.value.data;
    throw refusal({
      what,
      status,
      code,
      said: redact(message, secrets),
      ...(requestId === undefined ? {} : { requestId: boundedRequestId(requestId, secrets) }),
      retryAfter: headers.get('retry-after'),
      tokenSecretId: this.#tokenSecretId,
      appCredentialsSecretId: credentials.appCredentialsSecretId,
    });
  }
}
