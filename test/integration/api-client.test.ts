import type { CfnElement } from 'aws-cdk-lib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ReaderResult } from '../../lambda/reader/example-handler.js';
import { API_READER_ENV } from '../../lambda/shared/contract.js';
import { bundledHandlerOf, environmentOf } from '../infra/template.js';
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
