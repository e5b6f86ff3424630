import {
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_APP_TAG_KEY, SHOP_STATE_TAG } from '../../../lambda/shared/contract.js';
import { shopIdTagKey } from '../../../lambda/shared/shop-state.js';
import { SecretTagsShopState } from '../../../lambda/webhooks/secret-tags.js';

const secretsManager = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tiktok-shop/tokens/shop-a-AbCdEf';

function state(adopted: readonly string[] = []): SecretTagsShopState {
  return new SecretTagsShopState({
    client: new SecretsManagerClient({ region: 'eu-west-1' }),
    scope: { namePrefix: 'tiktok-shop/tokens/', ids: new Set(adopted) },
  });
}

function secret(name: string, tags: Record<string, string>) {
  return {
    ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`,
    Name: name,
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  };
}

describe('Class: SecretTagsShopState', () => {
  beforeEach(() => {
    secretsManager.reset();
  });

  describe('Method: findShops', () => {
    it('finds the shops of the app tagged with exactly this shop id, over every page', async () => {
      // Prepare
      secretsManager
        .on(ListSecretsCommand, { NextToken: undefined })
        .resolves({
          SecretList: [
            secret('tiktok-shop/tokens/shop-a', { [shopIdTagKey('12')]: '1' }),
            // ListSecrets matches tag keys by prefix: this one is for shop id 123.
            secret('tiktok-shop/tokens/shop-x', { [shopIdTagKey('123')]: '1' }),
          ],
          NextToken: 'page-2',
        })
        .on(ListSecretsCommand, { NextToken: 'page-2' })
        .resolves({
          SecretList: [
            secret('tiktok-shop/tokens/shop-b', {
              [shopIdTagKey('12')]: '1',
              [SHOP_STATE_TAG.deauthorized]: '1796558390:n-1',
              [SHOP_STATE_TAG.authorizationExpires]: '1799150390',
              [SHOP_STATE_TAG.authorizationExpiresNotification]: 'n-2',
            }),
            secret('tiktok-shop/tokens/shop-us', {
              [shopIdTagKey('12')]: '1',
              [DEFAULT_APP_TAG_KEY]: 'us',
            }),
          ],
        });

      // Act
      const found = await state().findShops('default', '12');

      // Assess
      expect(found.map((shop) => shop.shop.name)).toEqual([
        'tiktok-shop/tokens/shop-a',
        'tiktok-shop/tokens/shop-b',
      ]);
      expect(found[1]).toMatchObject({
        deauthorized: { at: 1796558390, notificationId: 'n-1' },
        authorizationExpiry: { expiresAt: 1799150390, notificationId: 'n-2' },
      });
      expect(secretsManager.commandCalls(ListSecretsCommand)[0]?.args[0].input.Filters).toEqual([
        { Key: 'tag-key', Values: [shopIdTagKey('12')] },
      ]);
    });

    it('finds the shops of another app by its app tag', async () => {
      // Prepare
      secretsManager.on(ListSecretsCommand).resolves({
        SecretList: [
          secret('tiktok-shop/tokens/shop-a', { [shopIdTagKey('12')]: '1' }),
          secret('tiktok-shop/tokens/shop-us', {
            [shopIdTagKey('12')]: '1',
            [DEFAULT_APP_TAG_KEY]: 'us',
          }),
        ],
      });

      // Act
      const found = await state().findShops('us', '12');

      // Assess
      expect(found.map((shop) => shop.shop.name)).toEqual(['tiktok-shop/tokens/shop-us']);
    });

    it('ignores secrets outside the deployment’s token secrets, another deployment’s among them', async () => {
      // Prepare
      const adopted = secret('legacy/acme-token', { [shopIdTagKey('12')]: '1' });
      secretsManager.on(ListSecretsCommand).resolves({
        SecretList: [
          secret('tiktok-shop/tokens/shop-a', { [shopIdTagKey('12')]: '1' }),
          // Another deployment in the account: the receiver may not touch it.
          secret('staging/tokens/shop-a', { [shopIdTagKey('12')]: '1' }),
          secret('tiktok-shop/app-credentials', { [shopIdTagKey('12')]: '1' }),
          secret('legacy/other-token', { [shopIdTagKey('12')]: '1' }),
          adopted,
        ],
      });

      // Act
      const found = await state([adopted.ARN]).findShops('default', '12');

      // Assess
      expect(found.map((shop) => shop.shop.name)).toEqual([
        'tiktok-shop/tokens/shop-a',
        'legacy/acme-token',
      ]);
    });
  });

  describe('Method: connectedAt', () => {
    it('answers when the AWSCURRENT version was created', async () => {
      // Prepare
      secretsManager.on(ListSecretVersionIdsCommand).resolves({
        Versions: [
          { VersionId: 'old', VersionStages: ['AWSPREVIOUS'], CreatedDate: new Date(1_000_000) },
          { VersionId: 'new', VersionStages: ['AWSCURRENT'], CreatedDate: new Date(2_000_000) },
        ],
      });

      // Act
      const at = await state().connectedAt({ id: ARN, name: 'tiktok-shop/tokens/shop-a' });

      // Assess
      expect(at).toBe(2_000_000);
    });
  });

  describe('Method: markDeauthorized', () => {
    it('tags the token secret with when and by which notification, creating no version', async () => {
      // Prepare
      secretsManager.on(TagResourceCommand).resolves({});

      // Act
      await state().markDeauthorized(
        { id: ARN, name: 'tiktok-shop/tokens/shop-a' },
        { at: 1796558390, notificationId: 'n-1' },
      );

      // Assess
      expect(secretsManager.commandCalls(TagResourceCommand)[0]?.args[0].input).toEqual({
        SecretId: ARN,
        Tags: [{ Key: SHOP_STATE_TAG.deauthorized, Value: '1796558390:n-1' }],
      });
    });
  });

  describe('Method: recordAuthorizationExpiry', () => {
    it('tags the expiry and its notification in one call', async () => {
      // Prepare
      secretsManager.on(TagResourceCommand).resolves({});

      // Act
      await state().recordAuthorizationExpiry(
        { id: ARN, name: 'tiktok-shop/tokens/shop-a' },
        { expiresAt: 1799150390, notificationId: 'n-2' },
      );

      // Assess
      expect(secretsManager.commandCalls(TagResourceCommand)).toHaveLength(1);
      expect(secretsManager.commandCalls(TagResourceCommand)[0]?.args[0].input.Tags).toEqual([
        { Key: SHOP_STATE_TAG.authorizationExpires, Value: '1799150390' },
        { Key: SHOP_STATE_TAG.authorizationExpiresNotification, Value: 'n-2' },
      ]);
    });
  });
});
