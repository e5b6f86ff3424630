import type { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { TikTokShopConsentCallback } from '../../infra/consent-callback.js';
import { TikTokShopExampleReader } from '../../infra/example-reader.js';
import { TikTokShopConsentRegion } from '../../infra/refresher-props.js';
import { appsFromContext, shopsFromContext } from '../../infra/stack.js';
import type { TikTokShopTokenRefresher } from '../../infra/token-refresher.js';
import type {
  TikTokShopAppOptions,
  TikTokShopTokenRefresherProps,
} from '../../infra/token-refresher-props.js';
import { loadCallbackConfig } from '../../lambda/onboarding/callback-config.js';
import { readAppsEnv, shopApp } from '../../lambda/shared/apps.js';
import {
  API_READER_ENV,
  APPS_ENV,
  DEFAULT_APP,
  DEFAULT_APP_TAG_KEY,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  ENV,
  SELLER_TAG_KEY,
} from '../../lambda/shared/contract.js';
import {
  environmentOf,
  expectExactStatements,
  logicalIdIn,
  properties,
  pseudoArn,
  statementsOf,
} from './template.js';
import { synthesizeProduct, synthesizeVariant } from './variants.js';

/**
 * Several TikTok apps in one deployment: a GB shop of the default (global) app and a US shop of
 * the app `us`, side by side in one refresher.
 */
const TWO_APPS: TikTokShopTokenRefresherProps = {
  apps: { us: { consentRegion: TikTokShopConsentRegion.US } },
  shops: ['acme-uk', { name: 'acme-us', app: 'us' }],
};
const { stack, refresher, template } = synthesizeVariant(TWO_APPS);

const READ = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];
const KEY_VIA_SECRETS_MANAGER = {
  StringEquals: {
    'kms:ViaService': {
      'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
    },
  },
};

function ref(construct: IConstruct, inStack: Stack = stack): { Ref: string } {
  return { Ref: logicalIdIn(inStack, construct) };
}

const refresherChild = (inStack: Stack, id: string) =>
  inStack.node.findChild('Refresher').node.findChild(id);

function secretNamed(name: string): { Properties: Record<string, unknown> } {
  const found = Object.values(template.findResources('AWS::SecretsManager::Secret')).filter(
    (secret) => secret.Properties.Name === name,
  );
  expect(found).toHaveLength(1);
  return found[0] as { Properties: Record<string, unknown> };
}

/** The statements a fresh role gets from `grantApiAccess`, in a refresher with `props`. */
function apiAccess(
  props: TikTokShopTokenRefresherProps | ((scope: Stack) => TikTokShopTokenRefresherProps),
  shop: string,
  options?: TikTokShopAppOptions,
): { statements: unknown[]; variantStack: Stack } {
  const variant = synthesizeVariant(props, (scope, construct) => {
    const role = new iam.Role(scope, 'ApiRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    construct.grantApiAccess(role, shop, options);
  });
  const roleId = logicalIdIn(variant.stack, variant.stack.node.findChild('ApiRole'));
  return { statements: statementsOf(variant.template, roleId), variantStack: variant.stack };
}

describe('Construct: TikTokShopTokenRefresher with several apps', () => {
  describe('secrets', () => {
    it('creates one credentials secret per app, empty, the default one under its old name', () => {
      // Act
      const names = Object.values(template.findResources('AWS::SecretsManager::Secret')).map(
        (secret) => secret.Properties.Name,
      );

      // Assess
      expect(names.sort()).toEqual([
        'tiktok-shop/app-credentials',
        'tiktok-shop/apps/us/credentials',
        'tiktok-shop/tokens/acme-uk',
        'tiktok-shop/tokens/acme-us',
      ]);
      const us = secretNamed('tiktok-shop/apps/us/credentials');
      expect(us.Properties.SecretString).toBeUndefined();
      expect(us.Properties.GenerateSecretString).toBeUndefined();
      expect(us.Properties.Description).toBe(
        'TikTok Shop app credentials of app us, as {"app_key":"...","app_secret":"..."}',
      );
    });

    it("tags the US shop's token secret with its app, and leaves the default app's shop without", () => {
      // Assess
      expect(secretNamed('tiktok-shop/tokens/acme-us').Properties.Tags).toEqual(
        expect.arrayContaining([
          { Key: DEFAULT_TOKEN_SECRET_TAG_KEY, Value: 'acme-us' },
          { Key: DEFAULT_APP_TAG_KEY, Value: 'us' },
        ]),
      );
      expect(secretNamed('tiktok-shop/tokens/acme-us').Properties.Tags).toHaveLength(2);
      expect(secretNamed('tiktok-shop/tokens/acme-uk').Properties.Tags).toEqual([
        { Key: DEFAULT_TOKEN_SECRET_TAG_KEY, Value: 'acme-uk' },
      ]);
    });

    it('exposes every app’s secret, how the functions name it, and its consent region', () => {
      // Assess
      expect(Object.keys(refresher.appCredentialsSecrets)).toEqual([DEFAULT_APP, 'us']);
      expect(refresher.appCredentialsSecrets[DEFAULT_APP]).toBe(refresher.appCredentialsSecret);
      expect(refresher.appCredentialsSecretIds).toEqual({
        [DEFAULT_APP]: 'tiktok-shop/app-credentials',
        us: 'tiktok-shop/apps/us/credentials',
      });
      expect(refresher.appConsentRegions).toEqual({ [DEFAULT_APP]: 'row', us: 'us' });
      expect(refresher.appTagKey).toBe(DEFAULT_APP_TAG_KEY);
    });

    it('adopts an existing credentials secret of another app, by ARN', () => {
      // Prepare
      const arn = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:legacy/us-app-AbCdEf';

      // Act
      const variant = synthesizeVariant((scope) => ({
        ...TWO_APPS,
        apps: {
          us: {
            existingCredentialsSecret: secretsmanager.Secret.fromSecretCompleteArn(
              scope,
              'UsApp',
              arn,
            ),
          },
        },
      }));

      // Assess
      variant.template.resourceCountIs('AWS::SecretsManager::Secret', 3);
      expect(variant.refresher.appCredentialsSecretIds.us).toBe(arn);
      variant.template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            [APPS_ENV.appCredentialsSecretIds]: JSON.stringify({ us: arn }),
          }),
        },
      });
    });
  });

  describe('function', () => {
    it("hands the function every app's credentials and the US shop's app, as the function reads them", () => {
      // Act
      const environment = environmentOf(template, logicalIdIn(stack, refresher.function));

      // Assess
      expect(environment).toMatchObject({
        [ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
        [APPS_ENV.appCredentialsSecretIds]: '{"us":"tiktok-shop/apps/us/credentials"}',
        [APPS_ENV.shopApps]: '{"tiktok-shop/tokens/acme-us":"us"}',
        [ENV.tokenSecretIds]: 'tiktok-shop/tokens/acme-uk,tiktok-shop/tokens/acme-us',
      });
      const { apps, problems } = readAppsEnv(environment);
      expect(problems).toEqual([]);
      expect(shopApp(apps, 'tiktok-shop/tokens/acme-us')).toEqual({
        ok: true,
        app: 'us',
        credentialsSecretId: 'tiktok-shop/apps/us/credentials',
      });
      expect(shopApp(apps, 'tiktok-shop/tokens/acme-uk')).toMatchObject({ app: DEFAULT_APP });
    });

    it('leaves SHOP_APPS out when only discovered shops may belong to the other app', () => {
      // Act
      const variant = synthesizeVariant({ ...TWO_APPS, shops: ['acme-uk'] });

      // Assess
      const environment = environmentOf(
        variant.template,
        logicalIdIn(variant.stack, variant.refresher.function),
      );
      expect(environment[APPS_ENV.appCredentialsSecretIds]).toBeDefined();
      expect(environment[APPS_ENV.shopApps]).toBeUndefined();
    });

    it("lets the function read every app's credentials, by exact ARN", () => {
      // Act
      const statements = statementsOf(
        template,
        logicalIdIn(stack, refresher.function.role as iam.Role),
      );

      // Assess
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [
          ref(refresher.appCredentialsSecret),
          ref(refresherChild(stack, 'AppCredentialsSecret-us')),
        ],
      });
    });

    it("decrypts an adopted app's credentials under its own key, through Secrets Manager only", () => {
      // Act
      const variant = synthesizeVariant((scope) => ({
        ...TWO_APPS,
        apps: {
          us: {
            existingCredentialsSecret: new secretsmanager.Secret(scope, 'UsCredentials', {
              encryptionKey: new kms.Key(scope, 'UsKey', { enableKeyRotation: true }),
            }),
          },
        },
      }));

      // Assess
      const statements = statementsOf(
        variant.template,
        logicalIdIn(variant.stack, variant.refresher.function.role as iam.Role),
      );
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: {
          'Fn::GetAtt': [logicalIdIn(variant.stack, variant.stack.node.findChild('UsKey')), 'Arn'],
        },
        Condition: KEY_VIA_SECRETS_MANAGER,
      });
    });
  });

  describe('grantApiAccess', () => {
    it("grants a US shop's token and the US app's credentials, nothing else", () => {
      // Act
      const { statements, variantStack } = apiAccess(TWO_APPS, 'acme-us');

      // Assess
      expectExactStatements(statements, [
        {
          Effect: 'Allow',
          Action: READ,
          Resource: ref(refresherChild(variantStack, 'TokenSecret-acme-us'), variantStack),
        },
        {
          Effect: 'Allow',
          Action: READ,
          Resource: ref(refresherChild(variantStack, 'AppCredentialsSecret-us'), variantStack),
        },
      ]);
    });

    it("grants a GB shop's token and the default app's credentials, nothing else", () => {
      // Act
      const { statements, variantStack } = apiAccess(TWO_APPS, 'acme-uk');

      // Assess
      expectExactStatements(statements, [
        {
          Effect: 'Allow',
          Action: READ,
          Resource: ref(refresherChild(variantStack, 'TokenSecret-acme-uk'), variantStack),
        },
        {
          Effect: 'Allow',
          Action: READ,
          Resource: ref(refresherChild(variantStack, 'AppCredentialsSecret'), variantStack),
        },
      ]);
    });

    it('grants a shop onboarded at run time the credentials of the app it is told, or of every app', () => {
      // Prepare
      const discovering = { ...TWO_APPS, discoverTokenSecretsByTag: true };
      const tokenStatement = {
        Effect: 'Allow',
        Action: READ,
        Resource: pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/found-us-??????'),
        Condition: { Null: { [`aws:ResourceTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' } },
      };

      // Act
      const told = apiAccess(discovering, 'found-us', { app: 'us' });
      const untold = apiAccess(discovering, 'found-us');

      // Assess
      expectExactStatements(told.statements, [
        tokenStatement,
        {
          Effect: 'Allow',
          Action: READ,
          Resource: ref(
            refresherChild(told.variantStack, 'AppCredentialsSecret-us'),
            told.variantStack,
          ),
        },
      ]);
      expectExactStatements(untold.statements, [
        tokenStatement,
        {
          Effect: 'Allow',
          Action: READ,
          Resource: [
            ref(refresherChild(untold.variantStack, 'AppCredentialsSecret'), untold.variantStack),
            ref(
              refresherChild(untold.variantStack, 'AppCredentialsSecret-us'),
              untold.variantStack,
            ),
          ],
        },
      ]);
    });

    it.each<[string, string, TikTokShopAppOptions, RegExp]>([
      [
        'another app for a bound shop',
        'acme-us',
        { app: DEFAULT_APP },
        /shop "acme-us" is bound to app "us" in shops, not "default"/,
      ],
      [
        'an app the refresher does not have',
        'found-eu',
        { app: 'eu' },
        /no app "eu" \(apps: default, us\)/,
      ],
    ])('refuses %s', (_case, shop, options, message) => {
      // Act & Assess
      expect(() =>
        apiAccess({ ...TWO_APPS, discoverTokenSecretsByTag: true }, shop, options),
      ).toThrow(message);
    });

    it('names the credentials secret of a shop when the construct knows its app', () => {
      // Assess
      expect(refresher.appOf('acme-us')).toBe('us');
      expect(refresher.appCredentialsSecretIdFor('acme-us')).toBe(
        'tiktok-shop/apps/us/credentials',
      );
      expect(refresher.appCredentialsSecretIdFor('acme-uk')).toBe('tiktok-shop/app-credentials');
      expect(refresher.appCredentialsSecretIdFor('found-us', { app: 'us' })).toBe(
        'tiktok-shop/apps/us/credentials',
      );
      expect(refresher.appCredentialsSecretIdFor('found-us')).toBeUndefined();
    });
  });

  describe('validation', () => {
    it.each<
      [
        string,
        TikTokShopTokenRefresherProps | ((scope: Stack) => TikTokShopTokenRefresherProps),
        RegExp,
      ]
    >([
      [
        'a shop bound to an app not in apps',
        { apps: { us: {} }, shops: [{ name: 'acme-gb', app: 'gb' }] },
        /shop "acme-gb" is bound to app "gb", which is not one of apps \(default, us\)/,
      ],
      [
        'an app name with capitals',
        { apps: { US: {} }, shops: ['a'] },
        /invalid app name "US": 1 to 32 lower-case letters, digits or '-', starting with a letter or digit/,
      ],
      [
        'an app name with a slash',
        { apps: { 'us/east': {} }, shops: ['a'] },
        /invalid app name "us\/east"/,
      ],
      [
        'a consent region the enum does not have (a JavaScript caller may pass any text)',
        { apps: { eu: { consentRegion: 'eu' as TikTokShopConsentRegion } }, shops: ['a'] },
        /app "eu": invalid consentRegion "eu": one of TikTokShopConsentRegion \(row, us\)/,
      ],
      [
        'a shop listed twice under two apps',
        { apps: { us: {} }, shops: ['acme', { name: 'acme', app: 'us' }] },
        /shop "acme" is listed twice/,
      ],
      [
        "the default app's credentials given twice",
        (scope) => ({
          shops: ['a'],
          existingAppCredentialsSecret: secretsmanager.Secret.fromSecretNameV2(scope, 'One', 'one'),
          apps: {
            default: {
              existingCredentialsSecret: secretsmanager.Secret.fromSecretNameV2(
                scope,
                'Two',
                'two',
              ),
            },
          },
        }),
        /the default app's credentials secret is given twice/,
      ],
    ])('refuses %s, naming it', (_case, props, message) => {
      // Act & Assess
      expect(() => synthesizeVariant(props)).toThrow(message);
    });

    it('names every problem of the apps and shops in one error', () => {
      // Act & Assess
      expect(() =>
        synthesizeVariant({ apps: { Us: {} }, shops: [{ name: 'a', app: 'eu' }, 'a'] }),
      ).toThrow(
        'Variant/Refresher: invalid props: invalid app name "Us": 1 to 32 lower-case letters, digits or \'-\', starting with a letter or digit; shop "a" is bound to app "eu", which is not one of apps (default, Us); shop "a" is listed twice',
      );
    });
  });

  describe('one app', () => {
    it('synthesizes the same template whether the default app is named in apps or not', () => {
      // Act
      const plain = synthesizeVariant({ shops: ['acme-uk'] });
      const named = synthesizeVariant({
        shops: [{ name: 'acme-uk', app: DEFAULT_APP }],
        apps: { [DEFAULT_APP]: { consentRegion: TikTokShopConsentRegion.ROW } },
      });

      // Assess
      expect(named.template.toJSON()).toEqual(plain.template.toJSON());
      const environment = environmentOf(
        plain.template,
        logicalIdIn(plain.stack, plain.refresher.function),
      );
      expect(environment[APPS_ENV.appCredentialsSecretIds]).toBeUndefined();
      expect(environment[APPS_ENV.shopApps]).toBeUndefined();
    });

    it('lets the default app be a US app', () => {
      const variant = synthesizeVariant({
        shops: ['a'],
        apps: { default: { consentRegion: TikTokShopConsentRegion.US } },
      });

      expect(variant.refresher.appConsentRegions).toEqual({ [DEFAULT_APP]: 'us' });
      expect(variant.refresher.appCredentialsSecretIdFor('found')).toBe(
        'tiktok-shop/app-credentials',
      );
    });
  });
});

describe('Construct: TikTokShopConsentCallback with several apps', () => {
  /** The callback on a refresher with `props` (discovering by tag, as the callback needs). */
  function withCallback(
    props: TikTokShopTokenRefresherProps | ((scope: Stack) => TikTokShopTokenRefresherProps),
  ) {
    let callback: TikTokShopConsentCallback | undefined;
    const variant = synthesizeVariant(
      (scope) => ({
        ...(typeof props === 'function' ? props(scope) : props),
        discoverTokenSecretsByTag: true,
      }),
      (scope, construct) => {
        callback = new TikTokShopConsentCallback(scope, 'ConsentCallback', {
          refresher: construct,
        });
      },
    );
    const made = callback as TikTokShopConsentCallback;
    const roleId = logicalIdIn(variant.stack, made.function.role as iam.Role);
    return { ...variant, callback: made, statements: statementsOf(variant.template, roleId) };
  }
  const twoApps = withCallback(TWO_APPS);

  it("hands the callback every app's credentials secret, as the handler reads them", () => {
    // Act
    const environment = environmentOf(
      twoApps.template,
      logicalIdIn(twoApps.stack, twoApps.callback.function),
    );

    // Assess
    expect(environment).toMatchObject({
      [ENV.appCredentialsSecretId]: 'tiktok-shop/app-credentials',
      [APPS_ENV.appCredentialsSecretIds]: '{"us":"tiktok-shop/apps/us/credentials"}',
    });
    expect(environment).not.toHaveProperty(APPS_ENV.shopApps);
    expect([...loadCallbackConfig(environment).appCredentialsSecretIds]).toEqual([
      [DEFAULT_APP, 'tiktok-shop/app-credentials'],
      ['us', 'tiktok-shop/apps/us/credentials'],
    ]);
  });

  it("reads every app's credentials by exact ARN, and the state key", () => {
    // Assess
    expect(twoApps.statements).toContainEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: [
        ref(twoApps.refresher.appCredentialsSecret, twoApps.stack),
        ref(refresherChild(twoApps.stack, 'AppCredentialsSecret-us'), twoApps.stack),
        ref(twoApps.callback.stateKeySecret, twoApps.stack),
      ],
    });
  });

  it('tags a new shop’s secret with the app tag only naming one of the other apps', () => {
    // Assess
    expect(twoApps.statements).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
      Resource: pseudoArn('secretsmanager', 'secret:tiktok-shop/tokens/*'),
      Condition: {
        Null: { [`aws:RequestTag/${DEFAULT_TOKEN_SECRET_TAG_KEY}`]: 'false' },
        'ForAllValues:StringEquals': {
          'aws:TagKeys': [DEFAULT_TOKEN_SECRET_TAG_KEY, SELLER_TAG_KEY, DEFAULT_APP_TAG_KEY],
        },
        StringEqualsIfExists: { [`aws:RequestTag/${DEFAULT_APP_TAG_KEY}`]: ['us'] },
      },
    });
  });

  it("decrypts an adopted app's credentials under its own key, through Secrets Manager only", () => {
    // Act
    const adopted = withCallback((scope) => ({
      ...TWO_APPS,
      apps: {
        us: {
          existingCredentialsSecret: new secretsmanager.Secret(scope, 'UsCredentials', {
            encryptionKey: new kms.Key(scope, 'UsKey', { enableKeyRotation: true }),
          }),
        },
      },
    }));

    // Assess
    expect(adopted.statements).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: {
        'Fn::GetAtt': [logicalIdIn(adopted.stack, adopted.stack.node.findChild('UsKey')), 'Arn'],
      },
      Condition: KEY_VIA_SECRETS_MANAGER,
    });
  });

  it('keeps the template of a one-app callback whether the default app is named in apps or not', () => {
    // Act
    const [unnamed, named] = [
      {},
      { apps: { [DEFAULT_APP]: { consentRegion: TikTokShopConsentRegion.ROW } } },
    ].map((props) => withCallback({ shops: ['acme-uk'], ...props }).template.toJSON());

    // Assess
    expect(named).toEqual(unnamed);
    expect(JSON.stringify(unnamed)).not.toContain(DEFAULT_APP_TAG_KEY);
    expect(JSON.stringify(unnamed)).not.toContain(APPS_ENV.appCredentialsSecretIds);
  });
});

describe('Construct: TikTokShopExampleReader with several apps', () => {
  function exampleReader(shop: string, app?: string) {
    let reader: TikTokShopExampleReader | undefined;
    const variant = synthesizeVariant(
      { ...TWO_APPS, discoverTokenSecretsByTag: true },
      (scope, construct: TikTokShopTokenRefresher) => {
        reader = new TikTokShopExampleReader(scope, 'ExampleReader', {
          refresher: construct,
          shop,
          ...(app === undefined ? {} : { app }),
        });
      },
    );
    if (reader === undefined) throw new Error('no reader');
    const fnId = logicalIdIn(variant.stack, reader.function);
    return {
      variantStack: variant.stack,
      environment: environmentOf(variant.template, fnId),
      statements: statementsOf(
        variant.template,
        (properties(variant.template, fnId).Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0],
      ),
    };
  }

  it("names the default app's credentials for a GB shop, as before there were several apps", () => {
    // Act
    const { environment } = exampleReader('acme-uk');

    // Assess
    expect(environment[API_READER_ENV.shopTokenSecretId]).toBe('tiktok-shop/tokens/acme-uk');
    expect(environment[API_READER_ENV.appCredentialsSecretId]).toBe('tiktok-shop/app-credentials');
  });

  it("gives a US shop's reader only its token secret, and the US app's credentials to read", () => {
    // Act
    const { environment, statements, variantStack } = exampleReader('acme-us');

    // Assess: the client finds the app from the token secret's tag
    expect(environment[API_READER_ENV.shopTokenSecretId]).toBe('tiktok-shop/tokens/acme-us');
    expect(environment[API_READER_ENV.appCredentialsSecretId]).toBeUndefined();
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: READ,
      Resource: ref(refresherChild(variantStack, 'AppCredentialsSecret-us'), variantStack),
    });
    expect(statements).not.toContainEqual(
      expect.objectContaining({
        Resource: ref(refresherChild(variantStack, 'AppCredentialsSecret'), variantStack),
      }),
    );
  });

  it("lets the reader of a shop onboarded at run time read every app's credentials unless told its app", () => {
    // Act
    const untold = exampleReader('found-us');
    const told = exampleReader('found-us', 'us');

    // Assess
    expect(untold.environment[API_READER_ENV.appCredentialsSecretId]).toBeUndefined();
    expect(untold.statements).toContainEqual(
      expect.objectContaining({
        Resource: [
          ref(refresherChild(untold.variantStack, 'AppCredentialsSecret'), untold.variantStack),
          ref(refresherChild(untold.variantStack, 'AppCredentialsSecret-us'), untold.variantStack),
        ],
      }),
    );
    expect(told.statements).toContainEqual(
      expect.objectContaining({
        Resource: ref(
          refresherChild(told.variantStack, 'AppCredentialsSecret-us'),
          told.variantStack,
        ),
      }),
    );
  });
});

describe('Stack: apps and shops from the context', () => {
  it('reads apps with their consent region, and shops with their app', () => {
    // Act & Assess
    expect(appsFromContext('us:us, eu ,default:row')).toEqual({
      us: { consentRegion: TikTokShopConsentRegion.US },
      eu: {},
      default: { consentRegion: TikTokShopConsentRegion.ROW },
    });
    expect(shopsFromContext('acme-uk, acme-us@us,,')).toEqual([
      'acme-uk',
      { name: 'acme-us', app: 'us' },
    ]);
  });

  it.each([
    ['an app name with capitals', () => appsFromContext('US'), /invalid entry "US"/],
    ['an unknown region', () => appsFromContext('us:eu'), /consent region is row or us, not "eu"/],
    ['an app listed twice', () => appsFromContext('us,us:us'), /app "us" is listed twice/],
    ['a shop with an empty app', () => shopsFromContext('acme@'), /invalid entry "acme@"/],
    ['a shop with two apps', () => shopsFromContext('acme@us@eu'), /invalid entry "acme@us@eu"/],
  ])('refuses %s', (_case, parse, message) => {
    expect(parse).toThrow(message);
  });

  it("creates the other app's credentials secret, outputs its name and reads the first shop", () => {
    // Act
    const product = synthesizeProduct({
      apps: appsFromContext('us:us'),
      shops: shopsFromContext('acme-us@us,acme-uk'),
    });

    // Assess
    product.template.hasOutput('OtherAppsCredentialsSecretNames', {
      Value: 'us=tiktok-shop/apps/us/credentials',
    });
    product.template.hasOutput('AppCredentialsSecretName', {
      Value: 'tiktok-shop/app-credentials',
    });
    expect(product.stack.exampleReader?.tokenSecretName).toBe('tiktok-shop/tokens/acme-us');
    expect(product.stack.refresher.appConsentRegions).toEqual({ [DEFAULT_APP]: 'row', us: 'us' });
  });

  it('outputs no other apps without them', () => {
    const product = synthesizeProduct({ shops: ['acme-uk'] });

    expect(Object.keys(product.template.findOutputs('OtherAppsCredentialsSecretNames'))).toEqual(
      [],
    );
  });
});
