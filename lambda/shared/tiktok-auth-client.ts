import {
  ReauthorizationRequiredError,
  redact,
  TransientError,
  UnexpectedResponseError,
} from './errors.js';
import { type Clock, retry, systemClock } from './timing.js';
import {
  type AppCredentials,
  type ParsedToken,
  parseJson,
  TikTokEnvelope,
  TokenDocument,
} from './token.js';

/** Codes after which only the seller authorizing again helps: retrying cannot. */
const REAUTHORIZATION_CODES: ReadonlyMap<number, string> = new Map([
  [36004001, 'the refresh token has expired'],
  [36004004, 'the authorization code is invalid or already used'],
  [36004005, 'TikTok has no authorization for this refresh token (revoked or replaced)'],
]);

const MAX_BACKOFF_MS = 4_000;

export interface TikTokAuthClientOptions {
  /** e.g. https://auth.tiktok-shops.com */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Attempts for network errors, timeouts, HTTP 5xx and 429. @default 3 */
  readonly maxAttempts?: number;
  readonly clock?: Clock;
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * TikTok Shop's auth host. Both calls are GETs with the app secret and the token in the query
 * string (a POST answers 404), so the URL is treated as a secret: it is never logged, never put
 * in an error, and errors carry only the HTTP status or TikTok's code and redacted message.
 */
export class TikTokAuthClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #clock: Clock;
  readonly #fetch: typeof globalThis.fetch;

  constructor(options: TikTokAuthClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  refreshToken(
    credentials: AppCredentials,
    refreshToken: string,
    deadline?: number,
  ): Promise<ParsedToken> {
    return this.#call(
      '/api/v2/token/refresh',
      { refresh_token: refreshToken, grant_type: 'refresh_token' },
      [credentials.app_secret, refreshToken],
      credentials,
      deadline,
    );
  }

  /** Exchanges a seller's authorization code for the shop's first token. */
  getToken(credentials: AppCredentials, authCode: string, deadline?: number): Promise<ParsedToken> {
    return this.#call(
      '/api/v2/token/get',
      { auth_code: authCode, grant_type: 'authorized_code' },
      [credentials.app_secret, authCode],
      credentials,
      deadline,
    );
  }

  #call(
    path: string,
    params: Record<string, string>,
    /** Values to strip from anything TikTok says back. */
    secrets: readonly string[],
    credentials: AppCredentials,
    deadline: number | undefined,
  ): Promise<ParsedToken> {
    const query = new URLSearchParams({
      app_key: credentials.app_key,
      app_secret: credentials.app_secret,
      ...params,
    });
    const url = `${this.#baseUrl}${path}?${query}`;
    return retry(() => this.#once(url, secrets), {
      clock: this.#clock,
      isRetryable: (error) => error instanceof TransientError,
      maxAttempts: this.#maxAttempts,
      baseDelayMs: 250,
      maxDelayMs: MAX_BACKOFF_MS,
      ...(deadline === undefined ? {} : { deadline }),
    });
  }

  async #once(url: string, secrets: readonly string[]): Promise<ParsedToken> {
    let status: number;
    let body: string;
    let retryAfter: string | null;
    try {
      const response = await this.#fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      body = await response.text();
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      throw new TransientError(
        timedOut
          ? `TikTok did not answer within ${this.#timeoutMs} ms`
          : 'could not reach TikTok (network error)',
        { cause: error },
      );
    }

    if (status === 429 || status >= 500) {
      throw Object.assign(new TransientError(`TikTok answered HTTP ${status}`), {
        retryAfterMs: Math.min(Number(retryAfter) * 1000 || 0, 30_000),
      });
    }
    if (status !== 200) throw new UnexpectedResponseError(`TikTok answered HTTP ${status}`);

    const envelope = parseJson(body, TikTokEnvelope);
    if (!envelope.ok) {
      throw new UnexpectedResponseError(
        `TikTok answered HTTP 200 with an unusable body (${envelope.problems.join('; ')})`,
      );
    }
    const { code, message = '' } = envelope.value;
    const said = redact(message, secrets);
    if (code !== 0) {
      const reason = REAUTHORIZATION_CODES.get(code);
      if (reason !== undefined) {
        throw new ReauthorizationRequiredError(
          `seller must authorize again: ${reason} (TikTok code ${code}: ${said})`,
          code,
        );
      }
      throw new UnexpectedResponseError(`TikTok answered code ${code}: ${said}`, code);
    }

    const token = parseJson(body, TokenDocument);
    if (!token.ok) {
      throw new UnexpectedResponseError(
        `TikTok answered code 0 without a usable token (${token.problems.join('; ')})`,
        0,
      );
    }
    if (token.value.data.access_token_expire_in * 1000 <= this.#clock.now()) {
      throw new UnexpectedResponseError(
        'TikTok answered code 0 with an access token that has already expired',
        0,
      );
    }
    return { raw: body, document: token.value };
  }
}
