import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  describeError,
  ReauthorizationRequiredError,
  TransientError,
  UnexpectedResponseError,
} from '../../lambda/shared/errors.js';
import {
  TikTokAuthClient,
  type TikTokAuthClientOptions,
} from '../../lambda/shared/tiktok-auth-client.js';
import type { Clock } from '../../lambda/shared/timing.js';
import type { AppCredentials } from '../../lambda/shared/token.js';
import { type LocalTikTok, REFRESH_PATH, startLocalTikTok } from '../local/endpoints/tiktok.js';

const CREDENTIALS: AppCredentials = {
  app_key: '6abc1def2ghi3',
  app_secret: 'APPSECRET_9f8e7d6c5b4a39281706f5e4d3c2b1a0',
};
const DAY_MS = 24 * 3600 * 1000;

/** Real time to start with, so that tokens the local host issues are valid; sleeps cost nothing. */
function instantClock(start = Date.now()): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('the call succeeded');
}

describe('Class: TikTokAuthClient', () => {
  let tiktok: LocalTikTok;
  let clock: ReturnType<typeof instantClock>;

  function client(options: Partial<TikTokAuthClientOptions> = {}): TikTokAuthClient {
    return new TikTokAuthClient({ baseUrl: tiktok.url, timeoutMs: 2_000, clock, ...options });
  }

  /** A seller with a working refresh token. */
  function seller(): { refreshToken: string; openId: string } {
    const added = tiktok.addSeller();
    if (added.refreshToken === undefined) throw new Error('the local seller has no refresh token');
    return { refreshToken: added.refreshToken, openId: added.openId };
  }

  beforeAll(async () => {
    tiktok = await startLocalTikTok({
      appKey: CREDENTIALS.app_key,
      appSecret: CREDENTIALS.app_secret,
    });
  });

  beforeEach(() => {
    clock = instantClock();
  });

  afterEach(() => {
    tiktok.reset();
  });

  afterAll(async () => {
    await tiktok.close();
  });

  describe('Method: refreshToken', () => {
    it('answers the new token that TikTok issued', async () => {
      // Prepare
      const { refreshToken, openId } = seller();

      // Act
      const token = await client().refreshToken(CREDENTIALS, refreshToken);

      // Assess
      const newRefreshToken = tiktok.refreshTokenOf(openId);
      expect(newRefreshToken).toBeDefined();
      expect(newRefreshToken).not.toBe(refreshToken);
      expect(token.document.code).toBe(0);
      expect(token.document.data.refresh_token).toBe(newRefreshToken);
      expect(token.document.data.open_id).toBe(openId);
      expect(token.document.data.access_token_expire_in * 1000).toBeGreaterThan(clock.now());
      expect(JSON.parse(token.raw)).toEqual(token.document);
      expect(tiktok.calls).toMatchObject([
        { method: 'GET', path: REFRESH_PATH, status: 200, code: 0 },
      ]);
    });

    it('returns the raw body byte for byte', async () => {
      // Prepare: spacing, key order and characters that a re-serialisation would change
      const expireIn = Math.floor(clock.now() / 1000) + 7 * 24 * 3600;
      const body =
        '{ "request_id" : "2024X", "code":0,"message":"success",\n  "data":{"seller_name":"Boutique Ünïcødé 🛍 \\u00e9",' +
        `"refresh_token_expire_in":4841467787,"access_token":"TTS_AT_x","access_token_expire_in":${expireIn}.0,` +
        '"refresh_token":"TTS_RT_y","granted_scopes":[ ]} }';
      tiktok.failNext(1, { body });

      // Act
      const token = await client().refreshToken(CREDENTIALS, seller().refreshToken);

      // Assess
      expect(token.raw).toBe(body);
      expect(Buffer.from(token.raw, 'utf8').equals(Buffer.from(body, 'utf8'))).toBe(true);
      expect(token.document.data.access_token_expire_in).toBe(expireIn);
      expect(token.document.data.seller_name).toBe('Boutique Ünïcødé 🛍 é');
    });

    it('sends a GET to /api/v2/token/refresh with the four query parameters', async () => {
      // Prepare
      const { refreshToken } = seller();
      const sent: { url: URL; init: RequestInit | undefined }[] = [];
      const recordingFetch: typeof fetch = (input, init) => {
        sent.push({ url: new URL(String(input)), init });
        return fetch(input, init);
      };

      // Act
      await client({ fetch: recordingFetch, baseUrl: `${tiktok.url}/` }).refreshToken(
        CREDENTIALS,
        refreshToken,
      );

      // Assess
      expect(sent).toHaveLength(1);
      const [request] = sent;
      expect(request?.url.origin).toBe(tiktok.url);
      expect(request?.url.pathname).toBe('/api/v2/token/refresh');
      expect(Object.fromEntries(request?.url.searchParams ?? [])).toEqual({
        app_key: CREDENTIALS.app_key,
        app_secret: CREDENTIALS.app_secret,
        refresh_token: refreshToken,
        grant_type: 'refresh_token',
      });
      expect(request?.init?.method ?? 'GET').toBe('GET');
      expect(request?.init?.body).toBeUndefined();
      expect(request?.init?.headers).toEqual({ accept: 'application/json' });
      expect(tiktok.calls).toMatchObject([{ method: 'GET', path: REFRESH_PATH }]);
      expect(tiktok.lastRefreshToken).toBe(refreshToken);
    });

    it.each([
      [36004001, 'the refresh token has expired'],
      [36004004, 'the authorization code is invalid or already used'],
      [36004005, 'TikTok has no authorization for this refresh token (revoked or replaced)'],
    ])('reports code %i as reauthorization required without retrying', async (code, reason) => {
      // Prepare
      tiktok.failNext(1, { code, message: 'no can do' });

      // Act
      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      // Assess
      expect(error).toBeInstanceOf(ReauthorizationRequiredError);
      expect(error).toMatchObject({ tiktokCode: code, retryable: false });
      expect(error.message).toBe(
        `seller must authorize again: ${reason} (TikTok code ${code}: no can do)`,
      );
      expect(tiktok.calls).toHaveLength(1);
      expect(clock.slept).toEqual([]);
    });

    it('reports a revoked authorization as reauthorization required', async () => {
      const { refreshToken } = seller();
      tiktok.revoke(refreshToken);

      const error = await failureOf(client().refreshToken(CREDENTIALS, refreshToken));

      expect(error).toBeInstanceOf(ReauthorizationRequiredError);
      expect(describeError(error)).toMatchObject({
        errorType: 'ReauthorizationRequiredError',
        tiktokCode: 36004005,
      });
      expect(tiktok.calls).toHaveLength(1);
    });

    it('reports a refresh token that has already been used (rotation) as reauthorization required', async () => {
      const { refreshToken } = seller();
      await client().refreshToken(CREDENTIALS, refreshToken);

      const error = await failureOf(client().refreshToken(CREDENTIALS, refreshToken));

      expect(error).toMatchObject({ tiktokCode: 36004005 });
      expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    });

    it('reports an expired seller authorization as reauthorization required', async () => {
      const { refreshToken } = tiktok.addSeller({
        refreshToken: 'TTS_RT_expired_seller_0001',
        refreshTokenExpiresAt: Math.floor(Date.now() / 1000) - 60,
      });

      const error = await failureOf(client().refreshToken(CREDENTIALS, refreshToken ?? ''));

      expect(error).toBeInstanceOf(ReauthorizationRequiredError);
      expect(error).toMatchObject({ tiktokCode: 36004001 });
    });

    it.each([500, 503, 429] as const)(
      'retries HTTP %i and then reports it as transient',
      async (httpStatus) => {
        // Prepare
        tiktok.failAlways({ httpStatus, retryAfterSeconds: 0 });

        // Act
        const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

        // Assess
        expect(error).toBeInstanceOf(TransientError);
        expect(error.message).toBe(`TikTok answered HTTP ${httpStatus}`);
        expect(describeError(error)).toEqual({
          errorType: 'TransientError',
          message: `TikTok answered HTTP ${httpStatus}`,
        });
        expect(tiktok.calls.map((call) => call.status)).toEqual([
          httpStatus,
          httpStatus,
          httpStatus,
        ]);
        expect(clock.slept).toHaveLength(2);
      },
    );

    it('answers the token when a retry after HTTP 502 succeeds', async () => {
      const { refreshToken, openId } = seller();
      tiktok.failNext(1, { httpStatus: 502 });

      const token = await client().refreshToken(CREDENTIALS, refreshToken);

      expect(token.document.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
      expect(tiktok.calls.map((call) => call.status)).toEqual([502, 200]);
    });

    it('honours Retry-After on HTTP 429', async () => {
      // Prepare: no jitter, so only the server's hint decides the wait
      vi.spyOn(Math, 'random').mockReturnValue(0);
      tiktok.failNext(1, { httpStatus: 429, retryAfterSeconds: 7 });

      // Act
      const token = await client().refreshToken(CREDENTIALS, seller().refreshToken);

      // Assess
      expect(token.document.code).toBe(0);
      expect(clock.slept).toEqual([7_000]);
    });

    it('waits at most 30 s whatever Retry-After asks', async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0);
      tiktok.failNext(1, { httpStatus: 429, retryAfterSeconds: 3_600 });

      await client().refreshToken(CREDENTIALS, seller().refreshToken);

      expect(clock.slept).toEqual([30_000]);
    });

    it('makes only the configured number of attempts', async () => {
      tiktok.failAlways({ httpStatus: 500 });

      await failureOf(client({ maxAttempts: 5 }).refreshToken(CREDENTIALS, seller().refreshToken));

      expect(tiktok.calls).toHaveLength(5);
    });

    it('stops retrying when the next wait would pass the deadline', async () => {
      // Prepare: the first backoff is 500 ms, the deadline 100 ms away
      vi.spyOn(Math, 'random').mockReturnValue(1);
      tiktok.failAlways({ httpStatus: 503 });

      // Act
      const error = await failureOf(
        client().refreshToken(CREDENTIALS, seller().refreshToken, clock.now() + 100),
      );

      // Assess
      expect(error).toBeInstanceOf(TransientError);
      expect(tiktok.calls).toHaveLength(1);
      expect(clock.slept).toEqual([]);
    });

    it('reports a timeout as transient, naming the timeout', async () => {
      // Prepare
      tiktok.failAlways({ delayMs: 300 });

      // Act
      const error = await failureOf(
        client({ timeoutMs: 25, maxAttempts: 2 }).refreshToken(CREDENTIALS, seller().refreshToken),
      );

      // Assess
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toBe('TikTok did not answer within 25 ms');
      expect(error.cause).toBeInstanceOf(DOMException);
      expect(tiktok.calls).toHaveLength(2);
    });

    it('answers the token when a retry after a timeout succeeds', async () => {
      const { refreshToken } = seller();
      tiktok.failNext(1, { delayMs: 1_000 });

      const token = await client({ timeoutMs: 250 }).refreshToken(CREDENTIALS, refreshToken);

      expect(token.document.code).toBe(0);
      expect(tiktok.calls.map((call) => call.status)).toEqual([0, 200]);
    });

    it('reports a dropped connection as a transient network error', async () => {
      tiktok.failAlways({ dropConnection: true });

      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toBe('could not reach TikTok (network error)');
      expect(tiktok.calls).toHaveLength(3);
    });

    it('reports a body that is not JSON as unexpected, without retrying', async () => {
      tiktok.failNext(1, { body: '<html><body>Service Unavailable</body></html>' });

      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('TikTok answered HTTP 200 with an unusable body (not valid JSON)');
      expect(error).toMatchObject({ tiktokCode: undefined, retryable: false });
      expect(tiktok.calls).toHaveLength(1);
    });

    it('reports JSON without a code as unexpected', async () => {
      tiktok.failNext(1, { json: { message: 'success', data: {} } });

      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('TikTok answered HTTP 200 with an unusable body (code: missing)');
    });

    it('reports code 0 with a missing field as unexpected, naming the field', async () => {
      // Prepare
      const expireIn = Math.floor(clock.now() / 1000) + 3600;
      tiktok.failNext(1, {
        json: {
          code: 0,
          message: 'success',
          data: { access_token: 'TTS_AT_partial', access_token_expire_in: expireIn },
        },
      });

      // Act
      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe(
        'TikTok answered code 0 without a usable token (data.refresh_token: missing; data.refresh_token_expire_in: missing)',
      );
      expect(describeError(error)).toMatchObject({
        errorType: 'UnexpectedResponseError',
        tiktokCode: 0,
      });
      expect(error.message).not.toContain('TTS_AT_partial');
      expect(tiktok.calls).toHaveLength(1);
    });

    it('reports code 0 with expiries given as durations as unexpected', async () => {
      tiktok.failNext(1, {
        json: {
          code: 0,
          data: {
            access_token: 'a',
            access_token_expire_in: 604_800,
            refresh_token: 'r',
            refresh_token_expire_in: 31_536_000,
          },
        },
      });

      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      expect(error.message).toContain(
        'data.access_token_expire_in: must be an absolute Unix timestamp in seconds, not a duration',
      );
    });

    it('reports an unknown code as unexpected with its code and message', async () => {
      tiktok.failNext(1, { code: 36009999, message: 'ip not in allow list' });

      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('TikTok answered code 36009999: ip not in allow list');
      expect(describeError(error)).toEqual({
        errorType: 'UnexpectedResponseError',
        message: 'TikTok answered code 36009999: ip not in allow list',
        tiktokCode: 36009999,
      });
      expect(tiktok.calls).toHaveLength(1);
    });

    it('reports an unknown code without a message', async () => {
      tiktok.failNext(1, { json: { code: 105001 } });

      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      expect(error.message).toBe('TikTok answered code 105001: ');
      expect(error).toMatchObject({ tiktokCode: 105001 });
    });

    it('reports an access token that has already expired as unexpected', async () => {
      // Prepare: our clock is 8 days ahead of TikTok's 7-day tokens
      clock = instantClock(Date.now() + 8 * DAY_MS);

      // Act
      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe(
        'TikTok answered code 0 with an access token that has already expired',
      );
      expect(error).toMatchObject({ tiktokCode: 0 });
    });

    it('reports HTTP 404 for a wrong path as unexpected, without retrying', async () => {
      const error = await failureOf(
        client({ baseUrl: `${tiktok.url}/v1` }).refreshToken(CREDENTIALS, seller().refreshToken),
      );

      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('TikTok answered HTTP 404');
      expect(tiktok.calls).toMatchObject([{ path: `/v1${REFRESH_PATH}`, status: 404 }]);
    });

    it('reports the HTTP 404 that TikTok answers to a POST as unexpected', async () => {
      // Prepare: what a generic OAuth library would send
      const postingFetch: typeof fetch = (input, init) =>
        fetch(input, { ...init, method: 'POST', body: 'grant_type=refresh_token' });

      // Act
      const error = await failureOf(
        client({ fetch: postingFetch }).refreshToken(CREDENTIALS, seller().refreshToken),
      );

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('TikTok answered HTTP 404');
      expect(tiktok.calls).toMatchObject([{ method: 'POST', path: REFRESH_PATH, status: 404 }]);
    });

    it('redacts the app secret and the refresh token when TikTok echoes them', async () => {
      // Prepare
      const { refreshToken } = seller();
      tiktok.failNext(1, {
        code: 36004005,
        message: `no auth record for ${refreshToken} (app_secret=${CREDENTIALS.app_secret})`,
      });
      tiktok.failNext(1, { code: 36001234, message: `bad secret ${CREDENTIALS.app_secret}` });

      // Act
      const reauthorize = await failureOf(client().refreshToken(CREDENTIALS, refreshToken));
      const unknown = await failureOf(client().refreshToken(CREDENTIALS, refreshToken));

      // Assess
      expect(reauthorize.message).toContain(
        '(TikTok code 36004005: no auth record for [redacted] (app_secret=[redacted]))',
      );
      expect(unknown.message).toBe('TikTok answered code 36001234: bad secret [redacted]');
    });

    it('keeps the words of TikTok’s message that are not secrets', async () => {
      // Prepare: the parameter names and the grant type are not secrets
      tiktok.failNext(1, { code: 36004003, message: 'grant_type must be refresh_token' });

      // Act
      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      // Assess
      expect(error.message).toBe('TikTok answered code 36004003: grant_type must be refresh_token');
    });

    it('shortens a very long message from TikTok', async () => {
      tiktok.failNext(1, { code: 36001111, message: 'x'.repeat(5_000) });

      const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

      expect(error.message.length).toBeLessThan(400);
      expect(error.message).toMatch(/^TikTok answered code 36001111: x+…$/);
    });

    it('puts neither the app secret, the refresh token nor the URL into any error', async () => {
      // Prepare: one request per way of failing
      const { refreshToken } = seller();
      const faults = [
        { httpStatus: 500 },
        { httpStatus: 429, retryAfterSeconds: 0 },
        { code: 36004005, message: `unknown ${refreshToken}` },
        { code: 36001234, message: `${CREDENTIALS.app_secret} ${refreshToken}` },
        { body: `<pre>${tiktok.url}${REFRESH_PATH}?app_secret=${CREDENTIALS.app_secret}</pre>` },
        { json: { code: 0, data: { access_token: refreshToken } } },
        { json: { code: 0, data: { refresh_token: CREDENTIALS.app_secret } } },
        { dropConnection: true },
        { delayMs: 300 },
      ] as const;
      const errors: Error[] = [];

      // Act
      for (const fault of faults) {
        tiktok.reset();
        tiktok.failAlways(fault);
        errors.push(
          await failureOf(
            client({ timeoutMs: 50, maxAttempts: 1 }).refreshToken(CREDENTIALS, refreshToken),
          ),
        );
      }
      tiktok.reset();
      errors.push(
        await failureOf(
          client({ baseUrl: `${tiktok.url}/nowhere` }).refreshToken(CREDENTIALS, refreshToken),
        ),
      );

      // Assess
      expect(errors).toHaveLength(faults.length + 1);
      for (const error of errors) {
        const reported = [
          error.message,
          String(error),
          error.stack ?? '',
          JSON.stringify(describeError(error)),
        ];
        for (const text of reported) {
          expect(text).not.toContain(CREDENTIALS.app_secret);
          expect(text).not.toContain(refreshToken);
          expect(text).not.toContain(tiktok.url);
          expect(text).not.toContain('app_secret=');
          expect(text).not.toContain('/api/v2/token');
        }
      }
    });
  });

  describe('Method: getToken', () => {
    it('exchanges an authorization code with a GET to /api/v2/token/get', async () => {
      // Prepare
      const authCode = 'TTS_AUTH_CODE_0001';
      const { openId } = tiktok.addSeller({ authCode });
      const urls: URL[] = [];
      const recordingFetch: typeof fetch = (input, init) => {
        urls.push(new URL(String(input)));
        return fetch(input, init);
      };

      // Act
      const token = await client({ fetch: recordingFetch }).getToken(CREDENTIALS, authCode);

      // Assess
      expect(token.document.data.open_id).toBe(openId);
      expect(token.document.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
      expect(urls.map((url) => url.pathname)).toEqual(['/api/v2/token/get']);
      expect(Object.fromEntries(urls[0]?.searchParams ?? [])).toEqual({
        app_key: CREDENTIALS.app_key,
        app_secret: CREDENTIALS.app_secret,
        auth_code: authCode,
        grant_type: 'authorized_code',
      });
    });

    it('reports a used authorization code as reauthorization required', async () => {
      const authCode = 'TTS_AUTH_CODE_0002';
      tiktok.addSeller({ authCode });
      await client().getToken(CREDENTIALS, authCode);

      const error = await failureOf(client().getToken(CREDENTIALS, authCode));

      expect(error).toBeInstanceOf(ReauthorizationRequiredError);
      expect(error).toMatchObject({ tiktokCode: 36004004 });
      expect(error.message).not.toContain(authCode);
    });
  });
});
