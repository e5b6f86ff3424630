import {
  DescribeSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOP_STATE_TAG } from '../../../lambda/shared/contract.js';
import {
  MAX_SHOP_ID_TAGS,
  SecretsManagerShopTags,
  shopIdTags,
} from '../../../lambda/shared/shop-tags.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/endpoints/secrets-manager.js';

describe('Function: shopIdTags', () => {
  it('tags each well-formed id once', () => {
    expect(shopIdTags(['7494', '7494', 'no spaces', '7495'])).toEqual([
      { Key: 'tiktok-shop-id:7494', Value: '1' },
      { Key: 'tiktok-shop-id:7495', Value: '1' },
    ]);
  });

  it('tags at most MAX_SHOP_ID_TAGS ids: a secret holds 50 tags', () => {
    const ids = Array.from({ length: 60 }, (_, index) => String(7_494_000 + index));

    expect(shopIdTags(ids)).toHaveLength(MAX_SHOP_ID_TAGS);
  });
});

describe('Class: SecretsManagerShopTags', () => {
  const SECRET = 'tiktok-shop/tokens/acme';
  let secretsManager: LocalSecretsManager;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    secretsManager = await startLocalSecretsManager();
    client = new SecretsManagerClient({
      endpoint: secretsManager.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterAll(async () => {
    client.destroy();
    await secretsManager.close();
  });

  it("tags the shop ids and removes the deauthorized mark, leaving the secret's other tags", async () => {
    // Prepare
    secretsManager.seed(SECRET, '{}', { 'tiktok-shop-token': 'acme' });
    await client.send(
      new TagResourceCommand({
        SecretId: SECRET,
        Tags: [{ Key: SHOP_STATE_TAG.deauthorized, Value: '1767225600:n-6' }],
      }),
    );
    const tags = new SecretsManagerShopTags({ client });

    // Act
    await tags.tagShopIds(SECRET, ['7494000000000000301']);
    await tags.clearDeauthorized(SECRET);

    // Assess
    const described = await client.send(new DescribeSecretCommand({ SecretId: SECRET }));
    expect(described.Tags).toEqual([
      { Key: 'tiktok-shop-token', Value: 'acme' },
      { Key: 'tiktok-shop-id:7494000000000000301', Value: '1' },
    ]);
  });
});
