import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TikTokShopConsentCallback } from '../../infra/consent-callback.js';
import { TikTokShopConsentRegion } from '../../infra/refresher-props.js';
import { main as authorize } from '../../lambda/commands/authorize.js';
import {
  CONSENT_STATE_TTL_SECONDS,
  signConsentState,
} from '../../lambda/onboarding/consent-state.js';
import type { RunSummary } from '../../lambda/refresher/refresh.js';
import {
  APPS_ENV,
  DEFAULT_APP_TAG_KEY,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DETAIL_TYPE,
  EVENT_SOURCE,
  METRIC,
  SELLER_TAG_KEY,
} from '../../lambda/shared/contract.js';
import { KEPT_LABEL } from '../../lambda/shared/secrets-store.js';
import { shopIdTagKey } from '../../lambda/shared/shop-state.js';
import { bundledHandlerOf, environmentOf, logicalIdIn, properties } from '../infra/template.js';
import { synthesizeProduct } from '../infra/variants.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import { type LocalOpenApi, startLocalOpenApi } from '../local/endpoints/open-api.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import {
  drift,
  GET_TOKEN_PATH,
  type LocalTikTok,
  shopIdOf,
  startLocalTikTok,
  startLocalTikTokApps,
} from '../local/endpoints/tiktok.js';
import { leaksIn } from '../support/leak-check.js';

/**
 * Onboarding as deployed: the consent callback and the refresher run as the bundles the product
 * stack synthesizes, each invocation in a fresh Node process with the environment the template
 * gives the function, against local Secrets Manager, EventBridge and TikTok endpoints; the
 * authorize command makes the links and stores codes by hand.
 */

const run = promisify(execFile);
const RUNNER = join(import.meta.dirname, '../support/lambda-runner.mjs');
const APP_KEY = 'onboarding-it-app-key';
const APP_SECRET = 'APPSECRET_onboarding_it_6f5e4d3c';
const STATE_KEY = 'STATEKEY_onboarding_it_00112233445566778899aabb';

// Synthesized and bundled once for the file, with the consent callback on.
const outdir = mkdtempSync(join(tmpdir(), 'onboarding-it-'));
const product = synthesizeProduct({ shops: ['shop-a'], consentCallback: true }, outdir);
const callbackFn = (product.stack.consentCallback as TikTokShopConsentCallback).function;

interface Deployed {
  readonly handlerPath: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

function deployed(fn: typeof callbackFn, of = product): Deployed {
  const id = logicalIdIn(of.stack, fn);
  return {
    handlerPath: bundledHandlerOf(outdir, of.stack, of.template, id),
    environment: environmentOf(of.template, id),
    timeoutMs: Number(properties(of.template, id).Timeout) * 1000,
  };
}

const callbackBundle = deployed(callbackFn);
const refresherBundle = deployed(product.stack.refresher.function);

// The same, deployed with a second app (`us`, of the US Partner Center) beside the default one.
const twoApps = synthesizeProduct(
  {
    shops: ['shop-a'],
    apps: { us: { consentRegion: TikTokShopConsentRegion.US } },
    consentCallback: true,
  },
  outdir,
);
const twoAppsCallbackBundle = deployed(
  (twoApps.stack.consentCallback as TikTokShopConsentCallback).function,
  twoApps,
);

let secretsManager: LocalSecretsManager;
let eventBridge: LocalEventBridge;
let tiktok: LocalTikTok;
/** Where the functions find TikTok's auth host. */
let authBaseUrl: string;
/** The default app's Open API, of the local TikTok's sellers: their shop ids after a connection. */
let openApi: LocalOpenApi;
let client: SecretsManagerClient;
let stdout: string[];
let serial = 0;
let shop: string;
let secret: string;
/** Output, pages, log lines and results of the current test, checked for secrets after it. */
const emitted: string[] = [];

const sid = (name: string) => `${name}_${shop}`;

/** A seller approving the app: its one-time code. */
function approval(seller: string): string {
  serial++;
  const authCode = `AUTHCODE_onboarding_${serial}_c0ffee`;
  tiktok.addSeller({ authCode, openId: sid(seller), sellerName: `Seller ${seller}` });
  return authCode;
}

/** The same seller approving the app again: a new code, whose exchange revokes the seller's tokens. */
function approvalAgain(seller: string): string {
  serial++;
  const authCode = `AUTHCODE_onboarding_${serial}_again`;
  tiktok.addAuthCode(sid(seller), authCode);
  return authCode;
}

/** One invocation of a bundle in a fresh process, as Lambda runs it. */
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
        TIKTOK_AUTH_BASE_URL: authBaseUrl,
        TIKTOK_API_BASE_URL: openApi.url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
        AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_LAMBDA_FUNCTION_NAME: 'onboarding-it',
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

/** TikTok's redirect of the seller's browser to the callback's function URL. */
async function callback(query: Record<string, string>, bundle = callbackBundle) {
  const { result, logs } = await invokeBundle(bundle, {
    version: '2.0',
    rawPath: '/',
    rawQueryString: new URLSearchParams(query).toString(),
    requestContext: { http: { method: 'GET', path: '/' } },
    queryStringParameters: query,
  });
  return { ...(result as { statusCode: number; body: string }), logs };
}

/** A consent link's state, as the authorize command prints it. */
async function consentState(name = shop): Promise<string> {
  expect(await authorize(['--consent-link', '--shop', name], cliEnv())).toBe(0);
  const link = new URL(stdout.at(-1)?.split('\n')[1] ?? '');
  return link.searchParams.get('state') ?? '';
}

/** Environment of the authorize command: app credentials come from their secret. */
const cliEnv = () => ({
  TIKTOK_AUTH_BASE_URL: tiktok.url,
  TIKTOK_API_BASE_URL: openApi.url,
  TIKTOK_SERVICE_ID: '7000111',
});

/** The Open API of `host`'s sellers. */
function startOpenApiOf(host: LocalTikTok): Promise<LocalOpenApi> {
  return startLocalOpenApi({
    appKey: APP_KEY,
    appSecret: APP_SECRET,
    accessTokens: (accessToken) => host.accessTokenStatus(accessToken),
    shopIdsOf: (accessToken) => host.shopIdsOfAccessToken(accessToken),
  });
}

const current = (name = secret) =>
  JSON.parse(secretsManager.current(name) ?? '{}') as {
    data: { open_id: string; refresh_token: string };
  };

function tokenExchanges(): number {
  return tiktok.calls.filter((call) => call.path === GET_TOKEN_PATH).length;
}

function events() {
  return eventBridge.events.map((event) => ({
    source: event.Source,
    detailType: event.DetailType,
    detail: event.Detail as Record<string, unknown>,
  }));
}

const metricIn = (logs: string[], name: string) =>
  logs.some((line) => line.includes('"_aws"') && line.includes(`"${name}":1`));

// Both suites run the bundles synthesized into it.
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('Integration: connecting a shop', () => {
  beforeAll(async () => {
    [secretsManager, eventBridge, tiktok] = await Promise.all([
      startLocalSecretsManager(),
      startLocalEventBridge(),
      startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET }),
    ]);
    authBaseUrl = tiktok.url;
    openApi = await startOpenApiOf(tiktok);
    secretsManager.seed(
      callbackBundle.environment.APP_CREDENTIALS_SECRET_ID ?? '',
      JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    );
    secretsManager.seed(callbackBundle.environment.CALLBACK_STATE_SECRET_ID ?? '', STATE_KEY);
    client = new SecretsManagerClient({
      endpoint: secretsManager.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  afterAll(async () => {
    client.destroy();
    await Promise.all([
      secretsManager.close(),
      eventBridge.close(),
      tiktok.close(),
      openApi.close(),
    ]);
  });

  beforeEach(() => {
    serial++;
    shop = `onboard-${serial}`;
    secret = `tiktok-shop/tokens/${shop}`;
    emitted.length = 0;
    secretsManager.reset();
    eventBridge.reset();
    tiktok.reset();
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', eventBridge.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    stdout = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      stdout.push(args.join(' '));
      emitted.push(args.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      emitted.push(args.join(' '));
    });
  });

  afterEach(() => {
    // Assess: nothing the test's runs printed, showed, returned or published gives a secret away
    const output = [...emitted, JSON.stringify(eventBridge.events)].join('\n');
    expect(leaksIn(output, [...tiktok.issuedSecrets(), STATE_KEY])).toEqual([]);
  });

  it('connects a new shop through the callback bundle, publishes Shop Connected, and the refresher bundle refreshes it', async () => {
    // Prepare
    const state = await consentState();

    // Act
    const page = await callback({ code: approval('open_a'), state });
    const refresh = await invokeBundle(refresherBundle, { force: true, shops: [secret] });

    // Assess: stored, tagged, announced
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`Shop ${shop} is connected.`);
    const described = await client.send(new DescribeSecretCommand({ SecretId: secret }));
    expect(described.Tags).toEqual([
      { Key: DEFAULT_TOKEN_SECRET_TAG_KEY, Value: shop },
      { Key: SELLER_TAG_KEY, Value: sid('open_a') },
      { Key: shopIdTagKey(shopIdOf(sid('open_a'))), Value: '1' },
    ]);
    expect(events()[0]).toMatchObject({
      source: EVENT_SOURCE,
      detailType: DETAIL_TYPE.shopConnected,
      detail: { shop: secret, connection: 'new', openId: sid('open_a') },
    });
    expect(metricIn(page.logs, METRIC.shopsConnected)).toBe(true);
    // Assess: the refresher, which only lists by tag, finds and refreshes it
    expect((refresh.result as RunSummary).shops).toMatchObject([
      { shop: secret, outcome: 'refreshed' },
    ]);
    expect(tiktok.isRefreshTokenValid(current().data.refresh_token)).toBe(true);
  });

  it('refuses a takeover: another seller’s approval of a reconnect link leaves the token and raises the alarm', async () => {
    // Prepare: the shop is connected by its seller; a reconnect link reaches an attacker
    await callback({ code: approval('open_a'), state: await consentState() });
    const before = secretsManager.versions(secret);
    const link = await consentState();
    eventBridge.reset();

    // Act
    const page = await callback({ code: approval('open_attacker'), state: link });

    // Assess
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('connected to another TikTok Shop seller account');
    // Only the link's claim was written beside the token, which stays current
    expect(secretsManager.versions(secret)).toHaveLength(before.length + 1);
    expect(secretsManager.current(secret)).toBe(before.at(-1)?.secretString);
    expect(current().data.open_id).toBe(sid('open_a'));
    expect(tiktok.isRefreshTokenValid(current().data.refresh_token)).toBe(true);
    expect(events()).toMatchObject([
      {
        detailType: DETAIL_TYPE.shopConnectionRefused,
        detail: {
          shop: secret,
          reason: 'seller-mismatch',
          openId: sid('open_attacker'),
          storedOpenId: sid('open_a'),
        },
      },
    ]);
    expect(metricIn(page.logs, METRIC.shopConnectionsRefused)).toBe(true);
  });

  it('reconnects the seller already stored through a reconnect link', async () => {
    await callback({ code: approval('open_a'), state: await consentState() });
    const first = secretsManager.current(secret);

    const page = await callback({ code: approval('open_a'), state: await consentState() });

    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('is connected again');
    expect(secretsManager.current(secret)).not.toBe(first);
    expect(events().at(-1)).toMatchObject({ detail: { connection: 'reconnected' } });
  });

  it('refuses a replayed link without calling TikTok', async () => {
    const state = await consentState();
    await callback({ code: approval('open_a'), state });
    const before = secretsManager.versions(secret);
    tiktok.reset();

    const page = await callback({ code: approval('open_b'), state });

    expect(page.statusCode).toBe(409);
    expect(page.body).toContain('already been used');
    expect(tokenExchanges()).toBe(0);
    expect(secretsManager.versions(secret)).toEqual(before);
  });

  it('tells a seller who approves a link again after TikTok refused its code that it did not connect the shop', async () => {
    const state = await consentState();
    expect((await callback({ code: 'AUTHCODE_never_issued_9f8e7d', state })).statusCode).toBe(400);
    tiktok.reset();

    const page = await callback({ code: approval('open_a'), state });

    expect(page.statusCode).toBe(409);
    expect(page.body).toContain('that connection did not finish');
    expect(page.body).not.toContain('nothing more to do');
    expect(tokenExchanges()).toBe(0);
    expect(events().at(-1)).toMatchObject({ detail: { reason: 'link-not-finished' } });
  });

  it('lets one of two concurrent uses of one link win', async () => {
    const state = await consentState();
    const codes = [approval('open_one'), approval('open_two')];

    const pages = await Promise.all(codes.map((code) => callback({ code, state })));

    expect(pages.map((page) => page.statusCode).sort()).toEqual([200, 409]);
    const winner = sid(pages[0]?.statusCode === 200 ? 'open_one' : 'open_two');
    expect(current().data.open_id).toBe(winner);
    // The link's claim and the winner's token; the other code was never exchanged
    expect(secretsManager.versions(secret)).toHaveLength(2);
    expect(tokenExchanges()).toBe(1);
  });

  it('leaves a working token current after each of 20 double approvals, TikTok revoking on each exchange', async () => {
    // Prepare: 20 shops, each with a link its seller approves twice at once (a double click);
    // TikTok is slow enough that both approvals reach it before either answer is stored
    const shops = Array.from({ length: 20 }, (_, i) => `${shop}-double-${i}`);
    const doubles: { name: string; state: string; codes: string[] }[] = [];
    for (const name of shops) {
      const state = await consentState(name);
      const first = approval(`open_${name}`);
      doubles.push({ name, state, codes: [first, approvalAgain(`open_${name}`)] });
    }
    tiktok.latencyMs = 300;

    // Act: four double approvals at a time
    const pages: { name: string; statusCodes: number[] }[] = [];
    for (let i = 0; i < doubles.length; i += 4) {
      const batch = await Promise.all(
        doubles.slice(i, i + 4).map(async ({ name, state, codes }) => ({
          name,
          statusCodes: (await Promise.all(codes.map((code) => callback({ code, state })))).map(
            (page) => page.statusCode,
          ),
        })),
      );
      pages.push(...batch);
    }
    tiktok.latencyMs = 0;

    // Assess: every shop is connected, and the token it holds is one TikTok still honours
    for (const { name, statusCodes } of pages) {
      expect(statusCodes.sort(), name).toEqual([200, 409]);
      const stored = current(`tiktok-shop/tokens/${name}`);
      expect(tiktok.isRefreshTokenValid(stored.data.refresh_token), name).toBe(true);
    }
  }, 240_000);

  it('stores the token of a seller connected as shop X who approves a new-shop link for Y in X, and refuses Y', async () => {
    // Prepare: the seller is connected as `shop`; a new-shop link for another name reaches them
    await callback({ code: approval('open_a'), state: await consentState() });
    const second = `${shop}-b`;
    const link = await consentState(second);
    eventBridge.reset();

    // Act: the exchange revokes the token `shop` holds
    const page = await callback({ code: approvalAgain('open_a'), state: link });

    // Assess: `shop` holds the new token, which works; Y is not connected; all say where it went
    expect(page.statusCode).toBe(409);
    expect(page.body).toContain(`already connected here as shop ${shop}`);
    expect(tiktok.isRefreshTokenValid(current().data.refresh_token)).toBe(true);
    expect(secretsManager.current(`tiktok-shop/tokens/${second}`)).toContain(
      'tiktok_shop_no_token',
    );
    expect(events()).toMatchObject([
      {
        detailType: DETAIL_TYPE.shopConnected,
        detail: { shop: secret, connection: 'reconnected' },
      },
      {
        detailType: DETAIL_TYPE.shopConnectionRefused,
        detail: {
          shop: `tiktok-shop/tokens/${second}`,
          reason: 'seller-connected-elsewhere',
          tokenStoredIn: secret,
        },
      },
    ]);
    expect(page.logs.find((line) => line.includes('shop connection refused'))).toContain(
      `"tokenStoredIn":"${secret}"`,
    );
  });

  it('stores the token of seller B (connected as Z) who approves S’s reconnect link in Z, leaving S', async () => {
    // Prepare: S belongs to seller A, Z to seller B; S's reconnect link reaches B
    await callback({ code: approval('open_a'), state: await consentState() });
    const z = `${shop}-z`;
    await callback({ code: approval('open_b'), state: await consentState(z) });
    const sBefore = secretsManager.current(secret);
    const link = await consentState();
    eventBridge.reset();

    // Act: B's exchange revokes Z's token
    const page = await callback({ code: approvalAgain('open_b'), state: link });

    // Assess
    expect(page.statusCode).toBe(409);
    expect(page.body).toContain(`connected here as shop ${z}`);
    expect(secretsManager.current(secret)).toBe(sBefore);
    expect(tiktok.isRefreshTokenValid(current().data.refresh_token)).toBe(true);
    const zToken = current(`tiktok-shop/tokens/${z}`);
    expect([zToken.data.open_id, tiktok.isRefreshTokenValid(zToken.data.refresh_token)]).toEqual([
      sid('open_b'),
      true,
    ]);
    expect(events().at(-1)).toMatchObject({
      detailType: DETAIL_TYPE.shopConnectionRefused,
      detail: { reason: 'seller-mismatch', tokenStoredIn: `tiktok-shop/tokens/${z}` },
    });
  });

  it('keeps a code-0 answer it cannot read as a token, not current, and reports it loudly', async () => {
    // Prepare: TikTok's answer to the exchange has drifted
    const state = await consentState();
    const code = approval('open_a');
    tiktok.failNext(1, { rewrite: drift.accessTokenExpiryAsDate });

    // Act
    const page = await callback({ code, state });

    // Assess: the seller is told it is kept; the answer sits under its label, no token current
    expect(page.statusCode).toBe(502);
    expect(page.body).toContain('It was kept, and we have been alerted');
    const kept = secretsManager
      .versions(secret)
      .find((version) => version.stages.includes(KEPT_LABEL));
    const keptToken = JSON.parse(kept?.secretString ?? '{}') as {
      data: { refresh_token: string };
    };
    expect(tiktok.isRefreshTokenValid(keptToken.data.refresh_token)).toBe(true);
    expect(secretsManager.current(secret)).toContain('tiktok_shop_no_token');
    expect(events()).toMatchObject([
      {
        detailType: DETAIL_TYPE.tokenNotCurrent,
        detail: { shop: secret, versionId: kept?.versionId, label: KEPT_LABEL },
      },
    ]);
    expect(metricIn(page.logs, METRIC.tokensNotCurrent)).toBe(true);
    expect(page.logs.find((line) => line.includes('TikTok answer kept, not current'))).toContain(
      '"level":"ERROR"',
    );
  });

  it('keeps such an answer with the authorize command too, and exits 1 saying where', async () => {
    tiktok.failNext(1, { rewrite: drift.accessTokenExpiryAsDate });

    const code = await authorize(['--shop', shop], {
      ...cliEnv(),
      TIKTOK_AUTH_CODE: approval('open_a'),
    });

    expect(code).toBe(1);
    const kept = secretsManager
      .versions(secret)
      .find((version) => version.stages.includes(KEPT_LABEL));
    expect(emitted.join('\n')).toContain(`kept as version ${kept?.versionId}`);
    expect(events().map((event) => event.detailType)).toEqual([DETAIL_TYPE.tokenNotCurrent]);
  });

  it.each([
    ['behind', 3 * 3600_000, 'this machine’s clock is 3 h 0 min behind AWS’s'],
    [
      'ahead of',
      -(2 * 3600_000 + 30 * 60_000),
      'this machine’s clock is 2 h 30 min ahead of AWS’s',
    ],
  ])(
    'refuses to make a consent link on a machine whose clock is hours %s AWS’s, saying by how much',
    async (_, offsetMs, said) => {
      // Prepare: AWS's answers carry its time, hours from this machine's
      secretsManager.clockOffsetMs = offsetMs;

      // Act
      const code = await authorize(['--consent-link', '--shop', shop], cliEnv());

      // Assess: a clear word about the clock, not a failure of the new shop's missing secret
      expect(code).toBe(1);
      const printed = emitted.join('\n');
      expect(printed).toContain(said.replaceAll('’', "'"));
      expect(printed).not.toContain('ResourceNotFoundException');
      expect(stdout).toEqual([]);
    },
  );

  it('tells a seller who declined that nothing was connected', async () => {
    const page = await callback({ state: await consentState(), error: 'access_denied' });

    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`You did not approve the app for shop ${shop}`);
    expect(tokenExchanges()).toBe(0);
    expect(() => secretsManager.versions(secret)).toThrow();
  });

  it.each([
    [
      'a tampered signature',
      async () => {
        const parts = (await consentState()).split('.');
        const mac = parts[4] ?? '';
        // The first character carries six bits of the MAC.
        parts[4] = mac.startsWith('A') ? `B${mac.slice(1)}` : `A${mac.slice(1)}`;
        return parts.join('.');
      },
    ],
    [
      'an expired state',
      async () =>
        signConsentState({ shop, purpose: 'connect' }, STATE_KEY, {
          now: Date.now() - (CONSENT_STATE_TTL_SECONDS + 60) * 1000,
        }),
    ],
    [
      'a state for another shop',
      async () => {
        const [, ...rest] = (await consentState()).split('.');
        return [Buffer.from('onboard-victim').toString('base64url'), ...rest].join('.');
      },
    ],
  ])('answers 400 to %s without calling TikTok or storing anything', async (_, makeState) => {
    const state = await makeState();

    const page = await callback({ code: approval('open_a'), state });

    expect(page.statusCode).toBe(400);
    expect(tokenExchanges()).toBe(0);
    expect(() => secretsManager.versions(secret)).toThrow();
    expect(() => secretsManager.versions('tiktok-shop/tokens/onboard-victim')).toThrow();
  });

  it('answers 400 with TikTok’s code for a used code, storing nothing', async () => {
    const authCode = approval('open_a');
    await callback({ code: authCode, state: await consentState() });
    const before = secretsManager.current(secret);

    const page = await callback({ code: authCode, state: await consentState() });

    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('TikTok code 36004004');
    expect(secretsManager.current(secret)).toBe(before);
  });

  it('stores a code by hand with the authorize command, refusing another seller after it', async () => {
    // Act
    const first = await authorize(['--shop', shop], {
      ...cliEnv(),
      TIKTOK_AUTH_CODE: approval('open_a'),
    });
    const other = await authorize(['--shop', shop], {
      ...cliEnv(),
      TIKTOK_AUTH_CODE: approval('open_b'),
    });

    // Assess
    expect([first, other]).toEqual([0, 1]);
    expect(current().data.open_id).toBe(sid('open_a'));
    expect(events().map((event) => [event.detailType, event.detail.reason])).toEqual([
      [DETAIL_TYPE.shopConnected, undefined],
      [DETAIL_TYPE.shopConnectionRefused, 'seller-mismatch'],
    ]);
  });
});

describe('Integration: connecting shops of two apps', () => {
  const US_APP_KEY = 'onboarding-it-us-app-key';
  const US_APP_SECRET = 'APPSECRET_onboarding_it_us_9e8d7c6b';
  const bundle = twoAppsCallbackBundle;
  let usTikTok: LocalTikTok;
  let authHost: Awaited<ReturnType<typeof startLocalTikTokApps>>;

  /** A seller approving the app of `host`: its one-time code. */
  function approvalAt(host: LocalTikTok, seller: string): string {
    serial++;
    const authCode = `AUTHCODE_onboarding_apps_${serial}_beef`;
    host.addSeller({ authCode, openId: sid(seller), sellerName: `Seller ${seller}` });
    return authCode;
  }

  /** A consent link's state as the authorize command prints it, for `app` of the deployment. */
  async function linkState(name: string, app?: string): Promise<URL> {
    const argv = ['--consent-link', '--shop', name, ...(app === undefined ? [] : ['--app', app])];
    const env = {
      TIKTOK_APPS: 'us:us',
      TIKTOK_SERVICE_ID: '7000111',
      TIKTOK_SERVICE_ID_US: '7000222',
    };
    expect(await authorize(argv, env)).toBe(0);
    return new URL(stdout.at(-1)?.split('\n')[1] ?? '');
  }

  const exchanges = (host: LocalTikTok) =>
    host.calls.filter((call) => call.path === GET_TOKEN_PATH).length;

  beforeAll(async () => {
    [secretsManager, eventBridge, tiktok, usTikTok] = await Promise.all([
      startLocalSecretsManager(),
      startLocalEventBridge(),
      startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET }),
      startLocalTikTok({ appKey: US_APP_KEY, appSecret: US_APP_SECRET }),
    ]);
    authHost = await startLocalTikTokApps([tiktok, usTikTok]);
    authBaseUrl = authHost.url;
    openApi = await startOpenApiOf(tiktok);
    const otherApps = JSON.parse(bundle.environment[APPS_ENV.appCredentialsSecretIds] ?? '{}') as {
      us?: string;
    };
    secretsManager.seed(
      bundle.environment.APP_CREDENTIALS_SECRET_ID ?? '',
      JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    );
    secretsManager.seed(
      otherApps.us ?? '',
      JSON.stringify({ app_key: US_APP_KEY, app_secret: US_APP_SECRET }),
    );
    secretsManager.seed(bundle.environment.CALLBACK_STATE_SECRET_ID ?? '', STATE_KEY);
    client = new SecretsManagerClient({
      endpoint: secretsManager.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  afterAll(async () => {
    client.destroy();
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
    shop = `apps-${serial}`;
    emitted.length = 0;
    secretsManager.reset();
    eventBridge.reset();
    tiktok.reset();
    usTikTok.reset();
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', eventBridge.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    stdout = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      stdout.push(args.join(' '));
      emitted.push(args.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      emitted.push(args.join(' '));
    });
  });

  afterEach(() => {
    // Assess: nothing the test's runs printed, showed, returned or published gives a secret away
    const output = [...emitted, JSON.stringify(eventBridge.events)].join('\n');
    expect(
      leaksIn(output, [...tiktok.issuedSecrets(), ...usTikTok.issuedSecrets(), STATE_KEY]),
    ).toEqual([]);
  });

  it('connects a GB shop and a US shop, each from its own consent page and exchanged with its own app', async () => {
    // Prepare: the command's links, one per app
    const gbShop = `${shop}-gb`;
    const usShop = `${shop}-us`;
    const gbLink = await linkState(gbShop);
    const usLink = await linkState(usShop, 'us');

    // Act
    const gb = await callback(
      { code: approvalAt(tiktok, 'open_gb'), state: gbLink.searchParams.get('state') ?? '' },
      bundle,
    );
    const us = await callback(
      { code: approvalAt(usTikTok, 'open_us'), state: usLink.searchParams.get('state') ?? '' },
      bundle,
    );

    // Assess: the links go to each app's page with its service id
    expect([gbLink.origin, gbLink.searchParams.get('service_id')]).toEqual([
      'https://services.tiktokshop.com',
      '7000111',
    ]);
    expect([usLink.origin, usLink.searchParams.get('service_id')]).toEqual([
      'https://services.us.tiktokshop.com',
      '7000222',
    ]);
    // Assess: both connected, each code exchanged at its own app, the US shop tagged with its app
    expect([gb.statusCode, us.statusCode]).toEqual([200, 200]);
    expect([exchanges(tiktok), exchanges(usTikTok)]).toEqual([1, 1]);
    const usTags = (
      await client.send(new DescribeSecretCommand({ SecretId: `tiktok-shop/tokens/${usShop}` }))
    ).Tags;
    const gbTags = (
      await client.send(new DescribeSecretCommand({ SecretId: `tiktok-shop/tokens/${gbShop}` }))
    ).Tags;
    expect(usTags).toContainEqual({ Key: DEFAULT_APP_TAG_KEY, Value: 'us' });
    // The GB shop's TikTok shop id comes from the default app's Open API.
    expect(gbTags?.map((tag) => tag.Key)).toEqual([
      DEFAULT_TOKEN_SECRET_TAG_KEY,
      SELLER_TAG_KEY,
      shopIdTagKey(shopIdOf(sid('open_gb'))),
    ]);
    expect(
      usTikTok.isRefreshTokenValid(current(`tiktok-shop/tokens/${usShop}`).data.refresh_token),
    ).toBe(true);
    expect(
      events().map((event) => [event.detailType, event.detail.shopName, event.detail.app]),
    ).toEqual([
      [DETAIL_TYPE.shopConnected, gbShop, 'default'],
      [DETAIL_TYPE.shopConnected, usShop, 'us'],
    ]);
  });

  it('refuses a US link for a GB shop before the exchange, and a link of an app it does not have', async () => {
    // Prepare: a GB shop connected through the global app
    const gbLink = await linkState(shop);
    await callback(
      { code: approvalAt(tiktok, 'open_gb'), state: gbLink.searchParams.get('state') ?? '' },
      bundle,
    );
    const before = secretsManager.versions(`tiktok-shop/tokens/${shop}`);
    const usState = signConsentState({ shop, purpose: 'reconnect', app: 'us' }, STATE_KEY, {
      now: Date.now(),
    });
    const euState = signConsentState(
      { shop: `${shop}-eu`, purpose: 'connect', app: 'eu' },
      STATE_KEY,
      {
        now: Date.now(),
      },
    );
    eventBridge.reset();
    usTikTok.reset();

    // Act
    const crossApp = await callback(
      { code: approvalAt(usTikTok, 'open_gb'), state: usState },
      bundle,
    );
    const unknown = await callback(
      { code: approvalAt(usTikTok, 'open_eu'), state: euState },
      bundle,
    );

    // Assess
    expect([crossApp.statusCode, unknown.statusCode]).toEqual([409, 400]);
    expect(exchanges(usTikTok)).toBe(0);
    expect(secretsManager.versions(`tiktok-shop/tokens/${shop}`)).toEqual(before);
    expect(events()).toMatchObject([
      {
        detailType: DETAIL_TYPE.shopConnectionRefused,
        detail: { reason: 'app-mismatch', app: 'us', storedApp: 'default' },
      },
      {
        detailType: DETAIL_TYPE.shopConnectionRefused,
        detail: { reason: 'app-unknown', app: 'eu' },
      },
    ]);
    expect(metricIn(unknown.logs, METRIC.shopConnectionsRefused)).toBe(true);
  });
});
