import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { copyTokens } from '../../../lambda/commands/store-copy.js';
import { SecretsSideStore, TableSideStore } from '../../../lambda/commands/store-copy-stores.js';
import { main } from '../../../lambda/commands/switch-store.js';
import { DynamoDbTokenStore } from '../../../lambda/shared/dynamodb-store.js';
import { SecretsManagerTokenStore } from '../../../lambda/shared/secrets-store.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/endpoints/secrets-manager.js';
import { type LocalDynamoDb, startDynalite } from '../../support/dynalite.js';

const TABLE = 'tokens';
const TAG = { 'tiktok-shop-token': 'x' };

function token(shop: string, n: number): string {
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: `TTS_AT_${shop}_${n}`,
      access_token_expire_in: 1_900_000_000 + n,
      refresh_token: `TTS_RT_${shop}_${n}`,
      refresh_token_expire_in: 4_841_467_787,
      open_id: `seller-${shop}`,
    },
  });
}

describe('Command: switch-store', () => {
  let endpoint: LocalSecretsManager;
  let dynamo: LocalDynamoDb;
  let secretsManager: SecretsManagerClient;
  let dynamodb: DynamoDBClient;
  let table: DynamoDbTokenStore;
  let secrets: SecretsManagerTokenStore;
  const secretName = (shop: string) => `tiktok-shop/tokens/${shop}`;
  const sides = () => ({
    secrets: new SecretsSideStore({
      client: secretsManager,
      secretNamePrefix: 'tiktok-shop/',
      tagKey: 'tiktok-shop-token',
    }),
    table: new TableSideStore(dynamodb, TABLE),
  });

  beforeEach(async () => {
    endpoint = await startLocalSecretsManager();
    dynamo = await startDynalite();
    await dynamo.createTokenTable(TABLE);
    secretsManager = new SecretsManagerClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
    dynamodb = dynamo.client();
    table = new DynamoDbTokenStore({ client: dynamodb, tableName: TABLE });
    secrets = new SecretsManagerTokenStore({ client: secretsManager, writesPerSecond: 1000 });
    vi.spyOn(console, 'log').mockImplementation(() => {});
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    secretsManager.destroy();
    dynamodb.destroy();
    await endpoint.close();
    await dynamo.close();
  });

  it('copies every shop token with its version into the table and leaves the secrets', async () => {
    // Prepare
    const seeded = ['acme-uk', 'acme-de'].map((shop) =>
      endpoint.seed(secretName(shop), token(shop, 1), TAG),
    );
    endpoint.seed('tiktok-shop/app-credentials', '{}', {});

    // Act
    const code = await main(
      ['--from', 'secrets-manager', '--to', 'dynamodb', '--table', TABLE],
      {},
      { secretsManager, dynamodb },
    );

    // Assess
    expect(code).toBe(0);
    for (const [index, shop] of ['acme-uk', 'acme-de'].entries()) {
      const copied = await table.read(shop);
      expect(copied.current.raw).toBe(token(shop, 1));
      expect(copied.current.versionId).toBe(seeded[index]?.versionId);
      expect((await secrets.read(secretName(shop))).current.raw).toBe(token(shop, 1));
    }
    expect(console.log).toHaveBeenCalledWith(
      expect.stringContaining('2 shops in 2 passes; 2 copies checked equal to their source'),
    );
  });

  it('copies again a token refreshed on the source while the copy ran, and loses none', async () => {
    // Prepare
    for (const shop of ['a-shop', 'b-shop', 'c-shop']) {
      endpoint.seed(secretName(shop), token(shop, 1), TAG);
    }
    const { secrets: source, table: destination } = sides();
    let refreshed = false;
    const racing = {
      look: (shop: string) => destination.look(shop),
      put: async (...args: Parameters<typeof destination.put>) => {
        const written = await destination.put(...args);
        // The old refresher stores a new token just after this shop's copy was made.
        if (args[0].shop === 'b-shop' && !refreshed) {
          refreshed = true;
          const before = await secrets.read(secretName('b-shop'));
          await secrets.replace(secretName('b-shop'), token('b-shop', 2), before.current.versionId);
        }
        return written;
      },
    };

    // Act
    const report = await copyTokens(source, racing);

    // Assess
    expect(refreshed).toBe(true);
    expect(report).toMatchObject({ shops: 3, verified: 3, keptNewer: [], failed: [] });
    expect(report.passes).toBe(3);
    expect((await table.read('b-shop')).current.raw).toBe(token('b-shop', 2));
    expect((await table.read('b-shop')).current.versionId).toBe(
      (await secrets.read(secretName('b-shop'))).current.versionId,
    );
  });

  it("keeps a token the table's own writers stored after the switch", async () => {
    // Prepare
    endpoint.seed(secretName('acme-uk'), token('acme-uk', 1), TAG);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await table.putCurrent('acme-uk', token('acme-uk', 9));

    // Act
    const report = await copyTokens(sides().secrets, sides().table);

    // Assess
    expect(report).toMatchObject({ verified: 0, keptNewer: ['acme-uk'], failed: [] });
    expect((await table.read('acme-uk')).current.raw).toBe(token('acme-uk', 9));
  });

  it('copies the table back into the secrets, creating the missing ones', async () => {
    // Prepare
    await table.putCurrent('acme-uk', token('acme-uk', 3), { app: 'us' });
    await table.putCurrent('acme-fr', token('acme-fr', 4));

    // Act
    const code = await main(
      ['--from', 'dynamodb', '--to', 'secrets-manager', '--table', TABLE],
      {},
      { secretsManager, dynamodb },
    );

    // Assess
    expect(code).toBe(0);
    expect((await secrets.read(secretName('acme-uk'))).current.raw).toBe(token('acme-uk', 3));
    expect((await secrets.read(secretName('acme-fr'))).current.raw).toBe(token('acme-fr', 4));
    const described = await secretsManager.send(
      new DescribeSecretCommand({ SecretId: secretName('acme-uk') }),
    );
    expect(described.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'tiktok-shop-token', Value: 'acme-uk' },
        { Key: 'tiktok-shop-app', Value: 'us' },
      ]),
    );
  });

  it('refuses unknown stores and names the usage', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});

    const code = await main(['--from', 'redis', '--to', 'dynamodb', '--table', TABLE], {});

    expect(code).toBe(2);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('--from and --to are required'));
  });
});
