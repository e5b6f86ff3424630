import { clearCaches } from '@aws-lambda-powertools/parameters';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReaderResult } from '../../lambda/reader/example-handler.js';
import { getShopToken, withShopToken } from '../../lambda/reader/index.js';
import type { RunSummary } from '../../lambda/refresher/refresh.js';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../lambda/shared/contract.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import { type LocalOpenApi, startLocalOpenApi } from '../local/endpoints/open-api.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import { type LocalTikTok, startLocalTikTok } from '../local/endpoints/tiktok.js';
import { leaksIn } from '../support/leak-check.js';
import { seedShop } from '../support/seed-shop.js';

/**
 * Readers against the local Secrets Manager, EventBridge and TikTok endpoints, with the real
 * refresher (lambda/handler.ts) renewing the token between reads.
 */

const APP_KEY = 'reader-it-app-key';
const APP_SECRET = 'APPSECRET_reader_it_0a1b2c3d4e5f';
const CREDENTIALS_ID = 'tiktok-shop/app-credentials';
const DAY = 24 * 3600;

let secretsManager: LocalSecretsManager;
let eventBridge: LocalEventBridge;
let tiktok: LocalTikTok;
/** The Open API the example reader calls: any token the auth host issued works there. */
let openApi: LocalOpenApi;
/** Log lines, results and errors of the current test, checked for secrets after it. */
const emitted: string[] = [];

const context = {
  functionName: 'test',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 300_000,
} as unknown as Context;

/** The access token Secrets Manager holds as AWSCURRENT. */
function currentAccessToken(name: string): string {
  const raw = secretsManager.current(name) ?? '{}';
  return (JSON.parse(raw) as { data: { access_token: string } }).data.access_token;
}

function readsOf(name: string): number {
  return secretsManager.calls.filter(
    (call) => call.operation === 'GetSecretValue' && call.secretId === name,
  ).length;
}

/** The real refresher, forced, for one shop. */
async function refresh(name: string): Promise<RunSummary> {
  vi.stubEnv('TOKEN_SECRET_IDS', name);
  const { handler } = await import('../../lambda/refresher/handler.js');
  const summary = (await handler({ force: true, shops: [name] }, context)) as RunSummary;
  emitted.push(JSON.stringify(summary));
  return summary;
}

async function exampleReader(event: unknown): Promise<ReaderResult> {
  const { handler } = await import('../../lambda/reader/example-handler.js');
  const result = await handler(event, context);
  emitted.push(JSON.stringify(result));
  return result;
}

/** The events the refresher published, as EventBridge delivers them to a rule's target. */
function deliveredEvents() {
  return eventBridge.events.map((event) => ({
    version: '0',
    id: event.EventId,
    'detail-type': event.DetailType,
    source: event.Source,
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: event.Resources,
    detail: event.Detail,
  }));
}

/** A provider with its own client and cache, pointed at the local endpoint. */
function localProvider(): SecretsProvider {
  return new SecretsProvider({
    awsSdkV3Client: new SecretsManagerClient({
      endpoint: secretsManager.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  });
}

/** Stands in for the TikTok Shop API: accepts only the access token stored now. */
function shopApi(name: string, seen: string[]) {
  return async (accessToken: string): Promise<string> => {
    seen.push(accessToken);
    if (accessToken !== currentAccessToken(name)) {
      throw Object.assign(new Error('Access token is expired, please refresh it'), {
        code: 105002,
      });
    }
    return 'orders';
  };
}

describe('Integration: readers of a shop token', () => {
  beforeAll(async () => {
    [secretsManager, eventBridge, tiktok] = await Promise.all([
      startLocalSecretsManager(),
      startLocalEventBridge(),
      startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET }),
    ]);
    openApi = await startLocalOpenApi({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      accessTokens: (token) => (tiktok.issuedSecrets().includes(token) ? 'valid' : 'unknown'),
    });
    openApi.addShop();
    secretsManager.seed(
      CREDENTIALS_ID,
      JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    );
  });

  afterAll(async () => {
    await Promise.all([
      secretsManager.close(),
      eventBridge.close(),
      tiktok.close(),
      openApi.close(),
    ]);
  });

  beforeEach(() => {
    emitted.length = 0;
    vi.resetModules();
    clearCaches();
    secretsManager.reset();
    eventBridge.reset();
    tiktok.reset();
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', eventBridge.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'reader-it');
    vi.stubEnv('APP_CREDENTIALS_SECRET_ID', CREDENTIALS_ID);
    vi.stubEnv('TOKEN_SECRET_TAG_KEY', '');
    vi.stubEnv('TIKTOK_AUTH_BASE_URL', tiktok.url);
    vi.stubEnv('TIKTOK_API_BASE_URL', openApi.url);
    const capture = (chunk: unknown) => {
      emitted.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  });

  afterEach(() => {
    // Assess: nothing the test's refreshes and readers logged, returned, threw or published
    // gives a secret away
    const output = [...emitted, JSON.stringify(eventBridge.events)].join('\n');
    expect(leaksIn(output, [...tiktok.issuedSecrets(), ...openApi.issuedSecrets()])).toEqual([]);
  });

  it('sees the new token right after a refresh once the Token Refreshed event dropped its cache', async () => {
    // Prepare: the example reader has read and cached the shop's token.
    const shop = 'tiktok-shop/tokens/reader-a';
    seedShop({ tiktok, secretsManager }, shop, { accessTtlSeconds: 3 * DAY });
    vi.stubEnv('SHOP_TOKEN_SECRET_ID', shop);
    const before = await exampleReader({});

    // Act: the refresher renews the token; the reader first reads from its cache, then gets
    // the refresher's event and reads again.
    const summary = await refresh(shop);
    const cached = await exampleReader({});
    const [event] = deliveredEvents();
    const onEvent = await exampleReader(event);
    const after = await exampleReader({});
    const token = await getShopToken(shop);

    // Assess
    expect(summary.shops[0]?.outcome).toBe('refreshed');
    expect(event).toMatchObject({
      source: EVENT_SOURCE,
      'detail-type': DETAIL_TYPE.tokenRefreshed,
      detail: { shop },
    });
    expect(before.shops).toEqual([expect.objectContaining({ region: 'GB', sellerType: 'LOCAL' })]);
    expect(cached.accessTokenExpiresAt).toBe(before.accessTokenExpiresAt);
    expect(onEvent).toEqual({
      shop,
      accessTokenExpiresAt: summary.shops[0]?.accessTokenExpiresAt,
      cacheRefreshed: true,
    });
    expect(after.accessTokenExpiresAt).toBe(summary.shops[0]?.accessTokenExpiresAt);
    expect(token.accessToken).toBe(currentAccessToken(shop));
  });

  it('keeps its cache when the Token Refreshed event is about another shop', async () => {
    const shop = 'tiktok-shop/tokens/reader-b';
    seedShop({ tiktok, secretsManager }, shop, { accessTtlSeconds: 3 * DAY });
    vi.stubEnv('SHOP_TOKEN_SECRET_ID', shop);
    await exampleReader({});
    const readsBefore = readsOf(shop);

    const result = await exampleReader({
      source: EVENT_SOURCE,
      'detail-type': DETAIL_TYPE.tokenRefreshed,
      detail: { shop: 'tiktok-shop/tokens/someone-else' },
    });

    expect(result).toEqual({ shop, cacheRefreshed: false });
    expect(readsOf(shop)).toBe(readsBefore);
  });

  it('recovers from an expired-token answer with one fresh read and one retry', async () => {
    // Prepare: a reader caches the token, then the refresher replaces it.
    const shop = 'tiktok-shop/tokens/reader-c';
    const { accessToken: cachedToken } = seedShop({ tiktok, secretsManager }, shop, {
      accessTtlSeconds: 3 * DAY,
    });
    const provider = localProvider();
    await getShopToken(shop, { provider });
    await refresh(shop);
    const readsBefore = readsOf(shop);
    const seen: string[] = [];

    // Act
    const result = await withShopToken(shop, shopApi(shop, seen), { provider });

    // Assess
    expect(result).toBe('orders');
    expect(seen).toEqual([cachedToken, currentAccessToken(shop)]);
    expect(readsOf(shop) - readsBefore).toBe(1);
  });

  it('retries only once when the fresh token is refused too', async () => {
    const shop = 'tiktok-shop/tokens/reader-d';
    seedShop({ tiktok, secretsManager }, shop, { accessTtlSeconds: 3 * DAY });
    const provider = localProvider();
    await getShopToken(shop, { provider });
    await refresh(shop);
    const readsBefore = readsOf(shop);
    let calls = 0;

    const failure = await withShopToken(
      shop,
      async () => {
        calls++;
        throw Object.assign(new Error('Access token is invalid'), { code: 105002 });
      },
      { provider },
    ).catch((error: Error) => error);

    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe('Access token is invalid');
    expect(calls).toBe(2);
    expect(readsOf(shop) - readsBefore).toBe(1);
    emitted.push(String(failure));
  });

  it('refuses to run without SHOP_TOKEN_SECRET_ID, naming it', async () => {
    vi.stubEnv('SHOP_TOKEN_SECRET_ID', '');

    await expect(exampleReader({})).rejects.toThrow('SHOP_TOKEN_SECRET_ID is required');
  });
});
