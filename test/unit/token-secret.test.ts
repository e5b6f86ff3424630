import {
  CreateSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { linkVersionId } from '../../lambda/onboarding/destination.js';
import { TokenSecretDestination } from '../../lambda/onboarding/token-secret.js';
import { DEFAULT_APP, DEFAULT_APP_TAG_KEY, SELLER_TAG_KEY } from '../../lambda/shared/contract.js';
import { KEPT_LABEL, versionIdFor } from '../../lambda/shared/secrets-store.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';

const TAG_KEY = 'tiktok-shop-token';
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function token(openId: string, n: number): string {
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: `TTS_AT_secret_${n}`,
      access_token_expire_in: 1_900_000_000 + n,
      refresh_token: `TTS_RT_secret_${n}`,
      refresh_token_expire_in: 4_841_467_787,
      open_id: openId,
      seller_name: `Seller ${openId}`,
    },
  });
}

describe('Class: TokenSecretDestination', () => {
  let endpoint: LocalSecretsManager;
  let client: SecretsManagerClient;
  let serial = 0;
  let shop: string;

  const destination = (options: { kmsKeyId?: string; name?: string } = {}) =>
    new TokenSecretDestination({
      client,
      shop: options.name ?? shop,
      secretName: `tiktok-shop/tokens/${options.name ?? shop}`,
      tokenSecretsPrefix: 'tiktok-shop/tokens/',
      tagKey: TAG_KEY,
      ...(options.kmsKeyId === undefined ? {} : { kmsKeyId: options.kmsKeyId }),
    });
  const secretName = () => `tiktok-shop/tokens/${shop}`;
  const labels = () =>
    endpoint.versions(secretName()).map((version) => [version.secretString, version.stages]);

  beforeAll(async () => {
    endpoint = await startLocalSecretsManager();
    client = new SecretsManagerClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await endpoint.close();
  });

  beforeEach(() => {
    serial++;
    shop = `shop-${serial}`;
    endpoint.reset();
  });

  describe('Method: inspect', () => {
    it('answers no token for a secret that does not exist, or exists empty', async () => {
      const missing = await destination().inspect('nonce-aaaaaaaaaaaaaaaa');
      await client.send(new CreateSecretCommand({ Name: secretName() }));
      const empty = await destination().inspect('nonce-aaaaaaaaaaaaaaaa');

      expect(missing).toEqual({ linkUsed: false });
      expect(empty).toEqual({ linkUsed: false, app: DEFAULT_APP });
    });

    it('answers no token for a missing secret when the SDK corrects a clock hours off on that answer', async () => {
      // Prepare: a fresh client, whose clock has not been corrected yet
      endpoint.clockOffsetMs = 3 * 3600_000;
      const fresh = new SecretsManagerClient({
        endpoint: endpoint.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        maxAttempts: 1,
      });

      // Act
      const inspected = await new TokenSecretDestination({
        client: fresh,
        shop,
        secretName: secretName(),
        tokenSecretsPrefix: 'tiktok-shop/tokens/',
        tagKey: TAG_KEY,
      }).inspect(undefined);
      fresh.destroy();

      // Assess: not found is an answer, not a passing failure retried until it looks like one
      expect(inspected).toEqual({ linkUsed: false });
      expect(endpoint.callCounts.DescribeSecret).toBe(1);
    });

    it('answers the app the secret’s tiktok-shop-app tag binds it to', async () => {
      // Prepare: a connected shop of the app `us`
      endpoint.seed(secretName(), token('open_a', 1), {
        [TAG_KEY]: shop,
        [DEFAULT_APP_TAG_KEY]: 'us',
      });

      // Act
      const inspected = await destination().inspect(undefined);

      // Assess
      expect(inspected).toMatchObject({ app: 'us', current: { openId: 'open_a' } });
    });

    it('answers the stored seller and whether the link was claimed', async () => {
      // Prepare: a link claimed, then the shop's token written
      const claim = await destination().claimLink('nonce-used-aaaaaaaaaaaa');
      const write = await destination().write(token('open_a', 1), {
        basedOnVersionId: claim.claimed ? claim.currentVersionId : undefined,
        openId: 'open_a',
        app: DEFAULT_APP,
      });

      // Act
      const used = await destination().inspect('nonce-used-aaaaaaaaaaaa');
      const other = await destination().inspect('nonce-other-aaaaaaaaaaa');

      // Assess
      expect(write).toMatchObject({ stored: true, created: false });
      expect(used).toEqual({
        linkUsed: true,
        app: DEFAULT_APP,
        current: {
          versionId: versionIdFor(secretName(), token('open_a', 1)),
          openId: 'open_a',
          sellerName: 'Seller open_a',
        },
      });
      expect(other.linkUsed).toBe(false);
    });

    it('answers a link claimed with no token stored since as unfinished, and as used once one is', async () => {
      // Prepare: a connected shop, a reconnect link claimed (its exchange failed)
      endpoint.seed(secretName(), token('open_a', 1), { [TAG_KEY]: shop });
      await destination().claimLink('nonce-reconnect-aaaaaaaa');
      const unfinished = await destination().inspect('nonce-reconnect-aaaaaaaa');

      // Act: a token stored since
      const current = (await destination().inspect(undefined)).current;
      await destination().write(token('open_a', 2), {
        basedOnVersionId: current?.versionId,
        openId: 'open_a',
        app: DEFAULT_APP,
      });
      const used = await destination().inspect('nonce-reconnect-aaaaaaaa');

      // Assess
      expect(unfinished).toMatchObject({ linkUsed: true, linkUnfinished: true });
      expect(used).toMatchObject({ linkUsed: true });
      expect(used.linkUnfinished).toBeUndefined();
    });

    it('answers an older link as used and unfinished after a newer link took its claim label', async () => {
      // Prepare
      endpoint.seed(secretName(), token('open_a', 1), { [TAG_KEY]: shop });
      await destination().claimLink('nonce-older-aaaaaaaaaaa');
      await destination().claimLink('nonce-newer-aaaaaaaaaaa');

      // Act
      const older = await destination().inspect('nonce-older-aaaaaaaaaaa');

      // Assess
      expect(older).toMatchObject({ linkUsed: true, linkUnfinished: true });
    });

    it('answers a claim that is current as a placeholder, not as a token', async () => {
      await destination().claimLink('nonce-aaaaaaaaaaaaaaaa');

      const inspected = await destination().inspect(undefined);

      expect(inspected).toEqual({
        linkUsed: false,
        app: DEFAULT_APP,
        placeholderVersionId: linkVersionId(secretName(), 'nonce-aaaaaaaaaaaaaaaa'),
      });
    });
  });

  describe('Method: claimLink', () => {
    it('lets exactly one of two concurrent uses of one link claim it, creating the secret untagged under the given key', async () => {
      // Act
      const claims = await Promise.all([
        destination({ kmsKeyId: KEY_ARN }).claimLink('nonce-aaaaaaaaaaaaaaaa'),
        destination({ kmsKeyId: KEY_ARN }).claimLink('nonce-aaaaaaaaaaaaaaaa'),
      ]);

      // Assess
      const versionId = linkVersionId(secretName(), 'nonce-aaaaaaaaaaaaaaaa');
      expect(claims).toContainEqual({ claimed: true, created: true, currentVersionId: versionId });
      expect(claims).toContainEqual({ claimed: false });
      const described = await client.send(new DescribeSecretCommand({ SecretId: secretName() }));
      expect(described.KmsKeyId).toBe(KEY_ARN);
      expect(described.Tags ?? []).toEqual([]);
      expect(endpoint.versions(secretName())).toHaveLength(1);
    });

    it('claims a link of a connected shop beside its token, which stays current', async () => {
      const seeded = endpoint.seed(secretName(), token('open_a', 1), { [TAG_KEY]: shop });

      const claim = await destination().claimLink('nonce-aaaaaaaaaaaaaaaa');
      const again = await destination().claimLink('nonce-aaaaaaaaaaaaaaaa');

      expect([claim, again]).toEqual([{ claimed: true, created: false }, { claimed: false }]);
      expect(endpoint.current(secretName())).toBe(token('open_a', 1));
      expect((await destination().inspect(undefined)).current?.versionId).toBe(seeded.versionId);
    });
  });

  describe('Method: write', () => {
    it('creates a new shop’s secret with the shop and seller tags, under the given key', async () => {
      // Act
      const written = await destination({ kmsKeyId: KEY_ARN }).write(token('open_a', 1), {
        basedOnVersionId: undefined,
        openId: 'open_a',
        app: DEFAULT_APP,
      });

      // Assess
      const described = await client.send(new DescribeSecretCommand({ SecretId: secretName() }));
      expect(written).toMatchObject({
        stored: true,
        created: true,
        versionId: versionIdFor(secretName(), token('open_a', 1)),
      });
      expect(described.KmsKeyId).toBe(KEY_ARN);
      expect(described.Tags).toEqual([
        { Key: TAG_KEY, Value: shop },
        { Key: SELLER_TAG_KEY, Value: 'open_a' },
      ]);
      expect(endpoint.current(secretName())).toBe(token('open_a', 1));
    });

    it('tags a new shop’s secret of another app than the default one with its app', async () => {
      // Act
      const written = await destination().write(token('open_a', 1), {
        basedOnVersionId: undefined,
        openId: 'open_a',
        app: 'us',
      });

      // Assess
      const described = await client.send(new DescribeSecretCommand({ SecretId: secretName() }));
      expect(written).toMatchObject({ stored: true, created: true });
      expect(described.Tags).toEqual([
        { Key: TAG_KEY, Value: shop },
        { Key: SELLER_TAG_KEY, Value: 'open_a' },
        { Key: DEFAULT_APP_TAG_KEY, Value: 'us' },
      ]);
      expect((await destination().inspect(undefined)).app).toBe('us');
    });

    it('fills the empty secret the stack created, and tags it', async () => {
      await client.send(new CreateSecretCommand({ Name: secretName() }));

      const written = await destination().write(token('open_a', 1), {
        basedOnVersionId: undefined,
        openId: 'open_a',
        app: DEFAULT_APP,
      });

      expect(written).toMatchObject({
        stored: true,
        created: false,
        versionId: versionIdFor(secretName(), token('open_a', 1)),
      });
      expect(endpoint.current(secretName())).toBe(token('open_a', 1));
      const described = await client.send(new DescribeSecretCommand({ SecretId: secretName() }));
      expect(described.Tags).toContainEqual({ Key: SELLER_TAG_KEY, Value: 'open_a' });
    });

    it('moves AWSCURRENT from the version that was checked, keeping it as AWSPREVIOUS', async () => {
      const seeded = endpoint.seed(secretName(), token('open_a', 1), { [TAG_KEY]: shop });

      const written = await destination().write(token('open_a', 2), {
        basedOnVersionId: seeded.versionId,
        openId: 'open_a',
        app: DEFAULT_APP,
      });

      expect(written).toMatchObject({ stored: true, created: false });
      expect(endpoint.current(secretName())).toBe(token('open_a', 2));
      expect(labels()).toContainEqual([token('open_a', 1), ['AWSPREVIOUS']]);
    });

    it('answers moved and leaves no AWSPENDING behind when another token became current first', async () => {
      // Prepare: checked version 1, then the refresher stored version 2
      const checked = endpoint.seed(secretName(), token('open_a', 1));
      endpoint.seed(secretName(), token('open_a', 2));

      // Act
      const written = await destination().write(token('open_b', 3), {
        basedOnVersionId: checked.versionId,
        openId: 'open_b',
        app: DEFAULT_APP,
      });

      // Assess
      expect(written).toEqual({ stored: false, reason: 'moved' });
      expect(endpoint.current(secretName())).toBe(token('open_a', 2));
      expect(labels()).toContainEqual([token('open_b', 3), []]);
    });

    it('is idempotent: the same token written again adds no version', async () => {
      const options = {
        basedOnVersionId: undefined,
        openId: 'open_a',
        app: DEFAULT_APP,
      };
      const first = await destination().write(token('open_a', 1), options);

      const again = await destination().write(token('open_a', 1), options);

      expect(again).toMatchObject({ stored: true });
      expect(first.stored && again.stored && again.versionId).toBe(first.stored && first.versionId);
      expect(endpoint.versions(secretName())).toHaveLength(1);
    });
  });

  describe('Method: shopsOfSeller', () => {
    it('finds the other shops tagged with exactly this seller, not itself nor a prefix match', async () => {
      // Prepare
      endpoint.seed('tiktok-shop/tokens/old-name', token('open_q', 1), {
        [TAG_KEY]: 'old-name',
        [SELLER_TAG_KEY]: 'open_q',
      });
      endpoint.seed('tiktok-shop/tokens/longer', token('open_qr', 2), {
        [TAG_KEY]: 'longer',
        [SELLER_TAG_KEY]: 'open_qr',
      });
      endpoint.seed('tiktok-shop/tokens/value-elsewhere', token('open_z', 3), {
        [TAG_KEY]: 'open_q',
        [SELLER_TAG_KEY]: 'open_z',
      });
      endpoint.seed('other-team/tokens/x', token('open_q', 4), { [SELLER_TAG_KEY]: 'open_q' });
      endpoint.seed(secretName(), token('open_q', 5), { [SELLER_TAG_KEY]: 'open_q' });

      // Act
      const shops = await destination().shopsOfSeller('open_q');

      // Assess
      expect(shops.map((found) => [found.shop, found.name])).toEqual([
        ['old-name', 'tiktok-shop/tokens/old-name'],
      ]);
    });
  });

  describe('Method: keep', () => {
    it('keeps an answer in a new shop’s secret under its label, with a placeholder current', async () => {
      // Act
      const kept = await destination().keep('{"code":0,"data":{"refresh_token":"TTS_RT_kept"}}');

      // Assess
      expect(kept).toMatchObject({ label: KEPT_LABEL });
      expect(kept.where).toBe(
        `version ${kept.versionId} (label ${KEPT_LABEL}) of secret ${secretName()}`,
      );
      expect(labels()).toEqual([
        [expect.stringContaining('tiktok_shop_no_token'), ['AWSCURRENT']],
        ['{"code":0,"data":{"refresh_token":"TTS_RT_kept"}}', [KEPT_LABEL]],
      ]);
      expect(await destination().inspect(undefined)).toMatchObject({
        placeholderVersionId: expect.any(String),
      });
    });

    it('keeps an answer beside a connected shop’s token, which stays current', async () => {
      endpoint.seed(secretName(), token('open_a', 1), { [TAG_KEY]: shop });

      await destination().keep('{"code":0,"data":{"refresh_token":"TTS_RT_kept"}}');

      expect(endpoint.current(secretName())).toBe(token('open_a', 1));
      expect(labels()).toHaveLength(2);
    });
  });
});
