/**
 * Measures the DynamoDB token store against dynalite: write, read and batch-read rates, and what
 * a survey of the whole fleet reads (bytes on the wire and read units per shop) beside a full
 * Scan. `npx tsx test/bench/dynamodb-store.ts [shops]`; figures are for this machine and dynalite,
 * not DynamoDB's service latency, but the bytes and read units per shop carry over.
 */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { namesFor, SURVEY_PROJECTION } from '../../lambda/shared/dynamodb-item.js';
import { DynamoDbTokenStore } from '../../lambda/shared/dynamodb-store.js';
import { DynamoDbShopSurvey } from '../../lambda/shared/dynamodb-survey.js';
import { mapWithConcurrency } from '../../lambda/shared/timing.js';
import { startDynalite } from '../support/dynalite.js';

const TABLE = 'tokens';
const CONCURRENCY = 16;

/** A token document of TikTok's shape and usual size (about 700 bytes). */
function tokenDocument(i: number): string {
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: `ROW_${'a'.repeat(180)}${i}`,
      access_token_expire_in: now + 7 * 86_400,
      refresh_token: `ROW_${'r'.repeat(180)}${i}`,
      refresh_token_expire_in: now + 365 * 86_400,
      open_id: `open-${i}`,
      seller_name: `Seller ${i}`,
      seller_base_region: 'US',
      user_type: 0,
      granted_scopes: ['seller.authorization.info', 'seller.order.info', 'seller.product.basic'],
    },
    request_id: `2024${'0'.repeat(20)}${i}`,
  });
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

const perSecond = (count: number, ms: number) => Math.round((count * 1000) / ms);

async function main(): Promise<void> {
  const shops = Number(process.argv[2] ?? 10_000);
  const dynamo = await startDynalite();
  await dynamo.createTokenTable(TABLE);
  const client = dynamo.client({ maxAttempts: 3 });
  const store = new DynamoDbTokenStore({ client, tableName: TABLE });
  const survey = new DynamoDbShopSurvey({ client, tableName: TABLE });
  const ids = Array.from({ length: shops }, (_, i) => `shop-${i}`);
  try {
    const created = await timed(() =>
      mapWithConcurrency(ids, CONCURRENCY, (id, i) =>
        store.putCurrent(id, tokenDocument(i), { app: 'app-1' }),
      ),
    );
    const sample = ids.slice(0, Math.min(shops, 2_000));
    const reads = await timed(() =>
      mapWithConcurrency(sample, CONCURRENCY, (id) => store.read(id)),
    );
    const replaced = await timed(() =>
      mapWithConcurrency(sample, CONCURRENCY, (id, i) =>
        store.replace(id, tokenDocument(i + shops), reads.value[i]?.current.versionId ?? ''),
      ),
    );
    const batch = await timed(() => survey.readMany(sample));

    let surveyed = 0;
    const scan = await timed(async () => {
      for await (const page of survey.pages()) surveyed += page.length;
    });
    // What a survey page carries on the wire, beside a Scan of the full items. DynamoDB charges
    // a Scan for the items it reads, not for the projection: the read units are the same.
    const projected = await scanWhole(client, true);
    const full = await scanWhole(client, false);

    const figures = {
      shops,
      concurrency: CONCURRENCY,
      onboardingWritesPerSecond: perSecond(shops, created.ms),
      readsPerSecond: perSecond(sample.length, reads.ms),
      replacesPerSecond: perSecond(sample.length, replaced.ms),
      storedAfterReplace: replaced.value.filter((outcome) => outcome.stored).length,
      batchReadShopsPerSecond: perSecond(batch.value.size, batch.ms),
      surveyMs: Math.round(scan.ms),
      surveyedShops: surveyed,
      surveyWireBytesPerShop: Math.round(projected.bytes / shops),
      fullItemWireBytesPerShop: Math.round(full.bytes / shops),
      scanCalls: { projected: projected.calls, full: full.calls },
      readUnitsPerShopStronglyConsistent: {
        projected: projected.readUnits / shops,
        full: full.readUnits / shops,
      },
    };
    console.log(JSON.stringify(figures, null, 2));
  } finally {
    client.destroy();
    await dynamo.close();
  }
}

/** Every page of a Scan: wire bytes of the items, calls, read units DynamoDB reports. */
async function scanWhole(
  client: DynamoDBClient,
  projected: boolean,
): Promise<{ bytes: number; calls: number; readUnits: number }> {
  const totals = { bytes: 0, calls: 0, readUnits: 0 };
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: TABLE,
        ReturnConsumedCapacity: 'TOTAL',
        ...(projected
          ? {
              ProjectionExpression: SURVEY_PROJECTION,
              ExpressionAttributeNames: namesFor(SURVEY_PROJECTION),
            }
          : {}),
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    totals.calls++;
    totals.bytes += Buffer.byteLength(JSON.stringify(page.Items ?? []));
    totals.readUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return totals;
}

await main();
