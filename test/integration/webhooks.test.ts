import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionAssetDir } from '../../infra/function-assets.js';
import { TikTokShopConsentRegion } from '../../infra/refresher-props.js';
import {
  DEFAULT_APP_TAG_KEY,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DETAIL_TYPE,
  SHOP_STATE_TAG,
} from '../../lambda/shared/contract.js';
import { shopIdTagKey } from '../../lambda/shared/shop-state.js';
import { environmentOf, logicalIdIn, properties } from '../infra/template.js';
import { synthesizeProduct } from '../infra/variants.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import type { LocalHttpServer } from '../local/endpoints/http.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import {
  type LocalTikTok,
  notificationBody,
  sendNotification,
  startLocalTikTok,
} from '../local/endpoints/tiktok.js';
import {
  type FunctionUrlHandler,
  functionUrlEvent,
  serveFunctionUrl,
} from '../support/function-url-server.js';
import { leaksIn } from '../support/leak-check.js';

/**
 * The webhook receiver's bundle, as it deploys (the template's timeout and environment), against
 * local Secrets Manager and EventBridge: imported once and served at a local function URL (a warm
 * instance), and once in a fresh process (a cold one). The local TikTok signs and sends the
 * notifications.
 */

const run = promisify(execFile);
const RUNNER = join(import.meta.dirname, '../support/lambda-runner.mjs');
const BUNDLE = join(functionAssetDir('webhooks'), 'index.mjs');
const DEFAULT_CREDENTIALS = {
  appKey: 'webhook-it-app-key',
  appSecret: 'APPSECRET_webhook_it_5a4b3c2d',
};
const US_CREDENTIALS = {
  appKey: 'webhook-it-us-key',
  appSecret: 'APPSECRET_webhook_it_us_9e8d7c6b',
};
const SHOP_ID = '7494049642642441621';
const TOKEN = '{"code":0,"message":"success","data":{}}';

// Two apps, as the product stack deploys them with webhooks on (bundling skipped: the bundle is
// the one the global setup built).
const product = synthesizeProduct({
  shops: ['shop-a'],
  apps: { us: { consentRegion: TikTokShopConsentRegion.US } },
  webhooks: true,
});
const receiverFn = product.stack.refresher.webhookReceiver?.function;
if (receiverFn === undefined) throw new Error('the stack deployed no webhook receiver');
const receiverId = logicalIdIn(product.stack, receiverFn);
const TIMEOUT_MS = Number(properties(product.template, receiverId).Timeout) * 1000;

let secretsManager: LocalSecretsManager;
let eventBridge: LocalEventBridge;
let tiktok: LocalTikTok;
let receiver: LocalHttpServer;
let environment: Record<string, string>;
let client: SecretsManagerClient;
const saved = new Map<string, string | undefined>();
const printed: string[] = [];
const originalWrites = {
  stdout: process.stdout.write.bind(process.stdout),
  stderr: process.stderr.write.bind(process.stderr),
};
const workDir = mkdtempSync(join(tmpdir(), 'webhooks-it-'));

beforeAll(async () => {
  [secretsManager, eventBridge, tiktok] = await Promise.all([
    startLocalSecretsManager(),
    startLocalEventBridge(),
    startLocalTikTok({ ...DEFAULT_CREDENTIALS }),
  ]);
  secretsManager.seed(
    'tiktok-shop/app-credentials',
    JSON.stringify({
      app_key: DEFAULT_CREDENTIALS.appKey,
      app_secret: DEFAULT_CREDENTIALS.appSecret,
    }),
  );
  secretsManager.seed(
    'tiktok-shop/apps/us/credentials',
    JSON.stringify({ app_key: US_CREDENTIALS.appKey, app_secret: US_CREDENTIALS.appSecret }),
  );
  // The same TikTok shop id under two apps: each app's notifications touch its own shop only.
  secretsManager.seed('tiktok-shop/tokens/shop-a', TOKEN, {
    [DEFAULT_TOKEN_SECRET_TAG_KEY]: '',
    [shopIdTagKey(SHOP_ID)]: '1',
  });
  secretsManager.seed('tiktok-shop/tokens/shop-us', TOKEN, {
    [DEFAULT_TOKEN_SECRET_TAG_KEY]: '',
    [DEFAULT_APP_TAG_KEY]: 'us',
    [shopIdTagKey(SHOP_ID)]: '1',
  });
  environment = {
    ...environmentOf(product.template, receiverId),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_LAMBDA_FUNCTION_NAME: 'webhooks-it',
  };
  // The bundle reads its environment when imported and on its first delivery: set for the file.
  for (const [name, value] of Object.entries(environment)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  // What the warm instance prints is kept for the leak check, not shown.
  const keep = ((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = keep;
  process.stderr.write = keep;
  const bundle = (await import(pathToFileURL(BUNDLE).href)) as { handler: FunctionUrlHandler };
  receiver = await serveFunctionUrl(bundle.handler, TIMEOUT_MS);
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
  ]);
  rmSync(workDir, { recursive: true, force: true });
});

async function tagsOf(secretId: string): Promise<Record<string, string>> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return Object.fromEntries((described.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

function eventsOf(detailType: string): { shop?: string; app?: string; notificationId?: string }[] {
  return eventBridge.events
    .filter((event) => event.DetailType === detailType)
    .map((event) => event.Detail as { shop?: string; app?: string; notificationId?: string });
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

describe('Webhook receiver bundle', () => {
  it('marks the shop of a type 6 notification deauthorized and publishes Shop Deauthorized', async () => {
    // Act
    const delivery = await tiktok.notify(receiver.url, {
      type: 6,
      shopId: SHOP_ID,
      notificationId: 'it-6-1',
    });

    // Assess
    expect(delivery.status).toBe(200);
    expect((await tagsOf('tiktok-shop/tokens/shop-a'))[SHOP_STATE_TAG.deauthorized]).toMatch(
      /^\d+:it-6-1$/,
    );
    expect(await tagsOf('tiktok-shop/tokens/shop-us')).not.toHaveProperty(
      SHOP_STATE_TAG.deauthorized,
    );
    expect(eventsOf(DETAIL_TYPE.shopDeauthorized)).toEqual([
      expect.objectContaining({ shop: 'tiktok-shop/tokens/shop-a', notificationId: 'it-6-1' }),
    ]);
  });

  it('changes nothing when the same notification comes again', async () => {
    // Prepare
    secretsManager.seed('tiktok-shop/tokens/shop-b', TOKEN, { [shopIdTagKey('222')]: '1' });
    const before = eventBridge.events.length;
    // A second ahead: the token was stored within this second.
    const body = notificationBody(
      { type: 6, shopId: '222', notificationId: 'it-6-2', timestamp: now() + 1 },
      0,
    );
    const first = await sendNotification(receiver.url, body, DEFAULT_CREDENTIALS);
    const tags = await tagsOf('tiktok-shop/tokens/shop-b');

    // Act
    const replay = await sendNotification(receiver.url, body, DEFAULT_CREDENTIALS);

    // Assess
    expect(first).toEqual({ status: 200, body: '{"outcome":"accepted"}' });
    expect(replay).toEqual({ status: 200, body: '{"outcome":"duplicate"}' });
    expect(await tagsOf('tiktok-shop/tokens/shop-b')).toEqual(tags);
    expect(eventBridge.events.length).toBe(before + 1);
  });

  it('records a type 7 notification for the app of its path and publishes Authorization Expiring', async () => {
    // Prepare
    const expirationTime = now() + 20 * 86_400;

    // Act
    const delivery = await tiktok.notify(
      `${receiver.url}/us`,
      { type: 7, shopId: SHOP_ID, notificationId: 'it-7-1', expirationTime },
      { signWith: US_CREDENTIALS },
    );

    // Assess
    expect(delivery.status).toBe(200);
    expect(await tagsOf('tiktok-shop/tokens/shop-us')).toMatchObject({
      [SHOP_STATE_TAG.authorizationExpires]: String(expirationTime),
      [SHOP_STATE_TAG.authorizationExpiresNotification]: 'it-7-1',
    });
    expect(eventsOf(DETAIL_TYPE.authorizationExpiring)).toEqual([
      expect.objectContaining({ shop: 'tiktok-shop/tokens/shop-us', app: 'us' }),
    ]);
  });

  it('ignores a deauthorization older than the shop’s current token (reconnected since)', async () => {
    // Prepare
    secretsManager.seed('tiktok-shop/tokens/shop-c', TOKEN, { [shopIdTagKey('333')]: '1' });

    // Act
    const delivery = await tiktok.notify(receiver.url, {
      type: 6,
      shopId: '333',
      timestamp: now() - 3600,
    });

    // Assess
    expect(delivery).toEqual({ status: 200, body: '{"outcome":"stale"}' });
    expect(await tagsOf('tiktok-shop/tokens/shop-c')).not.toHaveProperty(
      SHOP_STATE_TAG.deauthorized,
    );
  });

  it('leaves alone another deployment’s secret tagged with the same TikTok shop id', async () => {
    // Prepare: a staging deployment in the same account; in AWS the receiver may not touch it.
    secretsManager.seed('tiktok-shop/tokens/shop-f', TOKEN, { [shopIdTagKey('666')]: '1' });
    secretsManager.seed('staging/tokens/shop-f', TOKEN, { [shopIdTagKey('666')]: '1' });

    // Act
    const delivery = await tiktok.notify(receiver.url, {
      type: 6,
      shopId: '666',
      timestamp: now() + 1,
    });

    // Assess
    expect(delivery).toEqual({ status: 200, body: '{"outcome":"accepted"}' });
    expect(await tagsOf('tiktok-shop/tokens/shop-f')).toHaveProperty(SHOP_STATE_TAG.deauthorized);
    expect(await tagsOf('staging/tokens/shop-f')).not.toHaveProperty(SHOP_STATE_TAG.deauthorized);
  });

  it('answers 500 within TikTok’s 3 s when Secrets Manager does not answer, and records it when TikTok retries', async () => {
    // Prepare
    secretsManager.seed('tiktok-shop/tokens/shop-g', TOKEN, { [shopIdTagKey('777')]: '1' });
    const body = notificationBody({ type: 6, shopId: '777', timestamp: now() + 1 }, 0);
    secretsManager.latencyMs = 10_000;
    const started = Date.now();

    // Act
    const slow = await sendNotification(receiver.url, body, DEFAULT_CREDENTIALS).finally(() => {
      secretsManager.latencyMs = 0;
    });
    const elapsed = Date.now() - started;
    const retried = await sendNotification(receiver.url, body, DEFAULT_CREDENTIALS);

    // Assess
    expect(slow.status).toBe(500);
    expect(elapsed).toBeLessThan(3_000);
    expect(retried).toEqual({ status: 200, body: '{"outcome":"accepted"}' });
  });

  it.each([
    ['a forged signature', '', { appKey: DEFAULT_CREDENTIALS.appKey, appSecret: 'guess' }, 401],
    ["the us app's signature at the default app's path", '', US_CREDENTIALS, 401],
    ["the default app's signature at the us app's path", '/us', DEFAULT_CREDENTIALS, 401],
    ['a path naming no app', '/nope', DEFAULT_CREDENTIALS, 404],
  ])('refuses %s and changes nothing', async (_, path, app, status) => {
    // Prepare
    const before = eventBridge.events.length;
    const body = notificationBody({ type: 6, shopId: '444' }, now());
    secretsManager.seed('tiktok-shop/tokens/shop-d', TOKEN, { [shopIdTagKey('444')]: '1' });

    // Act
    const delivery = await sendNotification(`${receiver.url}${path}`, body, app);

    // Assess
    expect(delivery.status).toBe(status);
    expect(await tagsOf('tiktok-shop/tokens/shop-d')).not.toHaveProperty(
      SHOP_STATE_TAG.deauthorized,
    );
    expect(eventBridge.events.length).toBe(before);
  });

  it.each([
    ['an oversized body', JSON.stringify({ padding: 'x'.repeat(70_000) }), 413],
    ['a body that is not JSON', '{"type":6,', 400],
    [
      'a notification from the future',
      notificationBody({ type: 6, shopId: '444', timestamp: now() + 3600 }, 0),
      400,
    ],
    [
      'a notification from two days ago',
      notificationBody({ type: 6, shopId: '444', timestamp: now() - 2 * 86_400 }, 0),
      400,
    ],
    [
      'an order notification',
      notificationBody({ type: 1, shopId: '444', data: { order_id: '5' } }, now()),
      200,
    ],
    ['a shop id no shop covers', notificationBody({ type: 6, shopId: '999999' }, now()), 200],
  ])('answers %s with the status due and changes nothing', async (_, body, status) => {
    // Prepare
    const before = eventBridge.events.length;

    // Act
    const delivery = await sendNotification(receiver.url, body, DEFAULT_CREDENTIALS);

    // Assess
    expect(delivery.status).toBe(status);
    expect(eventBridge.events.length).toBe(before);
  });

  it('answers 405 to anything but a POST', async () => {
    // Act
    const response = await fetch(receiver.url);

    // Assess
    expect(response.status).toBe(405);
  });

  it('records every one of 200 notifications sent at once', async () => {
    // Prepare
    const ids = Array.from({ length: 200 }, (_, i) => `${5_000_000 + i}`);
    for (const id of ids) {
      secretsManager.seed(`tiktok-shop/tokens/burst-${id}`, TOKEN, { [shopIdTagKey(id)]: '1' });
    }

    // Act
    const deliveries = await Promise.all(
      ids.map((id) =>
        tiktok.notify(receiver.url, {
          type: 6,
          shopId: id,
          notificationId: `b-${id}`,
          // A second ahead: the tokens were stored within this second.
          timestamp: now() + 1,
        }),
      ),
    );

    // Assess
    expect(deliveries.filter((delivery) => delivery.status !== 200)).toEqual([]);
    const tags = await Promise.all(ids.map((id) => tagsOf(`tiktok-shop/tokens/burst-${id}`)));
    expect(tags.filter((tag) => tag[SHOP_STATE_TAG.deauthorized] === undefined)).toEqual([]);
    const announced = new Set(
      eventsOf(DETAIL_TYPE.shopDeauthorized).map((detail) => detail.notificationId),
    );
    expect(ids.filter((id) => !announced.has(`b-${id}`))).toEqual([]);
  }, 60_000);

  it('answers from a fresh process (a cold start) and prints no secret, like the warm instance', async () => {
    // Prepare
    secretsManager.seed('tiktok-shop/tokens/shop-e', TOKEN, { [shopIdTagKey('555')]: '1' });
    const body = notificationBody({ type: 6, shopId: '555', timestamp: now() + 1 }, 0);
    const signed = signedHeader(body);
    const outcomeFile = join(workDir, 'cold.json');

    // Act
    const output = await run(
      process.execPath,
      [
        RUNNER,
        BUNDLE,
        'handler',
        JSON.stringify(functionUrlEvent('POST', '/', { authorization: signed }, Buffer.from(body))),
        String(TIMEOUT_MS),
        outcomeFile,
      ],
      { env: { ...process.env, ...environment } },
    );

    // Assess
    const outcome = JSON.parse(await readFile(outcomeFile, 'utf8')) as {
      result?: { statusCode: number };
    };
    expect(outcome.result).toMatchObject({ statusCode: 200, body: '{"outcome":"accepted"}' });
    const everything = [output.stdout, output.stderr, ...printed].join('\n');
    const secrets = [DEFAULT_CREDENTIALS.appSecret, US_CREDENTIALS.appSecret, signed];
    expect(leaksIn(everything, secrets)).toEqual([]);
    // The warm instance's refusals were printed too, and checked with the rest.
    expect(everything).toContain('webhook notification refused');
  });
});

/** The Authorization header TikTok would send with `body` for the default app. */
function signedHeader(body: string): string {
  return createHmac('sha256', DEFAULT_CREDENTIALS.appSecret)
    .update(`${DEFAULT_CREDENTIALS.appKey}${body}`)
    .digest('hex');
}
