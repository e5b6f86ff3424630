import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main as authorize } from '../../lambda/commands/authorize.js';
import {
  CONSENT_STATE_TTL_SECONDS,
  signConsentState,
} from '../../lambda/onboarding/consent-state.js';
import { getShopToken } from '../../lambda/reader/index.js';
import type { RunSummary } from '../../lambda/refresher/refresh.js';
import { DEFAULT_TOKEN_SECRET_TAG_KEY } from '../../lambda/shared/contract.js';
import { SecretsManagerTokenStore } from '../../lambda/shared/secrets-store.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import { GET_TOKEN_PATH, type LocalTikTok, startLocalTikTok } from '../local/endpoints/tiktok.js';

/**
 * Onboarding against the local endpoints: the authorize command and the consent callback
 * exchange a seller's code at the local TikTok host and store the answer in the local Secrets
 * Manager, where the real refresher finds it by its tag.
 */

const APP_KEY = 'onboarding-it-app-key';
const APP_SECRET = 'APPSECRET_onboarding_it_6f5e4d3c';
const STATE_KEY = 'STATEKEY_onboarding_it_00112233445566778899aabb';
const CREDENTIALS_ID = 'tiktok-shop/app-credentials';
const STATE_KEY_ID = 'tiktok-shop/callback-state-key';

let secretsManager: LocalSecretsManager;
let eventBridge: LocalEventBridge;
let tiktok: LocalTikTok;
let client: SecretsManagerClient;
let stdout: string[];
let stderr: string[];
let codeSerial = 0;
/** Output, pages, log lines and results of every test, checked for secrets at the end. */
const emitted: string[] = [];

const context = {
  functionName: 'test',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 300_000,
} as unknown as Context;

/** Environment of the authorize command: app credentials come from their secret. */
const cliEnv = () => ({ TIKTOK_AUTH_BASE_URL: tiktok.url, TIKTOK_SERVICE_ID: '7000111' });

function newAuthCode(): string {
  codeSerial++;
  const authCode = `AUTHCODE_onboarding_${codeSerial}_c0ffee`;
  tiktok.addSeller({ authCode });
  return authCode;
}

function tokenIn(secretString: string | undefined) {
  return (JSON.parse(secretString ?? '{}') as { data: { refresh_token: string } }).data;
}

async function tagsOf(name: string) {
  const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
  return described.Tags;
}

function tokenExchanges(): number {
  return tiktok.calls.filter((call) => call.path === GET_TOKEN_PATH).length;
}

function writesTo(name: string): number {
  return secretsManager.calls.filter(
    (call) =>
      call.secretId === name &&
      ['CreateSecret', 'PutSecretValue', 'TagResource'].includes(call.operation),
  ).length;
}

async function callback(query: Record<string, string>) {
  const { handler } = await import('../../lambda/onboarding/callback-handler.js');
  const event = {
    version: '2.0',
    rawPath: '/',
    rawQueryString: new URLSearchParams(query).toString(),
    requestContext: { http: { method: 'GET', path: '/' } },
    queryStringParameters: query,
  } as unknown as LambdaFunctionURLEvent;
  const answer = (await handler(event, context)) as { statusCode: number; body: string };
  emitted.push(answer.body);
  return answer;
}

/** A consent link's state, as the authorize command prints it. */
async function consentState(shop: string): Promise<string> {
  expect(await authorize(['--consent-link', '--shop', shop], cliEnv())).toBe(0);
  const link = new URL(stdout.at(-1)?.split('\n')[1] ?? '');
  return link.searchParams.get('state') ?? '';
}

describe('Integration: connecting a shop', () => {
  beforeAll(async () => {
    [secretsManager, eventBridge, tiktok] = await Promise.all([
      startLocalSecretsManager(),
      startLocalEventBridge(),
      startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET }),
    ]);
    secretsManager.seed(
      CREDENTIALS_ID,
      JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    );
    secretsManager.seed(STATE_KEY_ID, STATE_KEY);
    client = new SecretsManagerClient({
      endpoint: secretsManager.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  afterAll(async () => {
    client.destroy();
    await Promise.all([secretsManager.close(), eventBridge.close(), tiktok.close()]);
  });

  beforeEach(() => {
    vi.resetModules();
    secretsManager.reset();
    eventBridge.reset();
    tiktok.reset();
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', eventBridge.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'onboarding-it');
    vi.stubEnv('APP_CREDENTIALS_SECRET_ID', CREDENTIALS_ID);
    vi.stubEnv('CALLBACK_STATE_SECRET_ID', STATE_KEY_ID);
    vi.stubEnv('TIKTOK_AUTH_BASE_URL', tiktok.url);
    stdout = [];
    stderr = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      stdout.push(args.join(' '));
      emitted.push(args.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      stderr.push(args.join(' '));
      emitted.push(args.join(' '));
    });
    const capture = (chunk: unknown) => {
      emitted.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  });

  describe('with npm run authorize', () => {
    it('creates the shop’s secret, tagged for discovery, holding TikTok’s answer', async () => {
      // Prepare
      const secret = 'tiktok-shop/tokens/onboard-a';

      // Act
      const code = await authorize(['--auth-code', newAuthCode(), '--shop', 'onboard-a'], cliEnv());

      // Assess
      expect(code).toBe(0);
      const versions = secretsManager.versions(secret);
      expect(versions.map((version) => version.stages)).toEqual([['AWSCURRENT']]);
      expect(tiktok.isRefreshTokenValid(tokenIn(versions[0]?.secretString).refresh_token)).toBe(
        true,
      );
      expect(await tagsOf(secret)).toEqual([
        { Key: DEFAULT_TOKEN_SECRET_TAG_KEY, Value: 'onboard-a' },
      ]);
      expect(stdout[0]).toContain(`Shop onboard-a connected: created secret ${secret}`);
      expect(stdout[0]).toMatch(/access token expires: \d{4}-.*Z\n {2}refresh token expires: /);
    });

    it('adds a version for a second authorization: AWSCURRENT moves, AWSPREVIOUS keeps the old token', async () => {
      const secret = 'tiktok-shop/tokens/onboard-b';
      await authorize(['--auth-code', newAuthCode(), '--shop', 'onboard-b'], cliEnv());
      const first = secretsManager.current(secret);

      const code = await authorize(['--auth-code', newAuthCode(), '--shop', 'onboard-b'], cliEnv());

      expect(code).toBe(0);
      const byStage = new Map(
        secretsManager.versions(secret).flatMap((v) => v.stages.map((s) => [s, v.secretString])),
      );
      expect(byStage.get('AWSPREVIOUS')).toBe(first);
      expect(byStage.get('AWSCURRENT')).not.toBe(first);
      expect(secretsManager.versions(secret)).toHaveLength(2);
      expect(await tagsOf(secret)).toEqual([
        { Key: DEFAULT_TOKEN_SECRET_TAG_KEY, Value: 'onboard-b' },
      ]);
      expect(stdout[1]).toContain('(the previous token is kept as AWSPREVIOUS)');
    });

    it('stores nothing and reports TikTok’s code for a code that is invalid or already used', async () => {
      const secret = 'tiktok-shop/tokens/onboard-c';
      const authCode = newAuthCode();
      await authorize(['--auth-code', authCode, '--shop', 'onboard-c'], cliEnv());
      const before = secretsManager.versions(secret);
      secretsManager.reset();

      const used = await authorize(['--auth-code', authCode, '--shop', 'onboard-c'], cliEnv());
      const invalid = await authorize(
        ['--auth-code', 'AUTHCODE_never_issued', '--shop', 'onboard-d'],
        cliEnv(),
      );

      expect([used, invalid]).toEqual([1, 1]);
      expect(stderr).toHaveLength(2);
      for (const line of stderr) expect(line).toContain('TikTok code 36004004');
      expect(secretsManager.versions(secret)).toEqual(before);
      expect(writesTo(secret) + writesTo('tiktok-shop/tokens/onboard-d')).toBe(0);
      expect(() => secretsManager.versions('tiktok-shop/tokens/onboard-d')).toThrow();
    });

    it('adds no version when the same store is retried', async () => {
      const store = new SecretsManagerTokenStore({ client, writesPerSecond: 50 });
      const raw = JSON.stringify({ code: 0, data: { note: 'retried write' } });
      const tag = { tagKey: DEFAULT_TOKEN_SECRET_TAG_KEY, tagValue: 'onboard-e' };

      const first = await store.storeFirstToken('tiktok-shop/tokens/onboard-e', raw, tag);
      const again = await store.storeFirstToken('tiktok-shop/tokens/onboard-e', raw, tag);

      expect(first).toMatchObject({ created: true });
      expect(again).toMatchObject({ created: false, versionId: first.versionId, arn: first.arn });
      expect(secretsManager.versions('tiktok-shop/tokens/onboard-e')).toHaveLength(1);
    });

    it('hands the shop to the refresher, which finds it by its tag, and to readers', async () => {
      const secret = 'tiktok-shop/tokens/onboard-f';
      await authorize(['--auth-code', newAuthCode(), '--shop', 'onboard-f'], cliEnv());
      vi.stubEnv('TOKEN_SECRET_IDS', '');
      vi.stubEnv('TOKEN_SECRET_TAG_KEY', DEFAULT_TOKEN_SECRET_TAG_KEY);
      const { handler } = await import('../../lambda/refresher/handler.js');

      const summary: RunSummary = await handler({ force: true, shops: [secret] }, context);
      const token = await getShopToken(secret);

      emitted.push(JSON.stringify(summary));
      expect(summary.shops).toMatchObject([{ shop: secret, outcome: 'refreshed' }]);
      expect(
        tiktok.isRefreshTokenValid(tokenIn(secretsManager.current(secret)).refresh_token),
      ).toBe(true);
      expect(token.accessTokenExpiresAt.toISOString()).toBe(summary.shops[0]?.accessTokenExpiresAt);
    });
  });

  describe('through the consent callback', () => {
    it('connects the shop named in a state from the consent link, without showing the token', async () => {
      // Prepare
      const secret = 'tiktok-shop/tokens/onboard-g';
      const state = await consentState('onboard-g');

      // Act
      const answer = await callback({ code: newAuthCode(), state });

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain(
        'Shop onboard-g is connected. Its token will be refreshed automatically.',
      );
      const stored = tokenIn(secretsManager.current(secret));
      expect(tiktok.isRefreshTokenValid(stored.refresh_token)).toBe(true);
      expect(await tagsOf(secret)).toEqual([
        { Key: DEFAULT_TOKEN_SECRET_TAG_KEY, Value: 'onboard-g' },
      ]);
    });

    it.each([
      [
        'a tampered signature',
        async () => {
          const [shop, expiry, mac = ''] = (await consentState('onboard-h')).split('.');
          // The first character carries six bits of the MAC (the last one partly padding).
          const flipped = mac.startsWith('A') ? `B${mac.slice(1)}` : `A${mac.slice(1)}`;
          return `${shop}.${expiry}.${flipped}`;
        },
      ],
      [
        'an expired state',
        async () =>
          signConsentState('onboard-h', STATE_KEY, {
            now: Date.now() - (CONSENT_STATE_TTL_SECONDS + 60) * 1000,
          }),
      ],
      [
        'a state for another shop',
        async () => {
          const [, expiry, mac] = (await consentState('onboard-h')).split('.');
          return `${Buffer.from('onboard-victim').toString('base64url')}.${expiry}.${mac}`;
        },
      ],
    ])('answers 400 to %s without calling TikTok or storing anything', async (_, makeState) => {
      const state = await makeState();

      const answer = await callback({ code: newAuthCode(), state });

      expect(answer.statusCode).toBe(400);
      expect(tokenExchanges()).toBe(0);
      expect(writesTo('tiktok-shop/tokens/onboard-h')).toBe(0);
      expect(writesTo('tiktok-shop/tokens/onboard-victim')).toBe(0);
    });

    it('answers 400 with TikTok’s code for a used code, storing nothing', async () => {
      const authCode = newAuthCode();
      await callback({ code: authCode, state: await consentState('onboard-i') });
      const before = secretsManager.versions('tiktok-shop/tokens/onboard-i');

      const answer = await callback({ code: authCode, state: await consentState('onboard-i') });

      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain('TikTok code 36004004');
      expect(secretsManager.versions('tiktok-shop/tokens/onboard-i')).toEqual(before);
    });
  });

  it('never lets a token, a code, the app secret or the signing key out', () => {
    const everything = emitted.join('\n');
    const secrets = [...tiktok.issuedSecrets(), STATE_KEY];

    expect(emitted.length).toBeGreaterThan(20);
    expect(secrets.length).toBeGreaterThan(15);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('app_secret=');
  });
});
