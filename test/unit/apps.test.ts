import { describe, expect, it } from 'vitest';
import {
  type AppsConfig,
  appCredentialsSecretIdBeside,
  appTagOf,
  isAppName,
  readAppsEnv,
  secretNamePrefixOf,
  shopApp,
} from '../../lambda/shared/apps.js';
import {
  APPS_ENV,
  appCredentialsSecretName,
  DEFAULT_APP,
  DEFAULT_APP_TAG_KEY,
  ENV,
} from '../../lambda/shared/contract.js';

const TOKEN_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tiktok-shop/tokens/acme-us-AbC123';

const twoApps: AppsConfig = {
  credentialsSecretIds: new Map([
    [DEFAULT_APP, 'tiktok-shop/app-credentials'],
    ['us', 'tiktok-shop/apps/us/credentials'],
  ]),
  shopApps: new Map([['tiktok-shop/tokens/acme-us', 'us']]),
};

describe('Function: appCredentialsSecretName', () => {
  it('keeps the name of the default app and puts other apps under apps/<app>/', () => {
    expect(appCredentialsSecretName('tiktok-shop/', DEFAULT_APP)).toBe(
      'tiktok-shop/app-credentials',
    );
    expect(appCredentialsSecretName('tiktok-shop/', 'us')).toBe('tiktok-shop/apps/us/credentials');
  });
});

describe('Function: isAppName', () => {
  it.each(['default', 'us', 'global-2', '0', 'a'.repeat(32)])('accepts %s', (name) => {
    expect(isAppName(name)).toBe(true);
  });

  it.each(['', 'US', '-us', 'us/eu', 'us*', 'us,eu', 'us eu', 'a'.repeat(33)])(
    'refuses %j',
    (name) => {
      expect(isAppName(name)).toBe(false);
    },
  );
});

describe('Function: readAppsEnv', () => {
  it('reads one app from APP_CREDENTIALS_SECRET_ID alone, as before there were several', () => {
    // Act
    const { apps, problems } = readAppsEnv({
      [ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
    });

    // Assess
    expect(problems).toEqual([]);
    expect([...apps.credentialsSecretIds]).toEqual([[DEFAULT_APP, 'tiktok-shop/app-credentials']]);
    expect(apps.shopApps.size).toBe(0);
  });

  it('adds the apps of APP_CREDENTIALS_SECRET_IDS and the shops of SHOP_APPS', () => {
    // Act
    const { apps, problems } = readAppsEnv({
      [ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
      [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({
        us: 'tiktok-shop/apps/us/credentials',
      }),
      [APPS_ENV.shopApps]: JSON.stringify({ 'tiktok-shop/tokens/acme-us': 'us' }),
    });

    // Assess
    expect(problems).toEqual([]);
    expect(apps).toEqual(twoApps);
  });

  it('accepts a deployment without the default app', () => {
    const { apps, problems } = readAppsEnv({
      [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({ us: 'us-credentials' }),
    });

    expect(problems).toEqual([]);
    expect([...apps.credentialsSecretIds.keys()]).toEqual(['us']);
  });

  it('names every problem at once', () => {
    // Act
    const { problems } = readAppsEnv({
      [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({
        default: 'x',
        US: 'y',
        gb: '',
        eu: 42,
      }),
      [APPS_ENV.shopApps]: JSON.stringify({ 'tiktok-shop/tokens/acme': 'U S' }),
    });

    // Assess
    expect(problems).toEqual([
      `${APPS_ENV.appCredentialsSecretIds}: the value of "eu" must be a string`,
      `${APPS_ENV.appCredentialsSecretIds}: "default" is the app of ${ENV.appCredentialsSecretId}; leave it out`,
      `${APPS_ENV.appCredentialsSecretIds}: invalid app name "US" (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)`,
      `${APPS_ENV.appCredentialsSecretIds}: app "gb" has no secret id`,
      `${APPS_ENV.shopApps}: shop "tiktok-shop/tokens/acme" is bound to an invalid app name "U S" (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)`,
    ]);
  });

  it.each([
    ['not JSON', '{us:', `${APPS_ENV.appCredentialsSecretIds} is not valid JSON`],
    ['an array', '["us"]', `${APPS_ENV.appCredentialsSecretIds} must be a JSON object`],
    ['null', 'null', `${APPS_ENV.appCredentialsSecretIds} must be a JSON object`],
    [
      'too long to be the construct’s',
      JSON.stringify({ us: 'x'.repeat(5000) }),
      `${APPS_ENV.appCredentialsSecretIds} is longer than 4096 characters`,
    ],
  ])('refuses a value that is %s, without quoting it', (_case, value, problem) => {
    const { problems } = readAppsEnv({
      [ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
      [APPS_ENV.appCredentialsSecretIds]: value,
    });

    expect(problems).toEqual([problem]);
  });

  it('requires at least one app', () => {
    expect(readAppsEnv({ [ENV.appCredentialsSecretId]: ' ' }).problems).toEqual([
      `${ENV.appCredentialsSecretId} is required (or ${APPS_ENV.appCredentialsSecretIds})`,
    ]);
  });
});

describe('Function: shopApp', () => {
  it('binds a configured shop by SHOP_APPS, over its tag', () => {
    expect(shopApp(twoApps, 'tiktok-shop/tokens/acme-us', 'default')).toEqual({
      ok: true,
      app: 'us',
      credentialsSecretId: 'tiktok-shop/apps/us/credentials',
    });
  });

  it('binds a discovered shop by its tag, and an untagged one to the default app', () => {
    expect(shopApp(twoApps, 'tiktok-shop/tokens/found-us', 'us')).toMatchObject({ app: 'us' });
    expect(shopApp(twoApps, 'tiktok-shop/tokens/acme-uk')).toEqual({
      ok: true,
      app: DEFAULT_APP,
      credentialsSecretId: 'tiktok-shop/app-credentials',
    });
  });

  it('fails a shop of an app the deployment does not know, naming the shop and the apps', () => {
    expect(shopApp(twoApps, 'tiktok-shop/tokens/acme-gb', 'gb')).toEqual({
      ok: false,
      app: 'gb',
      problem:
        'shop tiktok-shop/tokens/acme-gb is bound to app "gb", which this deployment does not know (its apps: default, us): add the app to the construct\'s apps, or bind the shop to one of them',
    });
  });

  it('fails an untagged shop when the deployment has no default app', () => {
    const usOnly: AppsConfig = {
      credentialsSecretIds: new Map([['us', 'us-credentials']]),
      shopApps: new Map(),
    };

    expect(shopApp(usOnly, 'tiktok-shop/tokens/acme-uk')).toMatchObject({
      ok: false,
      app: DEFAULT_APP,
    });
  });

  it('fails a shop whose tag is no app name, cutting the tag short', () => {
    const result = shopApp(twoApps, 'tiktok-shop/tokens/odd', `US/${'x'.repeat(300)}`);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toBe(
      `shop tiktok-shop/tokens/odd: its token secret's tag ${DEFAULT_APP_TAG_KEY} is "US/${'x'.repeat(37)}…", not an app name (1 to 32 lower-case letters, digits or '-', starting with a letter or digit)`,
    );
  });
});

describe('Function: appTagOf', () => {
  it('reads the app tag among others, and nothing from untagged secrets', () => {
    expect(
      appTagOf([
        { Key: 'tiktok-shop-token', Value: 'acme-us' },
        { Key: DEFAULT_APP_TAG_KEY, Value: 'us' },
      ]),
    ).toBe('us');
    expect(appTagOf([{ Key: 'tiktok-shop-token', Value: 'acme-uk' }])).toBeUndefined();
    expect(appTagOf(undefined)).toBeUndefined();
  });
});

describe('Function: appCredentialsSecretIdBeside', () => {
  it('finds the prefix of a token secret by name or ARN', () => {
    expect(secretNamePrefixOf('tiktok-shop/tokens/acme-us')).toBe('tiktok-shop/');
    expect(secretNamePrefixOf('tokens/acme-us')).toBe('');
    expect(secretNamePrefixOf(TOKEN_ARN)).toBe('tiktok-shop/');
    expect(secretNamePrefixOf('legacy/acme-us')).toBeUndefined();
  });

  it("names the app's credentials next to the token secret", () => {
    expect(appCredentialsSecretIdBeside('tiktok-shop/tokens/acme-us', 'us')).toBe(
      'tiktok-shop/apps/us/credentials',
    );
    expect(appCredentialsSecretIdBeside('team/tiktok/tokens/acme-uk', DEFAULT_APP)).toBe(
      'team/tiktok/app-credentials',
    );
  });

  it('answers a partial ARN in the same account and region for a token secret given by ARN', () => {
    expect(appCredentialsSecretIdBeside(TOKEN_ARN, 'us')).toBe(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tiktok-shop/apps/us/credentials',
    );
  });

  it('answers nothing for a token secret named otherwise', () => {
    expect(appCredentialsSecretIdBeside('legacy/acme-us', 'us')).toBeUndefined();
  });
});
