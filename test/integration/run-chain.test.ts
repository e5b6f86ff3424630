import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Duration } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, TOKEN_STORE } from '../../lambda/shared/contract.js';
import { shopKey } from '../../lambda/shared/dynamodb-item.js';
import { seedTable } from '../bench/table-backlog.js';
import { synthesizeVariant } from '../infra/variants.js';
import { REFRESH_PATH } from '../local/endpoints/tiktok.js';
import { type LocalDynamoDb, startDynalite } from '../support/dynalite.js';
import { LocalDeployment } from '../support/local-deployment.js';
import { runChain, runChainDefinition, TaskError } from '../support/run-chain.js';

/**
 * A backlog larger than one invocation can refresh, run as the construct's run state machine
 * runs it: the synthesized definition, executed by an independent States Language interpreter,
 * invoking the deployed bundle against the local endpoints, on each store. The function has
 * 30 s; Secrets Manager takes 10 writes a second (5 refreshes), and on the table TikTok answers
 * in a second with 2 refreshes at a time, so one invocation reaches part of the shops.
 */

const TAG_KEY = 'chain-test';
const TIMEOUT_MS = 30_000;
const WRITES_PER_SECOND = 10;
const HOUR = 3600;

let deployment: LocalDeployment;
let dynamo: LocalDynamoDb;
const definition = runChainDefinition(
  synthesizeVariant({
    shops: ['shop-a'],
    invocationsPerRun: 5,
    timeout: Duration.millis(TIMEOUT_MS),
  }).template,
);

beforeAll(async () => {
  [deployment, dynamo] = await Promise.all([
    LocalDeployment.start({
      shops: ['shop-a'],
      writeQuotaPerSecond: WRITES_PER_SECOND,
      leakCheck: true,
    }),
    startDynalite(),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([deployment?.close(), dynamo?.close()]);
});

/** Runs the state machine over the bundle with `environment`; answers each invocation's refreshes. */
async function runOver(environment: Record<string, string>) {
  const refreshedBy: string[][] = [];
  const run = await runChain(definition, {
    invoke: async (event) => {
      const outcome = await deployment.invoke(event, { timeoutMs: TIMEOUT_MS, environment });
      refreshedBy.push(
        outcome.logs.flatMap((line) => {
          const entry = JSON.parse(line.startsWith('{') ? line : '{}') as Record<string, unknown>;
          return entry.message === 'shop refreshed' ? [String(entry.shop)] : [];
        }),
      );
      if (outcome.error !== undefined) {
        throw new TaskError(outcome.error.errorType, outcome.error.errorMessage);
      }
      return outcome.result;
    },
  });
  return { run, refreshedBy };
}

/** Every invocation refreshed shops expiring no later than any a later one refreshed. */
function expectMostUrgentFirst(refreshedBy: string[][], expiries: ReadonlyMap<string, number>) {
  for (let index = 1; index < refreshedBy.length; index++) {
    const earlier = Math.max(
      ...(refreshedBy[index - 1] ?? []).map((shop) => expiries.get(shop) ?? 0),
    );
    const later = Math.min(
      ...refreshedBy
        .slice(index)
        .flat()
        .map((shop) => expiries.get(shop) ?? 0),
    );
    expect(earlier).toBeLessThanOrEqual(later);
  }
}

function refreshCalls(): number {
  return deployment.tiktok.calls.filter((call) => call.path === REFRESH_PATH).length;
}

describe('Run state machine with the refresher bundle', () => {
  it('refreshes a Secrets Manager backlog over several invocations, each shop once, most urgent first', async () => {
    // Prepare: 60 due shops (expiring in 1 to 31 hours, shuffled) and 5 fresh ones
    const due = 60;
    const expiries = new Map<string, number>();
    const now = Math.floor(Date.now() / 1000);
    for (let index = 0; index < due; index++) {
      const ttl = HOUR + ((index * 7) % due) * 30 * 60;
      const name = `tiktok-shop/tokens/chain-${String(index).padStart(3, '0')}`;
      deployment.seedShop(name, { accessTtlSeconds: ttl, tagKey: TAG_KEY });
      expiries.set(name, now + ttl);
    }
    for (let index = 0; index < 5; index++) {
      deployment.seedShop(`tiktok-shop/tokens/fresh-${index}`, {
        accessTtlSeconds: 6 * 24 * HOUR,
        tagKey: TAG_KEY,
      });
    }
    const callsBefore = refreshCalls();

    // Act
    const { run, refreshedBy } = await runOver({
      [ENV.tokenSecretIds]: '',
      [ENV.tokenSecretTagKey]: TAG_KEY,
      [ENV.secretWritesPerSecond]: String(WRITES_PER_SECOND),
    });

    // Assess
    expect(run.status).toBe('SUCCEEDED');
    expect(refreshedBy.length).toBeGreaterThanOrEqual(2);
    const all = refreshedBy.flat();
    expect(all).toHaveLength(due);
    expect(new Set(all)).toEqual(new Set(expiries.keys()));
    expect(refreshCalls() - callsBefore).toBe(due);
    for (const name of expiries.keys()) {
      const stored = deployment.storedRefreshToken(name) ?? '';
      expect(deployment.tiktok.isRefreshTokenValid(stored)).toBe(true);
    }
    expectMostUrgentFirst(refreshedBy, expiries);
  }, 240_000);

  it('refreshes a DynamoDB backlog over several invocations, each shop once, most urgent first', async () => {
    // Prepare
    const table = 'chain-table';
    await dynamo.createTokenTable(table);
    const expiries = await seedTable(deployment, dynamo, table, 30);
    const callsBefore = refreshCalls();
    const latency = deployment.tiktok.latencyMs;
    deployment.tiktok.latencyMs = 1_000;

    // Act
    const { run, refreshedBy } = await runOver({
      [ENV.tokenStore]: TOKEN_STORE.dynamodb,
      [ENV.tokenTableName]: table,
      [ENV.tokenSecretIds]: '',
      [ENV.maxConcurrency]: '2',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    }).finally(() => {
      deployment.tiktok.latencyMs = latency;
    });

    // Assess
    expect(run.status).toBe('SUCCEEDED');
    expect(refreshedBy.length).toBeGreaterThanOrEqual(2);
    expect(refreshedBy.flat().sort()).toEqual([...expiries.keys()].sort());
    expect(refreshCalls() - callsBefore).toBe(expiries.size);
    const client = dynamo.client();
    try {
      for (const shop of expiries.keys()) {
        const item = await client.send(
          new GetItemCommand({ TableName: table, Key: shopKey(shop), ConsistentRead: true }),
        );
        const raw = item.Item?.current?.M?.token?.S ?? '{}';
        const stored = (JSON.parse(raw) as { data?: { refresh_token?: string } }).data;
        expect(deployment.tiktok.isRefreshTokenValid(stored?.refresh_token ?? '')).toBe(true);
      }
    } finally {
      client.destroy();
    }
    expectMostUrgentFirst(refreshedBy, expiries);
  }, 240_000);
});
