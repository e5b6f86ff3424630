import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  describeError,
  OversizedAnswerError,
  ReauthorizationRequiredError,
  TransientError,
  UnexpectedResponseError,
} from '../../lambda/shared/errors.js';
import {
  MAX_ANSWER_BYTES,
  TikTokAuthClient,
  type TikTokAuthClientOptions,
} from '../../lambda/shared/tiktok-auth-client.js';
import {
  type AppCredentials,
  MAX_STORED_BYTES,
  type ParsedToken,
  type TokenAnswer,
} from '../../lambda/shared/token.js';
import { LocalHttpServer } from '../local/endpoints/http.js';
import {
  drift,
  GET_TOKEN_PATH,
  type LocalTikTok,
  REFRESH_PATH,
  startLocalTikTok,
} from '../local/endpoints/tiktok.js';
import { echoedParts, echoForms } from '../support/echo-forms.js';
import { FakeClock } from '../support/fake-clock.js';

const CREDENTIALS: AppCredentials = {
  app_key: '6abc1def2ghi3',
  app_secret: 'APPSECRET_9f8e7d6c5b4a39281706f5e4d3c2b1a0',
};
const DAY_MS = 24 * 3600 * 1000;

/** The token of an answer that must be usable. */
function usable(answer: TokenAnswer): ParsedToken {
  if (!answer.usable) throw new Error(`unusable answer: ${answer.problems.join('; ')}`);
  return answer;
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
  /** Real time to start with, so that tokens the local host issues are valid; sleeps cost nothing. */
  let clock: FakeClock;

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
    clock = FakeClock.instant();
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
      const token = usable(await client().refreshToken(CREDENTIALS, refreshToken));

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
      const token = usable(await client().refreshToken(CREDENTIALS, seller().refreshToken));

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

      const token = usable(await client().refreshToken(CREDENTIALS, refreshToken));

      expect(token.document.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
      expect(tiktok.calls.map((call) => call.status)).toEqual([502, 200]);
    });

    it('honours Retry-After on HTTP 429', async () => {
      // Prepare: no jitter, so only the server's hint decides the wait
      vi.spyOn(Math, 'random').mockReturnValue(0);
      tiktok.failNext(1, { httpStatus: 429, retryAfterSeconds: 7 });

      // Act
      const token = usable(await client().refreshToken(CREDENTIALS, seller().refreshToken));

      // Assess
      expect(token.document.code).toBe(0);
      expect(clock.slept).toEqual([7_000]);
    });

    it('waits at most 10 s whatever Retry-After asks', async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0);
      tiktok.failNext(1, { httpStatus: 429, retryAfterSeconds: 3_600 });

      await client().refreshToken(CREDENTIALS, seller().refreshToken);

      expect(clock.slept).toEqual([10_000]);
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

      const token = usable(
        await client({ timeoutMs: 250 }).refreshToken(CREDENTIALS, refreshToken),
      );

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

    it('answers code 0 with expiries given as durations as unusable, for the caller to keep', async () => {
      // Prepare
      const json = {
        code: 0,
        data: {
          access_token: 'a',
          access_token_expire_in: 604_800,
          refresh_token: 'r',
          refresh_token_expire_in: 31_536_000,
        },
      };
      tiktok.failNext(1, { json });

      // Act
      const answer = await client().refreshToken(CREDENTIALS, seller().refreshToken);

      // Assess
      expect(answer).toEqual({
        usable: false,
        raw: JSON.stringify(json),
        problems: [
          'data.access_token_expire_in: must be an absolute Unix timestamp in seconds, not a duration',
          'data.refresh_token_expire_in: must be an absolute Unix timestamp in seconds, not a duration',
        ],
      });
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

    it('answers a token whose access token has already expired, for the caller to judge', async () => {
      // Prepare: our clock is 8 days ahead of TikTok's 7-day tokens
      clock = FakeClock.instant(Date.now() + 8 * DAY_MS);
      const { openId } = seller();

      // Act
      const answer = await client().refreshToken(CREDENTIALS, tiktok.refreshTokenOf(openId) ?? '');

      // Assess: the refresh token rotated, so the answer is the only copy of the working one
      const token = usable(answer);
      expect(token.document.data.access_token_expire_in * 1000).toBeLessThan(clock.now());
      expect(token.document.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
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

    describe('partial and reshaped echoes', () => {
      it.each(echoForms('TTS_RT_echo_4b7d0e2a9c61f3859a0b1c2d'))(
        'leaves no 8 characters of the refresh token TikTok quotes %s in the error',
        async (_, echo) => {
          // Prepare: the seller's refresh token is the one the echoes are made of
          const refreshToken = 'TTS_RT_echo_4b7d0e2a9c61f3859a0b1c2d';
          tiktok.failNext(1, { code: 36004005, message: `no auth record for ${echo}` });

          // Act
          const error = await failureOf(client().refreshToken(CREDENTIALS, refreshToken));

          // Assess
          expect(error.message).toMatch(/^seller must authorize again: .*\[redacted\]/);
          expect(echoedParts(error.message, echo)).toEqual([]);
        },
      );

      it.each(echoForms(CREDENTIALS.app_secret))(
        'leaves no 8 characters of the app secret TikTok quotes %s in the error',
        async (_, echo) => {
          tiktok.failNext(1, { code: 36001234, message: `bad app_secret ${echo}` });

          const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

          expect(echoedParts(error.message, echo)).toEqual([]);
        },
      );
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
        { json: { code: 0, data: { access_token: CREDENTIALS.app_secret, expires: 1 } } },
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

  describe('Method: refreshToken, when the answer is not what it used to be', () => {
    it('answers expiries sent as strings of digits as a usable token, keeping the text as sent', async () => {
      // Prepare
      const { openId } = seller();
      tiktok.failNext(1, { rewrite: drift.expiriesAsStrings });

      // Act
      const answer = await client().refreshToken(CREDENTIALS, tiktok.refreshTokenOf(openId) ?? '');

      // Assess
      const token = usable(answer);
      const sent = JSON.parse(token.raw) as { data: Record<string, unknown> };
      expect(typeof sent.data.access_token_expire_in).toBe('string');
      expect(token.document.data.access_token_expire_in).toBe(
        Number(sent.data.access_token_expire_in),
      );
      expect(token.document.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
    });

    it('answers a token without optional fields and with unknown ones as usable', async () => {
      // Prepare
      const { openId } = seller();
      tiktok.failNext(1, { rewrite: drift.optionalFieldsMissingAndExtraFields });

      // Act
      const answer = await client().refreshToken(CREDENTIALS, tiktok.refreshTokenOf(openId) ?? '');

      // Assess: an open_id of another type reads as absent
      const token = usable(answer);
      expect(token.document.data.open_id).toBeUndefined();
      expect(token.document.data.seller_name).toBeUndefined();
      expect(token.document.data).toMatchObject({ shop_cipher: 'GCP_XXXX' });
    });

    it('answers a code sent as a string of digits like the number', async () => {
      const { openId } = seller();
      tiktok.failNext(1, { rewrite: (answer) => ({ ...answer, code: '0' }) });

      const answer = await client().refreshToken(CREDENTIALS, tiktok.refreshTokenOf(openId) ?? '');

      expect(usable(answer).document.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
    });

    it('answers a code-0 answer whose expiry changed type as unusable, byte for byte, naming the field', async () => {
      // Prepare
      const { openId } = seller();
      tiktok.failNext(1, { rewrite: drift.accessTokenExpiryAsDate });

      // Act
      const answer = await client().refreshToken(CREDENTIALS, tiktok.refreshTokenOf(openId) ?? '');

      // Assess: not thrown away, since its refresh token is the only one that works now
      expect(answer).toMatchObject({
        usable: false,
        problems: ['data.access_token_expire_in: must be a number'],
      });
      expect(answer.raw).toContain(tiktok.refreshTokenOf(openId));
      expect(tiktok.calls).toHaveLength(1);
    });

    it('answers a code-0 answer whose tokens moved elsewhere as unusable rather than dropping it', async () => {
      // Prepare
      const { openId } = seller();
      tiktok.failNext(1, { rewrite: drift.tokensNested });

      // Act
      const answer = await client().refreshToken(CREDENTIALS, tiktok.refreshTokenOf(openId) ?? '');

      // Assess
      expect(answer.usable).toBe(false);
      expect(answer.raw).toContain(tiktok.refreshTokenOf(openId));
    });

    it('answers an answer longer than a secret holds, since its token can still be kept', async () => {
      // Prepare
      const { openId } = seller();
      tiktok.failNext(1, { padToBytes: 3 * MAX_STORED_BYTES });

      // Act
      const answer = await client().refreshToken(CREDENTIALS, tiktok.refreshTokenOf(openId) ?? '');

      // Assess
      const token = usable(answer);
      expect(Buffer.byteLength(token.raw)).toBe(3 * MAX_STORED_BYTES);
      expect(token.document.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
    });

    it('reads far more than a secret holds before it stops', () => {
      expect(MAX_ANSWER_BYTES).toBeGreaterThanOrEqual(16 * MAX_STORED_BYTES);
    });

    it.each([
      ['streamed', { streamBytes: 50 * MAX_ANSWER_BYTES }],
      ['with its length announced', { padToBytes: 2 * MAX_ANSWER_BYTES }],
    ] as const)(
      'stops reading an answer longer than the cap (%s) and says so, without retrying',
      async (_, fault) => {
        // Prepare
        tiktok.failNext(1, fault);

        // Act
        const error = await failureOf(client().refreshToken(CREDENTIALS, seller().refreshToken));

        // Assess
        expect(error).toBeInstanceOf(OversizedAnswerError);
        expect(error).toMatchObject({ retryable: true });
        expect(error.message).toBe(
          `TikTok answered more than ${MAX_ANSWER_BYTES} bytes (a token answer is about 1 KB); reading stopped there, so a new refresh token in it, if any, could not be kept`,
        );
        expect(tiktok.calls).toHaveLength(1);
      },
    );
  });

  describe('Method: refreshToken, when the auth host redirects', () => {
    let elsewhere: LocalHttpServer;
    /** Every request the redirect target received, with its query. */
    let received: string[];

    beforeAll(async () => {
      elsewhere = new LocalHttpServer(async (req, res) => {
        received.push(req.url ?? '');
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"code":0}');
      });
      await elsewhere.listen();
    });

    beforeEach(() => {
      received = [];
    });

    afterAll(async () => {
      await elsewhere.close();
    });

    it('would hand the secrets to the redirect target if a client followed it', async () => {
      // Prepare: what fetch does by default, to show what the redirect fault sets up
      tiktok.failNext(1, { redirect: 307, to: elsewhere.url });
      const url = `${tiktok.url}${REFRESH_PATH}?app_secret=${CREDENTIALS.app_secret}&refresh_token=r`;

      // Act
      await fetch(url);

      // Assess
      expect(received).toHaveLength(1);
      expect(received[0]).toContain(CREDENTIALS.app_secret);
    });

    it.each([301, 302, 307, 308] as const)(
      'never follows HTTP %i and reports it without its Location, without retrying',
      async (status) => {
        // Prepare
        const { refreshToken } = seller();
        tiktok.failNext(1, { redirect: status, to: elsewhere.url });

        // Act
        const error = await failureOf(client().refreshToken(CREDENTIALS, refreshToken));

        // Assess
        expect(received).toEqual([]);
        expect(error).toBeInstanceOf(UnexpectedResponseError);
        expect(error.message).toBe(
          `TikTok answered HTTP ${status}, a redirect; it was not followed (the request carries the app secret and the token)`,
        );
        expect(error.message).not.toContain(elsewhere.url);
        expect(tiktok.calls).toMatchObject([{ path: REFRESH_PATH, status }]);
        expect(tiktok.isRefreshTokenValid(refreshToken)).toBe(true);
      },
    );

    it('never follows a redirect of the code exchange either', async () => {
      tiktok.addSeller({ authCode: 'TTS_AUTH_CODE_REDIRECT' });
      tiktok.failNext(1, { redirect: 302, to: elsewhere.url });

      const error = await failureOf(client().getToken(CREDENTIALS, 'TTS_AUTH_CODE_REDIRECT'));

      expect(received).toEqual([]);
      expect(error.message).toContain('TikTok answered HTTP 302, a redirect');
      expect(tiktok.calls).toMatchObject([{ path: GET_TOKEN_PATH, status: 302 }]);
    });
  });

  describe('Method: refreshToken, when TikTok quotes secrets in another form', () => {
    const SPECIAL: AppCredentials = { app_key: 'k', app_secret: 'S3cr+t/x=y&z "q" é' };

    it.each([
      ['URL-encoded', encodeURIComponent(SPECIAL.app_secret)],
      ['form-encoded', new URLSearchParams({ s: SPECIAL.app_secret }).toString().slice(2)],
      ['JSON-escaped', JSON.stringify(SPECIAL.app_secret).slice(1, -1)],
      ['base64', Buffer.from(SPECIAL.app_secret).toString('base64')],
    ])('redacts the app secret when it comes back %s', async (_, form) => {
      // Prepare
      tiktok.failNext(1, { code: 36001234, message: `bad credentials ${form} given` });

      // Act
      const error = await failureOf(client().refreshToken(SPECIAL, 'TTS_RT_whatever_0001'));

      // Assess
      expect(error.message).toBe('TikTok answered code 36001234: bad credentials [redacted] given');
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
      expect(token).toMatchObject({
        usable: true,
        document: { data: { open_id: openId, refresh_token: tiktok.refreshTokenOf(openId) } },
      });
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

  describe('Method: getToken, when the answer is not a usable token', () => {
    it('answers a code-0 answer that is not a token document, with its refresh token, for the caller to keep', async () => {
      const { openId } = tiktok.addSeller({ authCode: 'TTS_AUTH_CODE_DRIFT' });
      tiktok.failNext(1, { rewrite: drift.accessTokenExpiryAsDate });

      const answer = await client().getToken(CREDENTIALS, 'TTS_AUTH_CODE_DRIFT');

      expect(answer).toMatchObject({
        usable: false,
        problems: ['data.access_token_expire_in: must be a number'],
      });
      expect(answer.raw).toContain(tiktok.refreshTokenOf(openId));
    });

    it('reports a code-0 answer without a refresh token as unexpected', async () => {
      tiktok.addSeller({ authCode: 'TTS_AUTH_CODE_EMPTY' });
      tiktok.failNext(1, { json: { code: 0, message: 'success', data: {} } });

      const error = await failureOf(client().getToken(CREDENTIALS, 'TTS_AUTH_CODE_EMPTY'));

      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toMatch(/^TikTok answered code 0 without a usable token/);
    });
  });
});
