import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  DescribeSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../lambda/commands/authorize.js';
import { verifyConsentState } from '../../lambda/onboarding/consent-state.js';
import {
  APPS_ENV,
  DEFAULT_APP_TAG_KEY,
  DETAIL_TYPE,
  ENV,
  SELLER_TAG_KEY,
  SHOP_STATE_TAG,
} from '../../lambda/shared/contract.js';
import { versionIdFor } from '../../lambda/shared/secrets-store.js';
import { shopIdTagKey } from '../../lambda/shared/shop-state.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import { type LocalOpenApi, startLocalOpenApi } from '../local/endpoints/open-api.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import {
  GET_TOKEN_PATH,
  type LocalTikTok,
  shopIdOf,
  startLocalTikTok,
  TIKTOK_CODE,
} from '../local/endpoints/tiktok.js';
import { leaksIn } from '../support/leak-check.js';

const APP_KEY = 'authorize-app-key';
const APP_SECRET = 'APPSECRET_authorize_7c6b5a4d3e2f1a0b';
const US_APP_KEY = 'authorize-us-app-key';
const US_APP_SECRET = 'APPSECRET_authorize_us_0f1e2d3c4b5a';
const STATE_KEY = 'STATEKEY_authorize_0123456789abcdef0123456789';
const STATE_KEY_ID = 'tiktok-shop/callback-state-key';
const TAG_KEY = 'tiktok-shop-token';
const BUS = 'authorize-bus';
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const USAGE_LINE =
  /\nusage:\n {2}tiktok-shop-token-refresher authorize --shop <name> --auth-code-stdin/;
const WRITES = ['CreateSecret', 'PutSecretValue', 'UpdateSecretVersionStage', 'TagResource'];

/** Standard input holding `text`, as a pipe gives it. */
const piped = (text: string) => Readable.from([text]);

describe('Function: main (npm run authorize)', () => {
  let secretsManager: LocalSecretsManager;
  let eventBridge: LocalEventBridge;
  let tiktok: LocalTikTok;
  /** The US app's TikTok: it knows only its own app's key and sellers. */
  let usTikTok: LocalTikTok;
  /** The default app's Open API: the shops of the sellers its TikTok authorized. */
  let openApi: LocalOpenApi;
  let client: SecretsManagerClient;
  let dir: string;
  let env: Record<string, string>;
  let stdout: string[];
  let stderr: string[];
  let serial = 0;
  /** A shop name of this test's own: secrets persist across tests. */
  let shop: string;
  let secret: string;

  const printed = (): string => [...stdout, ...stderr].join('\n');
  /** A seller's open_id of this test's own: a seller is connected under one shop only. */
  const sid = (name: string) => `${name}_${shop}`;

  /** A seller whose authorization code works once. */
  function approval(seller = 'open_acme', host = tiktok): string {
    serial++;
    const authCode = `AUTHCODE_authorize_${serial}_9f8e7d`;
    host.addSeller({ authCode, openId: sid(seller), sellerName: 'Acme UK Ltd' });
    return authCode;
  }

  const authorize = (code: string, ...more: string[]) =>
    main(['--shop', shop, '--auth-code-stdin', ...more], env, piped(`${code}\n`));

  function storedOpenId(name = secret): string | undefined {
    const current = secretsManager.current(name);
    return current && (JSON.parse(current) as { data: { open_id: string } }).data.open_id;
  }

  function writes(): string[] {
    return secretsManager.calls
      .filter((call) => WRITES.includes(call.operation))
      .map((call) => call.operation);
  }

  const described = (name = secret) => client.send(new DescribeSecretCommand({ SecretId: name }));
  const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined) =>
    Object.fromEntries((tags ?? []).map((tag) => [tag.Key, tag.Value]));

  function events() {
    return eventBridge.events.map((event) => ({
      bus: event.EventBusName,
      detailType: event.DetailType,
      detail: event.Detail as Record<string, unknown>,
    }));
  }

  beforeAll(async () => {
    [secretsManager, eventBridge, tiktok, usTikTok] = await Promise.all([
      startLocalSecretsManager(),
      startLocalEventBridge(),
      startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET }),
      startLocalTikTok({ appKey: US_APP_KEY, appSecret: US_APP_SECRET }),
    ]);
    openApi = await startLocalOpenApi({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      accessTokens: (accessToken) => tiktok.accessTokenStatus(accessToken),
      shopIdsOf: (accessToken) => tiktok.shopIdsOfAccessToken(accessToken),
    });
    secretsManager.seed(
      'tiktok-shop/apps/us/credentials',
      JSON.stringify({ app_key: US_APP_KEY, app_secret: US_APP_SECRET }),
    );
    secretsManager.seed(STATE_KEY_ID, STATE_KEY);
    secretsManager.seed(
      'team/app-credentials',
      JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    );
    client = new SecretsManagerClient({
      endpoint: secretsManager.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
  });

  afterAll(async () => {
    client.destroy();
    await Promise.all([
      secretsManager.close(),
      eventBridge.close(),
      tiktok.close(),
      usTikTok.close(),
      openApi.close(),
    ]);
  });

  beforeEach(async () => {
    serial++;
    shop = `acme-${serial}`;
    secret = `tiktok-shop/tokens/${shop}`;
    dir = await mkdtemp(join(tmpdir(), 'authorize-test-'));
    secretsManager.reset();
    eventBridge.reset();
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
    vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', eventBridge.url);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    env = {
      TIKTOK_APP_KEY: APP_KEY,
      TIKTOK_APP_SECRET: APP_SECRET,
      [ENV.tiktokAuthBaseUrl]: tiktok.url,
      [ENV.tiktokApiBaseUrl]: openApi.url,
      [ENV.eventBusName]: BUS,
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
    // Assess: nothing the test's command printed or published gives a secret away
    const output = [printed(), JSON.stringify(eventBridge.events)].join('\n');
    const secrets = [
      ...tiktok.issuedSecrets(),
      ...usTikTok.issuedSecrets(),
      STATE_KEY,
      // The access token of the answer one test plants.
      'TTS_AT_bytes_1a2b3c',
    ];
    expect(leaksIn(output, secrets)).toEqual([]);
    tiktok.reset();
    usTikTok.reset();
    await rm(dir, { recursive: true, force: true });
  });

  describe('usage errors', () => {
    it.each([
      [[], '--shop is required'],
      [['--shop', 'acme-uk'], '--auth-code-stdin, TIKTOK_AUTH_CODE or --auth-code'],
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
        '--token-file excludes --secret-prefix and --kms-key-id',
      ],
      [
        ['--shop', 'acme-uk', '--auth-code', 'x', '--auth-code-stdin'],
        'give the authorization code one way only',
      ],
      [['--shop', 'acme-uk', '--auth-code', 'two words'], 'is not one TikTok issues'],
      [['--shop', 'acme-uk', '--auth-code', 'x', '--region', 'us'], 'go with --consent-link'],
      [['--consent-link', '--shop', 'acme-uk'], '--service-id (or TIKTOK_SERVICE_ID) is required'],
      [
        ['--consent-link', '--shop', 'acme-uk', '--service-id', '1', '--region', 'eu'],
        '--region must be row or us',
      ],
      [
        ['--consent-link', '--shop', 'acme-uk', '--auth-code', 'x'],
        '--consent-link takes no authorization code, --token-file or --replace-seller',
      ],
      [['--shop', 'acme-uk', '--auth-code', 'x', '--app', 'US'], '--app: "US" is no app name'],
      [
        ['--shop', 'acme-uk', '--auth-code', 'x', '--app', 'us'],
        'app "us" is not one this command knows (default): declare the deployment\'s apps in --apps or TIKTOK_APPS',
      ],
      [
        ['--shop', 'acme-uk', '--auth-code', 'x', '--app', 'us', '--apps', 'us:eu'],
        '--apps: invalid entry "us:eu": give <app> or <app>:<row|us>',
      ],
      [
        ['--shop', 'acme-uk', '--auth-code', 'x', '--app', 'us', '--apps', 'us,us:us'],
        '--apps: app "us" is listed twice',
      ],
      [
        ['--consent-link', '--shop', 'acme-uk', '--app', 'us', '--apps', 'us:us'],
        '--service-id (or TIKTOK_SERVICE_ID_US) is required',
      ],
      [
        [
          '--consent-link',
          '--shop',
          'acme-uk',
          '--app',
          'us',
          '--apps',
          'us:us',
          '--region',
          'row',
          '--service-id',
          '1',
        ],
        '--region row: the consent page of app "us" is us',
      ],
    ])('exits 2 for %j, saying %s, and calls nothing', async (argv, expected) => {
      const code = await main(argv, env, piped(''));

      expect(code).toBe(2);
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toContain(expected);
      expect(stderr[0]).toMatch(USAGE_LINE);
      expect(stdout).toEqual([]);
      expect(tiktok.calls).toEqual([]);
      expect(secretsManager.calls).toEqual([]);
    });

    it('names the npm script in the usage when npm runs it as `authorize`', async () => {
      const code = await main([], { ...env, npm_lifecycle_event: 'authorize' }, piped(''));

      expect(code).toBe(2);
      expect(stderr[0]).toMatch(
        /\nusage:\n {2}npm run authorize -- --shop <name> --auth-code-stdin/,
      );
      expect(stderr[0]).toContain("shows in npm's banner and your shell history");
      expect(stderr[0]).not.toContain('tiktok-shop-token-refresher');
    });

    it('exits 2 when only one of TIKTOK_APP_KEY and TIKTOK_APP_SECRET is set', async () => {
      const code = await main(['--shop', shop, '--auth-code', 'x'], { TIKTOK_APP_KEY: APP_KEY });

      expect(code).toBe(2);
      expect(stderr[0]).toContain(
        'set both TIKTOK_APP_KEY and TIKTOK_APP_SECRET, or neither to read them from the secret tiktok-shop/app-credentials',
      );
      expect(tiktok.calls).toEqual([]);
    });

    it('exits 2 for a TikTok URL that is not https', async () => {
      const code = await main(['--shop', shop, '--auth-code', 'x'], {
        ...env,
        [ENV.tiktokAuthBaseUrl]: 'http://auth.example.com',
      });

      expect(code).toBe(2);
      expect(stderr[0]).toContain('TIKTOK_AUTH_BASE_URL must use https');
    });
  });

  describe('the authorization code', () => {
    it.each([
      [
        'standard input',
        (code: string) =>
          main(['--shop', shop, '--auth-code-stdin'], env, piped(`  ${code}\r\nrest`)),
      ],
      [
        'TIKTOK_AUTH_CODE',
        (code: string) => main(['--shop', shop], { ...env, TIKTOK_AUTH_CODE: code }),
      ],
      ['--auth-code', (code: string) => main(['--shop', shop, '--auth-code', code], env)],
    ])('is taken from %s', async (_, run) => {
      const code = await run(approval());

      expect(code).toBe(0);
      expect(storedOpenId()).toBe(sid('open_acme'));
    });

    it('is asked for on a terminal, the prompt on stderr', async () => {
      // Prepare
      const authCode = approval();
      const prompts: string[] = [];
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
        prompts.push(String(chunk));
        return true;
      });
      const terminal = Object.assign(piped(`${authCode}\n`), { isTTY: true });

      // Act
      const code = await main(['--shop', shop, '--auth-code-stdin'], env, terminal);

      // Assess
      expect(code).toBe(0);
      expect(prompts).toEqual(['Paste the authorization code and press Enter: ']);
    });

    it('exits 2 for an empty standard input, calling nothing', async () => {
      const code = await main(['--shop', shop, '--auth-code-stdin'], env, piped('\n'));

      expect(code).toBe(2);
      expect(stderr[0]).toContain('the authorization code from standard input is empty');
      expect(tiktok.calls).toEqual([]);
    });
  });

  describe('storing into Secrets Manager', () => {
    it("tags the secret with the seller's TikTok shop ids, and a reconnect removes a deauthorized mark", async () => {
      // Prepare: connected, then TikTok said the seller revoked the app, who approves it again
      await authorize(approval('open_acme'));
      const shopIds = [shopIdOf(sid('open_acme'))];
      const connected = tagsOf((await described()).Tags);
      await client.send(
        new TagResourceCommand({
          SecretId: secret,
          Tags: [{ Key: SHOP_STATE_TAG.deauthorized, Value: '1767225600:n-6' }],
        }),
      );
      tiktok.revoke(sid('open_acme'));
      serial++;
      const again = `AUTHCODE_authorize_${serial}_again`;
      tiktok.addAuthCode(sid('open_acme'), again);

      // Act
      const code = await authorize(again);

      // Assess
      expect(code).toBe(0);
      expect(connected).toMatchObject({ [shopIdTagKey(shopIds[0] ?? '')]: '1' });
      const reconnected = tagsOf((await described()).Tags);
      expect(reconnected).not.toHaveProperty(SHOP_STATE_TAG.deauthorized);
      expect(reconnected).toMatchObject({ [shopIdTagKey(shopIds[0] ?? '')]: '1' });
      expect(events().at(-1)?.detail).toMatchObject({ tiktokShopIds: shopIds });
      expect(stderr).toEqual([]);
    });

    it('stores the token and warns when the shop ids cannot be learned', async () => {
      // Prepare
      openApi.failNext(1, { httpStatus: 503 });

      // Act
      const code = await authorize(approval());

      // Assess
      expect(code).toBe(0);
      expect(storedOpenId()).toBe(sid('open_acme'));
      expect(stderr).toEqual([
        expect.stringContaining(
          'warning: the TikTok shop ids of the token were not learned (the next refresh tries again',
        ),
      ]);
    });

    it('creates the shop’s secret, tagged with shop and seller, holding TikTok’s answer byte for byte', async () => {
      // Prepare: TikTok's answer with its own spacing, which must survive unchanged.
      const now = Math.floor(Date.now() / 1000);
      const answer = `{"code":0,  "message":"success","data":{"access_token":"TTS_AT_bytes_1a2b3c","access_token_expire_in":${now + 7 * 86_400},"refresh_token":"TTS_RT_bytes_4d5e6f","refresh_token_expire_in":${now + 365 * 86_400},"seller_name":"Acme UK Ltd","open_id":"open_bytes_${shop}"} ,"request_id":"2025ABC"}`;
      tiktok.failNext(1, { body: answer });

      // Act
      const code = await authorize('AUTHCODE_bytes');

      // Assess
      expect(code).toBe(0);
      expect(secretsManager.current(secret)).toBe(answer);
      expect((await described()).Tags).toEqual([
        { Key: TAG_KEY, Value: shop },
        { Key: SELLER_TAG_KEY, Value: `open_bytes_${shop}` },
      ]);
      expect(stdout[0]?.split('\n')).toEqual([
        `Shop ${shop} connected: created secret ${secret}, tagged for discovery by the refresher`,
        '  connection: a new shop',
        `  version: ${versionIdFor(secret, answer)}`,
        `  seller: Acme UK Ltd (open_id open_bytes_${shop})`,
        `  access token expires: ${new Date((now + 7 * 86_400) * 1000).toISOString()}`,
        `  refresh token expires: ${new Date((now + 365 * 86_400) * 1000).toISOString()}`,
      ]);
      expect(printed()).not.toContain('TTS_');
    });

    it('exchanges the code with one GET to /api/v2/token/get and publishes Shop Connected', async () => {
      await authorize(approval());

      expect(tiktok.calls.map((call) => [call.method, call.path, call.code])).toEqual([
        ['GET', GET_TOKEN_PATH, 0],
      ]);
      expect(events()).toEqual([
        {
          bus: BUS,
          detailType: DETAIL_TYPE.shopConnected,
          detail: expect.objectContaining({
            shop: secret,
            shopName: shop,
            connection: 'new',
            openId: sid('open_acme'),
            via: 'authorize-command',
          }),
        },
      ]);
      expect(JSON.stringify(events())).not.toContain('TTS_');
    });

    it('reconnects the same seller: a new current version, the old token as AWSPREVIOUS', async () => {
      await authorize(approval());
      const first = secretsManager.current(secret);

      const code = await authorize(approval());

      expect(code).toBe(0);
      const byStage = new Map(
        secretsManager.versions(secret).flatMap((v) => v.stages.map((s) => [s, v.secretString])),
      );
      expect(byStage.get('AWSPREVIOUS')).toBe(first);
      expect(byStage.get('AWSCURRENT')).not.toBe(first);
      expect(stdout[1]).toContain('(the previous token is kept as AWSPREVIOUS)');
      expect(stdout[1]).toContain('connection: the same seller again');
    });

    it('refuses another seller’s code: the stored token stays, the refusal is published', async () => {
      // Prepare
      await authorize(approval('open_acme'));
      const before = secretsManager.versions(secret);
      secretsManager.reset();
      eventBridge.reset();

      // Act
      const code = await authorize(approval('open_other'));

      // Assess
      expect(code).toBe(1);
      expect(stderr[0]).toContain(`error: shop ${shop} not connected, nothing stored: `);
      expect(stderr[0]).toContain(`belongs to seller ${sid('open_acme')}`);
      expect(stderr[0]).toContain('--replace-seller');
      expect(stderr[0]).toContain('The authorization code is used up');
      expect(writes()).toEqual([]);
      expect(secretsManager.versions(secret)).toEqual(before);
      expect(events()).toMatchObject([
        {
          bus: BUS,
          detailType: DETAIL_TYPE.shopConnectionRefused,
          detail: {
            shop: secret,
            reason: 'seller-mismatch',
            openId: sid('open_other'),
            storedOpenId: sid('open_acme'),
            via: 'authorize-command',
          },
        },
      ]);
    });

    it('hands the shop to another seller with --replace-seller, and says so', async () => {
      await authorize(approval('open_acme'));
      eventBridge.reset();

      const code = await authorize(approval('open_buyer'), '--replace-seller');

      expect(code).toBe(0);
      expect(storedOpenId()).toBe(sid('open_buyer'));
      expect((await described()).Tags).toContainEqual({
        Key: SELLER_TAG_KEY,
        Value: sid('open_buyer'),
      });
      expect(stdout[1]).toContain(
        `connection: seller replaced on purpose (was open_id ${sid('open_acme')})`,
      );
      expect(events()).toMatchObject([
        {
          detailType: DETAIL_TYPE.shopConnected,
          detail: {
            connection: 'seller-replaced',
            openId: sid('open_buyer'),
            previousOpenId: sid('open_acme'),
          },
        },
      ]);
    });

    it('stores the token of a seller connected as another shop there, refusing the new name', async () => {
      // Prepare: the seller is connected as this shop, and approves again for a second name
      await authorize(approval('open_acme'));
      const first = secret;
      const firstShop = shop;
      const before = secretsManager.current(first);
      const again = approval('open_acme');
      shop = `${shop}-again`;

      // Act
      const code = await authorize(again);

      // Assess
      expect(code).toBe(1);
      expect(stderr.join('\n')).toContain(
        `is already connected as shop ${firstShop}: the new token was stored there`,
      );
      expect(secretsManager.current(first)).not.toBe(before);
      expect(() => secretsManager.versions(`tiktok-shop/tokens/${shop}`)).toThrow();
    });

    it('creates the secret under the key of --kms-key-id or TOKEN_SECRET_KMS_KEY_ID', async () => {
      const byFlag = await authorize(approval(), '--kms-key-id', KEY_ARN);
      const flagged = await described();
      shop = `${shop}-env`;
      secret = `tiktok-shop/tokens/${shop}`;
      const byEnv = await main(
        ['--shop', shop, '--auth-code-stdin'],
        { ...env, TOKEN_SECRET_KMS_KEY_ID: KEY_ARN },
        piped(`${approval()}\n`),
      );

      expect([byFlag, byEnv]).toEqual([0, 0]);
      expect(flagged.KmsKeyId).toBe(KEY_ARN);
      expect((await described()).KmsKeyId).toBe(KEY_ARN);
    });

    it('names the secret after --secret-prefix and tags it with TOKEN_SECRET_TAG_KEY', async () => {
      await main(
        ['--shop', shop, '--auth-code-stdin', '--secret-prefix', 'eu/'],
        { ...env, [ENV.tokenSecretTagKey]: 'team-tiktok-token' },
        piped(`${approval()}\n`),
      );

      expect((await described(`eu/tokens/${shop}`)).Tags).toContainEqual({
        Key: 'team-tiktok-token',
        Value: shop,
      });
    });

    it('reads the app key and secret from the app-credentials secret when the environment has none', async () => {
      const code = await main(
        ['--shop', shop, '--auth-code-stdin'],
        {
          [ENV.tiktokAuthBaseUrl]: tiktok.url,
          [ENV.appCredentialsSecretId]: 'team/app-credentials',
        },
        piped(`${approval()}\n`),
      );

      expect(code).toBe(0);
      expect(storedOpenId()).toBe(sid('open_acme'));
    });

    it.each([
      [TIKTOK_CODE.invalidAuthCode, 'invalid auth code'],
      [TIKTOK_CODE.invalidAppCredentials, 'invalid app_key or app_secret'],
    ])(
      'stores nothing and exits 1 with TikTok’s code when TikTok answers %i',
      async (tiktokCode, message) => {
        tiktok.failNext(1, { code: tiktokCode, message });

        const code = await authorize('AUTHCODE_refused_1');

        expect(code).toBe(1);
        expect(stderr).toHaveLength(1);
        expect(stderr[0]).toMatch(/^error: shop acme-\d+ not connected, nothing stored: /);
        expect(stderr[0]).toContain(`code ${tiktokCode}: ${message}`);
        expect(stdout).toEqual([]);
        expect(writes()).toEqual([]);
      },
    );

    it('exits 1, saying the seller must approve again, when the token cannot be stored', async () => {
      secretsManager.failNext('CreateSecret', 1, {
        type: 'AccessDeniedException',
        status: 400,
        message: 'not authorized to perform CreateSecret',
      });

      const code = await authorize(approval());

      expect(code).toBe(1);
      expect(stderr[0]).toContain('could not be stored');
      expect(stderr[0]).toContain('the seller must approve the app again');
      expect(stderr[0]).toContain('AccessDeniedException');
    });
  });

  describe('with a US app beside the default one', () => {
    /** The command's environment for the US app: its TikTok, the apps as the stack's -c apps=. */
    const usEnv = (more: Record<string, string> = {}) => ({
      [ENV.tiktokAuthBaseUrl]: usTikTok.url,
      [ENV.eventBusName]: BUS,
      TIKTOK_APPS: 'us:us',
      ...more,
    });

    it('exchanges a US code with the US app’s credentials from its secret and tags the shop with its app', async () => {
      // Act
      const code = await main(
        ['--shop', shop, '--auth-code-stdin', '--app', 'us'],
        usEnv(),
        piped(`${approval('open_us', usTikTok)}\n`),
      );

      // Assess
      expect(code).toBe(0);
      expect(storedOpenId()).toBe(sid('open_us'));
      expect(
        secretsManager.calls
          .filter((call) => call.operation === 'GetSecretValue')
          .map((call) => call.secretId),
      ).toContain('tiktok-shop/apps/us/credentials');
      expect((await described()).Tags).toContainEqual({ Key: DEFAULT_APP_TAG_KEY, Value: 'us' });
      expect(stdout[0]?.split('\n')[1]).toBe('  app: us');
      expect(events()).toMatchObject([
        { detailType: DETAIL_TYPE.shopConnected, detail: { app: 'us', connection: 'new' } },
      ]);
    });

    it('takes TIKTOK_APP_KEY and TIKTOK_APP_SECRET as the named app’s, reading no secret for them', async () => {
      const code = await main(
        ['--shop', shop, '--auth-code-stdin', '--app', 'us'],
        usEnv({ TIKTOK_APP_KEY: US_APP_KEY, TIKTOK_APP_SECRET: US_APP_SECRET }),
        piped(`${approval('open_us', usTikTok)}\n`),
      );

      expect(code).toBe(0);
      expect(secretsManager.calls.map((call) => call.secretId)).not.toContain(
        'tiktok-shop/apps/us/credentials',
      );
      expect((await described()).Tags).toContainEqual({ Key: DEFAULT_APP_TAG_KEY, Value: 'us' });
    });

    it('knows an app from APP_CREDENTIALS_SECRET_IDS and reads its credentials from the secret named there', async () => {
      // Prepare
      secretsManager.seed(
        'team/us-app',
        JSON.stringify({ app_key: US_APP_KEY, app_secret: US_APP_SECRET }),
      );

      // Act
      const code = await main(
        ['--shop', shop, '--auth-code-stdin', '--app', 'us'],
        {
          [ENV.tiktokAuthBaseUrl]: usTikTok.url,
          [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({ us: 'team/us-app' }),
        },
        piped(`${approval('open_us', usTikTok)}\n`),
      );

      // Assess
      expect(code).toBe(0);
      expect(secretsManager.calls.map((call) => call.secretId)).toContain('team/us-app');
    });

    it('refuses a US code for a shop of the default app before exchanging it, and publishes why', async () => {
      // Prepare: the shop is connected through the global app
      await authorize(approval());
      eventBridge.reset();

      // Act
      const code = await main(
        ['--shop', shop, '--auth-code-stdin', '--app', 'us'],
        usEnv(),
        piped(`${approval('open_acme', usTikTok)}\n`),
      );

      // Assess
      expect(code).toBe(1);
      expect(stderr.at(-1)).toContain(`shop ${shop} is bound to app "default"`);
      expect(usTikTok.calls).toEqual([]);
      expect(storedOpenId()).toBe(sid('open_acme'));
      expect(events()).toMatchObject([
        {
          detailType: DETAIL_TYPE.shopConnectionRefused,
          detail: { reason: 'app-mismatch', app: 'us', storedApp: 'default', codeUsed: false },
        },
      ]);
    });

    it('prints the US consent page for the US app, with its service id and a state naming the app', async () => {
      // Act
      const code = await main(
        ['--consent-link', '--shop', shop, '--app', 'us'],
        usEnv({ TIKTOK_SERVICE_ID: '7000111', TIKTOK_SERVICE_ID_US: '7000222' }),
      );

      // Assess
      expect(code).toBe(0);
      expect(stdout[0]).toContain(
        `Consent link for shop ${shop} of app us (us consent page), a new shop`,
      );
      const link = new URL(stdout[0]?.split('\n')[1] ?? '');
      expect(`${link.origin}${link.pathname}`).toBe(
        'https://services.us.tiktokshop.com/open/authorize',
      );
      expect(link.searchParams.get('service_id')).toBe('7000222');
      expect(
        verifyConsentState(link.searchParams.get('state') ?? '', STATE_KEY, { now: Date.now() }),
      ).toMatchObject({ valid: true, shop, app: 'us', purpose: 'connect' });
    });

    it('takes the region of an app whose consent page is not declared from --region, else row', async () => {
      // Act
      const asked = await main(
        ['--consent-link', '--shop', shop, '--app', 'eu', '--region', 'us', '--service-id', '1'],
        usEnv({ TIKTOK_APPS: 'eu' }),
      );
      const unsaid = await main(
        ['--consent-link', '--shop', shop, '--app', 'eu', '--service-id', '1'],
        usEnv({ TIKTOK_APPS: 'eu' }),
      );

      // Assess
      expect([asked, unsaid]).toEqual([0, 0]);
      const origins = [stdout[0], stdout[1]].map(
        (out) => new URL(out?.split('\n')[1] ?? '').origin,
      );
      expect(origins).toEqual([
        'https://services.us.tiktokshop.com',
        'https://services.tiktokshop.com',
      ]);
    });

    it('makes no link of another app for a shop bound to one, naming the app to use', async () => {
      // Prepare: the shop's secret belongs to the US app
      secretsManager.seed(secret, '', { [TAG_KEY]: shop, [DEFAULT_APP_TAG_KEY]: 'us' });

      // Act
      const code = await main(['--consent-link', '--shop', shop, '--service-id', '1'], usEnv());

      // Assess
      expect(code).toBe(1);
      expect(stderr[0]).toContain(`shop ${shop} is bound to app "us"`);
      expect(stderr[0]).toContain('make it with --app us');
      expect(stdout).toEqual([]);
    });
  });

  describe('storing into a file', () => {
    it('writes TikTok’s answer to a new owner-only file, without any AWS call', async () => {
      const file = join(dir, 'acme-uk.json');

      const code = await authorize(approval(), '--token-file', file);

      expect(code).toBe(0);
      const stored = JSON.parse(await readFile(file, 'utf8')) as { code: number };
      expect(stored.code).toBe(0);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readdir(dir)).toEqual(['acme-uk.json']);
      expect(stdout[0]).toMatch(/^Shop acme-\d+ connected: created token file .*acme-uk\.json\n/);
      expect(secretsManager.calls).toEqual([]);
      expect(eventBridge.events).toEqual([]);
    });

    it('replaces the same seller’s token and keeps the old one as <file>.previous', async () => {
      const file = join(dir, 'acme-uk.json');
      await authorize(approval(), '--token-file', file);
      const first = await readFile(file, 'utf8');

      const code = await authorize(approval(), '--token-file', file);

      expect(code).toBe(0);
      expect(await readFile(`${file}.previous`, 'utf8')).toBe(first);
      expect((await readdir(dir)).sort()).toEqual(['acme-uk.json', 'acme-uk.json.previous']);
      expect(stdout[1]).toContain('(the previous one is kept in');
    });

    it('refuses another seller’s token for a file that holds one, unless --replace-seller', async () => {
      const file = join(dir, 'acme-uk.json');
      await authorize(approval('open_acme'), '--token-file', file);
      const first = await readFile(file, 'utf8');

      const refused = await authorize(approval('open_other'), '--token-file', file);
      const kept = await readFile(file, 'utf8');
      const replaced = await authorize(
        approval('open_other'),
        '--token-file',
        file,
        '--replace-seller',
      );

      expect(refused).toBe(1);
      expect(kept).toBe(first);
      expect(replaced).toBe(0);
      expect(JSON.parse(await readFile(file, 'utf8')).data.open_id).toBe(sid('open_other'));
    });

    it('follows a symbolic link: the target is replaced, the link stays', async () => {
      const target = join(dir, 'real.json');
      const file = join(dir, 'acme-uk.json');
      await symlink(target, file);

      const created = await authorize(approval(), '--token-file', file);
      const replaced = await authorize(approval(), '--token-file', file);

      expect([created, replaced]).toEqual([0, 0]);
      expect((await lstat(file)).isSymbolicLink()).toBe(true);
      expect(JSON.parse(await readFile(target, 'utf8')).code).toBe(0);
      expect((await readdir(dir)).sort()).toEqual([
        'acme-uk.json',
        'real.json',
        'real.json.previous',
      ]);
    });

    it.each([
      ['an existing folder', async (path: string) => mkdir(path), 'is a folder'],
      ['a file in a missing folder', async () => {}, 'cannot be written (ENOENT'],
    ])('refuses %s before the code is used up', async (_, setup, expected) => {
      // Prepare
      const authCode = approval();
      const path = expected.includes('ENOENT')
        ? join(dir, 'missing-dir', 'acme-uk.json')
        : join(dir, 'tokens');
      await setup(path);

      // Act
      const code = await authorize(authCode, '--token-file', path);

      // Assess
      expect(code).toBe(1);
      expect(stderr[0]).toContain(`token file ${path} ${expected}`);
      expect(tiktok.calls).toEqual([]);
      const retried = await authorize(authCode, '--token-file', join(dir, 'acme-uk.json'));
      expect(retried).toBe(0);
    });

    it('leaves no file when TikTok refuses the code', async () => {
      const file = join(dir, 'acme-uk.json');

      const code = await authorize('AUTHCODE_unknown_2', '--token-file', file);

      expect(code).toBe(1);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  describe('consent links', () => {
    const linkOf = () => new URL(stdout[0]?.split('\n')[1] ?? '');
    const checkOf = (link: URL) =>
      verifyConsentState(link.searchParams.get('state') ?? '', STATE_KEY, { now: Date.now() });

    it('prints a rest-of-world link for a new shop, with a state the callback accepts once', async () => {
      const code = await main(
        ['--consent-link', '--shop', shop, '--service-id', '7012345678'],
        env,
      );

      expect(code).toBe(0);
      expect(stdout[0]).toContain(`a new shop (${secret} holds no token yet)`);
      const link = linkOf();
      expect(`${link.origin}${link.pathname}`).toBe(
        'https://services.tiktokshop.com/open/authorize',
      );
      expect(link.searchParams.get('service_id')).toBe('7012345678');
      expect(checkOf(link)).toMatchObject({ valid: true, shop, purpose: 'connect' });
      expect(tiktok.calls).toEqual([]);
    });

    it('prints a reconnect link, naming the seller who alone can use it, for a shop with a token', async () => {
      await authorize(approval());
      stdout = [];

      const code = await main(['--consent-link', '--shop', shop, '--service-id', '1'], env);

      expect(code).toBe(0);
      expect(stdout[0]).toContain(
        `a reconnect: only seller Acme UK Ltd (open_id ${sid('open_acme')}) can use it`,
      );
      expect(checkOf(linkOf())).toMatchObject({ valid: true, purpose: 'reconnect' });
    });

    it('prints a seller name TikTok sent with terminal escapes as inert text, in the link and on connecting', async () => {
      // Prepare: TikTok names the seller with sequences that set the title, clear the screen
      // and forge a line
      serial++;
      const authCode = `AUTHCODE_authorize_${serial}_escape`;
      tiktok.addSeller({
        authCode,
        openId: sid('open_acme'),
        sellerName: 'Acme\x1b]0;owned\x07\x1b[2J\r\nShop victim connected: evil',
      });

      // Act
      const connected = await authorize(authCode);
      const linked = await main(['--consent-link', '--shop', shop, '--service-id', '1'], env);

      // Assess
      expect([connected, linked]).toEqual([0, 0]);
      const output = printed();
      const controls = [...output].filter((char) => char !== '\n' && /\p{Cc}/u.test(char));
      expect(controls).toEqual([]);
      expect(output.split('\n').some((line) => line.startsWith('Shop victim'))).toBe(false);
      expect(output).toContain('Acme\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{d}\\u{a}Shop victim');
    });

    it('prints the US link and reads the service id and key secret from the environment', async () => {
      secretsManager.seed('team/state-key', STATE_KEY);

      const code = await main(['--consent-link', '--shop', shop, '--region', 'us'], {
        TIKTOK_SERVICE_ID: '7099',
        CALLBACK_STATE_SECRET_ID: 'team/state-key',
      });

      expect(code).toBe(0);
      expect(stdout[0]).toContain(
        'https://services.us.tiktokshop.com/open/authorize?service_id=7099&state=',
      );
    });

    it('exits 1 naming the key secret when it cannot be read', async () => {
      const code = await main(['--consent-link', '--shop', shop, '--service-id', '1'], {
        ...env,
        CALLBACK_STATE_SECRET_ID: 'team/missing-key',
      });

      expect(code).toBe(1);
      expect(stderr[0]).toMatch(
        /^error: could not read secret team\/missing-key: ResourceNotFoundException: /,
      );
    });
  });
});
