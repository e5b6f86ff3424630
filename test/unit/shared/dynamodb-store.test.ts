import { type DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbTokenStore } from '../../../lambda/shared/dynamodb-store.js';
import { DynamoDbShopSurvey } from '../../../lambda/shared/dynamodb-survey.js';
import { SecretStoreError, TransientError } from '../../../lambda/shared/errors.js';
import { versionIdFor } from '../../../lambda/shared/secrets-store.js';
import { type LocalDynamoDb, startDynalite } from '../../support/dynalite.js';

const TABLE = 'tokens';

/** A token document as TikTok answers it, with the expiries the survey projects. */
function tokenDocument(accessExpiresAt: number, refreshExpiresAt: number, access = 'A'): string {
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: access,
      access_token_expire_in: accessExpiresAt,
      refresh_token: 'R',
      refresh_token_expire_in: refreshExpiresAt,
    },
    request_id: 'r',
  });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('DynamoDbTokenStore and DynamoDbShopSurvey against dynalite', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBClient;
  let store: DynamoDbTokenStore;
  let survey: DynamoDbShopSurvey;

  beforeEach(async () => {
    dynamo = await startDynalite();
    await dynamo.createTokenTable(TABLE);
    client = dynamo.client();
    store = new DynamoDbTokenStore({ client, tableName: TABLE });
    survey = new DynamoDbShopSurvey({ client, tableName: TABLE });
  });

  afterEach(async () => {
    client.destroy();
    await dynamo.close();
  });

  describe('putCurrent', () => {
    it('creates the shop item bound to its app, then replaces its token keeping the previous one', async () => {
      // Act
      const first = await store.putCurrent('shop-a', 'token-1', { app: 'app-1' });
      const second = await store.putCurrent('shop-a', 'token-2');

      // Assess
      expect(first).toBe(versionIdFor('shop-a', 'token-1'));
      const item = (
        await client.send(new GetItemCommand({ TableName: TABLE, Key: { shop: { S: 'shop-a' } } }))
      ).Item;
      expect(item?.app?.S).toBe('app-1');
      expect(item?.current?.M?.version?.S).toBe(second);
      expect(item?.previous?.M?.token?.S).toBe('token-1');
    });

    it('drops the pending version of the authorization it replaces', async () => {
      // Prepare
      await store.putCurrent('shop-a', 'token-1');
      await store.stage('shop-a', 'token-pending');

      // Act
      await store.putCurrent('shop-a', 'token-consent');

      // Assess
      const stored = await store.read('shop-a');
      expect(stored.current.raw).toBe('token-consent');
      expect(stored.pending).toBeUndefined();
    });
  });

  describe('promote', () => {
    it('makes a kept answer current when asked to', async () => {
      // Prepare
      const first = await store.putCurrent('shop-a', 'token-1');
      const kept = await store.keep('shop-a', 'answer-1');

      // Act
      const outcome = await store.promote('shop-a', kept, first);

      // Assess
      expect(outcome).toEqual({ stored: true, versionId: kept });
      const stored = await store.read('shop-a');
      expect(stored.current.raw).toBe('answer-1');
      expect(stored.kept).toBeUndefined();
    });

    it('refuses a version the shop does not hold with ResourceNotFoundException', async () => {
      // Prepare
      const first = await store.putCurrent('shop-a', 'token-1');

      // Act
      const error = await failure(store.promote('shop-a', 'no-such-version', first));

      // Assess
      expect(error).toBeInstanceOf(SecretStoreError);
      expect((error as SecretStoreError).awsName).toBe('ResourceNotFoundException');
      expect((await store.read('shop-a')).current.raw).toBe('token-1');
    });
  });

  describe('survey', () => {
    it('pages through every shop with its expiries and flags, without reading a token', async () => {
      // Prepare
      await store.putCurrent('shop-a', tokenDocument(1_800_000_000, 1_900_000_000), {
        app: 'app-1',
      });
      await store.putCurrent('shop-b', 'not a token document');
      await store.stage('shop-b', 'pending');
      await store.putCurrent('shop-c', tokenDocument(1_800_000_100, 1_900_000_100));
      await store.keep('shop-c', 'kept');

      // Act
      const pages: string[][] = [];
      const found = [];
      for await (const page of survey.pages({ pageSize: 2 })) {
        pages.push(page.map((shop) => shop.shop));
        found.push(...page);
      }

      // Assess
      expect(pages.flat().sort()).toEqual(['shop-a', 'shop-b', 'shop-c']);
      expect(pages.length).toBeGreaterThanOrEqual(2);
      const byShop = new Map(found.map((shop) => [shop.shop, shop]));
      expect(byShop.get('shop-a')).toEqual({
        shop: 'shop-a',
        app: 'app-1',
        currentVersionId: versionIdFor('shop-a', tokenDocument(1_800_000_000, 1_900_000_000)),
        currentCreatedAt: expect.any(Number),
        accessExpiresAt: 1_800_000_000,
        refreshExpiresAt: 1_900_000_000,
        hasPending: false,
        hasKept: false,
      });
      expect(byShop.get('shop-b')).toMatchObject({ hasPending: true, hasKept: false });
      expect(byShop.get('shop-b')).not.toHaveProperty('accessExpiresAt');
      expect(byShop.get('shop-c')).toMatchObject({ hasPending: false, hasKept: true });
      expect(JSON.stringify(found)).not.toContain('"A"');
    });

    it('splits the fleet between parallel scan segments, each shop in exactly one', async () => {
      // Prepare
      for (let i = 0; i < 30; i++) await store.putCurrent(`shop-${i}`, `token-${i}`);

      // Act
      const segments = await Promise.all(
        [0, 1, 2].map(async (segment) => {
          const shops: string[] = [];
          for await (const page of survey.pages({ segment, totalSegments: 3 })) {
            shops.push(...page.map((shop) => shop.shop));
          }
          return shops;
        }),
      );

      // Assess
      const all = segments.flat();
      expect(all).toHaveLength(30);
      expect(new Set(all).size).toBe(30);
    });

    it('projects few bytes per shop however large the tokens are', async () => {
      // Prepare
      const big = tokenDocument(1_800_000_000, 1_900_000_000, 'A'.repeat(2_000));
      for (let i = 0; i < 20; i++) await store.putCurrent(`shop-${i}`, big, { app: 'app-1' });

      // Act
      const full = await client.send(new ScanCommand({ TableName: TABLE }));
      const pages = [];
      for await (const page of survey.pages()) pages.push(...page);

      // Assess
      const fullBytes = JSON.stringify(full.Items).length / 20;
      const surveyBytes = JSON.stringify(pages).length / 20;
      expect(fullBytes).toBeGreaterThan(2_000);
      expect(surveyBytes).toBeLessThan(300);
    });

    it('reads the tokens of more than 100 shops in batches of 100, leaving out unknown shops', async () => {
      // Prepare
      const shops = Array.from({ length: 230 }, (_, i) => `shop-${i}`);
      await Promise.all(shops.map((shop) => store.putCurrent(shop, `token-${shop}`)));
      await store.stage('shop-7', 'pending-7');

      // Act
      const tokens = await survey.readMany([...shops, 'shop-unknown', 'shop-1']);

      // Assess
      expect(tokens.size).toBe(230);
      expect(tokens.get('shop-229')?.current.raw).toBe('token-shop-229');
      expect(tokens.get('shop-7')?.pending?.raw).toBe('pending-7');
      expect(tokens.has('shop-unknown')).toBe(false);
    });
  });

  describe('bounds', () => {
    it('gives up with a TransientError once the run is aborted, naming the operation', async () => {
      // Prepare
      await store.putCurrent('shop-a', 'token-1');
      const controller = new AbortController();
      controller.abort();
      const aborted = new DynamoDbTokenStore({
        client,
        tableName: TABLE,
        signal: controller.signal,
      });

      // Act
      const error = await failure(aborted.read('shop-a'));

      // Assess
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toBe(
        "DynamoDB GetItem did not finish before the run's deadline",
      );
    });

    it('stops retrying an unreachable endpoint at the deadline with a TransientError', async () => {
      // Prepare
      await dynamo.close();
      const deadline = Date.now() + 2_500;
      const unreachable = new DynamoDbTokenStore({
        client,
        tableName: TABLE,
        deadline: () => deadline,
      });

      // Act
      const error = await failure(unreachable.read('shop-a'));

      // Assess
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toMatch(/^DynamoDB GetItem failed: /);
      expect(Date.now()).toBeLessThan(deadline);
    });

    it('names a missing table as a store error that a retry cannot fix', async () => {
      // Prepare
      const nowhere = new DynamoDbTokenStore({ client, tableName: 'no-such-table' });

      // Act
      const error = await failure(nowhere.read('shop-a'));

      // Assess
      expect(error).toBeInstanceOf(SecretStoreError);
      expect((error as SecretStoreError).awsName).toBe('ResourceNotFoundException');
      expect((error as Error).message).toMatch(
        /^DynamoDB GetItem failed: ResourceNotFoundException/,
      );
    });
  });
});
