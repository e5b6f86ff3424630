import { inspect } from 'node:util';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AccessTokenRejectedError,
  IpNotAllowedError,
  RateLimitedError,
  ScopeNotGrantedError,
  ShopSelectionError,
  SignatureRejectedError,
  TikTokApiError,
} from '../../lambda/reader/errors.js';
import { type TikTokShopApiOptions, tiktokShopApi } from '../../lambda/reader/index.js';
import {
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
} from '../../lambda/shared/errors.js';
import {
  type LocalOpenApi,
  type LocalShop,
  OPEN_API_CODE,
  startLocalOpenApi,
} from '../local/endpoints/open-api.js';
import { echoedParts, echoForms } from '../support/echo-forms.js';
import { FakeClock } from '../support/fake-clock.js';

const TOKEN_ID = 'tiktok-shop/tokens/shop-a';
const CREDENTIALS_ID = 'tiktok-shop/app-credentials';
const US_CREDENTIALS_ID = 'tiktok-shop/apps/us/credentials';
const APP_KEY = 'client-app-key';
const APP_SECRET = 'CLIENT_APP_SECRET_7d1e9f';
const DAY = 24 * 3600;
const SEARCH = '/order/202309/orders/search';
const SHOPS = '/authorization/202309/shops';

const sm = mockClient(SecretsManagerClient);
/** Every token and app secret any test used: no error message may hold one. */
const secretsUsed = new Set<string>([APP_SECRET]);

let serial = 0;
function newToken(): string {
  serial++;
  const token = `TTS_AT_client_${serial}_4c2a9e`;
  secretsUsed.add(token);
  return token;
}

function tokenDocument(accessToken: string): string {
  const refreshToken = `TTS_RT_client_${serial}_b71d03`;
  secretsUsed.add(refreshToken);
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: accessToken,
      access_token_expire_in: now + 5 * DAY,
      refresh_token: refreshToken,
      refresh_token_expire_in: now + 365 * DAY,
    },
  });
}

/** The token secret answers these access tokens in turn, the last one from then on. */
function tokenSecretHolds(...accessTokens: string[]): void {
  const stub = sm.on(GetSecretValueCommand, { SecretId: TOKEN_ID });
  accessTokens.forEach((token, index) => {
    const answer = { Name: TOKEN_ID, SecretString: tokenDocument(token) };
    if (index === accessTokens.length - 1) stub.resolves(answer);
    else stub.resolvesOnce(answer);
  });
}

function credentialsHold(appSecret: string, secretId = CREDENTIALS_ID): void {
  sm.on(GetSecretValueCommand, { SecretId: secretId }).resolves({
    Name: secretId,
    SecretString: JSON.stringify({ app_key: APP_KEY, app_secret: appSecret }),
  });
}

/** What DescribeSecret answers for the token secret: its discovery tag, and the app tag if given. */
function tokenSecretTagged(app?: string, secretId = TOKEN_ID): void {
  sm.on(DescribeSecretCommand, { SecretId: secretId }).resolves({
    Name: secretId,
    Tags: [
      { Key: 'tiktok-shop-token', Value: secretId },
      ...(app === undefined ? [] : [{ Key: 'tiktok-shop-app', Value: app }]),
    ],
  });
}

function describes(): number {
  return sm.commandCalls(DescribeSecretCommand).length;
}

function reads(secretId: string): number {
  return sm
    .commandCalls(GetSecretValueCommand)
    .filter((call) => call.args[0].input.SecretId === secretId).length;
}

describe('Function: tiktokShopApi', () => {
  let host: LocalOpenApi;
  let shop: LocalShop;
  let valid: Set<string>;
  let expired: Set<string>;
  let provider: SecretsProvider;
  let token: string;

  /** Real time to start with, so that the local host's tokens are valid; sleeps cost nothing. */
  let clock: FakeClock;

  function client(options: TikTokShopApiOptions = {}) {
    return tiktokShopApi({
      tokenSecretId: TOKEN_ID,
      appCredentialsSecretId: CREDENTIALS_ID,
      baseUrl: host.url,
      provider,
      clock,
      ...options,
    });
  }

  const callsTo = (path: string) => host.calls.filter((call) => call.path === path);

  /** The error a call fails with, checked first for every secret any test used so far. */
  async function failure(promise: Promise<unknown>): Promise<Error> {
    try {
      await promise;
    } catch (error) {
      const message = (error as Error).message;
      for (const secret of [...secretsUsed, ...host.issuedSecrets()]) {
        expect(message.includes(secret), 'an error message holds a secret').toBe(false);
      }
      return error as Error;
    }
    throw new Error('expected a failure');
  }

  beforeEach(async () => {
    vi.stubEnv('AWS_REGION', 'us-east-1');
    sm.reset();
    // The token secret carries no deauthorized mark unless a test says so.
    sm.on(DescribeSecretCommand).resolves({});
    provider = new SecretsProvider({
      awsSdkV3Client: new SecretsManagerClient({ region: 'us-east-1' }),
    });
    valid = new Set();
    expired = new Set();
    clock = FakeClock.instant();
    host = await startLocalOpenApi({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      accessTokens: (accessToken) =>
        valid.has(accessToken) ? 'valid' : expired.has(accessToken) ? 'expired' : 'unknown',
    });
    shop = host.addShop({ name: 'Acme UK', region: 'GB' });
    token = newToken();
    valid.add(token);
    tokenSecretHolds(token);
    credentialsHold(APP_SECRET);
  });

  afterEach(async () => {
    await host.close();
  });

  describe('signed calls', () => {
    it("signs a shop-scoped POST, sends the token in its header, and answers TikTok's data", async () => {
      // Prepare
      const api = client();

      // Act
      const data = await api.post<{ orders: unknown[]; total_count: number }>(SEARCH, {
        query: { page_size: 2 },
        body: { order_status: 'AWAITING_SHIPMENT' },
      });

      // Assess
      expect(data.total_count).toBe(3);
      expect(data.orders).toEqual(host.ordersOf(shop).slice(0, 2));
      expect(host.calls.map((call) => [call.method, call.path, call.code])).toEqual([
        ['GET', SHOPS, 0],
        ['POST', SEARCH, 0],
      ]);
      for (const call of host.calls) {
        expect(call.tokenHeader).toBe(true);
        expect(call.contentType).toBe('application/json');
        expect(call.queryKeys).not.toContain('access_token');
        expect(call.queryKeys).not.toContain('app_secret');
      }
      expect(callsTo(SHOPS)[0]?.queryKeys).not.toContain('shop_cipher');
      expect(callsTo(SEARCH)[0]?.queryKeys).toContain('shop_cipher');
    });

    it('never puts the token or the app secret into a URL', async () => {
      // Prepare
      const urls: string[] = [];
      const api = client({
        fetch: (url, init) => {
          urls.push(String(url));
          return fetch(url, init);
        },
      });

      // Act
      await api.post(SEARCH, {
        query: { page_size: 1 },
        body: { order_status: 'AWAITING_SHIPMENT' },
      });

      // Assess
      expect(urls).toHaveLength(2);
      for (const url of urls) {
        expect(url.startsWith(`${host.url}/`)).toBe(true);
        expect(url).not.toContain(token);
        expect(url).not.toContain(APP_SECRET);
        expect(new URL(url).searchParams.get('sign')).toMatch(/^[0-9a-f]{64}$/);
      }
    });

    it('costs one round trip, the call itself, once the token, credentials and cipher are cached', async () => {
      // Prepare
      const api = client();
      await api.post(SEARCH, { query: { page_size: 1 } });
      const secretReads = sm.commandCalls(GetSecretValueCommand).length;
      const apiCalls = host.calls.length;

      // Act
      await api.post(SEARCH, { query: { page_size: 1 } });
      await client().post(SEARCH, { query: { page_size: 1 } });

      // Assess: a second client in the same execution environment shares the cipher
      expect(sm.commandCalls(GetSecretValueCommand).length - secretReads).toBe(0);
      expect(host.calls.length - apiCalls).toBe(2);
    });

    it('shares one shop lookup between concurrent calls', async () => {
      const api = client();

      await Promise.all([1, 2, 3].map((n) => api.post(SEARCH, { query: { page_size: n } })));

      expect(callsTo(SHOPS)).toHaveLength(1);
      expect(callsTo(SEARCH)).toHaveLength(3);
    });

    it('leaves the cipher off /authorization/* and uploads, whose multipart body is not signed', async () => {
      const api = client();
      const form = new FormData();
      form.append('data', new Blob([new Uint8Array([137, 80, 78, 71])]), 'image.png');

      const shops = await api.get<{ shops: { id: string }[] }>(SHOPS);
      const upload = await api.post<{ uri: string }>('/product/202309/images/upload', {
        body: form,
      });

      expect(shops.shops.map((entry) => entry.id)).toEqual([shop.id]);
      expect(upload.uri).toMatch(/^tos-local\//);
      expect(host.calls.map((call) => call.queryKeys.includes('shop_cipher'))).toEqual([
        false,
        false,
      ]);
      expect(host.calls[1]?.contentType).toMatch(/^multipart\/form-data; boundary=/);
    });

    it('comma-joins a list and leaves out empty parameters', async () => {
      const api = client();
      const [first, second] = host.ordersOf(shop);

      const data = await api.get<{ orders: { id: string }[] }>('/order/202309/orders', {
        query: {
          ids: [first?.id ?? '', second?.id ?? ''],
          page_token: undefined,
          sort: '',
          none: null,
        },
      });

      expect(data.orders.map((order) => order.id)).toEqual([first?.id, second?.id]);
      expect(callsTo('/order/202309/orders')[0]?.queryKeys.sort()).toEqual([
        'app_key',
        'ids',
        'shop_cipher',
        'sign',
        'timestamp',
      ]);
    });

    it.each([
      ['sign', { sign: 'x' }],
      ['access_token', { access_token: 'x' }],
      ['shop_cipher', { shop_cipher: 'x' }],
      ['app_key', { app_key: 'x' }],
    ])('refuses a %s parameter: the client sets it', async (name, query) => {
      const error = await failure(client().get(SEARCH, { query }));

      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toContain(name);
      expect(host.calls).toHaveLength(0);
    });

    it.each([
      ['a query string', '/authorization/202309/shops?app_key=x'],
      ['a full URL', 'https://open-api.tiktokglobalshop.com/authorization/202309/shops'],
      ['a dot segment', '/authorization/../shops'],
    ])('refuses a path with %s', async (_case, path) => {
      const error = await failure(client().get(path));

      expect(error).toBeInstanceOf(UsageError);
      expect(host.calls).toHaveLength(0);
    });

    it('quotes no query string of a path it refuses: it may hold a token', async () => {
      const pasted = 'TTS_AT_pasted_in_a_path_9c1e';
      secretsUsed.add(pasted);

      const error = await failure(
        client().get(`/order/202309/orders?access_token=${pasted}&sign=abc`),
      );

      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toContain('"/order/202309/orders"');
      expect(host.calls).toHaveLength(0);
    });

    it('refuses a body on GET and a body that is not JSON', async () => {
      const onGet = await failure(client().request('GET', SEARCH, { body: {} }));
      const unserializable = await failure(client().post(SEARCH, { body: () => 1 }));

      expect(onGet).toBeInstanceOf(UsageError);
      expect(unserializable).toBeInstanceOf(UsageError);
    });
  });

  describe('token refusals', () => {
    it('reads a refused token again, bypassing the cache, and retries once with the new one', async () => {
      // Prepare: the refresher stored a new token after the client read the old one
      const newer = newToken();
      tokenSecretHolds(token, newer);
      valid = new Set([newer]);
      expired.add(token);

      // Act
      const data = await client().get<{ shops: unknown[] }>(SHOPS);

      // Assess
      expect(data.shops).toHaveLength(1);
      expect(host.calls.map((call) => call.code)).toEqual([OPEN_API_CODE.accessTokenExpired, 0]);
      expect(reads(TOKEN_ID)).toBe(2);
    });

    it('treats a 36009004 that names the access token as a refusal of the token', async () => {
      const newer = newToken();
      tokenSecretHolds(token, newer);
      valid.add(newer);
      host.failNext(1, {
        code: OPEN_API_CODE.invalidRequest,
        message: 'Invalid credentials: the access token is invalid',
      });

      const data = await client().get<{ shops: unknown[] }>(SHOPS);

      expect(data.shops).toHaveLength(1);
      expect(reads(TOKEN_ID)).toBe(2);
    });

    it('says so, without a second call, when the secret holds no newer token', async () => {
      valid.clear();
      expired.add(token);

      const error = await failure(client().get(SHOPS));

      expect(error).toBeInstanceOf(AccessTokenRejectedError);
      expect(error.message).toBe(
        `TikTok refused the access token of secret ${TOKEN_ID} and the secret holds no newer one: the refresher renews it (check its alarms), or the seller must authorize again`,
      );
      expect(host.calls).toHaveLength(1);
      expect(reads(TOKEN_ID)).toBe(2);
    });

    it('retries only once when the newer token is refused too', async () => {
      const newer = newToken();
      tokenSecretHolds(token, newer);
      valid.clear();
      expired.add(token).add(newer);

      const error = await failure(client().get(SHOPS));

      expect(error).toBeInstanceOf(AccessTokenRejectedError);
      expect(error.message).toMatch(/TikTok code 105002/);
      expect(host.calls).toHaveLength(2);
    });
  });

  describe('retries', () => {
    it('rides out rate limits with jittered backoff', async () => {
      host.failNext(1, { code: OPEN_API_CODE.rateLimited, httpStatus: 429 });
      host.failNext(1, { code: OPEN_API_CODE.developmentShopQuota });

      const data = await client().get<{ shops: unknown[] }>(SHOPS);

      expect(data.shops).toHaveLength(1);
      expect(host.calls).toHaveLength(3);
      expect(clock.slept).toHaveLength(2);
      for (const ms of clock.slept) expect(ms).toBeLessThanOrEqual(4000);
      expect(reads(TOKEN_ID)).toBe(1);
    });

    it('gives up after the bounded attempts with RateLimitedError', async () => {
      host.failAlways({ httpStatus: 429 });

      const error = await failure(client({ maxAttempts: 4 }).get(SHOPS));

      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error).toBeInstanceOf(TransientError);
      expect(host.calls).toHaveLength(4);
      expect(clock.slept).toHaveLength(3);
    });

    it("waits at least as long as TikTok's Retry-After says", async () => {
      host.failNext(1, { code: OPEN_API_CODE.rateLimited, httpStatus: 429, retryAfterSeconds: 2 });

      await client().get(SHOPS);

      expect(clock.slept[0]).toBeGreaterThanOrEqual(2000);
    });

    it.each([
      ['HTTP 503', { httpStatus: 503 as const }],
      ['code 36009003', { code: OPEN_API_CODE.internalError }],
      ['code 36009007', { code: OPEN_API_CODE.timeout }],
      ['a dropped connection', { dropConnection: true as const }],
    ])('retries %s', async (_case, fault) => {
      host.failNext(1, fault);

      const data = await client().get<{ shops: unknown[] }>(SHOPS);

      expect(data.shops).toHaveLength(1);
      expect(host.calls).toHaveLength(2);
    });

    it.each([
      ['HTTP 503', { httpStatus: 503 as const }],
      ['code 36009003', { code: OPEN_API_CODE.internalError }],
      ['a dropped connection', { dropConnection: true as const }],
    ])('sends a POST once on %s: TikTok may already have acted on it', async (_case, fault) => {
      // Prepare: the shop's cipher is known, so the next call goes straight to the API
      const api = client();
      await api.post(SEARCH, { query: { page_size: 1 } });
      host.failNext(1, fault);

      // Act
      const error = await failure(api.post(SEARCH, { query: { page_size: 1 } }));

      // Assess
      expect(error).toBeInstanceOf(TransientError);
      expect(callsTo(SEARCH)).toHaveLength(2);
      expect(clock.slept).toEqual([]);
    });

    it('rides out a rate limit on a POST: TikTok did nothing with it', async () => {
      const api = client();
      await api.post(SEARCH, { query: { page_size: 1 } });
      host.failNext(1, { code: OPEN_API_CODE.rateLimited, httpStatus: 429 });

      await api.post(SEARCH, { query: { page_size: 1 } });

      expect(callsTo(SEARCH)).toHaveLength(3);
    });

    it('retries a POST the caller declares idempotent', async () => {
      const api = client();
      await api.post(SEARCH, { query: { page_size: 1 } });
      host.failNext(1, { httpStatus: 503 });

      await api.post(SEARCH, { query: { page_size: 1 }, idempotent: true });

      expect(callsTo(SEARCH)).toHaveLength(3);
    });

    it('gives up on a call that does not answer within its timeout', async () => {
      host.failAlways({ delayMs: 500 });

      const error = await failure(client({ timeoutMs: 50, maxAttempts: 2 }).get(SHOPS));

      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toBe(`TikTok did not answer GET ${SHOPS} within 50 ms`);
      expect(host.calls).toHaveLength(2);
    });

    it('starts no attempt after the deadline', async () => {
      const error = await failure(client().get(SHOPS, { deadline: clock.now() - 1 }));

      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(host.calls).toHaveLength(0);
    });
  });

  describe('refusals that fail at once', () => {
    it.each([
      [
        OPEN_API_CODE.signatureInvalid,
        401,
        SignatureRejectedError,
        /signing bug, or secret tiktok-shop\/app-credentials holds another app's secret/,
      ],
      [OPEN_API_CODE.ipNotAllowed, 403, IpNotAllowedError, /fixed egress IP/],
      [
        OPEN_API_CODE.scopeNotGranted,
        200,
        ScopeNotGrantedError,
        /add it in Partner Center, then the seller authorizes again/,
      ],
      [
        OPEN_API_CODE.deauthorized,
        200,
        ReauthorizationRequiredError,
        /^seller must authorize again/,
      ],
    ])(
      'fails at once on code %i, typed, saying what to do',
      async (code, httpStatus, ErrorClass, advice) => {
        host.failNext(1, { code, httpStatus });

        const error = await failure(client().get(SHOPS));

        expect(error).toBeInstanceOf(ErrorClass);
        expect(error).toMatchObject({ tiktokCode: code });
        expect(error.message).toMatch(advice);
        expect(host.calls).toHaveLength(1);
        expect(reads(TOKEN_ID)).toBe(1);
        expect(clock.slept).toEqual([]);
      },
    );

    it('never retries a signature TikTok refuses, nor re-reads the token for it', async () => {
      // Prepare: the credentials secret holds another app's secret
      sm.reset();
      // The token secret carries no deauthorized mark unless a test says so.
      sm.on(DescribeSecretCommand).resolves({});
      tokenSecretHolds(token);
      credentialsHold('ANOTHER_APPS_SECRET_0000');
      secretsUsed.add('ANOTHER_APPS_SECRET_0000');

      // Act
      const error = await failure(client().get(SHOPS));

      // Assess
      expect(error).toBeInstanceOf(SignatureRejectedError);
      expect(error).toMatchObject({
        tiktokCode: 106001,
        httpStatus: 401,
        requestId: expect.any(String),
      });
      expect(host.calls).toHaveLength(1);
      expect(reads(TOKEN_ID)).toBe(1);
    });

    it('answers an unknown code as TikTokApiError with the code, message and request id', async () => {
      host.failNext(2, { code: 21001001, message: 'Order is not exist' });

      const error = await failure(client().post(SEARCH, { query: { page_size: 1 } }));

      expect(error).toBeInstanceOf(TikTokApiError);
      expect(error).toMatchObject({ tiktokCode: 21001001, httpStatus: 200 });
      expect(error.message).toMatch(
        /^TikTok refused GET \/authorization\/202309\/shops \(TikTok code 21001001: Order is not exist, request_id \w+\)/,
      );
      expect(host.calls).toHaveLength(1);
    });

    it("bounds TikTok's request_id and strips the signature from it", async () => {
      // Prepare: a host that echoes the signed query in its request_id
      let sent = '';
      const api = client({
        fetch: async (url) => {
          sent = new URL(String(url)).search;
          const echo = `${sent}${'x'.repeat(5_000)}`;
          const body = { code: 21001001, message: 'Order is not exist', request_id: echo };
          return new Response(JSON.stringify(body), { status: 200 });
        },
      });

      // Act
      const error = await failure(api.get(SHOPS));

      // Assess
      const sign = new URLSearchParams(sent).get('sign') ?? '';
      expect(sign).toMatch(/^[0-9a-f]{64}$/);
      expect(error).toBeInstanceOf(TikTokApiError);
      expect(error.message).not.toContain(sign);
      expect(error.message.length).toBeLessThan(600);
      expect((error as TikTokApiError).requestId?.length).toBeLessThanOrEqual(129);
      expect((error as TikTokApiError).requestId).not.toContain(sign);
    });

    describe('partial and reshaped echoes', () => {
      /** A host that quotes `echo` in its refusal's message and in its request_id. */
      function echoing(echo: string) {
        return client({
          fetch: async () => {
            const body = { code: 21001001, message: `no order for ${echo}`, request_id: echo };
            return new Response(JSON.stringify(body), { status: 200 });
          },
        });
      }

      it('leaves no 8 characters of the access token in the shops a refused selection lists', async () => {
        for (const [form, echo] of echoForms(token)) {
          // Prepare: two shops, no selection, their names quoting the token
          const api = client({
            fetch: async () => {
              const shops = [1, 2].map((n) => ({
                id: `74940${n}`,
                name: `Acme ${echo}`,
                region: 'GB',
                cipher: `GCP_${n}`,
              }));
              return new Response(JSON.stringify({ code: 0, data: { shops } }), { status: 200 });
            },
          });
          api.forgetShops();

          // Act
          const error = await failure(api.get(SEARCH));

          // Assess
          expect(error, form).toBeInstanceOf(ShopSelectionError);
          expect(error.message, form).toContain('which shop? the token in secret');
          expect(echoedParts(error.message, echo), form).toEqual([]);
        }
      });

      it.each(['access token', 'app secret'] as const)(
        'leaves no 8 characters of the %s, however TikTok quotes it, in the error',
        async (which) => {
          for (const [form, echo] of echoForms(which === 'app secret' ? APP_SECRET : token)) {
            // Act
            const error = await failure(echoing(echo).get(SHOPS));

            // Assess
            expect(error, form).toBeInstanceOf(TikTokApiError);
            expect(echoedParts(error.message, echo), form).toEqual([]);
            expect(echoedParts((error as TikTokApiError).requestId ?? '', echo), form).toEqual([]);
          }
        },
      );
    });

    it('fails at once on a 36009004 that does not name the access token', async () => {
      host.failNext(1, { code: OPEN_API_CODE.invalidRequest, message: 'Invalid app_key' });

      const error = await failure(client().get(SHOPS));

      expect(error).toBeInstanceOf(TikTokApiError);
      expect(error.message).toMatch(/an unexpected shop_cipher/);
      expect(reads(TOKEN_ID)).toBe(1);
    });

    it('does not follow a redirect', async () => {
      host.failNext(1, { redirectTo: `${host.url}/elsewhere` });

      const error = await failure(client().get(SHOPS));

      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe(
        `TikTok answered GET ${SHOPS} with a redirect (HTTP 302), which is not followed: check TIKTOK_API_BASE_URL`,
      );
      expect(host.calls).toHaveLength(1);
    });

    it('reads no more of an answer than its cap', async () => {
      host.failNext(1, { bodyBytes: 4096 });

      const error = await failure(client({ maxResponseBytes: 1024 }).get(SHOPS));

      expect(error).toBeInstanceOf(OversizedAnswerError);
      expect(error.message).toBe(
        `TikTok's answer to GET ${SHOPS} is larger than 1024 bytes; not read`,
      );
    });

    it('takes code 0 under an HTTP error status for no success', async () => {
      host.failNext(1, { code: 0, httpStatus: 404 });

      const error = await failure(client().get(SHOPS));

      expect(error).toBeInstanceOf(TikTokApiError);
      expect(error).toMatchObject({ tiktokCode: 0, httpStatus: 404 });
      expect(host.calls).toHaveLength(1);
    });
  });

  describe('shop ciphers', () => {
    it('looks the cipher up again when TikTok says it does not match (101000)', async () => {
      const api = client();
      await api.post(SEARCH, { query: { page_size: 1 } });
      host.changeCipher(shop.id);

      await api.post(SEARCH, { query: { page_size: 1 } });

      expect(host.calls.map((call) => [call.path, call.code])).toEqual([
        [SHOPS, 0],
        [SEARCH, 0],
        [SEARCH, OPEN_API_CODE.cipherMismatch],
        [SHOPS, 0],
        [SEARCH, 0],
      ]);
    });

    it('looks the cipher up again when TikTok says it is missing (106013)', async () => {
      const api = client();
      await api.post(SEARCH, { query: { page_size: 1 } });
      host.failNext(1, { code: OPEN_API_CODE.cipherMissing });

      await api.post(SEARCH, { query: { page_size: 1 } });

      expect(host.calls.slice(2).map((call) => [call.path, call.code])).toEqual([
        [SEARCH, OPEN_API_CODE.cipherMissing],
        [SHOPS, 0],
        [SEARCH, 0],
      ]);
    });

    it('says what to do when shopScoped is set against what the API wants', async () => {
      const api = client();

      const unscoped = await failure(
        api.post(SEARCH, { query: { page_size: 1 }, shopScoped: false }),
      );
      const scoped = await failure(api.get(SHOPS, { shopScoped: true }));

      expect(unscoped).toMatchObject({ tiktokCode: OPEN_API_CODE.cipherMissing });
      expect(unscoped.message).toMatch(/this API needs a shop: call it with shopScoped: true$/);
      expect(scoped).toMatchObject({ tiktokCode: OPEN_API_CODE.invalidRequest });
      expect(scoped.message).toMatch(/a seller-level API called with shopScoped: true\?/);
    });

    it('refuses a shop list it cannot read', async () => {
      host.failNext(1, { code: 0 });

      const error = await failure(client().post(SEARCH, { query: { page_size: 1 } }));

      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe(
        `TikTok answered GET ${SHOPS} without a usable shop list (data: missing)`,
      );
    });

    it('picks a shop by id, name or region among several, case ignored', async () => {
      // Prepare
      const us = host.addShop({ name: 'Acme US', region: 'US', sellerType: 'CROSS_BORDER' });
      const search = (selector: TikTokShopApiOptions['shop']) =>
        client({ shop: selector }).post<{ orders: unknown[] }>(SEARCH, { query: { page_size: 3 } });

      // Act
      const byRegion = await search({ region: 'us' });
      const byName = await search({ name: 'acme uk' });
      const byId = await search({ id: us.id });

      // Assess
      expect(byRegion.orders).toEqual(host.ordersOf(us));
      expect(byName.orders).toEqual(host.ordersOf(shop));
      expect(byId.orders).toEqual(host.ordersOf(us));
    });

    it("lets one call choose another of the token's shops", async () => {
      const us = host.addShop({ name: 'Acme US', region: 'US' });
      const api = client({ shop: { region: 'GB' } });

      const data = await api.post<{ orders: unknown[] }>(SEARCH, {
        query: { page_size: 3 },
        shop: { region: 'US' },
      });

      expect(data.orders).toEqual(host.ordersOf(us));
    });

    it('says which shops the token covers when the choice is ambiguous or matches none', async () => {
      const us = host.addShop({ name: 'Acme US', region: 'US', sellerType: 'CROSS_BORDER' });

      const ambiguous = await failure(client().post(SEARCH, { query: { page_size: 1 } }));
      const none = await failure(
        client({ shop: { region: 'DE' } }).post(SEARCH, { query: { page_size: 1 } }),
      );

      const listed = `the token in secret ${TOKEN_ID} covers 2 shops: ${shop.id} "Acme UK" (GB, LOCAL), ${us.id} "Acme US" (US, CROSS_BORDER); choose one with the shop option (id, name or region)`;
      expect(ambiguous).toBeInstanceOf(ShopSelectionError);
      expect(ambiguous.message).toBe(`which shop? ${listed}`);
      expect(none.message).toBe(`no shop region DE: ${listed}`);
      expect(callsTo(SEARCH)).toHaveLength(0);
    });
  });

  describe('a shop TikTok said was deauthorized', () => {
    it('fails with ShopDeauthorizedError naming the shop, without calling TikTok', async () => {
      // Prepare
      sm.on(DescribeSecretCommand, { SecretId: TOKEN_ID }).resolves({
        Name: TOKEN_ID,
        Tags: [{ Key: 'tiktok-shop-deauthorized', Value: '1767225600:n-6' }],
      });

      // Act
      const error = await failure(client().get(SHOPS));

      // Assess
      expect(error).toBeInstanceOf(ShopDeauthorizedError);
      expect(error).toMatchObject({ shop: TOKEN_ID, deauthorizedAt: '2026-01-01T00:00:00.000Z' });
      expect(host.calls).toHaveLength(0);
    });
  });

  describe('the app of the shop', () => {
    /** A client given only the token secret, as a reader of a shop of any app is. */
    const byTokenOnly = (options: TikTokShopApiOptions = {}) =>
      client({ appCredentialsSecretId: '', ...options });

    beforeEach(() => {
      vi.stubEnv('APP_CREDENTIALS_SECRET_ID', '');
      // The default app's credentials would sign wrongly: only the right app's work.
      sm.reset();
      // The token secret carries no deauthorized mark unless a test says so.
      sm.on(DescribeSecretCommand).resolves({});
      tokenSecretHolds(token);
      credentialsHold('DEFAULT_APPS_SECRET_3e5a');
      secretsUsed.add('DEFAULT_APPS_SECRET_3e5a');
    });

    it("signs with the credentials of the app the token secret's tag names", async () => {
      // Prepare
      tokenSecretTagged('us');
      credentialsHold(APP_SECRET, US_CREDENTIALS_ID);

      // Act
      const data = await byTokenOnly().get<{ shops: unknown[] }>(SHOPS);

      // Assess
      expect(data.shops).toHaveLength(1);
      expect(sm.commandCalls(DescribeSecretCommand)[0]?.args[0].input).toEqual({
        SecretId: TOKEN_ID,
      });
      expect(reads(US_CREDENTIALS_ID)).toBe(1);
      expect(reads(CREDENTIALS_ID)).toBe(0);
    });

    it("reads the default app's credentials beside a token secret without an app tag", async () => {
      // Prepare
      tokenSecretTagged();
      credentialsHold(APP_SECRET);

      // Act
      await byTokenOnly().get(SHOPS);

      // Assess
      expect(reads(CREDENTIALS_ID)).toBe(1);
      expect(host.calls.map((call) => call.code)).toEqual([0]);
    });

    it('describes the token secret once per execution environment, for concurrent calls and later clients', async () => {
      // Prepare
      tokenSecretTagged('us');
      credentialsHold(APP_SECRET, US_CREDENTIALS_ID);
      const api = byTokenOnly();

      // Act
      await Promise.all([1, 2, 3].map((n) => api.post(SEARCH, { query: { page_size: n } })));
      await byTokenOnly().post(SEARCH, { query: { page_size: 1 } });

      // Assess
      expect(describes()).toBe(1);
      expect(callsTo(SEARCH)).toHaveLength(4);
    });

    it('looks the app up again after forgetShops, as after a new authorization', async () => {
      // Prepare
      tokenSecretTagged('us');
      credentialsHold(APP_SECRET, US_CREDENTIALS_ID);
      const api = byTokenOnly();
      await api.get(SHOPS);

      // Act
      api.forgetShops();
      await api.get(SHOPS);

      // Assess
      expect(describes()).toBe(2);
    });

    it('uses an app-credentials secret it is given, describing the token secret only for a deauthorization', async () => {
      // Prepare
      tokenSecretTagged('us');
      credentialsHold(APP_SECRET);

      // Act
      await client().get(SHOPS);

      // Assess
      expect(describes()).toBe(1);
      expect(reads(US_CREDENTIALS_ID)).toBe(0);
    });

    it("finds the app's credentials beside a token secret given by ARN, in its account and region", async () => {
      // Prepare
      const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${TOKEN_ID}-AbC123`;
      const credentialsArn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${US_CREDENTIALS_ID}`;
      sm.on(GetSecretValueCommand, { SecretId: arn }).resolves({
        Name: TOKEN_ID,
        SecretString: tokenDocument(token),
      });
      tokenSecretTagged('us', arn);
      credentialsHold(APP_SECRET, credentialsArn);

      // Act
      await byTokenOnly({ tokenSecretId: arn }).get(SHOPS);

      // Assess
      expect(reads(credentialsArn)).toBe(1);
    });

    it("names the app, how it was found and the secret read when the app's credentials are missing", async () => {
      // Prepare
      tokenSecretTagged('gb');
      sm.on(GetSecretValueCommand, { SecretId: 'tiktok-shop/apps/gb/credentials' }).rejects(
        new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret.",
          $metadata: {},
        }),
      );

      // Act
      const error = await failure(byTokenOnly().get(SHOPS));

      // Assess
      expect(error).toBeInstanceOf(SecretStoreError);
      expect(error.message).toBe(
        `no credentials of app "gb" for secret ${TOKEN_ID} (named by its tiktok-shop-app tag): could not read secret tiktok-shop/apps/gb/credentials: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
      );
      expect((error as SecretStoreError).awsName).toBe('ResourceNotFoundException');
      expect(host.calls).toHaveLength(0);
    });

    it('says the token secret could not be described, and tries again on the next call', async () => {
      // Prepare
      const denied = Object.assign(new Error('User is not authorized to DescribeSecret'), {
        name: 'AccessDeniedException',
      });
      sm.on(DescribeSecretCommand, { SecretId: TOKEN_ID }).rejects(denied);
      const api = byTokenOnly({ maxAttempts: 1 });

      // Act
      const first = await failure(api.get(SHOPS));
      await failure(api.get(SHOPS));

      // Assess
      expect(first).toBeInstanceOf(SecretStoreError);
      expect(first.message).toBe(
        `could not describe secret ${TOKEN_ID} to find its app by its tiktok-shop-app tag: AccessDeniedException: User is not authorized to DescribeSecret`,
      );
      expect(describes()).toBe(2);
      expect(host.calls).toHaveLength(0);
    });

    it('refuses an app tag that is no app name, naming the secret', async () => {
      // Prepare
      tokenSecretTagged('US/*');

      // Act
      const error = await failure(byTokenOnly().get(SHOPS));

      // Assess
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toBe(
        `secret ${TOKEN_ID} carries the tag tiktok-shop-app="US/*", which is not an app name (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)`,
      );
    });

    it('names the secret it found when TikTok refuses the signature', async () => {
      // Prepare: the US app's secret holds the default app's secret by mistake
      tokenSecretTagged('us');
      credentialsHold('DEFAULT_APPS_SECRET_3e5a', US_CREDENTIALS_ID);

      // Act
      const error = await failure(byTokenOnly().get(SHOPS));

      // Assess
      expect(error).toBeInstanceOf(SignatureRejectedError);
      expect(error.message).toContain(`secret ${US_CREDENTIALS_ID} holds another app's secret`);
    });
  });

  describe('app credentials a person edited', () => {
    it('refuses a key and secret of blanks only as malformed, naming the secret, without calling TikTok', async () => {
      // Prepare
      sm.reset();
      sm.on(DescribeSecretCommand).resolves({});
      tokenSecretHolds(token);
      sm.on(GetSecretValueCommand, { SecretId: CREDENTIALS_ID }).resolves({
        Name: CREDENTIALS_ID,
        SecretString: JSON.stringify({ app_key: '  ', app_secret: ' \n ' }),
      });

      // Act
      const error = await failure(client().get(SHOPS));

      // Assess
      expect(error).toBeInstanceOf(MalformedSecretError);
      expect(error.message).toBe(
        `secret ${CREDENTIALS_ID} does not hold the app credentials {"app_key","app_secret"} (app_key: must not be blank; app_secret: must not be blank)`,
      );
      expect(host.calls).toHaveLength(0);
    });
  });

  describe('a token secret a person edited', () => {
    it('refuses an access token an HTTP header cannot carry, without sending or quoting it', async () => {
      // Prepare: a line break pasted into the token
      sm.reset();
      // The token secret carries no deauthorized mark unless a test says so.
      sm.on(DescribeSecretCommand).resolves({});
      const broken = `TTS_AT_broken\nline_${serial}_5d6e`;
      secretsUsed.add(broken);
      tokenSecretHolds(broken);
      credentialsHold(APP_SECRET);

      // Act
      const error = await failure(client().get(SHOPS));

      // Assess: no attempt, no retry, and not even the error's cause holds the token
      expect(error).toBeInstanceOf(MalformedSecretError);
      expect(error.message).toContain(TOKEN_ID);
      expect(error.message).toContain('data.access_token');
      expect(inspect(error, { depth: 5 })).not.toContain('line_');
      expect(host.calls).toHaveLength(0);
      expect(clock.slept).toEqual([]);
    });

    it('sends a token with a line end after it, as fetch would, trimmed', async () => {
      sm.reset();
      // The token secret carries no deauthorized mark unless a test says so.
      sm.on(DescribeSecretCommand).resolves({});
      tokenSecretHolds(`${token}\n`);
      credentialsHold(APP_SECRET);

      const shops = await client().get<{ shops: unknown[] }>(SHOPS);

      expect(shops.shops).toHaveLength(1);
      expect(host.calls.map((call) => call.code)).toEqual([0]);
    });
  });

  describe('configuration', () => {
    it('takes the secrets and the base URL from the environment', async () => {
      vi.stubEnv('SHOP_TOKEN_SECRET_ID', TOKEN_ID);
      vi.stubEnv('APP_CREDENTIALS_SECRET_ID', CREDENTIALS_ID);
      vi.stubEnv('TIKTOK_API_BASE_URL', host.url);

      const data = await tiktokShopApi({ provider, clock }).get<{ shops: unknown[] }>(SHOPS);

      expect(data.shops).toHaveLength(1);
    });

    it('names every missing or wrong setting at once', () => {
      vi.stubEnv('SHOP_TOKEN_SECRET_ID', '');
      vi.stubEnv('APP_CREDENTIALS_SECRET_ID', '');

      const build = () => tiktokShopApi({ baseUrl: 'http://open-api.tiktokglobalshop.com' });

      expect(build).toThrow(ConfigurationError);
      expect(build).toThrow(
        'TikTok Shop API client: tokenSecretId (or SHOP_TOKEN_SECRET_ID) is required; the API base URL must use https (http is accepted only for a loopback host)',
      );
    });

    it.each<[string, Partial<TikTokShopApiOptions>, string]>([
      [
        'maxAttempts NaN',
        { maxAttempts: Number.NaN },
        'maxAttempts must be a whole number from 1 to 20',
      ],
      ['maxAttempts 0', { maxAttempts: 0 }, 'maxAttempts must be a whole number from 1 to 20'],
      ['maxAttempts -1', { maxAttempts: -1 }, 'maxAttempts must be a whole number from 1 to 20'],
      ['maxAttempts 1.5', { maxAttempts: 1.5 }, 'maxAttempts must be a whole number from 1 to 20'],
      [
        'timeoutMs NaN',
        { timeoutMs: Number.NaN },
        'timeoutMs must be a whole number from 1 to 900000',
      ],
      ['timeoutMs 0', { timeoutMs: 0 }, 'timeoutMs must be a whole number from 1 to 900000'],
      ['timeoutMs -5', { timeoutMs: -5 }, 'timeoutMs must be a whole number from 1 to 900000'],
      [
        'maxResponseBytes -1',
        { maxResponseBytes: -1 },
        'maxResponseBytes must be a whole number from 1 to 1073741824',
      ],
      [
        'maxResponseBytes NaN',
        { maxResponseBytes: Number.NaN },
        'maxResponseBytes must be a whole number from 1 to 1073741824',
      ],
      ['maxAge -1', { maxAge: -1 }, 'maxAge must be a whole number from 0 to 86400'],
      [
        'several at once',
        { maxAttempts: 0, timeoutMs: Number.POSITIVE_INFINITY },
        'timeoutMs must be a whole number from 1 to 900000; maxAttempts must be a whole number from 1 to 20',
      ],
    ])('refuses %s when the client is made, naming the option', (_case, options, problem) => {
      const build = () => client(options);

      expect(build).toThrow(ConfigurationError);
      expect(build).toThrow(`TikTok Shop API client: ${problem}`);
    });

    it('accepts whole numbers within the bounds', () => {
      expect(() =>
        client({ maxAttempts: 1, timeoutMs: 1, maxResponseBytes: 1, maxAge: 0 }),
      ).not.toThrow();
    });

    it('requires the app-credentials secret for a token secret not named <prefix>tokens/<shop>', () => {
      vi.stubEnv('APP_CREDENTIALS_SECRET_ID', '');

      const build = () => client({ tokenSecretId: 'legacy/shop-a', appCredentialsSecretId: '' });

      expect(build).toThrow(
        "TikTok Shop API client: appCredentialsSecretId (or APP_CREDENTIALS_SECRET_ID) is required: the token secret legacy/shop-a is not named <prefix>tokens/<shop>, so its app's credentials cannot be found beside it",
      );
      expect(describes()).toBe(0);
    });

    it('refuses a base URL with a path', () => {
      expect(() => client({ baseUrl: 'https://open-api.tiktokglobalshop.com/api' })).toThrow(
        'the API base URL must be the host only, without a path',
      );
    });
  });
});
