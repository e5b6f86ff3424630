import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TikTokShopConsentRegion } from '../../infra/refresher-props.js';
import {
  APPS_ENV,
  DEFAULT_APP_TAG_KEY,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DETAIL_TYPE,
  ENV,
} from '../../lambda/shared/contract.js';
import {
  type LocalTikTok,
  REFRESH_PATH,
  startLocalTikTok,
  startLocalTikTokApps,
} from '../local/endpoints/tiktok.js';
import { type InvokeOutcome, LocalDeployment } from '../support/local-deployment.js';

/**
 * Two TikTok apps in one deployment, as the stack synthesizes it: the global app `default`
 * (a GB shop) and the US app `us` (a US shop bound to it in the stack, and one found by its
 * secret's tags). One auth host serves both apps, each request by its app key, as TikTok's does.
 * Each scenario has its own deployment; they run one after the other (a function run is a process).
 */

const GB_SHOP = 'tiktok-shop/tokens/shop-gb';
const US_SHOP = 'tiktok-shop/tokens/shop-us';
/** Found by tag only, bound to `us` by its tiktok-shop-app tag. */
const US_SHOP_FOUND = 'tiktok-shop/tokens/shop-us-found';
const US_APP_KEY = 'refresh-it-us-app-key';
const US_APP_SECRET = 'USAPPSECRET_refresh_it_5c4b3a29';
const DUE_SECONDS = 3600;
const DAY = 24 * 3600;

interface TwoApps {
  readonly deployment: LocalDeployment;
  readonly usTikTok: LocalTikTok;
  readonly usCredentialsSecret: string;
  /** The auth host that serves both apps. */
  readonly authUrl: string;
  invoke(event: unknown): Promise<InvokeOutcome>;
}

const started: { close(): Promise<void> }[] = [];
const deployed: TwoApps[] = [];
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function deployTwoApps(): Promise<TwoApps> {
  const deployment = await LocalDeployment.start({
    shops: ['shop-gb', { name: 'shop-us', app: 'us' }],
    apps: { us: { consentRegion: TikTokShopConsentRegion.US } },
  });
  const usTikTok = await startLocalTikTok({ appKey: US_APP_KEY, appSecret: US_APP_SECRET });
  const authHost = await startLocalTikTokApps([deployment.tiktok, usTikTok]);
  // Closed in this order: the shared auth host before the apps' hosts it serves.
  started.push(authHost, usTikTok, deployment);
  const otherApps = JSON.parse(
    deployment.functionEnvironment[APPS_ENV.appCredentialsSecretIds] ?? '{}',
  ) as Record<string, string>;
  const usCredentialsSecret = otherApps.us ?? '';
  const apps: TwoApps = {
    deployment,
    usTikTok,
    usCredentialsSecret,
    authUrl: authHost.url,
    invoke: (event) =>
      deployment.invoke(event, {
        environment: {
          [ENV.tiktokAuthBaseUrl]: authHost.url,
          // Discovery too, so that a shop found by its tags is bound by its app tag.
          [ENV.tokenSecretTagKey]: DEFAULT_TOKEN_SECRET_TAG_KEY,
        },
      }),
  };
  deployed.push(apps);
  return apps;
}

/** A US seller authorized at the US app, and the shop's secret tagged with the app. */
function seedUsShop(apps: TwoApps, name: string, accessTtlSeconds: number): string {
  const seller = apps.usTikTok.addSeller({ sellerBaseRegion: 'US' });
  const refreshToken = seller.refreshToken ?? '';
  const data = apps.usTikTok.tokenDocument(refreshToken, {
    accessTokenExpiresAt: nowSeconds() + accessTtlSeconds,
  });
  const raw = JSON.stringify({ code: 0, message: 'success', data, request_id: 'seed-us' });
  apps.deployment.secretsManager.seed(name, raw, {
    [DEFAULT_TOKEN_SECRET_TAG_KEY]: name,
    [DEFAULT_APP_TAG_KEY]: 'us',
  });
  return refreshToken;
}

/** What the refresher says of the US app's secret holding a key and no app secret. */
function problem(apps: TwoApps): string {
  return `app credentials: secret ${apps.usCredentialsSecret} does not hold {"app_key","app_secret"} (app_secret: missing); put the app's key and secret in it`;
}

function refreshes(host: LocalTikTok): number {
  return host.calls.filter((call) => call.path === REFRESH_PATH).length;
}

function credentialReads(apps: TwoApps, secretId: string): number {
  return apps.deployment.secretsManager.calls.filter(
    (call) => call.operation === 'GetSecretValue' && call.secretId === secretId,
  ).length;
}

/** The function's `shop …` log lines, by shop: outcome, error type, app. */
function shopLines(outcome: InvokeOutcome): Record<string, unknown>[] {
  return outcome.logs
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => String(line.message).startsWith('shop '))
    .map(({ shop, app, outcome: result, errorType, errorMessage }) => ({
      shop,
      ...(app === undefined ? {} : { app }),
      outcome: result,
      ...(errorType === undefined ? {} : { errorType, errorMessage }),
    }));
}

describe('Deployed refresher with two TikTok apps', { timeout: 120_000 }, () => {
  afterAll(async () => {
    for (const endpoint of started) await endpoint.close();
  });

  describe('a GB shop and two US shops, all due, in one run', () => {
    let apps: TwoApps;
    let outcome: InvokeOutcome;
    let usRefreshTokens: string[];

    beforeAll(async () => {
      // Prepare
      apps = await deployTwoApps();
      apps.deployment.secretsManager.seed(
        apps.usCredentialsSecret,
        JSON.stringify({ app_key: US_APP_KEY, app_secret: US_APP_SECRET }),
      );
      apps.deployment.seedShop(GB_SHOP, { accessTtlSeconds: DUE_SECONDS });
      usRefreshTokens = [
        seedUsShop(apps, US_SHOP, DUE_SECONDS),
        seedUsShop(apps, US_SHOP_FOUND, DUE_SECONDS),
      ];

      // Act
      outcome = await apps.invoke({});
    });

    it("refreshes each shop at its own app, and says which app in another app's results", () => {
      expect(outcome.error).toBeUndefined();
      expect(
        outcome.result?.shops.map(({ shop, app, outcome: result }) => [shop, app, result]),
      ).toEqual([
        [GB_SHOP, undefined, 'refreshed'],
        [US_SHOP, 'us', 'refreshed'],
        [US_SHOP_FOUND, 'us', 'refreshed'],
      ]);
      expect([refreshes(apps.deployment.tiktok), refreshes(apps.usTikTok)]).toEqual([1, 2]);
    });

    it('stores tokens that work at their own app, the US ones rotated by the US app', () => {
      const stored = [US_SHOP, US_SHOP_FOUND].map(
        (name) => apps.deployment.storedRefreshToken(name) ?? '',
      );

      expect(stored.map((token) => apps.usTikTok.isRefreshTokenValid(token))).toEqual([true, true]);
      expect(stored).not.toContain(usRefreshTokens[0]);
      expect(
        apps.deployment.tiktok.isRefreshTokenValid(
          apps.deployment.storedRefreshToken(GB_SHOP) ?? '',
        ),
      ).toBe(true);
    });

    it("reads each app's credentials once in the run", () => {
      const defaultSecret = apps.deployment.functionEnvironment[ENV.appCredentialsSecretId] ?? '';

      expect(credentialReads(apps, defaultSecret)).toBe(1);
      expect(credentialReads(apps, apps.usCredentialsSecret)).toBe(1);
    });
  });

  describe("when the US app's credentials are broken", () => {
    const brokenKey = 'k-us-broken-7f3e';
    let apps: TwoApps;
    let outcome: InvokeOutcome;
    let usBefore: (string | undefined)[];
    let notDue: InvokeOutcome;

    beforeAll(async () => {
      // Prepare: the US secret holds a key but no app secret; the US shops are due, one is not
      apps = await deployTwoApps();
      apps.deployment.secretsManager.seed(
        apps.usCredentialsSecret,
        JSON.stringify({ app_key: brokenKey }),
      );
      apps.deployment.seedShop(GB_SHOP, { accessTtlSeconds: DUE_SECONDS });
      seedUsShop(apps, US_SHOP, DUE_SECONDS);
      seedUsShop(apps, US_SHOP_FOUND, 5 * DAY);
      usBefore = [US_SHOP, US_SHOP_FOUND].map((name) =>
        apps.deployment.secretsManager.current(name),
      );

      // Act: a run of every shop, then one of the US shop that is not due, alone
      outcome = await apps.invoke({});
      notDue = await apps.invoke({ shops: [US_SHOP_FOUND] });
    });

    it("fails only the US app's due shop, naming its secret, and refreshes the GB shop", () => {
      const byShop = (a: Record<string, unknown>, b: Record<string, unknown>) =>
        String(a.shop).localeCompare(String(b.shop));

      expect(shopLines(outcome).sort(byShop)).toEqual([
        { shop: GB_SHOP, outcome: 'refreshed' },
        {
          shop: US_SHOP,
          app: 'us',
          outcome: 'failed',
          errorType: 'MalformedSecretError',
          errorMessage: problem(apps),
        },
        { shop: US_SHOP_FOUND, app: 'us', outcome: 'skipped' },
      ]);
      expect(refreshes(apps.usTikTok)).toBe(0);
      expect(refreshes(apps.deployment.tiktok)).toBe(1);
      expect(
        [US_SHOP, US_SHOP_FOUND].map((name) => apps.deployment.secretsManager.current(name)),
      ).toEqual(usBefore);
      expect(apps.deployment.eventBridge.events).toContainEqual(
        expect.objectContaining({
          DetailType: DETAIL_TYPE.tokenRefreshFailed,
          Detail: expect.objectContaining({
            shop: US_SHOP,
            app: 'us',
            errorType: 'MalformedSecretError',
          }),
        }),
      );
    });

    it('fails the invocation loudly, naming the secret and the problem, never the value', () => {
      expect(outcome.error).toEqual({
        errorType: 'MalformedSecretError',
        errorMessage: problem(apps),
      });
      expect(outcome.logs.join('\n')).not.toContain(brokenKey);
    });

    it("fails a run of a US shop that is not due, and reads no other app's credentials", () => {
      const defaultSecret = apps.deployment.functionEnvironment[ENV.appCredentialsSecretId] ?? '';

      expect(shopLines(notDue)).toEqual([{ shop: US_SHOP_FOUND, app: 'us', outcome: 'skipped' }]);
      expect(notDue.error).toEqual({
        errorType: 'MalformedSecretError',
        errorMessage: problem(apps),
      });
      expect(credentialReads(apps, apps.usCredentialsSecret)).toBe(2);
      expect(credentialReads(apps, defaultSecret)).toBe(1);
    });
  });

  describe('a shop whose tag names an app the deployment does not have', () => {
    const EU_SHOP = 'tiktok-shop/tokens/shop-eu';
    let apps: TwoApps;
    let outcome: InvokeOutcome;

    beforeAll(async () => {
      // Prepare: the GB and US shops are fresh; the EU shop's secret is tagged with app "eu"
      apps = await deployTwoApps();
      apps.deployment.secretsManager.seed(
        apps.usCredentialsSecret,
        JSON.stringify({ app_key: US_APP_KEY, app_secret: US_APP_SECRET }),
      );
      apps.deployment.seedShop(GB_SHOP, { accessTtlSeconds: 5 * DAY });
      seedUsShop(apps, US_SHOP, 5 * DAY);
      apps.deployment.secretsManager.seed(EU_SHOP, '{}', {
        [DEFAULT_TOKEN_SECRET_TAG_KEY]: EU_SHOP,
        [DEFAULT_APP_TAG_KEY]: 'eu',
      });

      // Act
      outcome = await apps.invoke({});
    });

    it('fails that shop as a configuration error naming it, the invocation with it, not retryable', () => {
      expect(outcome.error?.errorType).toBe('RefreshIncompleteError');
      expect(outcome.error?.errorMessage).toBe(
        `1 of 3 shops failed and need a person, a retry will not help: ${EU_SHOP} (ConfigurationError: shop ${EU_SHOP} is bound to app "eu", which this deployment does not know (its apps: default, us): add the app to the construct's apps, or bind the shop to one of them)`,
      );
      expect(outcome.logs.find((line) => line.includes('"invocation failed"'))).toContain(
        '"errorType":"RefreshIncompleteError"',
      );
    });

    it('runs every other shop', () => {
      expect(
        shopLines(outcome)
          .map(({ shop, outcome: result }) => [shop, result])
          .sort(),
      ).toEqual([
        [EU_SHOP, 'failed'],
        [GB_SHOP, 'skipped'],
        [US_SHOP, 'skipped'],
      ]);
    });
  });

  describe('secrets named in TOKEN_SECRET_IDS, without discovery', () => {
    const ADOPTED = 'tiktok-shop/tokens/adopted-us';
    let apps: TwoApps;
    let outcome: InvokeOutcome;
    let adoptedRefreshToken: string;

    beforeAll(async () => {
      // Prepare: an adopted secret tagged for the us app; the construct's US shop, whose tag an
      // operator changed to the default app; both due. Only the tags say which app is theirs.
      apps = await deployTwoApps();
      apps.deployment.secretsManager.seed(
        apps.usCredentialsSecret,
        JSON.stringify({ app_key: US_APP_KEY, app_secret: US_APP_SECRET }),
      );
      adoptedRefreshToken = seedUsShop(apps, ADOPTED, DUE_SECONDS);
      seedUsShop(apps, US_SHOP, DUE_SECONDS);
      apps.deployment.secretsManager.seed(
        US_SHOP,
        apps.deployment.secretsManager.current(US_SHOP) ?? '',
        {
          [DEFAULT_APP_TAG_KEY]: 'default',
        },
      );

      // Act
      outcome = await apps.deployment.invoke(
        {},
        {
          environment: {
            [ENV.tiktokAuthBaseUrl]: apps.authUrl,
            [ENV.tokenSecretIds]: `${ADOPTED},${US_SHOP}`,
            [ENV.tokenSecretTagKey]: '',
          },
        },
      );
    });

    it('refreshes an adopted secret with the app its tag names, as readers sign with it', () => {
      expect(shopLines(outcome)).toContainEqual({ shop: ADOPTED, app: 'us', outcome: 'refreshed' });
      expect(apps.usTikTok.isRefreshTokenValid(adoptedRefreshToken)).toBe(false);
      expect(
        apps.usTikTok.isRefreshTokenValid(apps.deployment.storedRefreshToken(ADOPTED) ?? ''),
      ).toBe(true);
      expect(refreshes(apps.deployment.tiktok)).toBe(0);
    });

    it('fails a shop whose SHOP_APPS entry and app tag disagree, naming both, without calling TikTok for it', () => {
      expect(outcome.error?.errorType).toBe('RefreshIncompleteError');
      expect(outcome.error?.errorMessage).toBe(
        `1 of 2 shops failed and need a person, a retry will not help: ${US_SHOP} (ConfigurationError: shop ${US_SHOP} is bound to app "us" by SHOP_APPS (the construct's shops), but its token secret's tag ${DEFAULT_APP_TAG_KEY} names app "default": readers follow the tag, so the two must agree; correct the tag or the binding)`,
      );
      expect(refreshes(apps.usTikTok)).toBe(1);
    });
  });

  it("never lets a token or either app's secret reach a log line, a result or an error", () => {
    const everything = deployed.flatMap((apps) => apps.deployment.outputs).join('\n');
    const secrets = deployed.flatMap((apps) => [
      ...apps.deployment.secretValues(),
      ...apps.usTikTok.issuedSecrets(),
    ]);

    expect(everything.length).toBeGreaterThan(1_000);
    expect(secrets).toContain(US_APP_SECRET);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});
