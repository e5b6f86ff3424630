import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CONSENT_STATE_TTL_SECONDS,
  signConsentState,
} from '../../lambda/onboarding/consent-state.js';
import { GET_TOKEN_PATH, type LocalTikTok, startLocalTikTok } from '../local/endpoints/tiktok.js';

const APP_KEY = 'callback-app-key';
const APP_SECRET = 'APPSECRET_callback_1b2c3d4e5f6a7b8c';
const STATE_KEY = 'STATEKEY_callback_fedcba9876543210fedcba98';
const CREDENTIALS_ID = 'tiktok-shop/app-credentials';
const STATE_KEY_ID = 'tiktok-shop/callback-state-key';
const SECRET = 'tiktok-shop/tokens/acme-uk';
const ARN = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SECRET}-AbCdEf`;

const sm = mockClient(SecretsManagerClient);
let tiktok: LocalTikTok;
/** Pages and log lines of every test, checked for secrets at the end. */
const emitted: string[] = [];
let testStart = 0;
let codeSerial = 0;

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

function newAuthCode(): string {
  codeSerial++;
  const authCode = `AUTHCODE_callback_${codeSerial}_3e4f5a`;
  tiktok.addSeller({ authCode, sellerName: 'Acme UK Ltd' });
  return authCode;
}

function state(shop = 'acme-uk', options: { now?: number; key?: string } = {}): string {
  return signConsentState(shop, options.key ?? STATE_KEY, { now: options.now ?? Date.now() });
}

async function invoke(query: Record<string, string> | undefined, method = 'GET'): Promise<Answer> {
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
    getRemainingTimeInMillis: () => 60_000,
  } as unknown as Context;
  const answer = (await handler(event, context)) as Answer;
  emitted.push(answer.body);
  return answer;
}

function logLines(): Record<string, unknown>[] {
  return emitted.slice(testStart).flatMap((chunk) =>
    chunk
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}

function tokenGets(): number {
  return tiktok.calls.filter((call) => call.path === GET_TOKEN_PATH).length;
}

function writes(): number {
  return (
    sm.commandCalls(CreateSecretCommand).length +
    sm.commandCalls(PutSecretValueCommand).length +
    sm.commandCalls(TagResourceCommand).length
  );
}

describe('Function: consent callback handler', () => {
  beforeAll(async () => {
    tiktok = await startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET });
  });

  afterAll(async () => {
    await tiktok.close();
  });

  beforeEach(() => {
    testStart = emitted.length;
    vi.resetModules();
    sm.reset();
    tiktok.reset();
    sm.on(GetSecretValueCommand, { SecretId: CREDENTIALS_ID }).resolves({
      VersionId: 'c1',
      SecretString: JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    });
    sm.on(GetSecretValueCommand, { SecretId: STATE_KEY_ID }).resolves({
      VersionId: 'k1',
      SecretString: STATE_KEY,
    });
    sm.on(CreateSecretCommand).resolves({ ARN, Name: SECRET });
    sm.on(PutSecretValueCommand).resolves({ ARN, Name: SECRET });
    sm.on(TagResourceCommand).resolves({});
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'callback-test');
    vi.stubEnv('APP_CREDENTIALS_SECRET_ID', CREDENTIALS_ID);
    vi.stubEnv('CALLBACK_STATE_SECRET_ID', STATE_KEY_ID);
    vi.stubEnv('TOKEN_SECRET_PREFIX', '');
    vi.stubEnv('TOKEN_SECRET_TAG_KEY', '');
    vi.stubEnv('TIKTOK_AUTH_BASE_URL', tiktok.url);
    const capture = (chunk: unknown) => {
      emitted.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  });

  describe('a valid redirect', () => {
    it('stores the shop’s first token in a new tagged secret and says the shop is connected', async () => {
      // Prepare
      const code = newAuthCode();

      // Act
      const answer = await invoke({ code, state: state() });

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain(
        'Shop acme-uk is connected. Its token will be refreshed automatically.',
      );
      const [created] = sm.commandCalls(CreateSecretCommand).map((call) => call.args[0].input);
      expect(created).toMatchObject({
        Name: SECRET,
        Tags: [{ Key: 'tiktok-shop-token', Value: 'acme-uk' }],
      });
      const stored = JSON.parse(created?.SecretString ?? '{}') as {
        data: { access_token: string; refresh_token: string };
      };
      expect(tiktok.isRefreshTokenValid(stored.data.refresh_token)).toBe(true);
      expect(answer.body).not.toContain(stored.data.access_token);
      expect(logLines().find((line) => line.message === 'shop connected')).toMatchObject({
        level: 'INFO',
        shop: 'acme-uk',
        secretName: SECRET,
        created: true,
      });
    });

    it('answers a page that loads nothing and is not cached', async () => {
      const answer = await invoke({ code: newAuthCode(), state: state() });

      expect(answer.headers).toMatchObject({
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'",
        'referrer-policy': 'no-referrer',
      });
      expect(answer.body).not.toMatch(/<script|<img|<link|https?:/);
    });

    it('adds a current version to the secret of a shop that authorizes again', async () => {
      sm.on(CreateSecretCommand).rejects(
        new ResourceExistsException({ message: 'already exists', $metadata: {} }),
      );

      const answer = await invoke({ code: newAuthCode(), state: state() });

      expect(answer.statusCode).toBe(200);
      expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretId).toBe(SECRET);
      expect(sm.commandCalls(TagResourceCommand)).toHaveLength(1);
      expect(logLines().find((line) => line.message === 'shop connected')?.created).toBe(false);
    });

    it('names the secret after TOKEN_SECRET_PREFIX and tags it with TOKEN_SECRET_TAG_KEY', async () => {
      vi.stubEnv('TOKEN_SECRET_PREFIX', 'eu/');
      vi.stubEnv('TOKEN_SECRET_TAG_KEY', 'team-token');

      await invoke({ code: newAuthCode(), state: state() });

      expect(sm.commandCalls(CreateSecretCommand)[0]?.args[0].input).toMatchObject({
        Name: 'eu/tokens/acme-uk',
        Tags: [{ Key: 'team-token', Value: 'acme-uk' }],
      });
    });
  });

  describe('a redirect it did not issue', () => {
    it.each([
      [
        'a state whose shop was swapped for another',
        () => {
          const [, expiry, mac] = state('acme-uk').split('.');
          return `${Buffer.from('rival-shop').toString('base64url')}.${expiry}.${mac}`;
        },
        'was not issued by us',
      ],
      [
        'a state signed with another key',
        () => state('acme-uk', { key: 'x'.repeat(40) }),
        'was not issued by us',
      ],
      [
        'an expired state',
        () => state('acme-uk', { now: Date.now() - (CONSENT_STATE_TTL_SECONDS + 1) * 1000 }),
        'has expired',
      ],
      ['a malformed state', () => 'not-a-state', 'was not issued by us'],
    ])('answers 400 for %s and calls neither TikTok nor a write', async (_, makeState, why) => {
      const code = newAuthCode();

      const answer = await invoke({ code, state: makeState() });

      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain(why);
      expect(answer.body).toContain('Nothing was changed.');
      expect(tokenGets()).toBe(0);
      expect(writes()).toBe(0);
      expect(sm.commandCalls(GetSecretValueCommand, { SecretId: CREDENTIALS_ID })).toHaveLength(0);
      expect(logLines().find((line) => line.message === 'consent callback refused')).toMatchObject({
        level: 'WARN',
      });
    });

    it.each([
      ['no query string', undefined],
      ['no state', { code: 'AUTHCODE_nostate' }],
      ['no code', { state: 'abc.1.def' }],
    ])('answers 400 for %s', async (_, query) => {
      const answer = await invoke(query);

      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain('missing its authorization code or state');
      expect(tokenGets()).toBe(0);
    });

    it('answers 405 to anything but GET', async () => {
      const answer = await invoke({ code: newAuthCode(), state: state() }, 'POST');

      expect(answer.statusCode).toBe(405);
      expect(answer.headers.allow).toBe('GET');
      expect(tokenGets()).toBe(0);
    });
  });

  describe('when TikTok refuses', () => {
    it('answers 400 with TikTok’s code and message for an invalid or used code, storing nothing', async () => {
      const code = newAuthCode();
      tiktok.failNext(1, { code: 36004004, message: `auth_code ${code} is invalid` });

      const answer = await invoke({ code, state: state() });

      expect(answer.statusCode).toBe(400);
      expect(answer.body).toContain('TikTok code 36004004: auth_code [redacted] is invalid');
      expect(answer.body).toContain('Nothing was stored.');
      expect(answer.body).not.toContain(code);
      expect(writes()).toBe(0);
      expect(
        logLines().find((line) => line.message === 'TikTok refused the authorization code'),
      ).toMatchObject({ level: 'WARN', shop: 'acme-uk', tiktokCode: 36004004 });
    });

    it('answers 502 for a code TikTok does not document, storing nothing', async () => {
      tiktok.failNext(1, { code: 12345678, message: 'something <b>new</b>' });

      const answer = await invoke({ code: newAuthCode(), state: state() });

      expect(answer.statusCode).toBe(502);
      expect(answer.body).toContain('code 12345678: something &lt;b&gt;new&lt;/b&gt;');
      expect(writes()).toBe(0);
    });
  });

  describe('when something on our side fails', () => {
    it('answers a generic 500 and logs TokenNotStored when the token cannot be stored', async () => {
      sm.on(CreateSecretCommand).rejects(
        Object.assign(new Error('User arn:aws:iam::123456789012:role/x is not authorized'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        }),
      );

      const answer = await invoke({ code: newAuthCode(), state: state() });

      expect(answer.statusCode).toBe(500);
      expect(answer.body).toContain('Something went wrong on our side');
      expect(answer.body).not.toContain('123456789012');
      expect(logLines().find((line) => line.message === 'shop not connected')).toMatchObject({
        level: 'ERROR',
        shop: 'acme-uk',
        errorType: 'TokenNotStoredError',
        errorMessage: expect.stringContaining('AccessDeniedException'),
      });
    });

    it('answers 500 and names every missing setting in the log', async () => {
      vi.stubEnv('APP_CREDENTIALS_SECRET_ID', '');
      vi.stubEnv('CALLBACK_STATE_SECRET_ID', '');
      vi.stubEnv('TIKTOK_AUTH_BASE_URL', 'http://auth.example.com');

      const answer = await invoke({ code: newAuthCode(), state: state() });

      expect(answer.statusCode).toBe(500);
      const failed = logLines().find((line) => line.message === 'consent callback failed');
      expect(failed?.errorType).toBe('ConfigurationError');
      expect(JSON.stringify(failed)).toContain('APP_CREDENTIALS_SECRET_ID is required');
      expect(JSON.stringify(failed)).toContain('CALLBACK_STATE_SECRET_ID is required');
      expect(JSON.stringify(failed)).toContain('TIKTOK_AUTH_BASE_URL must use https');
      expect(tokenGets()).toBe(0);
    });

    it('answers 500 without calling TikTok when the signing key is too short', async () => {
      sm.on(GetSecretValueCommand, { SecretId: STATE_KEY_ID }).resolves({
        VersionId: 'k2',
        SecretString: 'short',
      });

      const answer = await invoke({ code: newAuthCode(), state: state() });

      expect(answer.statusCode).toBe(500);
      expect(logLines().find((line) => line.message === 'consent callback failed')?.errorType).toBe(
        'MalformedSecretError',
      );
      expect(tokenGets()).toBe(0);
    });
  });

  it('never lets a token, a code, the app secret or the signing key reach a page or a log line', () => {
    const everything = emitted.join('\n');
    const secrets = [...tiktok.issuedSecrets(), STATE_KEY];

    expect(emitted.length).toBeGreaterThan(20);
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('app_secret=');
  });
});
