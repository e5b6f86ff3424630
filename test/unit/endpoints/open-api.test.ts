import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../../lambda/shared/signing.js';
import {
  type LocalOpenApi,
  type LocalShop,
  OPEN_API_CODE,
  startLocalOpenApi,
} from '../../local/endpoints/open-api.js';

const APP_KEY = 'open-api-app-key';
const APP_SECRET = 'OPEN_API_SECRET_c0ffee';
const TOKEN = 'TTS_AT_open_api_valid';
const EXPIRED = 'TTS_AT_open_api_expired';
const NOW_MS = 1_750_000_000_000;
const NOW_S = NOW_MS / 1000;

interface Request {
  method?: string;
  path: string;
  query?: Record<string, string>;
  body?: string | FormData;
  /** Signs with this secret instead of the app's. */
  secret?: string;
  token?: string | null;
  contentType?: string;
  timestamp?: number;
}

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: assertions read whatever the host sent
  json: any;
}

describe('LocalOpenApi', () => {
  let host: LocalOpenApi;
  let shop: LocalShop;

  beforeEach(async () => {
    host = await startLocalOpenApi({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      now: () => NOW_MS,
      accessTokens: (token) =>
        token === TOKEN ? 'valid' : token === EXPIRED ? 'expired' : 'unknown',
    });
    shop = host.addShop({ name: 'Acme UK', region: 'GB' });
  });

  afterEach(async () => {
    await host.close();
  });

  /** A request signed as TikTok's algorithm says, unless the test changes a part of it. */
  async function send(request: Request): Promise<Answer> {
    const method = request.method ?? 'GET';
    const query = {
      app_key: APP_KEY,
      timestamp: String(request.timestamp ?? NOW_S),
      ...request.query,
    };
    const contentType =
      request.contentType ?? (request.body instanceof FormData ? undefined : 'application/json');
    const sign = signRequest({
      appSecret: request.secret ?? APP_SECRET,
      path: request.path,
      query,
      ...(typeof request.body === 'string' ? { body: request.body } : {}),
      contentType: contentType ?? 'multipart/form-data',
    });
    const url = `${host.url}${request.path}?${new URLSearchParams({ ...query, sign })}`;
    const token = request.token === undefined ? TOKEN : request.token;
    const response = await fetch(url, {
      method,
      headers: {
        ...(contentType === undefined ? {} : { 'content-type': contentType }),
        ...(token === null ? {} : { 'x-tts-access-token': token }),
      },
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: 'manual',
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      json: text ? JSON.parse(text) : undefined,
    };
  }

  const shops = (extra: Partial<Request> = {}) =>
    send({ path: '/authorization/202309/shops', ...extra });
  const search = (extra: Partial<Request> = {}) =>
    send({
      method: 'POST',
      path: '/order/202309/orders/search',
      query: { shop_cipher: shop.cipher, page_size: '2' },
      body: '{"order_status":"AWAITING_SHIPMENT"}',
      ...extra,
    });

  describe('checks', () => {
    it('answers the shops the token covers to a signed request, with their ciphers', async () => {
      // Prepare
      const second = host.addShop({ name: 'Acme US', region: 'US', sellerType: 'CROSS_BORDER' });

      // Act
      const answer = await shops();

      // Assess
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        code: 0,
        message: 'Success',
        request_id: expect.any(String),
      });
      expect(answer.json.data.shops).toEqual([
        {
          id: shop.id,
          name: 'Acme UK',
          region: 'GB',
          seller_type: 'LOCAL',
          cipher: shop.cipher,
          code: shop.code,
        },
        {
          id: second.id,
          name: 'Acme US',
          region: 'US',
          seller_type: 'CROSS_BORDER',
          cipher: second.cipher,
          code: second.code,
        },
      ]);
    });

    it('refuses a signature made with another secret: HTTP 401, code 106001', async () => {
      const answer = await shops({ secret: 'not-the-app-secret' });

      expect(answer.status).toBe(401);
      expect(answer.json.code).toBe(OPEN_API_CODE.signatureInvalid);
    });

    it('refuses a body that differs from the one signed', async () => {
      const query = { shop_cipher: shop.cipher, page_size: '2' };
      const sign = signRequest({
        appSecret: APP_SECRET,
        path: '/order/202309/orders/search',
        query: { app_key: APP_KEY, timestamp: String(NOW_S), ...query },
        body: '{"order_status":"AWAITING_SHIPMENT"}',
      });
      const url = `${host.url}/order/202309/orders/search?${new URLSearchParams({ app_key: APP_KEY, timestamp: String(NOW_S), ...query, sign })}`;

      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tts-access-token': TOKEN },
        body: '{"order_status": "AWAITING_SHIPMENT"}',
      });

      expect(((await response.json()) as { code: number }).code).toBe(
        OPEN_API_CODE.signatureInvalid,
      );
    });

    it.each([
      ['5 minutes and 1 second late', NOW_S - 301, OPEN_API_CODE.invalidRequest],
      ['31 seconds early', NOW_S + 31, OPEN_API_CODE.invalidRequest],
      ['in milliseconds', NOW_MS, OPEN_API_CODE.invalidRequest],
      ['4 minutes late', NOW_S - 240, OPEN_API_CODE.success],
      ['25 seconds early', NOW_S + 25, OPEN_API_CODE.success],
    ])('judges a timestamp %s', async (_case, timestamp, code) => {
      const answer = await shops({ timestamp });

      expect(answer.json.code).toBe(code);
    });

    it('refuses a wrong app_key', async () => {
      const answer = await shops({ query: { app_key: 'someone-else' } });

      expect(answer.json).toMatchObject({
        code: OPEN_API_CODE.invalidRequest,
        message: 'Invalid app_key',
      });
    });

    it('refuses a missing or unknown token naming the access token, and an expired one with 105002', async () => {
      const missing = await shops({ token: null });
      const unknown = await shops({ token: 'TTS_AT_unknown' });
      const expired = await shops({ token: EXPIRED });

      expect(missing.json.code).toBe(OPEN_API_CODE.invalidRequest);
      expect(missing.json.message).toMatch(/access token/);
      expect(unknown.json.code).toBe(OPEN_API_CODE.invalidRequest);
      expect(expired.json.code).toBe(OPEN_API_CODE.accessTokenExpired);
    });

    it('refuses an access token or app secret in the query string, even signed', async () => {
      const token = await shops({ query: { access_token: TOKEN } });
      const secret = await shops({ query: { app_secret: APP_SECRET } });

      expect(token.json.code).toBe(OPEN_API_CODE.invalidRequest);
      expect(secret.json.code).toBe(OPEN_API_CODE.invalidRequest);
    });

    it('refuses a shop_cipher on a seller-level API', async () => {
      const answer = await shops({ query: { shop_cipher: shop.cipher } });

      expect(answer.json).toMatchObject({
        code: OPEN_API_CODE.invalidRequest,
        message: 'shop_cipher is not allowed for this API',
      });
    });

    it('requires a shop_cipher on a shop-scoped API, one of the token’s shops', async () => {
      const missing = await search({ query: { page_size: '2' } });
      const unknown = await search({ query: { page_size: '2', shop_cipher: 'ROW_unknown' } });

      expect(missing.json.code).toBe(OPEN_API_CODE.cipherMissing);
      expect(unknown.json.code).toBe(OPEN_API_CODE.cipherMismatch);
    });

    it('answers 101000 to a cipher that changed', async () => {
      const old = shop.cipher;

      const renewed = host.changeCipher(shop.id);
      const answer = await search({ query: { page_size: '2', shop_cipher: old } });
      const fresh = await search({ query: { page_size: '2', shop_cipher: renewed } });

      expect(answer.json.code).toBe(OPEN_API_CODE.cipherMismatch);
      expect(fresh.json.code).toBe(OPEN_API_CODE.success);
    });
  });

  describe('answers', () => {
    it("searches the shop's orders by status, a page at a time", async () => {
      const answer = await search();

      expect(answer.json.code).toBe(0);
      expect(answer.json.data).toMatchObject({ total_count: 3, next_page_token: '' });
      expect(answer.json.data.orders).toHaveLength(2);
      expect(answer.json.data.orders[0]).toMatchObject({ status: 'AWAITING_SHIPMENT' });
    });

    it('finds orders by a comma-joined list of ids', async () => {
      const [first, second] = (
        await search({ query: { shop_cipher: shop.cipher, page_size: '3' } })
      ).json.data.orders as { id: string }[];

      const answer = await send({
        path: '/order/202309/orders',
        query: { shop_cipher: shop.cipher, ids: `${first?.id},${second?.id}` },
      });

      expect(answer.json.data.orders.map((order: { id: string }) => order.id)).toEqual([
        first?.id,
        second?.id,
      ]);
    });

    it('takes a multipart upload without a cipher, its body unsigned', async () => {
      const form = new FormData();
      form.append('data', new Blob([new Uint8Array([137, 80, 78, 71])]), 'image.png');

      const answer = await send({
        method: 'POST',
        path: '/product/202309/images/upload',
        body: form,
      });

      expect(answer.json).toMatchObject({
        code: 0,
        data: { uri: expect.stringMatching(/^tos-local\//) },
      });
    });

    it('answers a plain 404 to a path it does not serve', async () => {
      const answer = await fetch(`${host.url}/order/202309/nothing`);

      expect(answer.status).toBe(404);
    });
  });

  describe('faults and records', () => {
    it('answers a queued code once, before any check, then serves again', async () => {
      host.failNext(1, { code: OPEN_API_CODE.rateLimited, httpStatus: 429, retryAfterSeconds: 2 });

      const limited = await shops({ secret: 'wrong' });
      const served = await shops();

      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('2');
      expect(limited.json).toMatchObject({
        code: 36009002,
        message: 'Too many requests, please try again later',
      });
      expect(served.json.code).toBe(0);
    });

    it('answers an HTML error page, a redirect and an oversized answer on request', async () => {
      host.failNext(1, { httpStatus: 503 });
      host.failNext(1, { redirectTo: 'https://elsewhere.example/' });
      host.failNext(1, { bodyBytes: 2048 });

      const page = await fetch(`${host.url}/authorization/202309/shops`);
      const redirect = await fetch(`${host.url}/authorization/202309/shops`, {
        redirect: 'manual',
      });
      const large = await fetch(`${host.url}/authorization/202309/shops`);

      expect([page.status, (await page.text()).startsWith('<html>')]).toEqual([503, true]);
      expect([redirect.status, redirect.headers.get('location')]).toEqual([
        302,
        'https://elsewhere.example/',
      ]);
      expect((await large.text()).length).toBeGreaterThan(2048);
    });

    it('runs a hook before the next request only', async () => {
      let runs = 0;
      host.beforeNextCall(() => {
        runs++;
      });

      await shops();
      await shops();

      expect(runs).toBe(1);
    });

    it('records names of query parameters, never their values, and keeps every signature as a secret', async () => {
      await search();

      const [call] = host.calls;
      expect(call).toMatchObject({
        method: 'POST',
        path: '/order/202309/orders/search',
        status: 200,
        code: 0,
        tokenHeader: true,
        contentType: 'application/json',
      });
      expect(call?.queryKeys.sort()).toEqual([
        'app_key',
        'page_size',
        'shop_cipher',
        'sign',
        'timestamp',
      ]);
      expect(JSON.stringify(host.calls)).not.toContain(shop.cipher);
      expect(host.issuedSecrets()).toEqual(expect.arrayContaining([APP_SECRET, shop.cipher]));
      expect(host.issuedSecrets()).toHaveLength(3);
    });
  });
});
