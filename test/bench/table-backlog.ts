/**
 * The backlog on the DynamoDB token table (dynalite): every shop due, expiries shuffled over 1 to
 * 41 hours, TikTok answering in 300 ms; one chained invocation of the refresher bundle, measured
 * as the Secrets Manager backlog is (see backlog.ts).
 */
import { ENV, TOKEN_STORE } from '../../lambda/shared/contract.js';
import { type Item, shopKey, versionAttribute } from '../../lambda/shared/dynamodb-item.js';
import { versionIdFor } from '../../lambda/shared/secrets-store.js';
import type { LocalDynamoDb } from '../support/dynalite.js';
import type { LocalDeployment } from '../support/local-deployment.js';
import { sellerToken } from '../support/seed-shop.js';
import { type BacklogRun, runBacklogInvocation, TIKTOK_LATENCY_MS } from './backlog.js';

const HOUR = 3600;

export async function runTableBacklog(
  deployment: LocalDeployment,
  dynamo: LocalDynamoDb,
  size: number,
  timeoutMs: number,
): Promise<BacklogRun> {
  const table = `backlog-${size}`;
  await dynamo.createTokenTable(table);
  const expiries = await seedTable(deployment, dynamo, table, size);
  const latency = deployment.tiktok.latencyMs;
  deployment.tiktok.latencyMs = TIKTOK_LATENCY_MS;
  try {
    return await runBacklogInvocation(
      deployment,
      {
        [ENV.tokenStore]: TOKEN_STORE.dynamodb,
        [ENV.tokenTableName]: table,
        [ENV.tokenSecretIds]: '',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
      },
      timeoutMs,
      expiries,
      new Map(expiries),
    );
  } finally {
    deployment.tiktok.latencyMs = latency;
  }
}

/** Every shop due, in a shuffled order of expiries; answers each shop's expiry (epoch seconds). */
export async function seedTable(
  deployment: LocalDeployment,
  dynamo: LocalDynamoDb,
  table: string,
  size: number,
): Promise<Map<string, number>> {
  const now = Date.now();
  const expiries = new Map<string, number>();
  const items: Item[] = [];
  for (let index = 0; index < size; index++) {
    // 7919 is prime and does not divide the size: a permutation of the positions.
    const position = (index * 7919) % size;
    const ttl = HOUR + Math.floor((position * 40 * HOUR) / size);
    const shop = `backlog-${String(index).padStart(6, '0')}`;
    const { raw } = sellerToken(deployment.tiktok, { accessTtlSeconds: ttl, now });
    items.push({ ...shopKey(shop), current: versionAttribute(versionIdFor(shop, raw), raw, now) });
    expiries.set(shop, Math.floor(now / 1000) + ttl);
  }
  await dynamo.putItems(table, items);
  return expiries;
}
