import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambda/refresher/config.js';
import { AppCredentialReads, incompleteRunError } from '../../lambda/refresher/invocation.js';
import { type RunSummary, refreshShops } from '../../lambda/refresher/refresh.js';
import type { ShopResult } from '../../lambda/refresher/reports.js';
import type { RunRequest } from '../../lambda/refresher/run-request.js';
import {
  configuredShops,
  learnAppTags,
  type Shop,
  withApps,
} from '../../lambda/refresher/shops.js';
import { ACCESS_TOKEN_MAX_LIFE_SECONDS } from '../../lambda/refresher/token-policy.js';
import type { AppsConfig } from '../../lambda/shared/apps.js';
import {
  APPS_ENV,
  DEFAULT_APP,
  DEFAULT_APP_TAG_KEY,
  DEFAULTS,
  DETAIL_TYPE,
  ENV,
} from '../../lambda/shared/contract.js';
import {
  AppCredentialsError,
  ConfigurationError,
  MalformedSecretError,
  SecretStoreError,
  TransientError,
} from '../../lambda/shared/errors.js';
import type { AppCredentials } from '../../lambda/shared/token.js';
import {
  APP_CREDENTIALS,
  dependencies,
  type Fakes,
  fakes,
  settings,
} from '../support/refresh-fakes.js';
import { seedShop, sellerToken } from '../support/seed-shop.js';

const SCHEDULED: RunRequest = { trigger: 'schedule', force: false, dryRun: false };
const HOUR = 3600;
const DAY = 24 * HOUR;
const US_CREDENTIALS: AppCredentials = { app_key: 'us-app-key', app_secret: 'US_APP_SECRET_y2' };
const US_SECRET = 'tiktok-shop/apps/us/credentials';

const twoApps: AppsConfig = {
  credentialsSecretIds: new Map([
    [DEFAULT_APP, 'tiktok-shop/app-credentials'],
    ['us', US_SECRET],
  ]),
  shopApps: new Map([['tiktok-shop/tokens/acme-us', 'us']]),
};

function shop(name: string, app?: string): Shop {
  const id = `tiktok-shop/tokens/${name}`;
  return app === undefined ? { id, name: id } : { id, name: id, app };
}

/** Seeds each shop with a seller's token whose access token ends in the given seconds. */
function seed(parts: Fakes, shops: readonly [Shop, number][]): Shop[] {
  return shops.map(([seeded, ttl]) => {
    const hosts = { tiktok: parts.tiktok, secretsManager: parts.store };
    seedShop(hosts, seeded.id, { accessTtlSeconds: ttl, now: parts.clock.now() });
    return seeded;
  });
}

/** Each app's credentials, or its problem; records every read by app. */
function appCredentials(answers: Readonly<Record<string, AppCredentials | Error>>): {
  read: (app: string) => Promise<AppCredentials>;
  reads: string[];
} {
  const reads: string[] = [];
  const read = async (app: string) => {
    reads.push(app);
    const answer = answers[app];
    if (answer === undefined) throw new Error(`the test gave app ${app} no credentials`);
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { read, reads };
}

async function run(
  parts: Fakes,
  shops: readonly Shop[],
  credentials: (app: string) => Promise<AppCredentials> = async () => APP_CREDENTIALS,
  request: RunRequest = SCHEDULED,
): Promise<RunSummary> {
  const { deps } = dependencies(parts, 300_000, credentials);
  return parts.clock.run(refreshShops(shops, request, settings(), deps));
}

/** Moves the fake clock on by `seconds`, as the time between two runs. */
async function later(parts: Fakes, seconds: number): Promise<void> {
  await parts.clock.run(parts.clock.sleep(seconds * 1000));
}

function outcomes(summary: RunSummary): [string, string, string | undefined][] {
  return summary.shops.map((result) => [result.shop, result.outcome, result.errorType]);
}

describe('Function: refreshShops with several apps', () => {
  it("refreshes each shop with its own app's credentials, reading each app's once per run", async () => {
    // Prepare: two due shops of each app
    const parts = fakes();
    const shops = seed(parts, [
      [shop('acme-uk'), HOUR],
      [shop('acme-us', 'us'), HOUR],
      [shop('acme-de'), 2 * HOUR],
      [shop('acme-us-2', 'us'), 2 * HOUR],
    ]);
    const credentials = appCredentials({ [DEFAULT_APP]: APP_CREDENTIALS, us: US_CREDENTIALS });

    // Act
    const summary = await run(parts, shops, credentials.read);

    // Assess
    expect(summary.counts.refreshed).toBe(4);
    const keyOf = (refreshToken: string) =>
      parts.tiktok.calls.find((call) => call.refreshToken === refreshToken)?.appKey;
    expect(['rt-1', 'rt-2', 'rt-3', 'rt-4'].map(keyOf)).toEqual([
      APP_CREDENTIALS.app_key,
      US_CREDENTIALS.app_key,
      APP_CREDENTIALS.app_key,
      US_CREDENTIALS.app_key,
    ]);
    expect(credentials.reads.sort()).toEqual([DEFAULT_APP, 'us']);
  });

  it('reads the credentials of every app with a shop in the run when nothing is due, and of no other app', async () => {
    // Prepare: a US shop only, though the deployment has the default app too
    const parts = fakes();
    const shops = seed(parts, [[shop('acme-us', 'us'), 6 * DAY]]);
    const credentials = appCredentials({ [DEFAULT_APP]: APP_CREDENTIALS, us: US_CREDENTIALS });

    // Act
    const summary = await run(parts, shops, credentials.read);

    // Assess
    expect(summary.counts.skipped).toBe(1);
    expect(credentials.reads).toEqual(['us']);
  });

  it("fails only the due shops of an app whose credentials cannot be used, naming its secret, and refreshes the other app's", async () => {
    // Prepare: the US app's secret was created and never filled
    const parts = fakes();
    const problem = new SecretStoreError(
      `app credentials: secret ${US_SECRET} does not exist or holds no value yet; put the app's {"app_key","app_secret"} in it`,
      { awsName: 'ResourceNotFoundException' },
    );
    const shops = seed(parts, [
      [shop('acme-uk'), HOUR],
      [shop('acme-us', 'us'), HOUR],
      [shop('acme-us-fresh', 'us'), 6 * DAY],
    ]);
    const credentials = appCredentials({ [DEFAULT_APP]: APP_CREDENTIALS, us: problem });

    // Act
    const summary = await run(parts, shops, credentials.read);

    // Assess
    expect(outcomes(summary)).toEqual([
      ['tiktok-shop/tokens/acme-uk', 'refreshed', undefined],
      ['tiktok-shop/tokens/acme-us', 'failed', 'SecretStoreError'],
      ['tiktok-shop/tokens/acme-us-fresh', 'skipped', undefined],
    ]);
    expect(summary.shops[1]).toMatchObject({ app: 'us', message: problem.message });
    expect(JSON.stringify(summary)).not.toContain(US_CREDENTIALS.app_secret);
    expect(parts.tiktok.calls.map((call) => call.appKey)).toEqual([APP_CREDENTIALS.app_key]);
    expect(credentials.reads.sort()).toEqual([DEFAULT_APP, 'us']);
  });

  it('fails a dry run of a shop whose app credentials cannot be used', async () => {
    const parts = fakes();
    const shops = seed(parts, [
      [shop('acme-uk'), HOUR],
      [shop('acme-us', 'us'), HOUR],
    ]);
    const credentials = appCredentials({
      [DEFAULT_APP]: APP_CREDENTIALS,
      us: new MalformedSecretError(`app credentials: secret ${US_SECRET} does not hold …`),
    });

    const summary = await run(parts, shops, credentials.read, { ...SCHEDULED, dryRun: true });

    expect(outcomes(summary).map(([, outcome, type]) => [outcome, type])).toEqual([
      ['skipped', undefined],
      ['failed', 'MalformedSecretError'],
    ]);
    expect(parts.tiktok.calls).toHaveLength(0);
  });

  it('fails a shop bound to an app the deployment does not know, naming the shop, and runs the others', async () => {
    // Prepare: the shop's secret was tagged with an app that is not deployed
    const parts = fakes();
    const [known, unknown] = withApps(
      [
        { id: 'tiktok-shop/tokens/acme-uk', name: 'tiktok-shop/tokens/acme-uk' },
        { id: 'tiktok-shop/tokens/acme-eu', name: 'tiktok-shop/tokens/acme-eu', appTag: 'eu' },
      ],
      twoApps,
    ) as [Shop, Shop];
    seed(parts, [
      [known, HOUR],
      [unknown, HOUR],
    ]);
    const credentials = appCredentials({ [DEFAULT_APP]: APP_CREDENTIALS });

    // Act
    const summary = await run(parts, [known, unknown], credentials.read);

    // Assess
    expect(outcomes(summary)).toEqual([
      ['tiktok-shop/tokens/acme-uk', 'refreshed', undefined],
      ['tiktok-shop/tokens/acme-eu', 'failed', 'ConfigurationError'],
    ]);
    expect(summary.shops[1]).toMatchObject({
      retryable: false,
      failsInvocation: true,
      message:
        'shop tiktok-shop/tokens/acme-eu is bound to app "eu", which this deployment does not know (its apps: default, us): add the app to the construct\'s apps, or bind the shop to one of them',
    });
    expect(parts.store.calls.filter((call) => call.shopId === unknown.id)).toEqual([]);
    expect(credentials.reads).toEqual([DEFAULT_APP]);
    expect(parts.events.published.map((event) => event.detailType)).toContain(
      DETAIL_TYPE.tokenRefreshFailed,
    );
  });

  it("names the app in the results and events of another app's shops, and none for the default app", async () => {
    const parts = fakes();
    const shops = seed(parts, [
      [shop('acme-uk', DEFAULT_APP), HOUR],
      [shop('acme-us', 'us'), HOUR],
    ]);

    const summary = await run(parts, shops);

    expect(summary.shops[0]).not.toHaveProperty('app');
    expect(summary.shops[1]).toMatchObject({ app: 'us', outcome: 'refreshed' });
    const appOf = (name: string) =>
      parts.events.published.find((event) => event.detail.shop === name)?.detail;
    expect(appOf('tiktok-shop/tokens/acme-uk')).not.toHaveProperty('app');
    expect(appOf('tiktok-shop/tokens/acme-us')).toMatchObject({ app: 'us' });
  });
});

describe('Function: refreshShops, a token stated to live longer than 7 days', () => {
  const window = DEFAULTS.refreshBeforeExpirySeconds;

  it('refreshes a token stored 7 days minus the refresh window ago whose stated expiry lies a year ahead', async () => {
    // Prepare: TikTok's answer drifted to a year-long access token
    const parts = fakes();
    const shops = seed(parts, [[shop('acme-uk'), 365 * DAY]]);
    await later(parts, ACCESS_TOKEN_MAX_LIFE_SECONDS - window + 60);

    // Act
    const summary = await run(parts, shops);

    // Assess
    expect(summary.shops[0]).toMatchObject({ outcome: 'refreshed' });
    expect(parts.tiktok.calls).toHaveLength(1);
  });

  it('skips it while it was stored less long ago', async () => {
    const parts = fakes();
    const shops = seed(parts, [[shop('acme-uk'), 365 * DAY]]);
    await later(parts, ACCESS_TOKEN_MAX_LIFE_SECONDS - window - 60);

    const summary = await run(parts, shops);

    expect(summary.shops[0]).toMatchObject({ outcome: 'skipped', reason: 'not-due' });
  });

  it('refreshes it as urgently as its stored time says, not its stated expiry', async () => {
    // Prepare: the drifted token (a year) was stored a day before an honest one (6.9 days)
    const parts = fakes();
    const [drifted] = seed(parts, [[shop('drifted'), 365 * DAY]]);
    await later(parts, DAY);
    const [honest] = seed(parts, [[shop('honest'), 6.9 * DAY]]);
    await later(parts, 5.5 * DAY);

    // Act
    const { deps } = dependencies(parts, 300_000);
    const summary = await parts.clock.run(
      refreshShops([honest, drifted] as Shop[], SCHEDULED, settings({ maxConcurrency: 1 }), deps),
    );

    // Assess: the drifted one's 7 days end first
    expect(summary.counts.refreshed).toBe(2);
    expect(parts.tiktok.calls.map((call) => call.refreshToken)).toEqual(['rt-1', 'rt-2']);
  });
});

describe('Function: refreshShops, an answer kept by an earlier run', () => {
  it('refuses to call TikTok, having read the kept label with the token in one read', async () => {
    // Prepare
    const parts = fakes();
    const [kept] = seed(parts, [[shop('acme-uk'), HOUR]]);
    const id = kept?.id ?? '';
    await later(parts, 1);
    await parts.store.keep(
      id,
      sellerToken(parts.tiktok, { accessTtlSeconds: 7 * DAY, now: parts.clock.now() }).raw,
    );
    const callsBefore = parts.store.calls.length;

    // Act
    const summary = await run(parts, [{ id, name: id }]);

    // Assess
    expect(summary.shops[0]).toMatchObject({
      outcome: 'failed',
      errorType: 'TokenNotCurrentError',
      retryable: false,
      failsInvocation: true,
    });
    expect(parts.store.calls.slice(callsBefore).map((call) => call.operation)).toEqual(['read']);
    expect(parts.tiktok.calls).toHaveLength(0);
  });
});

describe('Function: refreshShops, what a failure does to the invocation', () => {
  it.each([
    ['a transient failure', new TransientError('throttled'), true, true],
    ['a malformed token secret', new MalformedSecretError('not a token'), false, false],
  ])(
    'marks %s retryable: %s, failing the invocation: %s',
    async (_case, error, retryable, fails) => {
      const parts = fakes();
      const shops = seed(parts, [[shop('acme-uk'), HOUR]]);
      parts.store.next('read', { kind: 'fail', error });

      const summary = await run(parts, shops);

      expect(summary.shops[0]).toMatchObject({ retryable, failsInvocation: fails });
    },
  );
});

describe('Function: incompleteRunError', () => {
  const summaryOf = (shops: ShopResult[]): RunSummary => ({
    trigger: 'schedule',
    force: false,
    dryRun: false,
    counts: { refreshed: 0, skipped: 0, superseded: 0, failed: shops.length },
    shops,
  });
  const failed = (
    name: string,
    errorType: string,
    retryable: boolean,
    failsInvocation: boolean,
  ): ShopResult => ({
    shop: name,
    outcome: 'failed',
    errorType,
    message: `${errorType} message`,
    retryable,
    failsInvocation,
  });

  it('fails a run whose only failures need a person as not retryable, naming those shops', () => {
    const error = incompleteRunError(
      summaryOf([
        failed('shop-a', 'TokenNotCurrentError', false, true),
        failed('shop-b', 'ReauthorizationRequiredError', false, false),
      ]),
    );

    expect(error?.retryable).toBe(false);
    expect(error?.message).toBe(
      '1 of 2 shops failed and need a person, a retry will not help: shop-a (TokenNotCurrentError: TokenNotCurrentError message); also failed, a retry will not help: shop-b (ReauthorizationRequiredError: ReauthorizationRequiredError message)',
    );
  });

  it('fails a run with a retryable failure as retryable, saying which shops need a person', () => {
    const error = incompleteRunError(
      summaryOf([
        failed('shop-a', 'SellerChangedError', false, true),
        failed('shop-b', 'TransientError', true, true),
      ]),
    );

    expect(error?.retryable).toBe(true);
    expect(error?.message).toBe(
      '1 of 2 shops failed and may succeed on retry: shop-b (TransientError: TransientError message); 1 of 2 shops failed and need a person, a retry will not help: shop-a (SellerChangedError: SellerChangedError message)',
    );
  });

  it('does not fail a run whose failures are for the alarms alone', () => {
    expect(
      incompleteRunError(summaryOf([failed('shop-a', 'MalformedSecretError', false, false)])),
    ).toBeUndefined();
  });

  it('names the first five shops of each kind and counts the rest, however many failed', () => {
    const shops = Array.from({ length: 3_000 }, (_, i) =>
      failed(
        `shop-${i}`,
        ['TransientError', 'TokenNotCurrentError', 'Other'][i % 3] ?? '',
        i % 3 === 0,
        i % 3 !== 2,
      ),
    );

    const message = incompleteRunError(summaryOf(shops))?.message ?? '';

    expect(message).toContain('shop-12 (TransientError: TransientError message) and 995 more');
    expect(message).toContain('and 995 more; also failed');
    expect(message.length).toBeLessThan(1_500);
  });
});

describe('Class: AppCredentialReads', () => {
  const secretIds = twoApps.credentialsSecretIds;

  it('reads each app from its own secret, and only the apps asked for', async () => {
    const read: string[] = [];
    const reads = new AppCredentialReads(secretIds, async (secretId) => {
      read.push(secretId);
      return APP_CREDENTIALS;
    });

    await reads.get('us');

    expect(read).toEqual([US_SECRET]);
    expect(await reads.failure()).toBeUndefined();
  });

  it("answers one app's problem as it is", async () => {
    const problem = new MalformedSecretError(`app credentials: secret ${US_SECRET} …`);
    const reads = new AppCredentialReads(secretIds, async (secretId) => {
      if (secretId === US_SECRET) throw problem;
      return APP_CREDENTIALS;
    });
    await Promise.allSettled([reads.get(DEFAULT_APP), reads.get('us')]);

    expect(await reads.failure()).toBe(problem);
  });

  it('names the app and its secret when the read ran out of time, for the shops and the invocation', async () => {
    // Prepare: the store's own message names the call, not whose credentials they were
    const late = new TransientError(
      `Secrets Manager GetSecretValue (secret ${US_SECRET}) did not answer within 2000 ms`,
    );
    const reads = new AppCredentialReads(secretIds, () => Promise.reject(late));

    // Act
    const shopsSee = await reads.get('us').catch((error: unknown) => error);
    const invocationSees = await reads.failure();

    // Assess
    for (const error of [shopsSee, invocationSees]) {
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toBe(
        `the credentials of app "us" (secret ${US_SECRET}) could not be read: ${late.message}`,
      );
    }
  });

  it("names every app's secret and problem when several apps' credentials cannot be used", async () => {
    const reads = new AppCredentialReads(secretIds, async (secretId) => {
      throw new SecretStoreError(`app credentials: secret ${secretId} does not exist`);
    });
    await Promise.allSettled([reads.get(DEFAULT_APP), reads.get('us')]);

    const failure = await reads.failure();

    expect(failure).toBeInstanceOf(AppCredentialsError);
    expect(failure?.message).toBe(
      `the credentials of 2 apps cannot be used, so their due shops were not refreshed: app "default" (SecretStoreError: app credentials: secret tiktok-shop/app-credentials does not exist), app "us" (SecretStoreError: app credentials: secret ${US_SECRET} does not exist)`,
    );
  });

  it('refuses an app without a credentials secret as a configuration error', async () => {
    const reads = new AppCredentialReads(new Map([['us', US_SECRET]]), async () => APP_CREDENTIALS);

    await expect(reads.get(DEFAULT_APP)).rejects.toThrow(ConfigurationError);
  });
});

describe('Function: withApps', () => {
  const listed = (name: string, appTag?: string) => {
    const id = `tiktok-shop/tokens/${name}`;
    return appTag === undefined ? { id, name: id } : { id, name: id, appTag };
  };

  it("binds a shop to its SHOP_APPS entry, else its secret's app tag, else the default app", () => {
    const shops = withApps(
      [listed('acme-us', 'us'), listed('acme-us-2', 'us'), listed('acme-uk')],
      twoApps,
    );

    expect(shops.map((found) => found.app)).toEqual(['us', 'us', DEFAULT_APP]);
    expect(shops[0]).not.toHaveProperty('appTag');
  });

  it("carries the problem of a shop whose SHOP_APPS entry and secret's app tag disagree, naming both", () => {
    const [bound] = withApps([listed('acme-us', 'default')], twoApps);

    expect(bound?.appProblem).toBe(
      `shop tiktok-shop/tokens/acme-us is bound to app "us" by SHOP_APPS (the construct's shops), but its token secret's tag ${DEFAULT_APP_TAG_KEY} names app "default": readers follow the tag, so the two must agree; correct the tag or the binding`,
    );
    expect(bound).not.toHaveProperty('app');
  });

  it('carries the problem of a shop bound to another app whose secret was read and carries no app tag', () => {
    const [bound] = withApps([{ ...listed('acme-us'), tagsRead: true }], twoApps);

    expect(bound?.appProblem).toBe(
      `shop tiktok-shop/tokens/acme-us is bound to app "us" by SHOP_APPS (the construct's shops), but its token secret carries no ${DEFAULT_APP_TAG_KEY} tag, so readers would use the default app's credentials: tag the secret ${DEFAULT_APP_TAG_KEY}=us`,
    );
  });

  it('carries the problem of a shop whose tag is no app name, naming the shop', () => {
    const [bound] = withApps([listed('acme-x', 'US!')], twoApps);

    expect(bound?.appProblem).toBe(
      `shop tiktok-shop/tokens/acme-x: its token secret's tag ${DEFAULT_APP_TAG_KEY} is "US!", not an app name (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)`,
    );
    expect(bound).not.toHaveProperty('app');
  });
});

describe('Function: learnAppTags', () => {
  const usTags = [{ Key: DEFAULT_APP_TAG_KEY, Value: 'us' }];

  it('describes each configured secret ListSecrets did not bring, and binds it by its app tag', async () => {
    // Prepare: an adopted secret, named in TOKEN_SECRET_IDS and tagged for the us app
    const described: string[] = [];
    const tagsOf = async (secretId: string) => {
      described.push(secretId);
      return secretId.endsWith('adopted-us') ? usTags : [];
    };
    const discovered = [{ name: 'tiktok-shop/tokens/found-us', arn: 'arn-found-us', tags: usTags }];
    const shops = configuredShops(
      ['tiktok-shop/tokens/adopted-us', 'tiktok-shop/tokens/acme-uk'],
      discovered,
    );

    // Act
    const bound = withApps(await learnAppTags(shops, tagsOf, 2), twoApps);

    // Assess
    expect(bound.map((shop) => [shop.name, shop.app])).toEqual([
      ['tiktok-shop/tokens/adopted-us', 'us'],
      ['tiktok-shop/tokens/acme-uk', DEFAULT_APP],
      ['tiktok-shop/tokens/found-us', 'us'],
    ]);
    expect(described).toEqual(['tiktok-shop/tokens/adopted-us', 'tiktok-shop/tokens/acme-uk']);
  });

  it('leaves the app of a configured secret that does not exist to its read, which reports it missing', async () => {
    const shops = configuredShops(['tiktok-shop/tokens/acme-us'], []);

    const [bound] = withApps(await learnAppTags(shops, async () => undefined, 2), twoApps);

    expect(bound).toMatchObject({ app: 'us' });
    expect(bound).not.toHaveProperty('appProblem');
  });

  it('describes no secret found by tag: ListSecrets brought its tags', async () => {
    const discovered = [{ name: 'tiktok-shop/tokens/found-us', arn: 'arn-found-us', tags: usTags }];
    const described: string[] = [];

    await learnAppTags(
      configuredShops([], discovered),
      async (id: string) => {
        described.push(id);
        return [];
      },
      2,
    );

    expect(described).toEqual([]);
  });

  it('fails a shop whose tags cannot be read, naming its secret, instead of guessing its app', async () => {
    // Prepare
    const shops = configuredShops(['tiktok-shop/tokens/adopted-us'], []);
    const denied = new SecretStoreError(
      'Secrets Manager DescribeSecret failed: AccessDeniedException: not authorized (secret tiktok-shop/tokens/adopted-us)',
      { awsName: 'AccessDeniedException' },
    );

    // Act
    const [bound] = withApps(await learnAppTags(shops, () => Promise.reject(denied), 2), twoApps);

    // Assess
    expect(bound?.appProblem).toBe(
      `the tags of secret tiktok-shop/tokens/adopted-us could not be read, so its app (tag ${DEFAULT_APP_TAG_KEY}) is unknown: SecretStoreError: ${denied.message}`,
    );
    expect(bound).not.toHaveProperty('app');
  });
});

describe('Function: configuredShops, app tags', () => {
  it('keeps the tags and app tag of a discovered secret, also for a shop configured by name', () => {
    const tags = [
      { Key: 'tiktok-shop-token', Value: 'x' },
      { Key: DEFAULT_APP_TAG_KEY, Value: 'us' },
    ];

    const shops = configuredShops(
      ['tiktok-shop/tokens/acme-us'],
      [
        { name: 'tiktok-shop/tokens/acme-us', arn: 'arn-us', tags },
        { name: 'tiktok-shop/tokens/acme-us-2', arn: 'arn-us-2', tags },
        { name: 'tiktok-shop/tokens/acme-uk', arn: 'arn-uk', tags: [] },
      ],
    );

    expect(shops).toEqual([
      { id: 'tiktok-shop/tokens/acme-us', name: 'tiktok-shop/tokens/acme-us', tags, appTag: 'us' },
      {
        id: 'arn-us-2',
        name: 'tiktok-shop/tokens/acme-us-2',
        arn: 'arn-us-2',
        tags,
        appTag: 'us',
      },
      { id: 'arn-uk', name: 'tiktok-shop/tokens/acme-uk', arn: 'arn-uk', tags: [] },
    ]);
  });
});

describe('Function: loadConfig, several apps', () => {
  it("reads the other apps' credentials secrets and the apps of configured shops", () => {
    const config = loadConfig({
      [ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
      [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({ us: US_SECRET }),
      [APPS_ENV.shopApps]: JSON.stringify({ 'tiktok-shop/tokens/acme-us': 'us' }),
      [ENV.tokenSecretIds]: 'tiktok-shop/tokens/acme-us',
    });

    expect(config.apps).toEqual(twoApps);
  });

  it('needs no default app credentials secret when other apps have theirs', () => {
    const config = loadConfig({
      [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({ us: US_SECRET }),
      [ENV.tokenSecretTagKey]: 'tiktok-shop-token',
    });

    expect([...config.apps.credentialsSecretIds]).toEqual([['us', US_SECRET]]);
  });

  it('names the problems of the apps beside every other problem, in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        [APPS_ENV.appCredentialsSecretIds]: '{"us":',
        [APPS_ENV.shopApps]: JSON.stringify({ 'tiktok-shop/tokens/acme-us': 'US' }),
        [ENV.maxConcurrency]: '0',
      });
    } catch (thrown) {
      error = thrown;
    }

    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe(
      `invalid configuration: ${APPS_ENV.appCredentialsSecretIds} is not valid JSON; ${APPS_ENV.shopApps}: shop "tiktok-shop/tokens/acme-us" is bound to an invalid app name "US" (1 to 32 lower-case letters, digits or '-', starting with a letter or digit); set ${ENV.tokenSecretIds} or ${ENV.tokenSecretTagKey} (or both); ${ENV.maxConcurrency} must be a whole number from 1 to 100`,
    );
  });
});
