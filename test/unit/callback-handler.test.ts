import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CONSENT_STATE_TTL_SECONDS,
  type LinkPurpose,
  signConsentState,
} from '../../lambda/onboarding/consent-state.js';
import {
  APPS_ENV,
  DEFAULT_APP_TAG_KEY,
  DETAIL_TYPE,
  EVENT_SOURCE,
  METRIC,
  SELLER_TAG_KEY,
} from '../../lambda/shared/contract.js';
import { shopIdTagKey } from '../../lambda/shared/shop-state.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import { type LocalOpenApi, startLocalOpenApi } from '../local/endpoints/open-api.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import {
  GET_TOKEN_PATH,
  type LocalTikTok,
  shopIdOf,
  startLocalTikTok,
  startLocalTikTokApps,
} from '../local/endpoints/tiktok.js';
import { leaksIn } from '../support/leak-check.js';

/**
 * The consent callback's handler against local Secrets Manager, EventBridge and TikTok
 * endpoints that speak the real wire protocols: what is stored, published and shown.
 */

const APP_KEY = 'callback-app-key';
const APP_SECRET = 'APPSECRET_callback_1b2c3d4e5f6a7b8c';
const STATE_KEY = 'STATEKEY_callback_fedcba9876543210fedcba98';
const CREDENTIALS_ID = 'tiktok-shop/app-credentials';
const US_APP_KEY = 'callback-us-app-key';
const US_APP_SECRET = 'APPSECRET_callback_us_9a8b7c6d5e4f';
const US_CREDENTIALS_ID = 'tiktok-shop/apps/us/credentials';
const STATE_KEY_ID = 'tiktok-shop/callback-state-key';
const SHORT_KEY_ID = 'tiktok-shop/short-state-key';
const BUS = 'tiktok-shop-bus';
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const WRITES = ['CreateSecret', 'PutSecretValue', 'UpdateSecretVersionStage', 'TagResource'];

let secretsManager: LocalSecretsManager;
let eventBridge: LocalEventBridge;
/** The default (global) app's TikTok, and the US app's, behind one auth host as TikTok's. */
let tiktok: LocalTikTok;
let usTikTok: LocalTikTok;
let authHost: { url: string; close(): Promise<void> };
/** The default app's Open API, of its local TikTok's sellers: their shop ids. */
let openApi: LocalOpenApi;
/** Pages and log lines of the current test, checked for secrets after it. */
const emitted: string[] = [];
let testStart = 0;
let serial = 0;
/** A shop name of this test's own: secrets persist across tests. */
let shop: string;

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const secretOf = (name: string) => `tiktok-shop/tokens/${name}`;

/** A seller's open_id of this test's own: a seller is connected under one shop only. */
const sid = (name: string) => `${name}_${shop}`;

/** A seller approving the app (of `host`, the default app's unless given): its one-time code. */
function approval(seller: string, sellerName = `Seller ${seller}`, host = tiktok): string {
  serial++;
  const authCode = `AUTHCODE_callback_${serial}_3e4f5a`;
  host.addSeller({ authCode, openId: sid(seller), sellerName });
  return authCode;
}

function state(
  options: { shop?: string; purpose?: LinkPurpose; now?: number; key?: string; app?: string } = {},
): string {
  return signConsentState(
    {
      shop: options.shop ?? shop,
      purpose: options.purpose ?? 'connect',
      ...(options.app === undefined ? {} : { app: options.app }),
    },
    options.key ?? STATE_KEY,
    { now: options.now ?? Date.now() },
  );
}

async function invoke(
  query: Record<string, string> | undefined,
  method = 'GET',
  remainingMs = 60_000,
): Promise<Answer> {
  const { handler } = await import('../../lambda/onboarding/callback-handler.js');
  const event = {
    version: '2.0',
    rawPath: '/',
    rawQueryString: new URLSearchParams(query).toString(),
    requestContext: { http: { method, path: '/' } },
    ...(query === undefined ? {} : { queryStringParameters: query }),
  } as unknown as LambdaFunctionURLEvent;
  const context = {
    functionName: 'consent-callback',
    awsRequestId: 'request-1',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
  const answer = (await handler(event, context)) as Answer;
  emitted.push(answer.body);
  return answer;
}

/** Connects the shop with a first seller, as a link for a new shop would. */
async function connected(openId: string): Promise<void> {
  const answer = await invoke({ code: approval(openId), state: state() });
  expect(answer.statusCode).toBe(200);
  secretsManager.reset();
  eventBridge.reset();
  tiktok.reset();
  testStart = emitted.length;
}

function jsonLines(): Record<string, unknown>[] {
  return emitted.slice(testStart).flatMap((chunk) =>
    chunk
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}

const logLine = (message: string) => jsonLines().find((line) => line.message === message);

/** Metric values in the EMF lines printed since the test began. */
function metricValues(name: string): unknown[] {
  return jsonLines()
    .filter((line) => line._aws !== undefined && name in line)
    .map((line) => line[name]);
}

function tokenGets(host = tiktok): number {
  return host.calls.filter((call) => call.path === GET_TOKEN_PATH).length;
}

function writesTo(name: string): string[] {
  return secretsManager.calls
    .filter((call) => call.secretId === name && WRITES.includes(call.operation))
    .map((call) => call.operation);
}

function stored(name: string): { open_id: string; refresh_token: string } {
  return (JSON.parse(secretsManager.current(name) ?? '{}') as { data: never }).data;
}

function events() {
  return eventBridge.events.map((event) => ({
    bus: event.EventBusName,
    source: event.Source,
    detailType: event.DetailType,
    detail: event.Detail as Record<string, unknown>,
  }));
}

describe('Function: consent callback handler', () => {
  beforeAll(async () => {
    [secretsManager, eventBridge, tiktok, usTikTok] = await Promise.all([
      startLocalSecretsManager(),
      startLocalEventBridge(),
      startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET }),
      startLocalTikTok({ appKey: US_APP_KEY, appSecret: US_APP_SECRET }),
    ]);
    authHost = await startLocalTikTokApps([tiktok, usTikTok]);
    openApi = await startLocalOpenApi({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      accessTokens: (accessToken) => tiktok.accessTokenStatus(accessToken),
      shopIdsOf: (accessToken) => tiktok.shopIdsOfAccessToken(accessToken),
    });
    secretsManager.seed(
      CREDENTIALS_ID,
      JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    );
    secretsManager.seed(
      US_CREDENTIALS_ID,
      JSON.stringify({ app_key: US_APP_KEY, app_secret: US_APP_SECRET }),
    );
    secretsManager.seed(STATE_KEY_ID, STATE_KEY);
    secretsManager.seed(SHORT_KEY_ID, 'short');
  });

  afterAll(async () => {
    await authHost.close();
    await Promise.all([
      secretsManager.close(),
      eventBridge.close(),
      tiktok.close(),
      usTikTok.close(),
      openApi.close(),
    ]);
  });

  beforeEach(() => {
    serial++;
    shop = `acme-${serial}`;
    emitted.length = 0;
    testStart = 0;
    vi.resetModules();
    secretsManager.reset();
    eventBridge.reset();
    tiktok.reset();
    usTikTok.reset();
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', eventBridge.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'callback-test');
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'TikTokShopTokens');
    vi.stubEnv('APP_CREDENTIALS_SECRET_ID', CREDENTIALS_ID);
    vi.stubEnv('CALLBACK_STATE_SECRET_ID', STATE_KEY_ID);
    vi.stubEnv('TOKEN_SECRET_PREFIX', '');
    vi.stubEnv('TOKEN_SECRET_TAG_KEY', '');
    vi.stubEnv('TOKEN_SECRET_KMS_KEY_ID', '');
    vi.stubEnv('EVENT_BUS_NAME', BUS);
    vi.stubEnv('TIKTOK_AUTH_BASE_URL', authHost.url);
    vi.stubEnv('TIKTOK_API_BASE_URL', openApi.url);
    openApi.clearFaults();
    const capture = (chunk: unknown) => {
      emitted.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  });

  afterEach(() => {
    // Assess: nothing the test's callbacks showed, logged or published gives a secret away
    const output = [...emitted, JSON.stringify(eventBridge.events)].join('\n');
    const secrets = [...tiktok.issuedSecrets(), ...usTikTok.issuedSecrets(), STATE_KEY];
    expect(leaksIn(output, secrets)).toEqual([]);
  });

  describe('a link for a new shop', () => {
    it('creates the shop’s secret, tagged with the shop and the seller, and says so', async () => {
      // Act
      const answer = await invoke({ code: approval('open_acme', 'Acme UK Ltd'), state: state() });

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain(
        `Shop ${shop} is connected. Its token will be refreshed automatically.`,
      );
      const token = stored(secretOf(shop));
      expect(token.open_id).toBe(sid('open_acme'));
      expect(tiktok.isRefreshTokenValid(token.refresh_token)).toBe(true);
      // The link's claim, made before the exchange, stays beside the token
      expect(secretsManager.versions(secretOf(shop)).map((v) => v.stages)).toEqual([
        ['AWSPREVIOUS'],
        ['AWSPENDING', 'AWSCURRENT'],
      ]);
      expect(logLine('shop connected')).toMatchObject({
        level: 'INFO',
        shop,
        secretName: secretOf(shop),
        connection: 'new',
        created: true,
        openId: sid('open_acme'),
      });
    });

    it('publishes Shop Connected to the refresher’s bus and counts it, without a token', async () => {
      const answer = await invoke({ code: approval('open_acme', 'Acme UK Ltd'), state: state() });

      expect(answer.statusCode).toBe(200);
      expect(events()).toEqual([
        {
          bus: BUS,
          source: EVENT_SOURCE,
          detailType: DETAIL_TYPE.shopConnected,
          detail: {
            shop: secretOf(shop),
            shopName: shop,
            app: 'default',
            connection: 'new',
            openId: sid('open_acme'),
            sellerName: 'Acme UK Ltd',
            versionId: expect.any(String),
            accessTokenExpiresAt: expect.stringMatching(/Z$/),
            refreshTokenExpiresAt: expect.stringMatching(/Z$/),
            tiktokShopIds: [shopIdOf(sid('open_acme'))],
            via: 'consent-callback',
          },
        },
      ]);
      expect(JSON.stringify(events())).not.toContain('TTS_');
      expect(metricValues(METRIC.shopsConnected)).toEqual([1]);
    });

    it('connects the shop all the same when its TikTok shop ids cannot be learned, and counts it', async () => {
      // Prepare
      openApi.failAlways({ httpStatus: 503 });

      // Act
      const answer = await invoke({ code: approval('open_acme'), state: state() });

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(stored(secretOf(shop)).open_id).toBe(sid('open_acme'));
      expect(metricValues(METRIC.shopIdsNotLearned)).toEqual([1]);
      expect(emitted.join('\n')).toContain('the TikTok shop ids of the token were not learned');
    });

    it('takes the code from auth_code when TikTok names it so', async () => {
      const answer = await invoke({ auth_code: approval('open_acme'), state: state() });

      expect(answer.statusCode).toBe(200);
      expect(stored(secretOf(shop)).open_id).toBe(sid('open_acme'));
    });

    it('answers a page that loads nothing and is not cached', async () => {
      const answer = await invoke({ code: approval('open_acme'), state: state() });

      expect(answer.headers).toMatchObject({
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'",
        'referrer-policy': 'no-referrer',
      });
      expect(answer.body).not.toMatch(/<script|<img|<link|https?:/);
    });

    it('creates the secret under TOKEN_SECRET_KMS_KEY_ID, TOKEN_SECRET_PREFIX and TOKEN_SECRET_TAG_KEY', async () => {
      vi.stubEnv('TOKEN_SECRET_PREFIX', 'eu/');
      vi.stubEnv('TOKEN_SECRET_TAG_KEY', 'team-token');
      vi.stubEnv('TOKEN_SECRET_KMS_KEY_ID', KEY_ARN);

      const answer = await invoke({ code: approval('open_eu'), state: state() });

      expect(answer.statusCode).toBe(200);
      expect(secretsManager.calls.map((call) => call.operation)).toContain('CreateSecret');
      const { DescribeSecretCommand, SecretsManagerClient } = await import(
        '@aws-sdk/client-secrets-manager'
      );
      const client = new SecretsManagerClient({ endpoint: secretsManager.url });
      const described = await client.send(
        new DescribeSecretCommand({ SecretId: `eu/tokens/${shop}` }),
      );
      client.destroy();
      expect(described.KmsKeyId).toBe(KEY_ARN);
      expect(described.Tags).toEqual([
        { Key: 'team-token', Value: shop },
        { Key: SELLER_TAG_KEY, Value: sid('open_eu') },
        { Key: shopIdTagKey(shopIdOf(sid('open_eu'))), Value: '1' },
      ]);
    });

    it('refuses it, without calling TikTok, when the shop already holds a token', async () => {
      await connected('open_acme');

      const answer = await invoke({ code: approval('open_acme'), state: state() });

      expect(answer.statusCode).toBe(409);
      expect(answer.body).toContain(`Shop ${shop} is already connected`);
      expect(tokenGets()).toBe(0);
      expect(writesTo(secretOf(shop))).toEqual([]);
      expect(events()).toMatchObject([
        {
          detailType: DETAIL_TYPE.shopConnectionRefused,
          detail: { reason: 'shop-already-connected' },
        },
      ]);
    });
  });

  describe('a reconnect link', () => {
    it('stores the same seller’s new token as the current version, the old one as AWSPREVIOUS', async () => {
      // Prepare
      await connected('open_acme');
      const before = secretsManager.current(secretOf(shop));

      // Act
      const answer = await invoke({
        code: approval('open_acme'),
        state: state({ purpose: 'reconnect' }),
      });

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain(`Shop ${shop} is connected again.`);
      const byStage = new Map(
        secretsManager
          .versions(secretOf(shop))
          .flatMap((v) => v.stages.map((stage) => [stage, v.secretString])),
      );
      expect(byStage.get('AWSPREVIOUS')).toBe(before);
      expect(byStage.get('AWSCURRENT')).not.toBe(before);
      expect(events()).toMatchObject([
        { detailType: DETAIL_TYPE.shopConnected, detail: { connection: 'reconnected' } },
      ]);
    });

    it('refuses a token of another seller: the stored token stays, the operator is told', async () => {
      // Prepare: acme's shop is connected; someone approves acme's link with their own account
      await connected('open_acme');
      const before = secretsManager.versions(secretOf(shop));

      // Act
      const answer = await invoke({
        code: approval('open_attacker', 'Attacker Ltd'),
        state: state({ purpose: 'reconnect' }),
      });

      // Assess: the page says so, without naming the stored seller
      expect(answer.statusCode).toBe(403);
      expect(answer.body).toContain(
        `Shop ${shop} is connected to another TikTok Shop seller account than the one that approved the app. Nothing was changed.`,
      );
      expect(answer.body).not.toContain(sid('open_acme'));
      // Assess: only the link's claim written beside it, the stored token is acme's and still works
      expect(writesTo(secretOf(shop))).toEqual(['PutSecretValue']);
      expect(secretsManager.current(secretOf(shop))).toBe(before.at(-1)?.secretString);
      expect(stored(secretOf(shop)).open_id).toBe(sid('open_acme'));
      expect(tiktok.isRefreshTokenValid(stored(secretOf(shop)).refresh_token)).toBe(true);
      // Assess: event, metric and log for the operator
      expect(events()).toEqual([
        {
          bus: BUS,
          source: EVENT_SOURCE,
          detailType: DETAIL_TYPE.shopConnectionRefused,
          detail: expect.objectContaining({
            shop: secretOf(shop),
            shopName: shop,
            reason: 'seller-mismatch',
            openId: sid('open_attacker'),
            sellerName: 'Attacker Ltd',
            storedOpenId: sid('open_acme'),
            codeUsed: true,
            via: 'consent-callback',
          }),
        },
      ]);
      expect(metricValues(METRIC.shopConnectionsRefused)).toEqual([1]);
      expect(logLine('shop connection refused')).toMatchObject({
        level: 'WARN',
        reason: 'seller-mismatch',
      });
    });
  });

  describe('a link used more than once', () => {
    it('refuses the same link a second time without calling TikTok', async () => {
      // Prepare
      const link = state();
      const first = await invoke({ code: approval('open_acme'), state: link });
      const before = secretsManager.versions(secretOf(shop));
      tiktok.reset();

      // Act: the same link, with another seller's approval
      const again = await invoke({ code: approval('open_attacker'), state: link });

      // Assess
      expect(first.statusCode).toBe(200);
      expect(again.statusCode).toBe(409);
      expect(again.body).toContain('This link has already been used');
      expect(tokenGets()).toBe(0);
      expect(secretsManager.versions(secretOf(shop))).toEqual(before);
      expect(events().at(-1)).toMatchObject({
        detailType: DETAIL_TYPE.shopConnectionRefused,
        detail: { reason: 'link-already-used', codeUsed: false },
      });
    });

    it('tells the seller a link whose exchange TikTok refused did not connect the shop, when it is approved again', async () => {
      // Prepare: the link's first approval, whose code TikTok refused (nothing issued)
      const link = state();
      const code = approval('open_acme');
      tiktok.failNext(1, { code: 36004004, message: `auth_code ${code} is invalid` });
      expect((await invoke({ code, state: link })).statusCode).toBe(400);
      tiktok.reset();

      // Act: the same link approved again
      const again = await invoke({ code: approval('open_acme'), state: link });

      // Assess
      expect(again.statusCode).toBe(409);
      expect(again.body).toContain('that connection did not finish');
      expect(again.body).toContain('ask us for a new link');
      expect(again.body).not.toContain('nothing more to do');
      expect(tokenGets()).toBe(0);
      expect(secretsManager.current(secretOf(shop))).toContain('tiktok_shop_no_token');
      expect(events().at(-1)).toMatchObject({
        detailType: DETAIL_TYPE.shopConnectionRefused,
        detail: { reason: 'link-not-finished', codeUsed: false },
      });
      expect(logLine('shop connection refused')).toMatchObject({
        reason: 'link-not-finished',
        errorMessage: expect.stringContaining('no token was stored by it or since'),
      });
    });

    it('calls an old reconnect link used again, after a newer one, used and not finished', async () => {
      // Prepare: two reconnect links, each approved once with a code TikTok refused
      await connected('open_acme');
      const [older, newer] = [state({ purpose: 'reconnect' }), state({ purpose: 'reconnect' })];
      for (const link of [older, newer]) {
        tiktok.failNext(1, { code: 36004004, message: 'auth_code is invalid' });
        expect((await invoke({ code: approval('open_acme'), state: link })).statusCode).toBe(400);
      }
      tiktok.reset();

      // Act: the older link again, its claim's label taken by the newer one's
      const again = await invoke({ code: approval('open_acme'), state: older });

      // Assess
      expect(again.statusCode).toBe(409);
      expect(again.body).toContain('that connection did not finish');
      expect(tokenGets()).toBe(0);
      expect(events().at(-1)).toMatchObject({
        detail: { reason: 'link-not-finished', message: expect.stringContaining('already used') },
      });
      expect(events().at(-1)?.detail.message).not.toMatch(/at the same time|just before/);
    });

    it('tells the seller a link whose token was stored, used again, that the shop is connected', async () => {
      // Prepare
      const link = state({ purpose: 'reconnect' });
      await connected('open_acme');
      expect((await invoke({ code: approval('open_acme'), state: link })).statusCode).toBe(200);

      // Act
      const again = await invoke({ code: approval('open_acme'), state: link });

      // Assess
      expect(again.statusCode).toBe(409);
      expect(again.body).toContain('nothing more to do');
      expect(events().at(-1)).toMatchObject({
        detail: {
          reason: 'link-already-used',
          message: expect.stringContaining('holds a token stored by it or since'),
        },
      });
    });

    it('lets one of two concurrent uses of one link exchange its code, and refuses the other before its exchange', async () => {
      // Prepare: two approvals of the same link, from two sellers, at the same time
      const link = state();
      const codes = [approval('open_one'), approval('open_two')];
      tiktok.latencyMs = 100;

      // Act
      const answers = await Promise.all(codes.map((code) => invoke({ code, state: link })));
      tiktok.latencyMs = 0;

      // Assess
      expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
      const winner = sid(answers[0]?.statusCode === 200 ? 'open_one' : 'open_two');
      expect(stored(secretOf(shop)).open_id).toBe(winner);
      // The link is claimed before the exchange: only the winner's code was exchanged.
      expect(tokenGets()).toBe(1);
      expect(
        events().map((event) => [event.detailType, event.detail.reason, event.detail.codeUsed]),
      ).toEqual(
        expect.arrayContaining([
          [DETAIL_TYPE.shopConnected, undefined, undefined],
          [DETAIL_TYPE.shopConnectionRefused, 'link-already-used', false],
        ]),
      );
    });
  });

  it('stores the token of a seller connected as another shop there, and refuses the new shop name', async () => {
    // Prepare: the seller's shop is connected as `shop`
    await connected('open_acme');
    const secondName = `${shop}-second`;

    // Act
    const answer = await invoke({
      code: approval('open_acme'),
      state: state({ shop: secondName }),
    });

    // Assess: the page names the seller's own shop, which holds the new token
    expect(answer.statusCode).toBe(409);
    expect(answer.body).toContain(`already connected here as shop ${shop}`);
    expect(answer.body).toContain(`shop ${secondName} was not connected`);
    expect(answer.body).not.toContain(secretOf(shop));
    expect(tiktok.isRefreshTokenValid(stored(secretOf(shop)).refresh_token)).toBe(true);
    expect(secretsManager.current(secretOf(secondName))).toContain('tiktok_shop_no_token');
    expect(events()).toMatchObject([
      {
        detailType: DETAIL_TYPE.shopConnected,
        detail: { shop: secretOf(shop), connection: 'reconnected' },
      },
      {
        detailType: DETAIL_TYPE.shopConnectionRefused,
        detail: {
          shop: secretOf(secondName),
          reason: 'seller-connected-elsewhere',
          otherShops: [secretOf(shop)],
          tokenStoredIn: secretOf(shop),
        },
      },
    ]);
    expect(logLine('shop connection refused')).toMatchObject({
      tokenStoredIn: secretOf(shop),
    });
  });

  describe('with a US app beside the default one', () => {
    const tagsOf = async (name: string) => {
      const { DescribeSecretCommand, SecretsManagerClient } = await import(
        '@aws-sdk/client-secrets-manager'
      );
      const client = new SecretsManagerClient({ endpoint: secretsManager.url });
      const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
      client.destroy();
      return described.Tags;
    };
    const usShop = () => `${shop}-us`;

    beforeEach(() => {
      vi.stubEnv(APPS_ENV.appCredentialsSecretIds, JSON.stringify({ us: US_CREDENTIALS_ID }));
    });

    it('connects a GB shop and a US shop side by side, each with its own app’s code and credentials', async () => {
      // Prepare: a GB seller approves the global app, a US seller the US app
      const gbCode = approval('open_gb', 'Acme UK Ltd');
      const usCode = approval('open_us', 'Acme US Inc', usTikTok);

      // Act
      const [gb, us] = await Promise.all([
        invoke({ code: gbCode, state: state() }),
        invoke({ code: usCode, state: state({ shop: usShop(), app: 'us' }) }),
      ]);

      // Assess: each code exchanged once, at its own app (a host refuses another app's key)
      expect([gb.statusCode, us.statusCode]).toEqual([200, 200]);
      expect([tokenGets(tiktok), tokenGets(usTikTok)]).toEqual([1, 1]);
      expect(tiktok.isRefreshTokenValid(stored(secretOf(shop)).refresh_token)).toBe(true);
      expect(usTikTok.isRefreshTokenValid(stored(secretOf(usShop())).refresh_token)).toBe(true);
      // Assess: the US shop is bound to its app by tag; the GB shop stays untagged (default)
      expect(await tagsOf(secretOf(usShop()))).toContainEqual({
        Key: DEFAULT_APP_TAG_KEY,
        Value: 'us',
      });
      expect((await tagsOf(secretOf(shop)))?.map((tag) => tag.Key)).not.toContain(
        DEFAULT_APP_TAG_KEY,
      );
      // Assess: both announced with their app
      expect(
        events()
          .map((event) => [event.detailType, event.detail.shopName, event.detail.app])
          .sort(),
      ).toEqual(
        [
          [DETAIL_TYPE.shopConnected, shop, 'default'],
          [DETAIL_TYPE.shopConnected, usShop(), 'us'],
        ].sort(),
      );
    });

    it('reconnects a US shop through a US link, keeping its app', async () => {
      // Prepare
      await invoke({
        code: approval('open_us', 'Acme US Inc', usTikTok),
        state: state({ shop: usShop(), app: 'us' }),
      });

      // Act
      const answer = await invoke({
        code: approval('open_us', 'Acme US Inc', usTikTok),
        state: state({ shop: usShop(), app: 'us', purpose: 'reconnect' }),
      });

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain('is connected again');
      expect(tokenGets(usTikTok)).toBe(2);
      expect(await tagsOf(secretOf(usShop()))).toContainEqual({
        Key: DEFAULT_APP_TAG_KEY,
        Value: 'us',
      });
    });

    it('refuses a link for an app it does not know, calling neither Secrets Manager nor TikTok', async () => {
      // Act
      const answer = await invoke({ code: approval('open_eu'), state: state({ app: 'eu' }) });

      // Assess
      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain('This link was made for a TikTok app that is not set up here');
      expect([tokenGets(tiktok), tokenGets(usTikTok)]).toEqual([0, 0]);
      expect(
        secretsManager.calls
          .filter((call) => call.secretId !== STATE_KEY_ID)
          .map((c) => c.operation),
      ).toEqual([]);
      expect(events()).toEqual([
        {
          bus: BUS,
          source: EVENT_SOURCE,
          detailType: DETAIL_TYPE.shopConnectionRefused,
          detail: {
            shop: secretOf(shop),
            shopName: shop,
            reason: 'app-unknown',
            app: 'eu',
            codeUsed: false,
            message: expect.stringContaining('(its apps: default, us)'),
            via: 'consent-callback',
          },
        },
      ]);
      expect(metricValues(METRIC.shopConnectionsRefused)).toEqual([1]);
      expect(logLine('shop connection refused')).toMatchObject({
        reason: 'app-unknown',
        app: 'eu',
      });
    });

    it('refuses a US link for a shop of the default app before exchanging its code', async () => {
      // Prepare: the shop is connected through the global app
      await connected('open_acme');
      const before = secretsManager.versions(secretOf(shop));

      // Act: a US reconnect link for it, approved by a US seller
      const answer = await invoke({
        code: approval('open_us', 'Acme US Inc', usTikTok),
        state: state({ app: 'us', purpose: 'reconnect' }),
      });

      // Assess
      expect(answer.statusCode).toBe(409);
      expect(answer.body).toContain(
        `Shop ${shop} is connected through another of our TikTok apps than the one this link is for.`,
      );
      expect([tokenGets(tiktok), tokenGets(usTikTok)]).toEqual([0, 0]);
      expect(secretsManager.calls.map((call) => call.secretId)).not.toContain(US_CREDENTIALS_ID);
      expect(secretsManager.versions(secretOf(shop))).toEqual(before);
      expect(events()).toMatchObject([
        {
          detailType: DETAIL_TYPE.shopConnectionRefused,
          detail: { reason: 'app-mismatch', app: 'us', storedApp: 'default', codeUsed: false },
        },
      ]);
    });
  });

  describe('a seller who declined', () => {
    it.each([
      ['TikTok’s error', { error: 'access_denied' }, '(TikTok reported: access_denied)'],
      ['an error that is not a plain word', { error: '<b>x</b>' }, 'You did not approve the app'],
      ['no reason', {}, 'You did not approve the app'],
    ])('is told so (%s), and nothing is called', async (_, extra, expected) => {
      const answer = await invoke({ state: state(), ...extra });

      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain(`You did not approve the app for shop ${shop}`);
      expect(answer.body).toContain(expected);
      expect(answer.body).toContain('open the same link again');
      expect(answer.body).not.toContain('<b>');
      expect(tokenGets()).toBe(0);
      expect(writesTo(secretOf(shop))).toEqual([]);
      expect(logLine('consent declined')).toMatchObject({ level: 'WARN', shop });
    });
  });

  describe('a redirect it did not issue', () => {
    it.each([
      [
        'a state whose shop was swapped for another',
        () => {
          const [, ...rest] = state().split('.');
          return [Buffer.from('rival-shop').toString('base64url'), ...rest].join('.');
        },
        'was not issued by us',
      ],
      ['a state signed with another key', () => state({ key: 'x'.repeat(40) }), 'was not issued'],
      [
        'an expired state',
        () => state({ now: Date.now() - (CONSENT_STATE_TTL_SECONDS + 1) * 1000 }),
        'has expired',
      ],
      ['a malformed state', () => 'not-a-state', 'was not issued by us'],
    ])('answers 400 for %s and calls neither TikTok nor a write', async (_, makeState, why) => {
      const answer = await invoke({ code: approval('open_acme'), state: makeState() });

      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain(why);
      expect(answer.body).toContain('Nothing was changed.');
      expect(tokenGets()).toBe(0);
      expect(secretsManager.calls.filter((call) => WRITES.includes(call.operation))).toEqual([]);
      expect(secretsManager.calls.filter((call) => call.secretId === CREDENTIALS_ID)).toEqual([]);
      expect(logLine('consent callback refused')).toMatchObject({ level: 'WARN' });
    });

    it.each([
      ['no query string', undefined, 'missing its authorization code and state'],
      ['no state', { code: 'AUTHCODE_nostate' }, 'missing its state'],
    ])('answers 400 for %s', async (_, query, expected) => {
      const answer = await invoke(query);

      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain(expected);
      expect(tokenGets()).toBe(0);
    });

    it('answers 400 for a code TikTok would never issue, without calling it', async () => {
      const answer = await invoke({ code: 'x'.repeat(600), state: state() });

      expect(answer.statusCode).toBe(400);
      expect(tokenGets()).toBe(0);
    });

    it('answers 405 to anything but GET', async () => {
      const answer = await invoke({ code: approval('open_acme'), state: state() }, 'POST');

      expect(answer.statusCode).toBe(405);
      expect(answer.headers.allow).toBe('GET');
      expect(tokenGets()).toBe(0);
    });
  });

  describe('when TikTok refuses', () => {
    it('answers 400 with TikTok’s code and message for an invalid or used code, storing nothing', async () => {
      const code = approval('open_acme');
      tiktok.failNext(1, { code: 36004004, message: `auth_code ${code} is invalid` });

      const answer = await invoke({ code, state: state() });

      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain('TikTok code 36004004: auth_code [redacted] is invalid');
      expect(answer.body).toContain('Nothing was stored.');
      expect(answer.body).not.toContain(code);
      // Only the link's claim, which created the secret without a token
      expect(writesTo(secretOf(shop))).toEqual(['CreateSecret']);
      expect(logLine('TikTok refused the authorization code')).toMatchObject({
        level: 'WARN',
        shop,
        tiktokCode: 36004004,
      });
    });

    it('answers 502 for a code TikTok does not document, storing nothing', async () => {
      tiktok.failNext(1, { code: 12345678, message: 'something <b>new</b>' });

      const answer = await invoke({ code: approval('open_acme'), state: state() });

      expect(answer.statusCode).toBe(502);
      expect(answer.body).toContain('code 12345678: something &lt;b&gt;new&lt;/b&gt;');
      expect(writesTo(secretOf(shop))).toEqual(['CreateSecret']);
    });
  });

  describe('when something on our side fails', () => {
    it('answers a generic 500 and logs TokenNotStored when the token cannot be stored', async () => {
      secretsManager.failNext('PutSecretValue', 1, {
        type: 'AccessDeniedException',
        status: 400,
        message: 'User arn:aws:iam::123456789012:role/x is not authorized',
      });

      const answer = await invoke({ code: approval('open_acme'), state: state() });

      expect(answer.statusCode).toBe(500);
      expect(answer.body).toContain('Something went wrong on our side');
      expect(answer.body).not.toContain('123456789012');
      expect(logLine('shop not connected')).toMatchObject({
        level: 'ERROR',
        shop,
        errorType: 'TokenNotStoredError',
        errorMessage: expect.stringContaining('AccessDeniedException'),
      });
    });

    it('stops waiting for TikTok in time to store a token before the function times out', async () => {
      // Prepare: TikTok asks for 30 s of patience (10 s once capped); the invocation has 28 s
      // left, 8 s of them before the time kept for storing the token
      tiktok.failNext(1, { httpStatus: 429, retryAfterSeconds: 30 });
      const started = Date.now();

      // Act
      const answer = await invoke({ code: approval('open_acme'), state: state() }, 'GET', 28_000);

      // Assess: no wait that would leave the writes no time; the seller is told, nothing stored
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(tokenGets()).toBe(1);
      expect(answer.statusCode).toBe(502);
      expect(answer.body).toContain('TikTok did not accept the authorization');
      expect(writesTo(secretOf(shop))).toEqual(['CreateSecret']);
    });

    it('answers a generic 500 before calling TikTok when the shop’s secret cannot be looked at', async () => {
      secretsManager.failNext('DescribeSecret', 1, {
        type: 'AccessDeniedException',
        status: 400,
      });

      const answer = await invoke({ code: approval('open_acme'), state: state() });

      expect(answer.statusCode).toBe(500);
      expect(tokenGets()).toBe(0);
      expect(logLine('shop not connected')?.errorType).toBe('SecretStoreError');
    });

    it('keeps the connection when its event cannot be published, and logs that', async () => {
      eventBridge.failNext(2);

      const answer = await invoke({ code: approval('open_acme'), state: state() });

      expect(answer.statusCode).toBe(200);
      expect(logLine('event not published')).toMatchObject({
        level: 'ERROR',
        detailType: DETAIL_TYPE.shopConnected,
      });
      expect(metricValues(METRIC.eventPublishFailures)).toEqual([1]);
    });

    it('answers 500 and names every missing setting in the log', async () => {
      vi.stubEnv('APP_CREDENTIALS_SECRET_ID', '');
      vi.stubEnv('CALLBACK_STATE_SECRET_ID', '');
      vi.stubEnv('TIKTOK_AUTH_BASE_URL', 'http://auth.example.com');

      const answer = await invoke({ code: approval('open_acme'), state: state() });

      expect(answer.statusCode).toBe(500);
      const failed = logLine('consent callback failed');
      expect(failed?.errorType).toBe('ConfigurationError');
      expect(JSON.stringify(failed)).toContain('APP_CREDENTIALS_SECRET_ID is required');
      expect(JSON.stringify(failed)).toContain('CALLBACK_STATE_SECRET_ID is required');
      expect(JSON.stringify(failed)).toContain('TIKTOK_AUTH_BASE_URL must use https');
      expect(tokenGets()).toBe(0);
    });

    it('answers 500 without calling TikTok when the signing key is too short', async () => {
      vi.stubEnv('CALLBACK_STATE_SECRET_ID', SHORT_KEY_ID);

      const answer = await invoke({ code: approval('open_acme'), state: state() });

      expect(answer.statusCode).toBe(500);
      expect(logLine('consent callback failed')?.errorType).toBe('MalformedSecretError');
      expect(tokenGets()).toBe(0);
    });
  });
});
