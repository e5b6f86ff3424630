import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../lambda/commands/authorize.js';
import { verifyConsentState } from '../../lambda/onboarding/consent-state.js';
import { ENV } from '../../lambda/shared/contract.js';
import { versionIdFor } from '../../lambda/shared/secrets-store.js';
import {
  GET_TOKEN_PATH,
  type LocalTikTok,
  startLocalTikTok,
  TIKTOK_CODE,
} from '../local/endpoints/tiktok.js';

const APP_KEY = 'authorize-app-key';
const APP_SECRET = 'APPSECRET_authorize_7c6b5a4d3e2f1a0b';
const STATE_KEY = 'STATEKEY_authorize_0123456789abcdef0123456789';
const SECRET = 'tiktok-shop/tokens/acme-uk';
const ARN = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SECRET}-AbCdEf`;
const USAGE_LINE = /\nusage:\n {2}npm run authorize -- --auth-code/;

const sm = mockClient(SecretsManagerClient);

describe('Function: main (npm run authorize)', () => {
  let tiktok: LocalTikTok;
  let dir: string;
  let env: Record<string, string>;
  let stdout: string[];
  let stderr: string[];
  let codeSerial = 0;
  /** Everything printed by every test, checked for secrets at the end. */
  const printedBySuite: string[] = [];

  const printed = (): string => [...stdout, ...stderr].join('\n');

  /** A seller whose authorization code works once. */
  function newAuthCode(): string {
    codeSerial++;
    const authCode = `AUTHCODE_authorize_${codeSerial}_9f8e7d`;
    tiktok.addSeller({ authCode, sellerName: 'Acme UK Ltd' });
    return authCode;
  }

  function createdSecrets() {
    return sm.commandCalls(CreateSecretCommand).map((call) => call.args[0].input);
  }

  function putValues() {
    return sm.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input);
  }

  beforeAll(async () => {
    tiktok = await startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET });
  });

  afterAll(async () => {
    await tiktok.close();
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'authorize-test-'));
    sm.reset();
    sm.on(CreateSecretCommand).resolves({ ARN, Name: SECRET });
    sm.on(PutSecretValueCommand).resolves({ ARN, Name: SECRET });
    sm.on(TagResourceCommand).resolves({});
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    env = {
      TIKTOK_APP_KEY: APP_KEY,
      TIKTOK_APP_SECRET: APP_SECRET,
      [ENV.tiktokAuthBaseUrl]: tiktok.url,
    };
    stdout = [];
    stderr = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      stdout.push(args.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      stderr.push(args.join(' '));
    });
  });

  afterEach(async () => {
    printedBySuite.push(printed());
    tiktok.reset();
    await rm(dir, { recursive: true, force: true });
  });

  describe('usage errors', () => {
    it.each([
      [[], '--shop is required'],
      [['--shop', 'acme-uk'], '--auth-code (or --consent-link) is required'],
      [['--shop', '../acme', '--auth-code', 'x'], 'shop name must be 1 to 64 letters'],
      [['--shop', 'a/b', '--auth-code', 'x'], 'shop name must be 1 to 64 letters'],
      [['--shop', 'acme-uk', '--auth-code', 'x', '--verbose'], "Unknown option '--verbose'"],
      [
        [
          '--shop',
          'acme-uk',
          '--auth-code',
          'x',
          '--token-file',
          'a.json',
          '--secret-prefix',
          'p/',
        ],
        '--token-file and --secret-prefix exclude each other',
      ],
      [['--shop', 'acme-uk', '--auth-code', 'x', '--region', 'us'], 'go with --consent-link'],
      [['--consent-link', '--shop', 'acme-uk'], '--service-id (or TIKTOK_SERVICE_ID) is required'],
      [
        ['--consent-link', '--shop', 'acme-uk', '--service-id', '1', '--region', 'eu'],
        '--region must be row or us',
      ],
      [
        ['--consent-link', '--shop', 'acme-uk', '--auth-code', 'x'],
        '--consent-link takes neither --auth-code nor --token-file',
      ],
    ])('exits 2 for %j, saying %s, and calls nothing', async (argv, expected) => {
      const code = await main(argv, env);

      expect(code).toBe(2);
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toContain(expected);
      expect(stderr[0]).toMatch(USAGE_LINE);
      expect(stdout).toEqual([]);
      expect(tiktok.calls).toEqual([]);
      expect(sm.calls()).toEqual([]);
    });

    it('exits 2 when only one of TIKTOK_APP_KEY and TIKTOK_APP_SECRET is set', async () => {
      const code = await main(['--shop', 'acme-uk', '--auth-code', 'x'], {
        TIKTOK_APP_KEY: APP_KEY,
      });

      expect(code).toBe(2);
      expect(stderr[0]).toContain(
        'set both TIKTOK_APP_KEY and TIKTOK_APP_SECRET, or neither to read them from the secret tiktok-shop/app-credentials',
      );
      expect(tiktok.calls).toEqual([]);
    });

    it('exits 2 for a TikTok URL that is not https', async () => {
      const code = await main(['--shop', 'acme-uk', '--auth-code', 'x'], {
        ...env,
        [ENV.tiktokAuthBaseUrl]: 'http://auth.example.com',
      });

      expect(code).toBe(2);
      expect(stderr[0]).toContain('TIKTOK_AUTH_BASE_URL must use https');
    });
  });

  describe('storing into Secrets Manager', () => {
    it('creates the shop’s secret, tagged for discovery, holding TikTok’s answer byte for byte', async () => {
      // Prepare: TikTok's answer with its own spacing, which must survive unchanged.
      const now = Math.floor(Date.now() / 1000);
      const answer = `{"code":0,  "message":"success","data":{"access_token":"TTS_AT_bytes_1a2b3c","access_token_expire_in":${now + 7 * 86_400},"refresh_token":"TTS_RT_bytes_4d5e6f","refresh_token_expire_in":${now + 365 * 86_400},"seller_name":"Acme UK Ltd","open_id":"open_acme"} ,"request_id":"2025ABC"}`;
      tiktok.failNext(1, { body: answer });

      // Act
      const code = await main(['--auth-code', 'AUTHCODE_bytes', '--shop', 'acme-uk'], env);

      // Assess
      expect(code).toBe(0);
      expect(createdSecrets()).toEqual([
        {
          Name: SECRET,
          SecretString: answer,
          ClientRequestToken: versionIdFor(SECRET, answer),
          Tags: [{ Key: 'tiktok-shop-token', Value: 'acme-uk' }],
        },
      ]);
      expect(putValues()).toEqual([]);
      expect(stdout[0]?.split('\n')).toEqual([
        `Shop acme-uk connected: created secret ${SECRET}, tagged for discovery by the refresher`,
        `  version: ${versionIdFor(SECRET, answer)}`,
        '  seller: Acme UK Ltd',
        `  access token expires: ${new Date((now + 7 * 86_400) * 1000).toISOString()}`,
        `  refresh token expires: ${new Date((now + 365 * 86_400) * 1000).toISOString()}`,
      ]);
      expect(printed()).not.toContain('TTS_');
    });

    it('exchanges the code with a GET to /api/v2/token/get, once', async () => {
      const authCode = newAuthCode();

      await main(['--auth-code', authCode, '--shop', 'acme-uk'], env);

      expect(tiktok.calls.map((call) => [call.method, call.path, call.code])).toEqual([
        ['GET', GET_TOKEN_PATH, 0],
      ]);
      const stored = JSON.parse(createdSecrets()[0]?.SecretString ?? '{}') as {
        data: { refresh_token: string };
      };
      expect(tiktok.isRefreshTokenValid(stored.data.refresh_token)).toBe(true);
    });

    it('adds a current version, with an idempotent request token, and tags an existing secret', async () => {
      sm.on(CreateSecretCommand).rejects(
        new ResourceExistsException({ message: 'the secret already exists', $metadata: {} }),
      );

      const code = await main(['--auth-code', newAuthCode(), '--shop', 'acme-uk'], env);

      expect(code).toBe(0);
      const [put] = putValues();
      expect(put).toEqual({
        SecretId: SECRET,
        SecretString: put?.SecretString,
        ClientRequestToken: versionIdFor(SECRET, put?.SecretString ?? ''),
      });
      expect(put).not.toHaveProperty('VersionStages');
      expect(sm.commandCalls(TagResourceCommand)[0]?.args[0].input).toEqual({
        SecretId: SECRET,
        Tags: [{ Key: 'tiktok-shop-token', Value: 'acme-uk' }],
      });
      expect(stdout[0]).toContain(
        `stored a new current version of secret ${SECRET} (the previous token is kept as AWSPREVIOUS)`,
      );
    });

    it('names the secret after --secret-prefix and tags it with TOKEN_SECRET_TAG_KEY', async () => {
      await main(['--auth-code', newAuthCode(), '--shop', 'acme-uk', '--secret-prefix', 'eu/'], {
        ...env,
        [ENV.tokenSecretTagKey]: 'team-tiktok-token',
      });

      expect(createdSecrets()[0]).toMatchObject({
        Name: 'eu/tokens/acme-uk',
        Tags: [{ Key: 'team-tiktok-token', Value: 'acme-uk' }],
      });
    });

    it('reads the app key and secret from the app-credentials secret when the environment has none', async () => {
      sm.on(GetSecretValueCommand, { SecretId: 'team/app-credentials' }).resolves({
        VersionId: 'c1',
        SecretString: JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
      });

      const code = await main(['--auth-code', newAuthCode(), '--shop', 'acme-uk'], {
        [ENV.tiktokAuthBaseUrl]: tiktok.url,
        [ENV.appCredentialsSecretId]: 'team/app-credentials',
      });

      expect(code).toBe(0);
      expect(createdSecrets()).toHaveLength(1);
    });

    it.each([
      [TIKTOK_CODE.invalidAuthCode, 'invalid auth code'],
      [TIKTOK_CODE.invalidAppCredentials, 'invalid app_key or app_secret'],
    ])(
      'stores nothing and exits 1 with TikTok’s code when TikTok answers %i',
      async (tiktokCode, message) => {
        tiktok.failNext(1, { code: tiktokCode, message });

        const code = await main(['--auth-code', 'AUTHCODE_refused_1', '--shop', 'acme-uk'], env);

        expect(code).toBe(1);
        expect(stderr).toHaveLength(1);
        expect(stderr[0]).toMatch(/^error: shop acme-uk not connected, nothing stored: /);
        expect(stderr[0]).toContain(`code ${tiktokCode}: ${message}`);
        expect(stdout).toEqual([]);
        expect(sm.calls()).toEqual([]);
      },
    );

    it('refuses a code that was already used, storing nothing the second time', async () => {
      const authCode = newAuthCode();
      await main(['--auth-code', authCode, '--shop', 'acme-uk'], env);
      sm.resetHistory();

      const code = await main(['--auth-code', authCode, '--shop', 'acme-uk'], env);

      expect(code).toBe(1);
      expect(stderr[0]).toContain('TikTok code 36004004');
      expect(sm.calls()).toEqual([]);
    });

    it('exits 1, saying the seller must approve again, when the token cannot be stored', async () => {
      sm.on(CreateSecretCommand).rejects(
        Object.assign(new Error('not authorized to perform CreateSecret'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        }),
      );

      const code = await main(['--auth-code', newAuthCode(), '--shop', 'acme-uk'], env);

      expect(code).toBe(1);
      expect(stderr[0]).toContain('could not be stored');
      expect(stderr[0]).toContain('the seller must approve the app again');
      expect(stderr[0]).toContain('AccessDeniedException');
    });
  });

  describe('storing into a file', () => {
    it('writes TikTok’s answer to a new owner-only file, without any AWS call', async () => {
      const file = join(dir, 'acme-uk.json');

      const code = await main(
        ['--auth-code', newAuthCode(), '--shop', 'acme-uk', '--token-file', file],
        env,
      );

      expect(code).toBe(0);
      const stored = JSON.parse(await readFile(file, 'utf8')) as { code: number };
      expect(stored.code).toBe(0);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readdir(dir)).toEqual(['acme-uk.json']);
      expect(stdout[0]).toMatch(/^Shop acme-uk connected: created token file .*acme-uk\.json\n/);
      expect(sm.calls()).toEqual([]);
    });

    it('replaces an existing token and keeps the old one as <file>.previous', async () => {
      const file = join(dir, 'acme-uk.json');
      await writeFile(file, '{"old":"TTS_AT_old_file_token"}', { mode: 0o600 });

      const code = await main(
        ['--auth-code', newAuthCode(), '--shop', 'acme-uk', '--token-file', file],
        env,
      );

      expect(code).toBe(0);
      expect(await readFile(`${file}.previous`, 'utf8')).toBe('{"old":"TTS_AT_old_file_token"}');
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ code: 0 });
      expect((await readdir(dir)).sort()).toEqual(['acme-uk.json', 'acme-uk.json.previous']);
      expect(stdout[0]).toContain('(the previous one is kept in');
    });

    it('refuses an unwritable place before the code is used up', async () => {
      const authCode = newAuthCode();
      const file = join(dir, 'missing-dir', 'acme-uk.json');

      const code = await main(
        ['--auth-code', authCode, '--shop', 'acme-uk', '--token-file', file],
        env,
      );

      expect(code).toBe(1);
      expect(stderr[0]).toContain(`token file ${file} cannot be written (ENOENT)`);
      expect(tiktok.calls).toEqual([]);
      const retried = await main(
        ['--auth-code', authCode, '--shop', 'acme-uk', '--token-file', join(dir, 'acme-uk.json')],
        env,
      );
      expect(retried).toBe(0);
    });

    it('leaves no file when TikTok refuses the code', async () => {
      const file = join(dir, 'acme-uk.json');

      const code = await main(
        ['--auth-code', 'AUTHCODE_unknown_2', '--shop', 'acme-uk', '--token-file', file],
        env,
      );

      expect(code).toBe(1);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  describe('consent links', () => {
    beforeEach(() => {
      sm.on(GetSecretValueCommand, { SecretId: 'tiktok-shop/callback-state-key' }).resolves({
        VersionId: 'k1',
        SecretString: STATE_KEY,
      });
    });

    it('prints the rest-of-world link with a state the callback accepts for this shop', async () => {
      const code = await main(
        ['--consent-link', '--shop', 'acme-uk', '--service-id', '7012345678'],
        env,
      );

      expect(code).toBe(0);
      const link = new URL(stdout[0]?.split('\n')[1] ?? '');
      expect(`${link.origin}${link.pathname}`).toBe(
        'https://services.tiktokshop.com/open/authorize',
      );
      expect(link.searchParams.get('service_id')).toBe('7012345678');
      const check = verifyConsentState(link.searchParams.get('state') ?? '', STATE_KEY, {
        now: Date.now(),
      });
      expect(check).toMatchObject({ valid: true, shop: 'acme-uk' });
      expect(tiktok.calls).toEqual([]);
    });

    it('prints the US link and reads the service id and key secret from the environment', async () => {
      sm.on(GetSecretValueCommand, { SecretId: 'team/state-key' }).resolves({
        VersionId: 'k2',
        SecretString: STATE_KEY,
      });

      const code = await main(['--consent-link', '--shop', 'acme-us', '--region', 'us'], {
        TIKTOK_SERVICE_ID: '7099',
        CALLBACK_STATE_SECRET_ID: 'team/state-key',
      });

      expect(code).toBe(0);
      expect(stdout[0]).toContain(
        'https://services.us.tiktokshop.com/open/authorize?service_id=7099&state=',
      );
    });

    it('exits 1 naming the key secret when it cannot be read', async () => {
      sm.on(GetSecretValueCommand).rejects(
        new ResourceNotFoundException({ message: "can't find the secret", $metadata: {} }),
      );

      const code = await main(['--consent-link', '--shop', 'acme-uk', '--service-id', '1'], env);

      expect(code).toBe(1);
      expect(stderr[0]).toBe(
        "error: could not read secret tiktok-shop/callback-state-key: ResourceNotFoundException: can't find the secret",
      );
    });
  });

  it('never prints a token, an authorization code, the app secret or the signing key', () => {
    const everything = printedBySuite.join('\n');
    const secrets = [...tiktok.issuedSecrets(), STATE_KEY, 'TTS_AT_bytes_1a2b3c'];

    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('app_secret=');
  });
});
