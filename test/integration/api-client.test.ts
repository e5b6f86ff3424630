import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TikTokShopConsentRegion } from '../../infra/refresher-props.js';
import type { ReaderResult } from '../../lambda/reader/example-handler.js';
import { API_READER_ENV, appCredentialsSecretName } from '../../lambda/shared/contract.js';
import { bundledHandlerOf, environmentOf } from '../infra/template.js';
import { synthesizeProduct } from '../infra/variants.js';
import {
  type LocalOpenApi,
  type LocalShop,
  OPEN_API_CODE,
  startLocalOpenApi,
} from '../local/endpoints/open-api.js';
import { type InvokeOutcome, LocalDeployment } from '../support/local-deployment.js';
import { synthesizeRefresher } from '../support/synth.js';

/**
 * The example reader as CDK deploys it (its bundle and the environment the template gives it),
 * run in a fresh process per invocation against the local Secrets Manager and the local Open API
 * host, which checks every signature, timestamp, token header and shop_cipher. The refresher's
 * bundle renews the token where a test needs a refresh.
 */

const SHOPS = ['api-shop'];
const DAY = 24 * 3600;

let deployment: LocalDeployment;
let openApi: LocalOpenApi;
let reader: { handlerPath: string; handlerExport: string };
let readerEnvironment: Record<string, string>;
let tokenSecret: string;
let credentialsSecret: string;
let appCredentials: string;
let shops: LocalShop[];

function currentAccessToken(): string {
  const raw = deployment.secretsManager.current(tokenSecret) ?? '{}';
  return (JSON.parse(raw) as { data: { access_token: string } }).data.access_token;
}

/** Every token, secret, cipher and signature the local hosts ever saw or issued. */
function secrets(): string[] {
  return [...deployment.secretValues(), ...openApi.issuedSecrets()];
}

/** One invocation of the bundled example reader; fails at once if anything it printed, answered or threw holds a secret. */
async function invokeReader(event: unknown = {}): Promise<InvokeOutcome & { result?: unknown }> {
  const outcome = await deployment.invoke(event, {
    bundle: reader,
    environment: { ...readerEnvironment, [API_READER_ENV.tiktokApiBaseUrl]: openApi.url },
  });
  const everything = JSON.stringify([outcome.logs, outcome.result, outcome.error]);
  for (const secret of secrets()) {
    expect(everything.includes(secret), 'the reader printed, answered or threw a secret').toBe(
      false,
    );
  }
  return outcome;
}

function readerReads(): number {
  return deployment.secretsManager.calls.filter(
    (call) => call.operation === 'GetSecretValue' && call.secretId === tokenSecret,
  ).length;
}

describe('Integration: the bundled example reader calls the TikTok Shop API', () => {
  beforeAll(async () => {
    deployment = await LocalDeployment.start({ shops: SHOPS });
    const { stack, template, outdir } = synthesizeRefresher({ shops: SHOPS });
    const fn = stack.exampleReader?.function;
    if (fn === undefined) throw new Error('the stack has no example reader');
    const readerId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
    reader = {
      handlerPath: bundledHandlerOf(outdir, stack, template, readerId),
      handlerExport: 'handler',
    };
    readerEnvironment = environmentOf(template, readerId);
    tokenSecret = readerEnvironment[API_READER_ENV.shopTokenSecretId] ?? '';
    credentialsSecret = readerEnvironment[API_READER_ENV.appCredentialsSecretId] ?? '';
    appCredentials = deployment.secretsManager.current(credentialsSecret) ?? '';
    const { app_key, app_secret } = JSON.parse(appCredentials) as Record<string, string>;
    openApi = await startLocalOpenApi({
      appKey: app_key ?? '',
      appSecret: app_secret ?? '',
      // The token the secret holds now works; every earlier one has expired.
      accessTokens: (token) =>
        token === currentAccessToken()
          ? 'valid'
          : deployment.secretValues().includes(token)
            ? 'expired'
            : 'unknown',
    });
    shops = [
      openApi.addShop({ name: 'Acme UK', region: 'GB', sellerType: 'LOCAL' }),
      openApi.addShop({ name: 'Acme US', region: 'US', sellerType: 'CROSS_BORDER' }),
    ];
  });

  afterAll(async () => {
    await Promise.all([deployment?.close(), openApi?.close()]);
  });

  beforeEach(() => {
    deployment.secretsManager.reset();
    deployment.tiktok.reset();
    openApi.reset();
    deployment.secretsManager.seed(credentialsSecret, appCredentials);
    deployment.seedShop(tokenSecret, { accessTtlSeconds: 3 * DAY });
  });

  it('reaches TikTok with a signed call and answers the shops it acts for, never a token or cipher', async () => {
    // Act
    const outcome = await invokeReader();

    // Assess
    const result = outcome.result as ReaderResult | undefined;
    expect(outcome.error).toBeUndefined();
    expect(result?.shop).toBe(tokenSecret);
    expect(result?.shops).toEqual(
      shops.map((shop) => ({
        id: shop.id,
        name: shop.name,
        region: shop.region,
        sellerType: shop.sellerType,
      })),
    );
    expect(Date.parse(result?.accessTokenExpiresAt ?? '')).toBeGreaterThan(
      Date.now() + 2 * DAY * 1000,
    );
    expect(openApi.calls).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: '/authorization/202309/shops',
        status: 200,
        code: 0,
        tokenHeader: true,
        contentType: 'application/json',
      }),
    ]);
    expect(openApi.calls[0]?.queryKeys.sort()).toEqual(['app_key', 'sign', 'timestamp']);
  });

  it('picks up the token the refresher stored after TikTok answered 105002', async () => {
    // Prepare: the refresher renews the token while the reader's call is on its way
    const before = currentAccessToken();
    let refreshed: InvokeOutcome | undefined;
    openApi.beforeNextCall(async () => {
      refreshed = await deployment.invoke({ force: true, shops: [tokenSecret] });
    });

    // Act
    const outcome = await invokeReader();

    // Assess
    expect(refreshed?.result?.shops[0]?.outcome).toBe('refreshed');
    expect(currentAccessToken()).not.toBe(before);
    expect(outcome.error).toBeUndefined();
    expect((outcome.result as ReaderResult | undefined)?.shops).toHaveLength(2);
    expect(openApi.calls.map((call) => call.code)).toEqual([
      OPEN_API_CODE.accessTokenExpired,
      OPEN_API_CODE.success,
    ]);
  });

  it('rides out a rate limit', async () => {
    // Prepare
    openApi.failNext(2, { code: OPEN_API_CODE.rateLimited, httpStatus: 429 });

    // Act
    const outcome = await invokeReader();

    // Assess
    expect(outcome.error).toBeUndefined();
    expect(openApi.calls.map((call) => call.status)).toEqual([429, 429, 200]);
    expect(readerReads()).toBe(1);
  });

  it('does not retry a signature TikTok refuses, nor read the token again for it', async () => {
    // Prepare: the credentials secret holds the right app key with another app's secret
    const { app_key } = JSON.parse(appCredentials) as Record<string, string>;
    deployment.secretsManager.seed(
      credentialsSecret,
      JSON.stringify({ app_key, app_secret: 'ANOTHER_APPS_SECRET_1b2c' }),
    );

    // Act
    const outcome = await invokeReader();

    // Assess
    expect(outcome.error?.errorType).toBe('SignatureRejectedError');
    expect(outcome.error?.errorMessage).toMatch(
      /^TikTok refused GET \/authorization\/202309\/shops \(TikTok code 106001: Invalid signature, request_id \w+\): the signature does not match/,
    );
    expect(openApi.calls).toHaveLength(1);
    expect(readerReads()).toBe(1);
    expect(outcome.logs.join('\n')).not.toContain('ANOTHER_APPS_SECRET_1b2c');
  });

  it("keeps a token TikTok echoes in its message out of the reader's logs and error", async () => {
    // Prepare
    openApi.failNext(1, {
      code: OPEN_API_CODE.scopeNotGranted,
      message: `scope seller.authorization.info not granted to access token ${currentAccessToken()}`,
    });

    // Act
    const outcome = await invokeReader();

    // Assess (invokeReader has checked every secret)
    expect(outcome.error?.errorType).toBe('ScopeNotGrantedError');
    expect(outcome.error?.errorMessage).toContain('access token [redacted]');
    expect(outcome.logs.some((line) => line.includes('"level":"ERROR"'))).toBe(true);
  });
});

/**
 * The example reader of a US shop in a deployment of two apps: the default (global) app and the
 * app `us`, each with its own key and secret. The reader is given only the shop's token secret;
 * the local Open API host knows the US app alone, so a call signed with the other app's
 * credentials is refused.
 */
describe('Integration: the bundled example reader of a shop of a second app', () => {
  const US_APP_KEY = 'us-app-key';
  const US_APP_SECRET = 'US_APP_SECRET_8c3f1d5a';
  const outdir = mkdtempSync(join(tmpdir(), 'tiktok-two-apps-'));
  let usDeployment: LocalDeployment;
  let usOpenApi: LocalOpenApi;
  let usReader: { handlerPath: string; handlerExport: string };
  let usReaderEnvironment: Record<string, string>;
  let usTokenSecret: string;
  /** The token secret's tags, as the template creates them. */
  let usTokenTags: Record<string, string>;
  const usCredentialsSecret = appCredentialsSecretName('tiktok-shop/', 'us');

  function usSecrets(): string[] {
    return [...usDeployment.secretValues(), ...usOpenApi.issuedSecrets(), US_APP_SECRET];
  }

  async function invokeUsReader(): Promise<InvokeOutcome> {
    const outcome = await usDeployment.invoke(
      {},
      {
        bundle: usReader,
        environment: {
          ...usReaderEnvironment,
          // The local deployment starts from the refresher's environment, which names the
          // default app's credentials; the reader's own environment names none.
          [API_READER_ENV.appCredentialsSecretId]: '',
          [API_READER_ENV.tiktokApiBaseUrl]: usOpenApi.url,
        },
      },
    );
    const everything = JSON.stringify([outcome.logs, outcome.result, outcome.error]);
    for (const secret of usSecrets()) {
      expect(everything.includes(secret), 'the reader printed, answered or threw a secret').toBe(
        false,
      );
    }
    return outcome;
  }

  beforeAll(async () => {
    usDeployment = await LocalDeployment.start({ shops: ['acme-uk'] });
    const { stack, template } = synthesizeProduct(
      {
        apps: { us: { consentRegion: TikTokShopConsentRegion.US } },
        shops: [{ name: 'acme-us', app: 'us' }, 'acme-uk'],
      },
      outdir,
    );
    const fn = stack.exampleReader?.function;
    if (fn === undefined) throw new Error('the stack has no example reader');
    const readerId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
    usReader = {
      handlerPath: bundledHandlerOf(outdir, stack, template, readerId),
      handlerExport: 'handler',
    };
    usReaderEnvironment = environmentOf(template, readerId);
    usTokenSecret = usReaderEnvironment[API_READER_ENV.shopTokenSecretId] ?? '';
    const [secret] = Object.values(
      template.findResources('AWS::SecretsManager::Secret', {
        Properties: { Name: usTokenSecret },
      }),
    );
    usTokenTags = Object.fromEntries(
      ((secret?.Properties.Tags ?? []) as { Key: string; Value: string }[]).map((tag) => [
        tag.Key,
        tag.Value,
      ]),
    );
    usOpenApi = await startLocalOpenApi({
      appKey: US_APP_KEY,
      appSecret: US_APP_SECRET,
      accessTokens: (token) => {
        const raw = usDeployment.secretsManager.current(usTokenSecret) ?? '{}';
        const current = (JSON.parse(raw) as { data?: { access_token?: string } }).data;
        return token === current?.access_token ? 'valid' : 'unknown';
      },
    });
    usOpenApi.addShop({ name: 'Acme US', region: 'US', sellerType: 'LOCAL' });
  });

  afterAll(async () => {
    await Promise.all([usDeployment?.close(), usOpenApi?.close()]);
    rmSync(outdir, { recursive: true, force: true });
  });

  beforeEach(() => {
    usDeployment.secretsManager.reset();
    usOpenApi.reset();
    usDeployment.seedShop(usTokenSecret, { accessTtlSeconds: 3 * DAY });
    // With the tags the template gives the secret (seedShop puts the discovery tag only).
    const seeded = usDeployment.secretsManager.current(usTokenSecret) ?? '';
    usDeployment.secretsManager.seed(usTokenSecret, seeded, usTokenTags);
  });

  it("is deployed with the shop's token secret alone, tagged with its app", () => {
    // Assess
    expect(usTokenSecret).toBe('tiktok-shop/tokens/acme-us');
    expect(usReaderEnvironment[API_READER_ENV.appCredentialsSecretId]).toBeUndefined();
    expect(usTokenTags).toEqual({ 'tiktok-shop-token': 'acme-us', 'tiktok-shop-app': 'us' });
  });

  it("finds the US app by the token secret's tag and calls TikTok signed with its credentials", async () => {
    // Prepare
    usDeployment.secretsManager.seed(
      usCredentialsSecret,
      JSON.stringify({ app_key: US_APP_KEY, app_secret: US_APP_SECRET }),
    );

    // Act
    const outcome = await invokeUsReader();

    // Assess
    expect(outcome.error).toBeUndefined();
    expect((outcome.result as ReaderResult | undefined)?.shops).toEqual([
      expect.objectContaining({ name: 'Acme US', region: 'US' }),
    ]);
    const calls = usDeployment.secretsManager.calls;
    expect(
      calls.filter((call) => call.operation === 'DescribeSecret').map((call) => call.secretId),
    ).toEqual([usTokenSecret]);
    expect(
      calls
        .filter((call) => call.operation === 'GetSecretValue')
        .map((call) => call.secretId)
        .sort(),
    ).toEqual([usCredentialsSecret, usTokenSecret].sort());
    expect(usOpenApi.calls.map((call) => call.code)).toEqual([OPEN_API_CODE.success]);
  });

  it("fails loudly, naming the US app's secret, when it holds the other app's credentials", async () => {
    // Prepare: the default app's credentials pasted into the US app's secret
    usDeployment.secretsManager.seed(
      usCredentialsSecret,
      JSON.stringify({ app_key: US_APP_KEY, app_secret: 'LOCAL_APP_SECRET_5e1f0c2a9b' }),
    );

    // Act
    const outcome = await invokeUsReader();

    // Assess
    expect(outcome.error?.errorType).toBe('SignatureRejectedError');
    expect(outcome.error?.errorMessage).toContain(
      `secret ${usCredentialsSecret} holds another app's secret`,
    );
    expect(outcome.logs.some((line) => line.includes('"level":"ERROR"'))).toBe(true);
  });
});
