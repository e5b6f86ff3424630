// The client of TikTok Shop's auth host: exchanging an authorization code or a refresh token for
// a token, and judging TikTok's answer to it.
import { ReauthorizationRequiredError, TransientError, UnexpectedResponseError } from './errors.js';
import { redact } from './redact.js';
import { retryAfterMs, sendToTikTok, TIKTOK_RETRY } from './tiktok-http.js';
import { type Clock, retry, systemClock } from './timing.js';
import {
  type AppCredentials,
  holdsRefreshToken,
  parseJson,
  parseTokenDocument,
  TikTokEnvelope,
  type TokenAnswer,
} from './token.js';

/** Codes after which only the seller authorizing again helps: retrying cannot. */
const REAUTHORIZATION_CODES: ReadonlyMap<number, string> = new Map([
  [36004001, 'the refresh token has expired'],
  [36004004, 'the authorization code is invalid or already used'],
  [36004005, 'TikTok has no authorization for this refresh token (revoked or replaced)'],
]);

/**
 * Most of an answer that is read: a real one is about 1 KB. Well above MAX_STORED_BYTES, so that
 * an answer too large to store can still be parsed and its token kept (see `fitToStore`); a
 * larger one is not TikTok's token answer in any plausible case, and reading on would cost the
 * whole function's memory (a 150 MB answer read whole peaked at 950 MB; capped, at 71 MB).
 */
export const MAX_ANSWER_BYTES = 1_048_576;

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

  /**
   * Exchanges a refresh token. Answers any code-0 answer that carries a refresh token, usable or
   * not, so that the caller can keep it; throws for everything else.
   */
  refreshToken(
    credentials: AppCredentials,
    refreshToken: string,
    deadline?: number,
  ): Promise<TokenAnswer> {
    return this.#call(
      '/api/v2/token/refresh',
      { refresh_token: refreshToken, grant_type: 'refresh_token' },
      [credentials.app_secret, refreshToken],
      credentials,
      deadline,
    );
  }

  /**
   * Exchanges a seller's authorization code for the shop's first token. Answers any code-0
   * answer that carries a refresh token, usable or not: the exchange may have revoked the
   * seller's earlier tokens, so the caller keeps it whatever it looks like; throws for the rest.
   */
  getToken(credentials: AppCredentials, authCode: string, deadline?: number): Promise<TokenAnswer> {
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
  ): Promise<TokenAnswer> {
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
      baseDelayMs: TIKTOK_RETRY.baseDelayMs,
      maxDelayMs: TIKTOK_RETRY.maxDelayMs,
      ...(deadline === undefined ? {} : { deadline }),
      what: 'call TikTok',
    });
  }

  async #once(url: string, secrets: readonly string[]): Promise<TokenAnswer> {
    const {
      status,
      headers,
      text: body,
    } = await sendToTikTok({
      fetch: this.#fetch,
      url,
      init: { headers: { accept: 'application/json' } },
      timeoutMs: this.#timeoutMs,
      maxBytes: MAX_ANSWER_BYTES,
      say: {
        redirect: (code) =>
          `TikTok answered HTTP ${code}, a redirect; it was not followed (the request carries the app secret and the token)`,
        oversized: (maxBytes) =>
          `TikTok answered more than ${maxBytes} bytes (a token answer is about 1 KB); reading stopped there, so a new refresh token in it, if any, could not be kept`,
      },
    });
    if (status === 429 || status >= 500) {
      throw new TransientError(`TikTok answered HTTP ${status}`, {
        retryAfterMs: retryAfterMs(headers.get('retry-after')),
      });
    }
    if (status < 200 || status >= 300) {
      throw new UnexpectedResponseError(`TikTok answered HTTP ${status}`);
    }

    const envelope = parseJson(body, TikTokEnvelope);
    if (!envelope.ok) {
      throw new UnexpectedResponseError(
        `TikTok answered HTTP ${status} with an unusable body (${envelope.problems.join('; ')})`,
      );
    }
    const { code, message = '' } = envelope.value;
    if (code !== 0) {
      const said = redact(message, secrets);
      const reason = REAUTHORIZATION_CODES.get(code);
      if (reason !== undefined) {
        throw new ReauthorizationRequiredError(
          `seller must authorize again: ${reason} (TikTok code ${code}: ${said})`,
          code,
        );
      }
      throw new UnexpectedResponseError(`TikTok answered code ${code}: ${said}`, code);
    }

    const token = parseTokenDocument(body);
    if (token.ok) return { usable: true, raw: body, document: token.value };
    // Not a token document, but it may still carry the only refresh token that works now.
    if (holdsRefreshToken(JSON.parse(body))) {
      return { usable: false, raw: body, problems: token.problems };
    }
    throw unusableToken(token.problems);
  }
}

function unusableToken(problems: readonly string[]): UnexpectedResponseError {
  return new UnexpectedResponseError(
    `TikTok answered code 0 without a usable token (${problems.join('; ')})`,
    0,
  );
}
