import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  getShopToken,
  MalformedSecretError,
  SecretStoreError,
  tiktokShopApi,
} from '../../lambda/reader/index.js';
import { TokenTableProvider } from '../../lambda/reader/token-table.js';
import { DynamoDbTokenStore } from '../../lambda/shared/dynamodb-store.js';
import { type LocalDynamoDb, startDynalite } from '../support/dynalite.js';

const TABLE = 'tokens';
const NOW = Date.parse('2030-01-01T00:00:00Z');

function token(n: number, expiresAt = NOW / 1000 + 3600): string {
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: `TTS_AT_${n}`,
      access_token_expire_in: expiresAt,
      refresh_token: `TTS_RT_${n}`,
      refresh_token_expire_in: expiresAt + 86_400,
      open_id: 'seller-1',
      seller_name: 'Seller One',
    },
  });
}

describe('Function: getShopToken (token table)', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBClient;
  let store: DynamoDbTokenStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    await dynamo.createTokenTable(TABLE);
    client = dynamo.client();
    store = new DynamoDbTokenStore({ client, tableName: TABLE });
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  const provider = () => new TokenTableProvider({ tableName: TABLE, awsSdkV3Client: client });

  it("reads the shop item's current access token, never the refresh token", async () => {
    // Prepare
    await store.putCurrent('acme', token(1));

    // Act
    const read = await getShopToken('acme', { tableProvider: provider(), now: () => NOW });

    // Assess
    expect(read).toEqual({
      accessToken: 'TTS_AT_1',
      accessTokenExpiresAt: new Date((NOW / 1000 + 3600) * 1000),
      sellerName: 'Seller One',
      openId: 'seller-1',
    });
    expect(JSON.stringify(read)).not.toContain('TTS_RT');
  });

  it('serves the cached token until it is read again with forceFetch', async () => {
    // Prepare
    const tableProvider = provider();
    await store.putCurrent('cached', token(1));
    await getShopToken('cached', { tableProvider, now: () => NOW });
    await store.putCurrent('cached', token(2));

    // Act
    const cached = await getShopToken('cached', { tableProvider, now: () => NOW });
    const fresh = await getShopToken('cached', { tableProvider, forceFetch: true, now: () => NOW });

    // Assess
    expect(cached.accessToken).toBe('TTS_AT_1');
    expect(fresh.accessToken).toBe('TTS_AT_2');
  });

  it('says the shop has no token when its item is missing', async () => {
    const reading = getShopToken('missing', { tableProvider: provider(), now: () => NOW });

    await expect(reading).rejects.toBeInstanceOf(MalformedSecretError);
    await expect(reading).rejects.toThrow(
      'shop missing of table tokens holds no value, not a token document',
    );
  });

  it('names the table when the read fails', async () => {
    const reading = getShopToken('acme', {
      tableProvider: new TokenTableProvider({ tableName: 'no-such-table', awsSdkV3Client: client }),
      now: () => NOW,
    });

    await expect(reading).rejects.toBeInstanceOf(SecretStoreError);
    await expect(reading).rejects.toThrow(
      /could not read shop acme from token table no-such-table: ResourceNotFoundException/,
    );
  });

  it('refuses a current token that does not parse, without quoting it', async () => {
    // Prepare
    await store.putCurrent('broken', token(1));
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { shop: { S: 'broken' } },
        UpdateExpression: 'SET #c.#t = :t',
        ExpressionAttributeNames: { '#c': 'current', '#t': 'token' },
        ExpressionAttributeValues: { ':t': { S: 'TTS_AT_not-json' } },
      }),
    );

    // Act
    const reading = getShopToken('broken', { tableProvider: provider(), now: () => NOW });

    // Assess
    await expect(reading).rejects.toBeInstanceOf(MalformedSecretError);
    await expect(reading).rejects.not.toThrow(/TTS_AT_not-json/);
  });

  describe('with TOKEN_TABLE_NAME in the environment', () => {
    afterEach(() => vi.unstubAllEnvs());

    it('reads the table a function is told of, through the default provider', async () => {
      // Prepare
      await store.putCurrent('from-env', token(5));
      vi.stubEnv('TOKEN_TABLE_NAME', TABLE);
      vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.url);
      vi.stubEnv('AWS_REGION', 'us-east-1');
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');

      // Act
      const read = await getShopToken('from-env', { now: () => NOW });

      // Assess
      expect(read.accessToken).toBe('TTS_AT_5');
    });

    it("builds an API client for the table's shop, which must name its app's credentials", () => {
      vi.stubEnv('TOKEN_TABLE_NAME', TABLE);
      vi.stubEnv('SHOP_NAME', 'acme');
      vi.stubEnv('SHOP_TOKEN_SECRET_ID', '');
      vi.stubEnv('APP_CREDENTIALS_SECRET_ID', '');

      expect(() => tiktokShopApi()).toThrow(ConfigurationError);
      expect(() => tiktokShopApi()).toThrow(
        'appCredentialsSecretId (or APP_CREDENTIALS_SECRET_ID) is required with a token table',
      );
      expect(() => tiktokShopApi({ appCredentialsSecretId: 'creds' })).not.toThrow();
      vi.stubEnv('SHOP_NAME', '');
      expect(() => tiktokShopApi({ appCredentialsSecretId: 'creds' })).toThrow(
        `shopName (or SHOP_NAME) is required with the token table ${TABLE}`,
      );
    });
  });
});
