import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TikTokShopConsentCallback } from '../../infra/consent-callback.js';
import { TokenStoreKind } from '../../infra/refresher-props.js';
import { main as authorize } from '../../lambda/commands/authorize.js';
import type { RunSummary } from '../../lambda/refresher/refresh.js';
import { DETAIL_TYPE, METRIC } from '../../lambda/shared/contract.js';
import { DynamoDbTokenStore } from '../../lambda/shared/dynamodb-store.js';
import { bundledHandlerOf, environmentOf, logicalIdIn, properties } from '../infra/template.js';
import { synthesizeProduct } from '../infra/variants.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import { type LocalOpenApi, startLocalOpenApi } from '../local/endpoints/open-api.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import { type LocalTikTok, startLocalTikTok } from '../local/endpoints/tiktok.js';
import { type LocalDynamoDb, startDynalite } from '../support/dynalite.js';
import { leaksIn } from '../support/leak-check.js';
import { sellerToken } from '../support/seed-shop.js';

/**
 * The product stack on the DynamoDB token table (`-c store=dynamodb`): the refresher and consent
 * callback bundles it synthesizes, each invocation in a fresh Node process with the template's
 * environment, against dynalite (an independent DynamoDB) and local Secrets Manager (app
 * credentials, state key), EventBridge and TikTok endpoints; the authorize command beside them.
 */

const run = promisify(execFile);
const RUNNER = join(import.meta.dirname, '../support/lambda-runner.mjs');
const APP_KEY = 'dynamodb-it-app-key';
const APP_SECRET = 'APPSECRET_dynamodb_it_1a2b3c4d';
const STATE_KEY = 'STATEKEY_dynamodb_it_00112233445566778899aabbcc';
const TABLE = 'shop-tokens';
const DAY = 24 * 3600;

const outdir = mkdtempSync(join(tmpdir(), 'dynamodb-it-'));
const product = synthesizeProduct(
  { shops: ['shop-a'], consentCallback: true, tokenStore: TokenStoreKind.DYNAMODB },
  outdir,
);

interface Deployed {
  readonly handlerPath: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

function deployed(fn: { node: { path: string } }): Deployed {
  const id = logicalIdIn(product.stack, fn as never);
  return {
    handlerPath: bundledHandlerOf(outdir, product.stack, product.template, id),
    // The table's name is a reference in the template; the local table stands for it.
    environment: { ...environmentOf(product.template, id), TOKEN_TABLE_NAME: TABLE },
    timeoutMs: Number(properties(product.template, id).Timeout) * 1000,
  };
}

const refresherBundle = deployed(product.stack.refresher.function);
const callbackBundle = deployed(
  (product.stack.consentCallback as TikTokShopConsentCallback).function,
);
const readerFunction = product.stack.exampleReader?.function;
if (readerFunction === undefined) throw new Error('the product stack has no example reader');
const readerBundle = deployed(readerFunction);

let dynamo: LocalDynamoDb;
let dynamodb: DynamoDBClient;
let table: DynamoDbTokenStore;
let secretsManager: LocalSecretsManager;
let eventBridge: LocalEventBridge;
let tiktok: LocalTikTok;
let openApi: LocalOpenApi;
let serial = 0;
const emitted: string[] = [];

async function invokeBundle(
  bundle: Deployed,
  event: unknown,
): Promise<{ result: unknown; logs: string[] }> {
  const outcomeFile = join(outdir, `${crypto.randomUUID()}.json`);
  const printed = await run(
    process.execPath,
    [
      RUNNER,
      bundle.handlerPath,
      'handler',
      JSON.stringify(event),
      String(bundle.timeoutMs),
      outcomeFile,
    ],
    {
      env: {
        ...bundle.environment,
        TIKTOK_AUTH_BASE_URL: tiktok.url,
        TIKTOK_API_BASE_URL: openApi.url,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
        AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_LAMBDA_FUNCTION_NAME: 'dynamodb-it',
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const outcome = JSON.parse(await readFile(outcomeFile, 'utf8')) as {
    result?: unknown;
    error?: unknown;
  };
  await rm(outcomeFile, { force: true });
  const logs = `${printed.stdout}${printed.stderr}`
    .split('\n')
    .filter((line) => line.trim() !== '');
  emitted.push(...logs, JSON.stringify(outcome));
  if (outcome.error !== undefined)
    throw new Error(`invocation failed: ${JSON.stringify(outcome.error)}`);
  return { result: outcome.result, logs };
}

/** A seller's token stored as a shop's item, as onboarding does, whose access token ends in `ttl`. */
async function seed(shop: string, accessTtlSeconds: number) {
  const token = sellerToken(tiktok, { accessTtlSeconds });
  await table.putCurrent(shop, token.raw);
  return token;
}

const metricValue = (logs: string[], name: string): unknown => {
  const line = logs.find((entry) => entry.includes('"_aws"') && entry.includes(`"${name}"`));
  return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>)[name];
};

/** A consent link's state for `shop`, as the authorize command prints it. */
async function consentState(shop: string): Promise<string> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.join(' '));
  });
  vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  const env = { TIKTOK_AUTH_BASE_URL: tiktok.url, TIKTOK_SERVICE_ID: '7000111' };
  try {
    expect(await authorize(['--consent-link', '--shop', shop], env)).toBe(0);
  } finally {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  }
  return new URL(lines.at(-1)?.split('\n')[1] ?? '').searchParams.get('state') ?? '';
}

/** The seller's approval reaching the callback bundle: the page it shows. */
async function callback(query: Record<string, string>) {
  const { result, logs } = await invokeBundle(callbackBundle, {
    version: '2.0',
    rawPath: '/',
    rawQueryString: new URLSearchParams(query).toString(),
    requestContext: { http: { method: 'GET', path: '/' } },
    queryStringParameters: query,
  });
  return { ...(result as { statusCode: number; body: string }), logs };
}

const storedToken = async (shop: string) =>
  JSON.parse((await table.read(shop)).current.raw) as {
    data: { refresh_token: string; open_id: string };
  };

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('Integration: the DynamoDB token store', () => {
  beforeAll(async () => {
    [dynamo, secretsManager, eventBridge, tiktok] = await Promise.all([
      startDynalite(),
      startLocalSecretsManager(),
      startLocalEventBridge(),
      startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET }),
    ]);
    await dynamo.createTokenTable(TABLE);
    openApi = await startLocalOpenApi({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      accessTokens: (token) => (tiktok.issuedSecrets().includes(token) ? 'valid' : 'unknown'),
    });
    openApi.addShop();
    dynamodb = dynamo.client();
    table = new DynamoDbTokenStore({ client: dynamodb, tableName: TABLE });
    secretsManager.seed(
      refresherBundle.environment.APP_CREDENTIALS_SECRET_ID ?? '',
      JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    );
    secretsManager.seed(callbackBundle.environment.CALLBACK_STATE_SECRET_ID ?? '', STATE_KEY);
  });

  afterAll(async () => {
    dynamodb.destroy();
    await Promise.all([
      dynamo.close(),
      secretsManager.close(),
      eventBridge.close(),
      tiktok.close(),
    ]);
  });

  beforeEach(() => {
    serial++;
    emitted.length = 0;
    eventBridge.reset();
  });

  afterEach(() => {
    // Assess: nothing any run printed, returned or published gives a secret away
    const output = [...emitted, JSON.stringify(eventBridge.events)].join('\n');
    expect(leaksIn(output, [...tiktok.issuedSecrets(), STATE_KEY, APP_SECRET])).toEqual([]);
  });

  it('refreshes the due shop, settles the others from the survey, and keeps the previous token', async () => {
    // Prepare
    const due = `due-${serial}`;
    const fresh = [`fresh-${serial}-1`, `fresh-${serial}-2`];
    const dueToken = await seed(due, 3600);
    for (const shop of fresh) await seed(shop, 6 * DAY);
    const freshBefore = await Promise.all(fresh.map((shop) => table.read(shop)));

    // Act
    const { result, logs } = await invokeBundle(refresherBundle, {});

    // Assess
    const summary = result as RunSummary;
    expect(summary.shops).toMatchObject([{ shop: due, outcome: 'refreshed' }]);
    expect(summary.counts.refreshed).toBe(1);
    expect(summary.counts.skipped).toBeGreaterThanOrEqual(2);
    const stored = await table.read(due);
    const refreshed = JSON.parse(stored.current.raw) as { data: { refresh_token: string } };
    expect(tiktok.isRefreshTokenValid(refreshed.data.refresh_token)).toBe(true);
    const item = await dynamodb.send(
      new GetItemCommand({ TableName: TABLE, Key: { shop: { S: due } }, ConsistentRead: true }),
    );
    expect(item.Item?.previous?.M?.token?.S).toBe(dueToken.raw);
    expect(await Promise.all(fresh.map((shop) => table.read(shop)))).toEqual(freshBefore);
    expect(metricValue(logs, METRIC.tokensRefreshed)).toBe(1);
    expect(metricValue(logs, METRIC.tokensSkipped)).toBe(summary.counts.skipped);
    expect(eventBridge.events.map((event) => event.DetailType)).toContain(
      DETAIL_TYPE.tokenRefreshed,
    );
  });

  it('connects a shop through the callback bundle into the table, and the refresher refreshes it', async () => {
    // Prepare
    const shop = `connect-${serial}`;
    const authCode = `AUTHCODE_dynamodb_${serial}_c0ffee`;
    tiktok.addSeller({ authCode, openId: `open-${serial}`, sellerName: 'Seller' });
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    const env = { TIKTOK_AUTH_BASE_URL: tiktok.url, TIKTOK_SERVICE_ID: '7000111' };
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    expect(await authorize(['--consent-link', '--shop', shop], env)).toBe(0);
    const state = new URL(lines.at(-1)?.split('\n')[1] ?? '').searchParams.get('state') ?? '';
    vi.restoreAllMocks();
    vi.unstubAllEnvs();

    // Act
    const query = { code: authCode, state };
    const page = await invokeBundle(callbackBundle, {
      version: '2.0',
      rawPath: '/',
      rawQueryString: new URLSearchParams(query).toString(),
      requestContext: { http: { method: 'GET', path: '/' } },
      queryStringParameters: query,
    });
    const refresh = await invokeBundle(refresherBundle, { force: true, shops: [shop] });

    // Assess
    expect(page.result).toMatchObject({ statusCode: 200 });
    expect(eventBridge.events[0]).toMatchObject({
      DetailType: DETAIL_TYPE.shopConnected,
      Detail: { shop, connection: 'new' },
    });
    expect((refresh.result as RunSummary).shops).toMatchObject([{ shop, outcome: 'refreshed' }]);
    const stored = JSON.parse((await table.read(shop)).current.raw) as {
      data: { refresh_token: string; open_id: string };
    };
    expect(stored.data.open_id).toBe(`open-${serial}`);
    expect(tiktok.isRefreshTokenValid(stored.data.refresh_token)).toBe(true);
  });

  it('leaves a working token current after a double approval of one link, one exchange only', async () => {
    // Prepare: the seller approves twice at once; TikTok is slow enough that both reach it
    const shop = `double-${serial}`;
    const openId = `open-double-${serial}`;
    const state = await consentState(shop);
    const codes = [`AUTHCODE_dynamodb_double_${serial}_1`, `AUTHCODE_dynamodb_double_${serial}_2`];
    tiktok.addSeller({ authCode: codes[0] ?? '', openId, sellerName: 'Seller' });
    tiktok.addAuthCode(openId, codes[1] ?? '');
    tiktok.latencyMs = 300;

    // Act
    const pages = await Promise.all(codes.map((code) => callback({ code, state }))).finally(() => {
      tiktok.latencyMs = 0;
    });

    // Assess
    expect(pages.map((page) => page.statusCode).sort()).toEqual([200, 409]);
    const stored = await storedToken(shop);
    expect(stored.data.open_id).toBe(openId);
    expect(tiktok.isRefreshTokenValid(stored.data.refresh_token)).toBe(true);
  });

  it('tells a seller who approves a link again after TikTok refused its code that it did not connect the shop', async () => {
    // Prepare: the link's first approval brings a code TikTok refuses
    const shop = `unfinished-${serial}`;
    const state = await consentState(shop);
    expect((await callback({ code: `AUTHCODE_never_issued_${serial}`, state })).statusCode).toBe(
      400,
    );
    const authCode = `AUTHCODE_dynamodb_unfinished_${serial}`;
    tiktok.addSeller({ authCode, openId: `open-unfinished-${serial}`, sellerName: 'Seller' });

    // Act
    const page = await callback({ code: authCode, state });

    // Assess
    expect(page.statusCode).toBe(409);
    expect(page.body).toContain('that connection did not finish');
    expect(page.body).not.toContain('nothing more to do');
    expect(eventBridge.events.at(-1)).toMatchObject({
      Detail: { reason: 'link-not-finished', codeUsed: false },
    });
    expect((await table.read(shop).catch(() => undefined))?.current).toBeUndefined();
  });

  it("stores the token of a seller connected as X who approves a new-shop link for Y in X's item", async () => {
    // Prepare: the seller is connected as X
    const x = `seller-x-${serial}`;
    const y = `seller-y-${serial}`;
    const openId = `open-xy-${serial}`;
    const first = `AUTHCODE_dynamodb_xy_${serial}_1`;
    tiktok.addSeller({ authCode: first, openId, sellerName: 'Seller' });
    expect((await callback({ code: first, state: await consentState(x) })).statusCode).toBe(200);
    const link = await consentState(y);
    const again = `AUTHCODE_dynamodb_xy_${serial}_2`;
    tiktok.addAuthCode(openId, again);
    eventBridge.reset();

    // Act: the exchange revokes the token X holds
    const page = await callback({ code: again, state: link });

    // Assess: X holds the new token, which works; Y holds none; the events say where it went
    expect(page.statusCode).toBe(409);
    expect(page.body).toContain(`already connected here as shop ${x}`);
    const stored = await storedToken(x);
    expect(stored.data.open_id).toBe(openId);
    expect(tiktok.isRefreshTokenValid(stored.data.refresh_token)).toBe(true);
    const yItem = await dynamodb.send(
      new GetItemCommand({ TableName: TABLE, Key: { shop: { S: y } }, ConsistentRead: true }),
    );
    expect(yItem.Item?.current).toBeUndefined();
    expect(eventBridge.events.map((event) => [event.DetailType, event.Detail])).toMatchObject([
      [DETAIL_TYPE.shopConnected, { shop: x, connection: 'reconnected' }],
      [
        DETAIL_TYPE.shopConnectionRefused,
        { shop: y, reason: 'seller-connected-elsewhere', tokenStoredIn: x },
      ],
    ]);
  });

  it('stores a code exchanged by npm run authorize --store dynamodb in the table', async () => {
    // Prepare
    const shop = `cli-${serial}`;
    const authCode = `AUTHCODE_dynamodb_cli_${serial}_beef`;
    tiktok.addSeller({ authCode, openId: `open-cli-${serial}` });
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.url);
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', eventBridge.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');

    // Act
    const code = await authorize(
      ['--shop', shop, '--auth-code', authCode, '--store', 'dynamodb', '--table', TABLE],
      { TIKTOK_AUTH_BASE_URL: tiktok.url },
    );
    vi.restoreAllMocks();
    vi.unstubAllEnvs();

    // Assess
    expect(code).toBe(0);
    expect(lines.join('\n')).toContain(`created item ${shop} of the token table`);
    const stored = JSON.parse((await table.read(shop)).current.raw) as {
      data: { open_id: string };
    };
    expect(stored.data.open_id).toBe(`open-cli-${serial}`);
  });

  it("lets the example reader bundle call the API with its shop's token from the table", async () => {
    // Prepare: the reader's shop is the stack's first shop
    const token = await seed('shop-a', 6 * DAY);

    // Act
    const { result } = await invokeBundle(readerBundle, {});

    // Assess
    expect(readerBundle.environment).toMatchObject({ SHOP_NAME: 'shop-a' });
    expect(readerBundle.environment).not.toHaveProperty('SHOP_TOKEN_SECRET_ID');
    expect(result).toMatchObject({ shop: 'shop-a', shops: [expect.objectContaining({})] });
    expect(JSON.stringify(result)).not.toContain(token.accessToken);
  });
});
