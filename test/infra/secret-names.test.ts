import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { TikTokShopTokenRefresher } from '../../infra/token-refresher.js';
import { synthesizeVariant } from './variants.js';

/** An app whose stacks sit where `envs` say (undefined: left to deploy time). */
function appWithStacks(...envs: ({ account: string; region: string } | undefined)[]): Stack[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return envs.map(
    (env, index) => new Stack(app, `Stack${index}`, env === undefined ? {} : { env }),
  );
}

const IRELAND = { account: '111111111111', region: 'eu-west-1' };

describe('Construct: secret names', () => {
  it.each([
    ['no slash', 'no slash'],
    ['prod', 'prod'],
    ['/tiktok-shop/', '/tiktok-shop/'],
    ['tiktok-shop//', 'tiktok-shop//'],
  ])('refuses the secretNamePrefix %s, saying what one is', (_case, prefix) => {
    // Act & Assess
    expect(() => synthesizeVariant({ shops: ['a'], secretNamePrefix: prefix })).toThrow(
      `invalid secretNamePrefix ${JSON.stringify(prefix)}: one or more folder names of letters, digits or _+=.@-, each followed by '/' (such as 'tiktok-shop/' or 'staging/tiktok-shop/')`,
    );
  });

  it.each(['tiktok-shop/', 'staging/tiktok-shop/', 'prod.eu_1/'])(
    'takes the secretNamePrefix %s',
    (prefix) => {
      // Act
      const { refresher } = synthesizeVariant({ shops: ['a'], secretNamePrefix: prefix });

      // Assess
      expect(refresher.appCredentialsSecretId).toBe(`${prefix}app-credentials`);
    },
  );

  it.each([
    ['in one stack', () => appWithStacks(IRELAND).flatMap((stack) => [stack, stack])],
    ['in two stacks of one account and region', () => appWithStacks(IRELAND, IRELAND)],
    [
      'in two stacks whose environment is left to deploy time',
      () => appWithStacks(undefined, undefined),
    ],
  ])(
    'refuses two refreshers with the same secretNamePrefix %s, saying to set it',
    (_case, stacks) => {
      // Prepare
      const [first, second] = stacks() as [Stack, Stack];
      new TikTokShopTokenRefresher(first, 'Staging', { shops: ['a'] });

      // Act & Assess
      expect(() => new TikTokShopTokenRefresher(second, 'Prod', { shops: ['b'] })).toThrow(
        /Prod: the secret tiktok-shop\/app-credentials would have the name of a secret of .*Staging, in what may be the same account and region: give each refresher its own secretNamePrefix/,
      );
    },
  );

  it('takes two refreshers with the same secretNamePrefix in two regions, or with their own prefixes', () => {
    // Prepare
    const [ireland, virginia] = appWithStacks(IRELAND, { ...IRELAND, region: 'us-east-1' }) as [
      Stack,
      Stack,
    ];
    new TikTokShopTokenRefresher(ireland, 'Staging', { shops: ['a'] });

    // Act & Assess
    expect(() => new TikTokShopTokenRefresher(virginia, 'Prod', { shops: ['a'] })).not.toThrow();
    expect(
      () =>
        new TikTokShopTokenRefresher(ireland, 'Other', {
          shops: ['a'],
          secretNamePrefix: 'other/tiktok-shop/',
        }),
    ).not.toThrow();
  });
});
