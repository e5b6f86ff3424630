import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionAssetDir } from '../../infra/function-assets.js';
import { signConsentState } from '../../lambda/onboarding/consent-state.js';
import { getShopToken, ShopDeauthorizedError, tiktokShopApi } from '../../lambda/reader/index.js';
import type { RunSummary } from '../../lambda/refresher/refresh.js';
import { AUTHORIZED_SHOPS_PATH } from '../../lambda/shared/authorized-shops.js';
import {
  CALLBACK_ENV,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DETAIL_TYPE,
  ENV,
  METRIC,
  SHOP_STATE_TAG,
} from '../../lambda/shared/contract.js';
import { shopIdTagKey } from '../../lambda/shared/shop-state.js';
import { logicalIdIn, properties } from '../infra/template.js';
import { synthesizeProduct } from '../infra/variants.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import type { LocalHttpServer } from '../local/endpoints/http.js';
import { type LocalOpenApi, startLocalOpenApi } from '../local/endpoints/open-api.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import {
  type LocalTikTok,
  REFRESH_PATH,
  shopIdOf,
  startLocalTikTok,
} from '../local/endpoints/tiktok.js';
import {
  type FunctionUrlHandler,
  functionUrlEvent,
  serveFunctionUrl,
} from '../support/function-url-server.js';
import { leaksIn } from '../support/leak-check.js';

/**
 * A shop's whole authorization life across the bundles as they deploy (the consent callback, the
 * webhook receiver, the refresher) and the reader: connected, revoked by the seller (TikTok's
 * signed type 6 notification), left alone by the refresher and refused by the reader, connected
 * again, refreshed. Local Secrets Manager, EventBridge, TikTok and its Open API; the bundles share
 * this process and its environment, as they share the contract's names.
 */

const APP = { appKey: 'lifecycle-app-key', appSecret: 'APPSECRET_lifecycle_7c6b5a4d' };
const STATE_KEY = 'STATEKEY_lifecycle_0123456789abcdef0123456789';
const CREDENTIALS_ID = 'tiktok-shop/app-credentials';
const STATE_KEY_ID = 'tiktok-shop/callback-state-key';
const SHOP = 'acme-uk';
const SECRET = `tiktok-shop/tokens/${SHOP}`;
const OPEN_ID = 'open_lifecycle_acme';

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** The receiver's timeout as the stack deploys it: its deliveries must fit in it. */
const receiverTimeoutMs = (() => {
  const { stack, template } = synthesizeProduct({ shops: [SHOP], webhooks: true });
  const fn = stack.refresher.webhookReceiver?.function;
  if (fn === undefined) throw new Error('the stack deployed no webhook receiver');
  return Number(properties(template, logicalIdIn(stack, fn)).Timeout) * 1000;
})();

let secretsManager: LocalSecretsManager;
let eventBridge: LocalEventBridge;
let tiktok: LocalTikTok;
let openApi: LocalOpenApi;
let receiver: LocalHttpServer;
let callbackHandler: Handler<LambdaFunctionURLEvent, Exclude<LambdaFunctionURLResult, string>>;
let refresherHandler: Handler<unknown, RunSummary>;
let client: SecretsManagerClient;
const saved = new Map<string, string | undefined>();
const printed: string[] = [];
const originalWrites = {
  stdout: process.stdout.write.bind(process.stdout),
  stderr: process.stderr.write.bind(process.stderr),
};

function context(name: string): Context {
  return {
    functionName: name,
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => 60_000,
  } as unknown as Context;
}

async function importBundle<T>(fn: Parameters<typeof functionAssetDir>[0]): Promise<T> {
  const bundle = (await import(pathToFileURL(join(functionAssetDir(fn), 'index.mjs')).href)) as {
    handler: T;
  };
  return bundle.handler;
}

/** TikTok's redirect of the seller's browser after approving a consent link for the shop. */
async function consent(authCode: string, purpose: 'connect' | 'reconnect') {
  const state = signConsentState({ shop: SHOP, purpose }, STATE_KEY, { now: Date.now() });
  const query = { code: authCode, state };
  const event = {
    ...functionUrlEvent('GET', '/', {}, Buffer.alloc(0)),
    rawQueryString: new URLSearchParams(query).toString(),
    queryStringParameters: query,
  };
  return callbackHandler(event, context('callback'));
}

async function tagsOf(): Promise<Record<string, string>> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: SECRET }));
  return Object.fromEntries((described.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/** What the refresher bundle printed and answered for one invocation. */
async function refresh(event: unknown): Promise<{ summary: RunSummary; logs: string[] }> {
  const from = printed.length;
  const summary = await refresherHandler(event, context('refresher'));
  return { summary, logs: printed.slice(from) };
}

function metricIn(logs: readonly string[], name: string, value: number): boolean {
  return logs.some((line) => line.includes('"_aws"') && line.includes(`"${name}":${value}`));
}

const refreshCalls = () => tiktok.calls.filter((call) => call.path === REFRESH_PATH).length;
const reader = () => ({
  provider: new SecretsProvider({ awsSdkV3Client: client }),
  forceFetch: true,
});

beforeAll(async () => {
  [secretsManager, eventBridge, tiktok] = await Promise.all([
    startLocalSecretsManager(),
    startLocalEventBridge(),
    startLocalTikTok({ ...APP }),
  ]);
  openApi = await startLocalOpenApi({
    ...APP,
    accessTokens: (accessToken) => tiktok.accessTokenStatus(accessToken),
    shopIdsOf: (accessToken) => tiktok.shopIdsOfAccessToken(accessToken),
  });
  secretsManager.seed(
    CREDENTIALS_ID,
    JSON.stringify({ app_key: APP.appKey, app_secret: APP.appSecret }),
  );
  secretsManager.seed(STATE_KEY_ID, STATE_KEY);
  // One environment for the three bundles: the names they share are the contract's.
  const environment: Record<string, string> = {
    [ENV.appCredentialsSecretId]: CREDENTIALS_ID,
    [ENV.tokenSecretTagKey]: DEFAULT_TOKEN_SECRET_TAG_KEY,
    [ENV.tiktokAuthBaseUrl]: tiktok.url,
    [ENV.tiktokApiBaseUrl]: openApi.url,
    [ENV.eventBusName]: 'default',
    [CALLBACK_ENV.stateSecretId]: STATE_KEY_ID,
    [CALLBACK_ENV.tokenSecretPrefix]: 'tiktok-shop/',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_LAMBDA_FUNCTION_NAME: 'webhooks-lifecycle-it',
  };
  for (const [name, value] of Object.entries(environment)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  // What the bundles print is kept for the metrics and the leak check, not shown.
  const keep = ((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = keep;
  process.stderr.write = keep;
  callbackHandler = await importBundle('consent-callback');
  refresherHandler = await importBundle('refresher');
  receiver = await serveFunctionUrl(
    await importBundle<FunctionUrlHandler>('webhooks'),
    receiverTimeoutMs,
  );
  client = new SecretsManagerClient({
    endpoint: secretsManager.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  process.stdout.write = originalWrites.stdout;
  process.stderr.write = originalWrites.stderr;
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  client?.destroy();
  await Promise.all([
    receiver?.close(),
    secretsManager?.close(),
    eventBridge?.close(),
    tiktok?.close(),
    openApi?.close(),
  ]);
});

describe('Integration: a shop deauthorized by its seller, then connected again', () => {
  const shopId = shopIdOf(OPEN_ID);

  it('connects the shop through the callback and tags its TikTok shop id', async () => {
    // Prepare
    const { authCode } = tiktok.addSeller({
      authCode: 'AUTHCODE_lifecycle_1_ab12',
      openId: OPEN_ID,
    });

    // Act
    const page = await consent(authCode ?? '', 'connect');

    // Assess
    expect(page.statusCode).toBe(200);
    expect(await tagsOf()).toMatchObject({ [shopIdTagKey(shopId)]: '1' });
  });

  it("marks the shop deauthorized on TikTok's signed notification for its shop id", async () => {
    // Prepare: the seller revokes the app at TikTok
    tiktok.revoke(OPEN_ID);

    // Act: a second ahead, as the token was stored within this second
    const delivery = await tiktok.notify(receiver.url, {
      type: 6,
      shopId,
      notificationId: 'lifecycle-6-1',
      timestamp: Math.floor(Date.now() / 1000) + 1,
    });

    // Assess
    expect(delivery.status).toBe(200);
    expect((await tagsOf())[SHOP_STATE_TAG.deauthorized]).toMatch(/^\d+:lifecycle-6-1$/);
  });

  it('leaves the shop alone in every run, reporting it as needing a person', async () => {
    // Act
    const dry = await refresh({ dryRun: true });
    const forced = await refresh({ force: true });

    // Assess
    expect(refreshCalls()).toBe(0);
    for (const { summary, logs } of [dry, forced]) {
      expect(summary.shops).toEqual([
        expect.objectContaining({
          shop: SECRET,
          outcome: 'failed',
          errorType: 'ShopDeauthorizedError',
          retryable: false,
        }),
      ]);
      expect(metricIn(logs, METRIC.reauthorizationRequired, 1)).toBe(true);
      expect(metricIn(logs, METRIC.shopsDeauthorized, 1)).toBe(true);
    }
    const deauthorized = eventBridge.events.filter(
      (event) => event.DetailType === DETAIL_TYPE.shopDeauthorized,
    );
    // The receiver's, then one per run.
    expect(deauthorized).toHaveLength(3);
    expect(deauthorized.at(-1)?.Detail).toMatchObject({
      shop: SECRET,
      errorType: 'ShopDeauthorizedError',
    });
  });

  it('refuses readers with ShopDeauthorizedError, without calling TikTok', async () => {
    // Prepare
    const openApiCalls = openApi.calls.length;

    // Act
    const read = getShopToken(SECRET, reader());
    const call = tiktokShopApi({
      tokenSecretId: SECRET,
      appCredentialsSecretId: CREDENTIALS_ID,
      baseUrl: openApi.url,
      provider: reader().provider,
    }).get(AUTHORIZED_SHOPS_PATH);

    // Assess
    await expect(read).rejects.toBeInstanceOf(ShopDeauthorizedError);
    await expect(call).rejects.toMatchObject({ errorType: 'ShopDeauthorizedError', shop: SECRET });
    expect(openApi.calls.length).toBe(openApiCalls);
  });

  it('clears the mark when the seller connects again, and the shop is refreshed and read again', async () => {
    // Prepare
    tiktok.addAuthCode(OPEN_ID, 'AUTHCODE_lifecycle_2_cd34');

    // Act
    const page = await consent('AUTHCODE_lifecycle_2_cd34', 'reconnect');
    const { summary } = await refresh({ force: true });
    const token = await getShopToken(SECRET, reader());

    // Assess
    expect(page.statusCode).toBe(200);
    expect(await tagsOf()).not.toHaveProperty(SHOP_STATE_TAG.deauthorized);
    expect(summary.shops).toEqual([expect.objectContaining({ outcome: 'refreshed' })]);
    expect(refreshCalls()).toBe(1);
    expect(tiktok.accessTokenStatus(token.accessToken)).toBe('valid');
  });

  it('lets no token, code, key or secret out', () => {
    // Assess
    const output = [...printed, JSON.stringify(eventBridge.events)].join('\n');
    expect(
      leaksIn(output, [...tiktok.issuedSecrets(), STATE_KEY, ...openApi.issuedSecrets()]),
    ).toEqual([]);
  });
});
