import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectedElsewhereError, connectShop } from '../../../lambda/onboarding/connect.js';
import { DynamoDbDestination } from '../../../lambda/onboarding/dynamodb-destination.js';
import { DynamoDbTokenStore } from '../../../lambda/shared/dynamodb-store.js';
import { parseTokenDocument, type TokenAnswer } from '../../../lambda/shared/token.js';
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
        openId: 'seller-a',
        app: 'default',
      });

      // Assess
      expect(written).toEqual({ stored: false, reason: 'moved' });
      expect((await store().read(shop)).current.raw).toBe(token('seller-a', 2));
    });

    it('answers stored when a retry finds its own write current', async () => {
      // Prepare
      const options = { basedOnVersionId: undefined, openId: 'seller-a', app: 'default' };
      const first = await destination().write(token('seller-a', 1), options);

      // Act
      const retried = await destination().write(token('seller-a', 1), options);

      // Assess
      expect(first).toMatchObject({ stored: true, created: true });
      expect(retried).toEqual({
        stored: true,
        versionId: first.stored ? first.versionId : '',
        created: false,
        warnings: [],
      });
    });

    it('stores the expiries beside the token for the refresher to survey', async () => {
      // Act
      await destination().write(token('seller-a', 7), {
        basedOnVersionId: undefined,
        openId: 'seller-a',
        app: 'default',
      });

      // Assess
      const current = (await item())?.current?.M;
      expect(current?.accessExpiresAt?.N).toBe(String(1_900_000_007));
      expect(current?.refreshExpiresAt?.N).toBe(String(4_841_467_787));
    });
  });

  describe('Method: claimLink', () => {
    it('claims a link once, creating an item that holds no token', async () => {
      // Act
      const first = await destination().claimLink('nonce-1');
      const again = await destination().claimLink('nonce-1');

      // Assess
      expect(first).toEqual({ claimed: true, created: true });
      expect(again).toEqual({ claimed: false });
      expect(await destination().inspect('nonce-1')).toEqual({
        linkUsed: true,
        linkUnfinished: true,
        app: 'default',
      });
      expect(await destination().inspect('nonce-2')).toMatchObject({ linkUsed: false });
      expect((await item())?.current).toBeUndefined();
    });

    it('claims a link on a connected shop without touching its token', async () => {
      // Prepare
      await store().putCurrent(shop, token('seller-a', 1));

      // Act
      const claim = await destination().claimLink('nonce-1');

      // Assess
      expect(claim).toEqual({ claimed: true, created: false });
      expect((await store().read(shop)).current.raw).toBe(token('seller-a', 1));
      expect(await destination().inspect('nonce-1')).toMatchObject({ linkUsed: true });
    });
  });

  describe('Method: inspect', () => {
    it('answers a link claimed with no token stored since as unfinished, and as used once one is', async () => {
      // Prepare: a connected shop, a reconnect link claimed (its exchange failed)
      await store().putCurrent(shop, token('seller-a', 1));
      await destination().claimLink('nonce-1');
      const unfinished = await destination().inspect('nonce-1');

      // Act: a token stored since
      const current = (await destination().inspect(undefined)).current;
      await destination().write(token('seller-a', 2), {
        basedOnVersionId: current?.versionId,
        openId: 'seller-a',
        app: 'default',
      });
      const used = await destination().inspect('nonce-1');

      // Assess
      expect(unfinished).toMatchObject({ linkUsed: true, linkUnfinished: true });
      expect(used).toMatchObject({ linkUsed: true });
      expect(used.linkUnfinished).toBeUndefined();
    });

    it('answers an older link as used and unfinished after a newer link was claimed', async () => {
      // Prepare
      await store().putCurrent(shop, token('seller-a', 1));
      await destination().claimLink('older');
      await destination().claimLink('newer');

      // Act
      const older = await destination().inspect('older');

      // Assess
      expect(older).toMatchObject({ linkUsed: true, linkUnfinished: true });
    });
  });

  describe('Method: keep', () => {
    it('keeps an answer beside the token, never current', async () => {
      // Prepare
      await store().putCurrent(shop, token('seller-a', 1));

      // Act
      const kept = await destination().keep(token('seller-a', 2));

      // Assess
      const stored = await store().read(shop);
      expect(stored.current.raw).toBe(token('seller-a', 1));
      expect(stored.kept).toMatchObject({ versionId: kept.versionId, raw: token('seller-a', 2) });
      expect(kept.where).toContain(shop);
    });

    it('keeps an answer for a shop that holds no token, which stays without one', async () => {
      // Act
      const kept = await destination().keep(token('seller-a', 2));

      // Assess
      expect((await item())?.kept?.M?.version?.S).toBe(kept.versionId);
      expect(await destination().inspect(undefined)).toEqual({ linkUsed: false, app: 'default' });
    });
  });

  describe('Method: shopsOfSeller', () => {
    it("finds the seller's other shops and not the shop itself", async () => {
      // Prepare
      const other = `${shop}-other`;
      for (const name of [shop, other]) {
        await destination(name).write(token(`seller-${serial}`, 1), {
          basedOnVersionId: undefined,
          openId: `seller-${serial}`,
          app: 'default',
        });
      }

      // Act
      const found = await destination().shopsOfSeller(`seller-${serial}`);

      // Assess
      expect(found.map((each) => each.shop)).toEqual([other]);
      expect(found[0]).toBeInstanceOf(DynamoDbDestination);
      expect(await destination().shopsOfSeller('nobody')).toEqual([]);
    });
  });

  describe('Function: connectShop', () => {
    const answerOf = (raw: string): TokenAnswer => {
      const parsed = parseTokenDocument(raw);
      if (!parsed.ok) throw new Error('test token does not parse');
      return { usable: true, raw, document: parsed.value };
    };
    const dependencies = (raw: string, target = destination()) => ({
      appCredentials: async () => ({ app_key: 'k', app_secret: 's' }),
      tiktok: { getToken: async () => answerOf(raw) },
      destination: target,
      now: () => Date.now(),
    });

    it("stores the token of a seller connected under another shop name in that shop's item", async () => {
      // Prepare
      const seller = `seller-${serial}`;
      const own = `${shop}-first`;
      await destination(own).write(token(seller, 1), {
        basedOnVersionId: undefined,
        openId: seller,
        app: 'default',
      });

      // Act
      const connecting = connectShop(
        { shop, authCode: 'code', purpose: 'any', replaceSeller: false },
        dependencies(token(seller, 2)),
      );

      // Assess
      await expect(connecting).rejects.toBeInstanceOf(ConnectedElsewhereError);
      await expect(connecting).rejects.toMatchObject({
        reason: 'seller-connected-elsewhere',
        connected: { shop: own, connection: 'reconnected' },
      });
      expect((await store().read(own)).current.raw).toBe(token(seller, 2));
      expect(await item()).toBeUndefined();
    });

    it('refuses a link approved again after its exchange failed as not finished, without exchanging', async () => {
      // Prepare: the link's first approval, whose code TikTok refused
      const request = { shop, authCode: 'code', purpose: 'connect', linkNonce: 'n' } as const;
      const refusing = {
        ...dependencies(token(`seller-${serial}`, 1)),
        tiktok: {
          getToken: async (): Promise<TokenAnswer> => {
            throw new Error('TikTok refused the code');
          },
        },
      };
      await expect(connectShop(request, refusing)).rejects.toThrow('TikTok refused the code');

      // Act
      const again = connectShop({ ...request, authCode: 'code-2' }, refusing);

      // Assess
      await expect(again).rejects.toMatchObject({
        reason: 'link-not-finished',
        detail: { codeUsed: false },
        message: expect.stringContaining('no token was stored by it or since'),
      });
      expect((await item())?.current).toBeUndefined();
    });

    it('lets one of two approvals of one link exchange its code, leaving its token current', async () => {
      // Prepare
      const seller = `seller-${serial}`;
      const request = { shop, authCode: 'code', purpose: 'connect', linkNonce: 'n' } as const;
      let exchanges = 0;
      const deps = (n: number) => {
        const base = dependencies(token(seller, n));
        return {
          ...base,
          tiktok: {
            getToken: async () => {
              exchanges++;
              return base.tiktok.getToken();
            },
          },
        };
      };

      // Act
      const outcomes = await Promise.allSettled([
        connectShop(request, deps(1)),
        connectShop(request, deps(2)),
      ]);

      // Assess
      const connected = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const refused = outcomes.flatMap((outcome) =>
        outcome.status === 'rejected' ? [outcome.reason] : [],
      );
      expect(connected).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({
        reason: 'link-already-used',
        detail: { codeUsed: false },
      });
      expect(exchanges).toBe(1);
      const current = (await store().read(shop)).current;
      expect(JSON.parse(current.raw).data.open_id).toBe(seller);
    });
  });
});
