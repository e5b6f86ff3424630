import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbTokenStore } from '../../../lambda/shared/dynamodb-store.js';
import { SecretStoreError } from '../../../lambda/shared/errors.js';
import {
  SecretsManagerTokenStore,
  type TokenStore,
  versionIdFor,
} from '../../../lambda/shared/secrets-store.js';
import { startLocalSecretsManager } from '../../local/endpoints/secrets-manager.js';
import { startDynalite } from '../../support/dynalite.js';

/**
 * The promises every token store keeps, run against each over the real SDK and HTTP: Secrets
 * Manager (the local endpoint) and DynamoDB (dynalite, an independent implementation). What the
 * core relies on holds for both, or this file fails for the one that breaks it.
 */

/** A store under test, with the few things a test does outside the TokenStore seam. */
interface Harness {
  readonly store: TokenStore;
  /** The seller's first token, made current as onboarding does; answers its version id. */
  seed(shop: string, raw: string): Promise<string>;
  /** Another writer (onboarding, a second refresher) makes `raw` current, whatever is current. */
  writeBehind(shop: string, raw: string): Promise<string>;
  /** A write that stored `raw` but was interrupted before making it current. */
  leavePending(shop: string, raw: string): Promise<string>;
  /** The token that was current before the current one. */
  previous(shop: string): Promise<string | undefined>;
  close(): Promise<void>;
}

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };

async function secretsManagerHarness(): Promise<Harness> {
  const endpoint = await startLocalSecretsManager();
  const client = new SecretsManagerClient({
    endpoint: endpoint.url,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
  const store = new SecretsManagerTokenStore({ client, writesPerSecond: 10_000 });
  return {
    store,
    seed: async (shop, raw) => endpoint.seed(shop, raw).versionId,
    writeBehind: async (shop, raw) => endpoint.seed(shop, raw).versionId,
    leavePending: async (shop, raw) => {
      // What SecretsManagerTokenStore.replace writes before its compare-and-swap.
      const put = await client.send(
        new PutSecretValueCommand({
          SecretId: shop,
          SecretString: raw,
          ClientRequestToken: versionIdFor(shop, raw),
          VersionStages: ['AWSPENDING'],
        }),
      );
      return put.VersionId ?? '';
    },
    previous: async (shop) =>
      endpoint.versions(shop).find((version) => version.stages.includes('AWSPREVIOUS'))
        ?.secretString,
    close: async () => {
      client.destroy();
      await endpoint.close();
    },
  };
}

async function dynamoDbHarness(): Promise<Harness> {
  const dynamo = await startDynalite();
  await dynamo.createTokenTable('tokens');
  const client = dynamo.client();
  const store = new DynamoDbTokenStore({ client, tableName: 'tokens' });
  return {
    store,
    seed: (shop, raw) => store.putCurrent(shop, raw),
    writeBehind: (shop, raw) => store.putCurrent(shop, raw),
    leavePending: (shop, raw) => store.stage(shop, raw),
    previous: async (shop) => {
      const answer = await client.send(
        new GetItemCommand({ TableName: 'tokens', Key: { shop: { S: shop } } }),
      );
      return answer.Item?.previous?.M?.token?.S;
    },
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

/** The refused call's error, so a test can assert on its class and AWS name. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe.each([
  ['SecretsManagerTokenStore', secretsManagerHarness],
  ['DynamoDbTokenStore', dynamoDbHarness],
])('%s keeps the token store promises', (_, start) => {
  let harness: Harness;
  let store: TokenStore;

  beforeEach(async () => {
    harness = await start();
    store = harness.store;
  });

  afterEach(async () => {
    await harness.close();
  });

  it('reads the current token with its version and age, and nothing beside it', async () => {
    // Prepare
    const before = Date.now();
    const versionId = await harness.seed('shop-a', 'token-1');

    // Act
    const stored = await store.read('shop-a');

    // Assess
    expect(stored.current).toMatchObject({ versionId, raw: 'token-1' });
    expect(stored.current.createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(stored.pending).toBeUndefined();
    expect(stored.kept).toBeUndefined();
  });

  it('answers ResourceNotFoundException for a shop without a token', async () => {
    // Act
    const error = await failure(store.read('shop-unknown'));

    // Assess
    expect(error).toBeInstanceOf(SecretStoreError);
    expect((error as SecretStoreError).awsName).toBe('ResourceNotFoundException');
  });

  it('replaces the version it was based on, and keeps the token it replaced as the previous one', async () => {
    // Prepare
    const first = await harness.seed('shop-a', 'token-1');

    // Act
    const outcome = await store.replace('shop-a', 'token-2', first);

    // Assess
    expect(outcome).toEqual({ stored: true, versionId: versionIdFor('shop-a', 'token-2') });
    const stored = await store.read('shop-a');
    expect(stored.current).toMatchObject({ versionId: outcome.stored && outcome.versionId });
    expect(stored.current.raw).toBe('token-2');
    expect(stored.pending).toBeUndefined();
    expect(await harness.previous('shop-a')).toBe('token-1');
  });

  it('refuses to replace a version another writer has moved on from, and keeps theirs', async () => {
    // Prepare
    const first = await harness.seed('shop-a', 'token-1');
    const theirs = await harness.writeBehind('shop-a', 'token-theirs');

    // Act
    const outcome = await store.replace('shop-a', 'token-ours', first);

    // Assess
    expect(outcome).toEqual({ stored: false, currentVersionId: theirs });
    const stored = await store.read('shop-a');
    expect(stored.current.raw).toBe('token-theirs');
    // The loser's value must not look like an interrupted write to the next run.
    expect(stored.pending).toBeUndefined();
  });

  it('lets exactly one of two writers based on the same version win', async () => {
    // Prepare
    const first = await harness.seed('shop-a', 'token-1');

    // Act
    const outcomes = await Promise.all([
      store.replace('shop-a', 'token-left', first),
      store.replace('shop-a', 'token-right', first),
    ]);

    // Assess
    const winners = outcomes.filter((outcome) => outcome.stored);
    expect(winners).toHaveLength(1);
    const stored = await store.read('shop-a');
    expect(winners[0]).toEqual({ stored: true, versionId: stored.current.versionId });
    expect(outcomes.find((outcome) => !outcome.stored)).toEqual({
      stored: false,
      currentVersionId: stored.current.versionId,
    });
  });

  it('answers stored when a replace is retried after its first answer was lost', async () => {
    // Prepare: the first attempt reached the store; its caller never heard.
    const first = await harness.seed('shop-a', 'token-1');
    await store.replace('shop-a', 'token-2', first);

    // Act
    const retried = await store.replace('shop-a', 'token-2', first);

    // Assess
    expect(retried).toEqual({ stored: true, versionId: versionIdFor('shop-a', 'token-2') });
    expect((await store.read('shop-a')).current.raw).toBe('token-2');
  });

  it('reports an interrupted write as pending, and the next run promotes it', async () => {
    // Prepare
    const first = await harness.seed('shop-a', 'token-1');
    const pendingId = await harness.leavePending('shop-a', 'token-2');

    // Act
    const seen = await store.read('shop-a');
    const outcome = await store.promote('shop-a', pendingId, first);

    // Assess
    expect(seen.current.raw).toBe('token-1');
    expect(seen.pending).toMatchObject({ versionId: pendingId, raw: 'token-2' });
    expect(seen.pending?.createdAt).toBeGreaterThanOrEqual(seen.current.createdAt ?? 0);
    expect(outcome).toEqual({ stored: true, versionId: pendingId });
    const after = await store.read('shop-a');
    expect(after.current).toMatchObject({ versionId: pendingId, raw: 'token-2' });
    expect(after.pending).toBeUndefined();
    expect(await harness.previous('shop-a')).toBe('token-1');
  });

  it('refuses to promote a pending version once another writer has moved on', async () => {
    // Prepare
    const first = await harness.seed('shop-a', 'token-1');
    const pendingId = await harness.leavePending('shop-a', 'token-2');
    const theirs = await harness.writeBehind('shop-a', 'token-theirs');

    // Act
    const outcome = await store.promote('shop-a', pendingId, first);

    // Assess
    expect(outcome).toEqual({ stored: false, currentVersionId: theirs });
    expect((await store.read('shop-a')).current.raw).toBe('token-theirs');
  });

  it('drops an older pending version when a newer token is made current', async () => {
    // Prepare
    const first = await harness.seed('shop-a', 'token-1');
    await harness.leavePending('shop-a', 'token-stale');

    // Act
    await store.replace('shop-a', 'token-2', first);

    // Assess
    const stored = await store.read('shop-a');
    expect(stored.current.raw).toBe('token-2');
    expect(stored.pending).toBeUndefined();
  });

  it('keeps an answer apart from the current token, the latest one only', async () => {
    // Prepare
    await harness.seed('shop-a', 'token-1');

    // Act
    await store.keep('shop-a', 'answer-1');
    const keptId = await store.keep('shop-a', 'answer-2');

    // Assess
    expect(keptId).toBe(versionIdFor('shop-a', 'answer-2'));
    const stored = await store.read('shop-a');
    expect(stored.current.raw).toBe('token-1');
    expect(stored.kept).toMatchObject({ versionId: keptId, raw: 'answer-2' });
    // Neither readers nor the recovery of interrupted writes may take it for a token.
    expect(stored.pending).toBeUndefined();
  });

  it('leaves a kept answer in place when the token is replaced', async () => {
    // Prepare
    const first = await harness.seed('shop-a', 'token-1');
    const keptId = await store.keep('shop-a', 'answer-1');

    // Act
    await store.replace('shop-a', 'token-2', first);

    // Assess
    const stored = await store.read('shop-a');
    expect(stored.current.raw).toBe('token-2');
    expect(stored.kept).toMatchObject({ versionId: keptId, raw: 'answer-1' });
  });

  it.each([
    ['replace', (s: TokenStore) => s.replace('shop-unknown', 'token', 'v')],
    ['keep', (s: TokenStore) => s.keep('shop-unknown', 'token')],
  ])('refuses to %s for a shop without a token', async (_, call) => {
    // Act
    const error = await failure(call(store));

    // Assess
    expect(error).toBeInstanceOf(SecretStoreError);
    expect((error as SecretStoreError).awsName).toBe('ResourceNotFoundException');
  });
});
