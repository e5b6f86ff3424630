import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectShop } from '../../../lambda/onboarding/connect.js';
import { linkVersionId } from '../../../lambda/onboarding/destination.js';
import { DynamoDbDestination } from '../../../lambda/onboarding/dynamodb-destination.js';
import { ShopConnectionRefusedError } from '../../../lambda/onboarding/errors.js';
import { DynamoDbTokenStore } from '../../../lambda/shared/dynamodb-store.js';
import { parseTokenDocument } from '../../../lambda/shared/token.js';
import { type LocalDynamoDb, startDynalite } from '../../support/dynalite.js';

const TABLE = 'tokens';

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

describe('Class: DynamoDbDestination', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBClient;
  let serial = 0;
  let shop: string;

  const destination = (name = shop) =>
    new DynamoDbDestination({ client, tableName: TABLE, shop: name });
  const item = async (name = shop) =>
    (
      await client.send(
        new GetItemCommand({ TableName: TABLE, Key: { shop: { S: name } }, ConsistentRead: true }),
      )
    ).Item;
  const store = () => new DynamoDbTokenStore({ client, tableName: TABLE });

  beforeAll(async () => {
    dynamo = await startDynalite();
    await dynamo.createTokenTable(TABLE);
    client = dynamo.client();
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });
  beforeEach(() => {
    serial++;
    shop = `shop-${serial}`;
  });

  describe('Method: write', () => {
    it('creates the shop item with the token current, its app and its seller', async () => {
      // Act
      const written = await destination().write(token('seller-a', 1), {
        basedOnVersionId: undefined,
        linkNonce: undefined,
        openId: 'seller-a',
        app: 'us',
      });

      // Assess
      expect(written).toMatchObject({ stored: true, created: true });
      const stored = await store().read(shop);
      expect(stored.current.raw).toBe(token('seller-a', 1));
      expect(await destination().inspect(undefined)).toEqual({
        linkUsed: false,
        app: 'us',
        current: {
          versionId: stored.current.versionId,
          openId: 'seller-a',
          sellerName: 'Seller seller-a',
        },
      });
      expect((await item())?.seller?.S).toBe('seller-a');
    });

    it('keeps the replaced token as the previous one when it replaces the version it was based on', async () => {
      // Prepare
      const first = await store().putCurrent(shop, token('seller-a', 1));

      // Act
      const written = await destination().write(token('seller-a', 2), {
        basedOnVersionId: first,
        linkNonce: undefined,
        openId: 'seller-a',
        app: 'default',
      });

      // Assess
      expect(written).toMatchObject({ stored: true, created: false });
      expect((await store().read(shop)).current.raw).toBe(token('seller-a', 2));
      expect((await item())?.previous?.M?.token?.S).toBe(token('seller-a', 1));
    });

    it('refuses to replace a token another writer made current since the look', async () => {
      // Prepare
      const looked = await store().putCurrent(shop, token('seller-a', 1));
      await store().putCurrent(shop, token('seller-a', 2));

      // Act
      const written = await destination().write(token('seller-a', 3), {
        basedOnVersionId: looked,
        linkNonce: undefined,
        openId: 'seller-a',
        app: 'default',
      });

      // Assess
      expect(written).toEqual({ stored: false, reason: 'moved' });
      expect((await store().read(shop)).current.raw).toBe(token('seller-a', 2));
    });

    it('refuses a second use of a consent link, even with another value', async () => {
      // Prepare
      const options = { basedOnVersionId: undefined, linkNonce: 'nonce-1', app: 'default' };
      await destination().write(token('seller-a', 1), { ...options, openId: 'seller-a' });

      // Act
      const again = await destination().write(token('seller-b', 2), {
        ...options,
        openId: 'seller-b',
      });

      // Assess
      expect(again).toEqual({ stored: false, reason: 'link-used' });
      expect((await store().read(shop)).current.raw).toBe(token('seller-a', 1));
      expect(await destination().inspect('nonce-1')).toMatchObject({ linkUsed: true });
      expect(await destination().inspect('nonce-2')).toMatchObject({ linkUsed: false });
    });

    it('answers stored when a retry finds its own write current', async () => {
      // Prepare
      const options = {
        basedOnVersionId: undefined,
        linkNonce: 'nonce-1',
        openId: 'seller-a',
        app: 'default',
      };
      await destination().write(token('seller-a', 1), options);

      // Act
      const retried = await destination().write(token('seller-a', 1), options);

      // Assess
      expect(retried).toEqual({
        stored: true,
        versionId: linkVersionId(shop, 'nonce-1'),
        created: false,
        warnings: [],
      });
    });

    it('stores the expiries beside the token for the refresher to survey', async () => {
      // Act
      await destination().write(token('seller-a', 7), {
        basedOnVersionId: undefined,
        linkNonce: undefined,
        openId: 'seller-a',
        app: 'default',
      });

      // Assess
      const current = (await item())?.current?.M;
      expect(current?.accessExpiresAt?.N).toBe(String(1_900_000_007));
      expect(current?.refreshExpiresAt?.N).toBe(String(4_841_467_787));
    });
  });

  describe('Method: shopsOfSeller', () => {
    it("finds the seller's other shops and not the shop itself", async () => {
      // Prepare
      const other = `${shop}-other`;
      for (const name of [shop, other]) {
        await destination(name).write(token(`seller-${serial}`, 1), {
          basedOnVersionId: undefined,
          linkNonce: undefined,
          openId: `seller-${serial}`,
          app: 'default',
        });
      }

      // Act
      const found = await destination().shopsOfSeller(`seller-${serial}`);

      // Assess
      expect(found).toEqual([other]);
      expect(await destination().shopsOfSeller('nobody')).toEqual([]);
    });
  });

  describe('Function: connectShop', () => {
    it('refuses a seller already connected under another shop name, storing nothing', async () => {
      // Prepare
      const seller = `seller-${serial}`;
      await destination(`${shop}-first`).write(token(seller, 1), {
        basedOnVersionId: undefined,
        linkNonce: undefined,
        openId: seller,
        app: 'default',
      });
      const raw = token(seller, 2);
      const parsed = parseTokenDocument(raw);
      if (!parsed.ok) throw new Error('test token does not parse');

      // Act
      const connecting = connectShop(
        { shop, authCode: 'code', purpose: 'any', replaceSeller: false },
        {
          appCredentials: async () => ({ app_key: 'k', app_secret: 's' }),
          tiktok: { getToken: async () => ({ raw, document: parsed.value }) },
          destination: destination(),
        },
      );

      // Assess
      await expect(connecting).rejects.toBeInstanceOf(ShopConnectionRefusedError);
      await expect(connecting).rejects.toMatchObject({ reason: 'seller-connected-elsewhere' });
      expect(await item()).toBeUndefined();
    });
  });
});
