import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  drift,
  GET_TOKEN_PATH,
  type LocalTikTok,
  type LocalTikTokOptions,
  REFRESH_PATH,
  startLocalTikTok,
  TIKTOK_CODE,
  type TikTokFault,
} from '../../local/endpoints/tiktok.js';

const app = { app_key: 'local-app-key', app_secret: 'local-app-secret-1234' };
const NOW_MS = 1_750_000_000_000;
const NOW_S = NOW_MS / 1000;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: assertions read whatever TikTok sent
  json: any;
}

describe('LocalTikTok', () => {
  let endpoint: LocalTikTok;
  let clockMs: number;

  async function start(options: Partial<LocalTikTokOptions> = {}): Promise<LocalTikTok> {
    await endpoint?.close();
    endpoint = await startLocalTikTok({
      appKey: app.app_key,
      appSecret: app.app_secret,
      now: () => clockMs,
      ...options,
    });
    return endpoint;
  }

  async function get(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Answer> {
    const url = new URL(path, endpoint.url);
    url.search = new URLSearchParams(params).toString();
    const response = await fetch(url, { signal });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  const refresh = (
    refreshToken: string,
    extra: Record<string, string> = {},
    signal?: AbortSignal,
  ) =>
    get(
      REFRESH_PATH,
      { ...app, refresh_token: refreshToken, grant_type: 'refresh_token', ...extra },
      signal,
    );

  const exchange = (authCode: string) =>
    get(GET_TOKEN_PATH, { ...app, auth_code: authCode, grant_type: 'authorized_code' });

  beforeEach(async () => {
    clockMs = NOW_MS;
    await start();
  });

  afterEach(async () => {
    await endpoint.close();
  });

  describe('GET /api/v2/token/refresh', () => {
    it('answers code 0 with absolute expiry timestamps and new recognisable tokens', async () => {
      // Prepare
      const seller = endpoint.addSeller({
        sellerName: 'Shop A',
        refreshTokenExpiresAt: NOW_S + 1000,
      });

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        code: 0,
        message: 'success',
        request_id: expect.stringMatching(/^20250615\d{6}[0-9A-F]{18}$/),
        data: {
          access_token: expect.stringMatching(/^TTS_AT_[0-9a-f]{32}$/),
          access_token_expire_in: NOW_S + 7 * 24 * 3600,
          refresh_token: expect.stringMatching(/^TTS_RT_[0-9a-f]{32}$/),
          refresh_token_expire_in: NOW_S + 1000,
          open_id: seller.openId,
          seller_name: 'Shop A',
          seller_base_region: 'GB',
          user_type: 0,
          granted_scopes: expect.arrayContaining(['seller.authorization.info']),
        },
      });
      expect(answer.json.data.refresh_token).not.toBe(seller.refreshToken);
    });

    it('rotates: the used refresh token answers 36004005 and the returned one works', async () => {
      // Prepare
      const seller = endpoint.addSeller({ refreshToken: 'TTS_RT_seeded' });
      const first = await refresh('TTS_RT_seeded');

      // Act
      const reused = await refresh('TTS_RT_seeded');
      const next = await refresh(first.json.data.refresh_token);

      // Assess
      expect(reused.json).toMatchObject({ code: TIKTOK_CODE.noAuthRecord });
      expect(reused.json.data).toBeUndefined();
      expect(next.json.code).toBe(0);
      expect(endpoint.isRefreshTokenValid('TTS_RT_seeded')).toBe(false);
      expect(endpoint.refreshTokenOf(seller.openId)).toBe(next.json.data.refresh_token);
    });

    it('keeps the old refresh token working when rotation is off', async () => {
      // Prepare
      await start({ rotateRefreshTokens: false });
      const seller = endpoint.addSeller();
      const token = seller.refreshToken ?? '';

      // Act
      const first = await refresh(token);
      const second = await refresh(token);

      // Assess
      expect(first.json.data.refresh_token).toBe(token);
      expect(second.json.code).toBe(0);
      expect(second.json.data.access_token).not.toBe(first.json.data.access_token);
    });

    it('answers 36004001 once the refresh token has expired', async () => {
      // Prepare
      const seller = endpoint.addSeller({ refreshTokenExpiresAt: NOW_S + 60 });
      clockMs = NOW_MS + 61_000;

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        code: TIKTOK_CODE.refreshTokenExpired,
        message: 'rt has expired',
      });
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(false);
    });

    it('answers 36004005 after the seller is revoked', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.revoke(seller.openId);

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(answer.json.code).toBe(TIKTOK_CODE.noAuthRecord);
    });

    it('refuses a wrong app_secret or a missing grant_type with a non-zero code at HTTP 200', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      const token = seller.refreshToken ?? '';

      // Act
      const wrongSecret = await refresh(token, { app_secret: 'wrong' });
      const noGrant = await refresh(token, { grant_type: '' });

      // Assess
      expect([wrongSecret.status, wrongSecret.json.code]).toEqual([
        200,
        TIKTOK_CODE.invalidAppCredentials,
      ]);
      expect([noGrant.status, noGrant.json.code]).toEqual([200, TIKTOK_CODE.invalidParameters]);
      expect(endpoint.isRefreshTokenValid(token)).toBe(true);
    });
  });

  describe('GET /api/v2/token/get', () => {
    it('exchanges an auth code once: a second use answers 36004004', async () => {
      // Prepare
      const seller = endpoint.addSeller({ authCode: 'TTS_AC_once' });

      // Act
      const first = await exchange('TTS_AC_once');
      const second = await exchange('TTS_AC_once');
      const unknown = await exchange('TTS_AC_never');

      // Assess
      expect(first.json).toMatchObject({ code: 0, data: { open_id: seller.openId } });
      expect(endpoint.isRefreshTokenValid(first.json.data.refresh_token)).toBe(true);
      expect(second.json.code).toBe(TIKTOK_CODE.invalidAuthCode);
      expect(unknown.json.code).toBe(TIKTOK_CODE.invalidAuthCode);
    });
  });

  describe('other requests', () => {
    it('answers 404 to a POST with a body, as TikTok does to generic OAuth clients', async () => {
      // Prepare
      const seller = endpoint.addSeller();

      // Act
      const response = await fetch(new URL(REFRESH_PATH, endpoint.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          ...app,
          refresh_token: seller.refreshToken ?? '',
          grant_type: 'refresh_token',
        }),
      });
      await response.text();
      const unknownPath = await get('/api/token/refreshToken', app);

      // Assess
      expect(response.status).toBe(404);
      expect(unknownPath.status).toBe(404);
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(true);
    });
  });

  describe('fault injection', () => {
    it.each([500, 502, 503] as const)('answers HTTP %i and then recovers', async (httpStatus) => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { httpStatus });

      // Act
      const failed = await refresh(seller.refreshToken ?? '');
      const recovered = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(failed.status).toBe(httpStatus);
      expect(recovered.json.code).toBe(0);
    });

    it('answers HTTP 429 with Retry-After', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { httpStatus: 429, retryAfterSeconds: 7 });

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('7');
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(true);
    });

    it('answers an injected code at HTTP 200 without touching the token', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { code: 36004001, message: 'rt has expired' });

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ code: 36004001, message: 'rt has expired' });
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(true);
    });

    it('answers a body that is not JSON', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { body: 'not json <html>' });

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('not json <html>');
      expect(answer.json).toBeUndefined();
    });

    it('answers arbitrary JSON, such as code 0 without tokens', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { json: { code: 0, message: 'success', data: {} } });

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(answer.json).toEqual({ code: 0, message: 'success', data: {} });
    });

    it('drops the connection without an answer and without using the token', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { dropConnection: true });

      // Act
      const outcome = refresh(seller.refreshToken ?? '');

      // Assess
      await expect(outcome).rejects.toThrow();
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(true);
      expect(endpoint.calls.at(-1)?.status).toBe(0);
    });

    it('loses the answer after rotating with loseAnswer: only the unseen new token works', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { loseAnswer: true });

      // Act
      const outcome = refresh(seller.refreshToken ?? '');

      // Assess
      await expect(outcome).rejects.toThrow();
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(false);
      expect(endpoint.refreshTokenOf(seller.openId)).toMatch(/^TTS_RT_/);
    });

    it('redirects without serving: the Location repeats the path and query, secrets included', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { redirect: 307, to: 'http://127.0.0.1:9/' });
      const url = new URL(REFRESH_PATH, endpoint.url);
      url.search = new URLSearchParams({
        ...app,
        refresh_token: seller.refreshToken ?? '',
      }).toString();

      // Act
      const response = await fetch(url, { redirect: 'manual' });

      // Assess
      expect(response.status).toBe(307);
      expect(response.headers.get('location')).toBe(
        `http://127.0.0.1:9${REFRESH_PATH}${url.search}`,
      );
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(true);
      expect(endpoint.calls.at(-1)?.status).toBe(307);
    });

    it('rewrites the answer of a refresh it served with rewrite', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { rewrite: drift.expiriesAsStrings });

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(answer.json.data.access_token_expire_in).toBe(String(NOW_S + 7 * 24 * 3600));
      expect(answer.json.data.refresh_token).toBe(endpoint.refreshTokenOf(seller.openId));
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(false);
    });

    it.each([
      ['another open_id', drift.openId('open_other'), { open_id: 'open_other' }],
      [
        'an expired refresh token',
        drift.refreshTokenExpired(NOW_S - 60),
        { refresh_token_expire_in: NOW_S - 60 },
      ],
    ])('answers a served refresh with %s', async (_, rewrite, expected) => {
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { rewrite });

      const answer = await refresh(seller.refreshToken ?? '');

      expect(answer.json).toMatchObject({ code: 0, data: expected });
    });

    it('pads a served answer to the size asked for with padToBytes', async () => {
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { padToBytes: 100_000 });

      const answer = await refresh(seller.refreshToken ?? '');

      expect(Buffer.byteLength(answer.text)).toBe(100_000);
      expect(answer.json.data.refresh_token).toBe(endpoint.refreshTokenOf(seller.openId));
    });

    it('streams a served answer with as much padding as asked for with streamBytes', async () => {
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { streamBytes: 1_000_000 });

      const answer = await refresh(seller.refreshToken ?? '');

      expect(answer.json.data.padding).toHaveLength(1_000_000);
      expect(endpoint.calls[0]?.streamed).toBe(1_000_000);
      expect(answer.json.data.refresh_token).toBe(endpoint.refreshTokenOf(seller.openId));
    });

    it('stops streaming when the client goes away', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { streamBytes: 10_000_000_000 });
      const url = new URL(REFRESH_PATH, endpoint.url);
      url.search = new URLSearchParams({
        ...app,
        refresh_token: seller.refreshToken ?? '',
        grant_type: 'refresh_token',
      }).toString();

      // Act
      const response = await fetch(url);
      const reader = response.body?.getReader();
      await reader?.read();
      await reader?.cancel();

      // Assess
      await vi.waitFor(() => expect(endpoint.calls[0]?.streamed).toBeDefined());
      expect(endpoint.calls[0]?.streamed).toBeLessThan(100_000_000);
    });

    it('answers late with delayMs', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { delayMs: 60 });
      const started = performance.now();

      // Act
      const answer = await refresh(seller.refreshToken ?? '');

      // Assess
      expect(performance.now() - started).toBeGreaterThanOrEqual(55);
      expect(answer.json.code).toBe(0);
    });

    it('leaves the token untouched when the client gives up during delayMs', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { delayMs: 150 });

      // Act
      const outcome = refresh(seller.refreshToken ?? '', {}, AbortSignal.timeout(30));
      await expect(outcome).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 200));

      // Assess
      expect(endpoint.isRefreshTokenValid(seller.refreshToken ?? '')).toBe(true);
    });

    it('consumes queued faults in order, then answers normally', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      const faults: TikTokFault[] = [{ httpStatus: 503 }, { code: 36009999, message: 'odd' }];
      for (const fault of faults) endpoint.failNext(1, fault);

      // Act
      const answers = [];
      for (let i = 0; i < 3; i++)
        answers.push(await refresh(endpoint.refreshTokenOf(seller.openId) ?? ''));

      // Assess
      expect(answers.map((a) => [a.status, a.json?.code])).toEqual([
        [503, undefined],
        [200, 36009999],
        [200, 0],
      ]);
    });

    it('fails every request with failAlways until clearFaults', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failAlways({ httpStatus: 502 });

      // Act
      const first = await refresh(seller.refreshToken ?? '');
      const second = await refresh(seller.refreshToken ?? '');
      endpoint.clearFaults();
      const healed = await refresh(seller.refreshToken ?? '');

      // Assess
      expect([first.status, second.status, healed.status]).toEqual([502, 502, 200]);
    });

    it('adds latencyMs to every request', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.latencyMs = 40;
      const started = performance.now();

      // Act
      await refresh(seller.refreshToken ?? '');

      // Assess
      expect(performance.now() - started).toBeGreaterThanOrEqual(38);
    });
  });

  describe('inspection', () => {
    it('records the forced failure each request got', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      endpoint.failNext(1, { httpStatus: 503 });
      endpoint.failNext(1, { loseAnswer: true });

      // Act
      await refresh(seller.refreshToken ?? '');
      await refresh(seller.refreshToken ?? '').catch(() => undefined);
      await refresh(seller.refreshToken ?? '');

      // Assess
      expect(endpoint.calls.map((call) => [call.fault, call.openId])).toEqual([
        [{ httpStatus: 503 }, seller.openId],
        [{ loseAnswer: true }, seller.openId],
        [undefined, seller.openId],
      ]);
      expect(endpoint.calls[2]?.code).toBe(TIKTOK_CODE.noAuthRecord);
    });

    it('records calls without query strings, by seller, and keeps the last refresh token presented', async () => {
      // Prepare
      const seller = endpoint.addSeller();

      // Act
      await refresh(seller.refreshToken ?? '');
      await refresh(seller.refreshToken ?? '');
      await refresh('TTS_RT_unknown');

      // Assess
      expect(endpoint.calls).toEqual([
        {
          method: 'GET',
          path: REFRESH_PATH,
          at: NOW_MS,
          status: 200,
          code: 0,
          openId: seller.openId,
        },
        {
          method: 'GET',
          path: REFRESH_PATH,
          at: NOW_MS,
          status: 200,
          code: TIKTOK_CODE.noAuthRecord,
          openId: seller.openId,
        },
        {
          method: 'GET',
          path: REFRESH_PATH,
          at: NOW_MS,
          status: 200,
          code: TIKTOK_CODE.noAuthRecord,
        },
      ]);
      expect(endpoint.lastRefreshToken).toBe('TTS_RT_unknown');
      expect(JSON.stringify(endpoint.calls)).not.toContain(app.app_secret);
    });

    it('lists the app secret and every token issued in issuedSecrets', async () => {
      // Prepare
      const seller = endpoint.addSeller({ authCode: 'TTS_AC_x' });

      // Act
      const { json } = await exchange('TTS_AC_x');
      const refreshed = await refresh(json.data.refresh_token);
      const document = endpoint.tokenDocument(seller.openId);

      // Assess
      expect(endpoint.issuedSecrets()).toEqual(
        expect.arrayContaining([
          app.app_secret,
          'TTS_AC_x',
          json.data.access_token,
          json.data.refresh_token,
          refreshed.json.data.access_token,
          refreshed.json.data.refresh_token,
          document.access_token,
        ]),
      );
    });

    it('builds a token document whose refresh token works', async () => {
      // Prepare
      const seller = endpoint.addSeller({ sellerName: 'Shop D' });

      // Act
      const document = endpoint.tokenDocument(seller.openId, { accessTokenExpiresAt: NOW_S + 60 });
      const answer = await refresh(document.refresh_token);

      // Assess
      expect(document).toMatchObject({
        refresh_token: seller.refreshToken,
        access_token_expire_in: NOW_S + 60,
        open_id: seller.openId,
        seller_name: 'Shop D',
      });
      expect(answer.json.code).toBe(0);
    });

    it('forgets calls and faults on reset but keeps sellers', async () => {
      // Prepare
      const seller = endpoint.addSeller();
      await refresh(seller.refreshToken ?? '');
      endpoint.failAlways({ httpStatus: 500 });

      // Act
      endpoint.reset();
      const answer = await refresh(endpoint.refreshTokenOf(seller.openId) ?? '');

      // Assess
      expect(answer.json.code).toBe(0);
      expect(endpoint.calls).toHaveLength(1);
    });
  });
});
