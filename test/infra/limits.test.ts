import { CfnParameter, Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_APP_TAG_KEY, SELLER_TAG_KEY } from '../../lambda/shared/contract.js';
import { environmentOf, onlyResourceOfType } from './template.js';
import { synthesizeVariant } from './variants.js';

/** `count` shop names of `length` characters: s00000000, s00000001… */
const shopNames = (count: number, length = 9): string[] =>
  Array.from({ length: count }, (_, index) => `s${String(index).padStart(length - 1, '0')}`);

describe('Construct: limits of the services the props become', () => {
  describe('timeout', () => {
    it("refuses a timeout over 15 minutes, Lambda's maximum, saying so", () => {
      // Act & Assess
      expect(() => synthesizeVariant({ shops: ['a'], timeout: Duration.minutes(16) })).toThrow(
        'timeout must be at most 15 minutes, the longest Lambda runs a function (got 960 seconds)',
      );
    });

    it('takes a timeout of 15 minutes', () => {
      // Act
      const { template } = synthesizeVariant({ shops: ['a'], timeout: Duration.minutes(15) });

      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 900 });
    });
  });

  describe('tokenSecretTagKey', () => {
    it.each([
      ['empty', '', /invalid tokenSecretTagKey "": 1 to 128 letters, digits, spaces or _.:\/=\+-@/],
      ['over 128 characters', 'k'.repeat(129), /invalid tokenSecretTagKey "k{70}…": 1 to 128/],
      ['with a comma', 'shop,token', /invalid tokenSecretTagKey "shop,token": 1 to 128/],
      ['starting with aws:', 'aws:shop', /"aws:shop": keys starting with 'aws:' are AWS's own/],
      ['starting with AWS:', 'AWS:shop', /"AWS:shop": keys starting with 'aws:' are AWS's own/],
      ['the app tag', DEFAULT_APP_TAG_KEY, /"tiktok-shop-app": the product tags token secrets/],
      ['the seller tag', SELLER_TAG_KEY, /"tiktok-shop-open-id": the product tags token secrets/],
      [
        "a webhook's mark",
        'tiktok-shop-deauthorized',
        /"tiktok-shop-deauthorized": the product tags token secrets/,
      ],
      [
        "a webhook's shop id tag",
        'tiktok-shop-id:7000',
        /"tiktok-shop-id:7000": the product tags token secrets with it for another purpose \(its own keys: tiktok-shop-app, tiktok-shop-open-id, .*tiktok-shop-id:<id>\)/,
      ],
    ])('refuses a tag key %s', (_case, tokenSecretTagKey, message) => {
      // Act & Assess
      expect(() =>
        synthesizeVariant({ shops: ['a'], tokenSecretTagKey, discoverTokenSecretsByTag: true }),
      ).toThrow(message);
    });

    it.each(['tiktok-shop-token-staging', 'team:tiktok shop', 'k'.repeat(128)])(
      'takes the tag key %s',
      (tokenSecretTagKey) => {
        // Act
        const { refresher } = synthesizeVariant({ shops: ['a'], tokenSecretTagKey });

        // Assess
        expect(refresher.tokenSecretTagKey).toBe(tokenSecretTagKey);
      },
    );
  });

  describe('alarmEmail', () => {
    it.each(['not-an-email', 'ops@example', 'ops @example.com', 'a@b.com,c@d.com'])(
      'refuses %j, saying what it takes',
      (alarmEmail) => {
        // Act & Assess
        expect(() => synthesizeVariant({ shops: ['a'], alarmEmail })).toThrow(
          `invalid alarmEmail ${JSON.stringify(alarmEmail)}: one e-mail address, such as ops@example.com`,
        );
      },
    );

    it('subscribes an address, or a value known at deploy', () => {
      // Act
      const literal = synthesizeVariant({ shops: ['a'], alarmEmail: 'ops@example.com' });
      const parameter = synthesizeVariant((stack) => ({
        shops: ['a'],
        alarmEmail: new CfnParameter(stack, 'Email').valueAsString,
      }));

      // Assess
      literal.template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
      });
      parameter.template.hasResourceProperties('AWS::SNS::Subscription', {
        Endpoint: { Ref: 'Email' },
      });
    });
  });

  describe("the refresher function's environment", () => {
    it.each([
      ['150 shops with 9-character names', { shops: shopNames(150) }],
      [
        '58 shops of another app',
        {
          apps: { us: {} },
          shops: shopNames(58).map((name) => ({ name, app: 'us' })),
        },
      ],
    ])("refuses %s, over Lambda's 4 KB, saying how to proceed", (_case, props) => {
      // Act & Assess
      expect(() => synthesizeVariant(props)).toThrow(
        /Variant\/Refresher: invalid props: the refresher function's environment would be \d{4} bytes, over the 4096 Lambda allows \(its shop list names \d+ token secrets\): set discoverTokenSecretsByTag: true and list fewer shops/,
      );
    });

    it('takes the largest fleet that fits, and any fleet found by tag', () => {
      // Act
      const listed = synthesizeVariant({ shops: shopNames(120) });
      const discovered = synthesizeVariant({ discoverTokenSecretsByTag: true });

      // Assess
      const environment = environmentOf(
        listed.template,
        onlyResourceOfType(listed.template, 'AWS::Lambda::Function'),
      );
      expect(Buffer.byteLength(JSON.stringify(environment))).toBeLessThanOrEqual(4096);
      expect(environment.TOKEN_SECRET_IDS?.split(',')).toHaveLength(120);
      expect(discovered.refresher.discoversTokenSecretsByTag).toBe(true);
    });
  });
});
