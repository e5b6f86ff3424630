/**
 * A scheduled run of the refresher bundle on the DynamoDB token table (dynalite), 1 % of the
 * fleet due: its time and the function's peak memory, at two fleet sizes.
 * `npx tsx test/bench/table-fleet.ts [shops…]` (default 10000 100000); BENCH_DUE_EVERY (one shop in
 * N due, default 100) and BENCH_MEMORY_MB (the function's memory, default 256) vary the run.
 */
import { SCHEDULED_EVENT } from '../../infra/token-refresher.js';
import { ENV, TOKEN_STORE } from '../../lambda/shared/contract.js';
import { type Item, shopKey, versionAttribute } from '../../lambda/shared/dynamodb-item.js';
import { versionIdFor } from '../../lambda/shared/secrets-store.js';
import { type LocalDynamoDb, startDynalite } from '../support/dynalite.js';
import { LocalDeployment } from '../support/local-deployment.js';
import { sellerToken } from '../support/seed-shop.js';
import { type DynamoDbCounts, startDynamoDbMeter, storedBytes } from './dynamodb-meter.js';
import { type Figure, figure } from './figures.js';
import { countBy, logBytes, shopOutcomes } from './fleet.js';
import { printedRatio, ratio, renderTable, type Style, styleFor } from './format.js';

/** A scheduled run over 100,000 shops, 1 % due, finishes within this (issue 19). */
const TABLE_FLEET_TIME_TARGET_MS = 60_000;
/** Ten times the shops may cost at most a quarter more memory, as with secrets. */
const TABLE_FLEET_MEMORY_TARGET = 1.25;

/** One shop in a hundred is due. */
const DUE_EVERY = Number(process.env.BENCH_DUE_EVERY ?? 100);
const DUE_TTL_SECONDS = 3 * 3600;
const FRESH_TTL_SECONDS = 6 * 24 * 3600;

export interface TableFleetRun {
  readonly shops: number;
  readonly due: number;
  readonly seedMs: number;
  readonly durationMs: number;
  /** The function process's own sampled peak (see InvokeOutcome.sampledPeakRssKb). */
  readonly maxRssKb: number;
  readonly refreshed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly invocationError?: string;
  /** The function's DynamoDB calls and the request units they consumed, through the meter. */
  readonly dynamoDb: DynamoDbCounts;
  /** What the table stores, as DynamoDB bills it (items plus 100 bytes each), after the run. */
  readonly storedBytes: number;
  /** App credentials still come from Secrets Manager. */
  readonly secretsManagerCalls: Readonly<Record<string, number>>;
  readonly tiktokCalls: number;
  readonly eventBridgeCalls: number;
  readonly eventBridgeEntries: number;
  /** What the function printed (JSON logs, EMF metrics): what CloudWatch Logs ingests. */
  readonly logBytes: number;
}

/** A not-due token of TikTok's shape and usual size: never sent to TikTok. */
function freshToken(i: number, now: number): string {
  return JSON.stringify({
    code: 0,
    message: 'success',
    data: {
      access_token: `ROW_${'a'.repeat(180)}${i}`,
      access_token_expire_in: Math.floor(now / 1000) + FRESH_TTL_SECONDS,
      refresh_token: `ROW_${'r'.repeat(180)}${i}`,
      refresh_token_expire_in: Math.floor(now / 1000) + 365 * 86_400,
      open_id: `open-${i}`,
      seller_name: `Seller ${i}`,
    },
    request_id: `bench-${i}`,
  });
}

async function seedTable(
  deployment: LocalDeployment,
  dynamo: LocalDynamoDb,
  table: string,
  size: number,
): Promise<number> {
  const now = Date.now();
  let due = 0;
  const items: Item[] = [];
  for (let i = 0; i < size; i++) {
    const shop = `fleet-${size}-${i}`;
    const isDue = i % DUE_EVERY === 0;
    if (isDue) due++;
    const raw = isDue
      ? sellerToken(deployment.tiktok, { accessTtlSeconds: DUE_TTL_SECONDS }).raw
      : freshToken(i, now);
    items.push({ ...shopKey(shop), current: versionAttribute(versionIdFor(shop, raw), raw, now) });
  }
  await dynamo.putItems(table, items);
  return due;
}

export async function runTableFleet(
  deployment: LocalDeployment,
  dynamo: LocalDynamoDb,
  size: number,
): Promise<TableFleetRun> {
  const table = `fleet-${size}`;
  await dynamo.createTokenTable(table);
  const seedStarted = performance.now();
  const due = await seedTable(deployment, dynamo, table, size);
  const seedMs = performance.now() - seedStarted;
  const meter = await startDynamoDbMeter(dynamo.url);
  const secretsFrom = deployment.secretsManager.calls.length;
  const tiktokFrom = deployment.tiktok.calls.length;
  const eventCallsFrom = deployment.eventBridge.callCount;
  const eventsFrom = deployment.eventBridge.events.length;
  const outcome = await deployment
    .invoke(SCHEDULED_EVENT, {
      environment: {
        [ENV.tokenStore]: TOKEN_STORE.dynamodb,
        [ENV.tokenTableName]: table,
        [ENV.tokenSecretIds]: '',
        AWS_ENDPOINT_URL_DYNAMODB: meter.url,
        // The function's memory (and so V8's heap limits): 256 MB as deployed, or another to test.
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: process.env.BENCH_MEMORY_MB ?? '256',
      },
    })
    .finally(() => meter.close());
  const client = dynamo.client({ maxAttempts: 5 });
  const stored = await storedBytes(client, table).finally(() => client.destroy());
  const logged = shopOutcomes(outcome.logs);
  const summary = outcome.result as { counts?: { skipped?: number } } | undefined;
  return {
    shops: size,
    due,
    seedMs,
    durationMs: outcome.durationMs ?? Number.NaN,
    maxRssKb: outcome.sampledPeakRssKb ?? Number.NaN,
    refreshed: logged.get('refreshed') ?? 0,
    failed: logged.get('failed') ?? 0,
    skipped: summary?.counts?.skipped ?? 0,
    ...(outcome.error === undefined ? {} : { invocationError: outcome.error.errorMessage }),
    dynamoDb: meter.counts(),
    storedBytes: stored,
    secretsManagerCalls: countBy(
      deployment.secretsManager.calls.slice(secretsFrom).map((call) => call.operation),
    ),
    tiktokCalls: deployment.tiktok.calls.length - tiktokFrom,
    eventBridgeCalls: deployment.eventBridge.callCount - eventCallsFrom,
    eventBridgeEntries: deployment.eventBridge.events.length - eventsFrom,
    logBytes: logBytes(outcome.logs),
  };
}

/** The figures of two runs (the smaller fleet first), each against its target, for the report. */
export function tableFleetFigures(runs: readonly TableFleetRun[]): Figure[] {
  const [small, large] = runs;
  if (small === undefined || large === undefined) return [];
  const memory = large.maxRssKb / small.maxRssKb;
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  return [
    figure({
      name: `table fleet ${large.shops}: failed shops`,
      value: large.failed,
      measured: String(large.failed),
      limit: 0,
      target: '0',
      why: () => large.invocationError ?? `${large.failed} shops failed; the log names each`,
    }),
    figure({
      name: `table fleet ${large.shops}, 1 % due: run time`,
      value: Math.round(large.durationMs),
      measured: `${(large.durationMs / 1000).toFixed(1)} s`,
      limit: TABLE_FLEET_TIME_TARGET_MS,
      target: `≤ ${TABLE_FLEET_TIME_TARGET_MS / 1000} s`,
      why: () => `${large.refreshed} refreshed of ${large.due} due`,
    }),
    figure({
      name: `table fleet peak memory, ${large.shops} vs ${small.shops} shops`,
      value: printedRatio(memory),
      measured: `${ratio(memory)} (${mb(large.maxRssKb)} / ${mb(small.maxRssKb)})`,
      limit: TABLE_FLEET_MEMORY_TARGET,
      target: `≤ ${ratio(TABLE_FLEET_MEMORY_TARGET)}`,
      why: () => `peak RSS grew ${mb(large.maxRssKb - small.maxRssKb)}`,
    }),
  ];
}

/** Runs fleets of `sizes` shops, smallest first, on one fresh dynalite. */
export async function runTableFleets(
  deployment: LocalDeployment,
  sizes: readonly number[],
  onRun: (run: TableFleetRun) => void = () => {},
): Promise<TableFleetRun[]> {
  const dynamo = await startDynalite();
  try {
    const runs: TableFleetRun[] = [];
    for (const size of [...sizes].sort((a, b) => a - b)) {
      const run = await runTableFleet(deployment, dynamo, size);
      runs.push(run);
      onRun(run);
    }
    return runs;
  } finally {
    await dynamo.close();
  }
}

export function renderTableFleet(runs: readonly TableFleetRun[], style: Style): string[] {
  const right = (header: string) => ({ header, align: 'right' as const });
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const units = (counts: Readonly<Record<string, number>>) =>
    Object.values(counts).reduce((sum, count) => sum + count, 0);
  return [
    style.bold(
      `DynamoDB fleet: scheduled runs on the token table (dynalite behind a counting proxy), one shop in ${DUE_EVERY} due`,
    ),
    ...renderTable(
      [
        right('shops'),
        right('due'),
        right('seeded in'),
        right('time'),
        right('peak RSS'),
        right('refreshed'),
        right('failed'),
        right('read units'),
        right('write units'),
        right('stored per shop'),
        right('TikTok calls'),
        right('PutEvents'),
        right('events'),
      ],
      runs.map((run) => [
        String(run.shops),
        String(run.due),
        seconds(run.seedMs),
        seconds(run.durationMs),
        `${(run.maxRssKb / 1024).toFixed(0)} MB`,
        String(run.refreshed),
        String(run.failed),
        String(units(run.dynamoDb.readUnits)),
        String(units(run.dynamoDb.writeUnits)),
        `${Math.round(run.storedBytes / run.shops)} B`,
        String(run.tiktokCalls),
        String(run.eventBridgeCalls),
        String(run.eventBridgeEntries),
      ]),
    ),
    ...runs.map(
      (run) =>
        `  DynamoDB calls, ${run.shops} shops: ${Object.entries(run.dynamoDb.calls)
          .map(([operation, count]) => `${operation} ${count}`)
          .join(
            ', ',
          )}; refused conditional writes ${run.dynamoDb.refusedConditionalWrites}; Secrets Manager (app credentials): ${
          Object.entries(run.secretsManagerCalls)
            .map(([operation, count]) => `${operation} ${count}`)
            .join(', ') || 'none'
        }`,
    ),
  ];
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  const deployment = await LocalDeployment.start({ shops: ['shop-a'] });
  try {
    const runs = await runTableFleets(
      deployment,
      sizes.length > 0 ? sizes : [10_000, 100_000],
      (run) => console.log(JSON.stringify(run)),
    );
    for (const line of tableFleetFigures(runs)) console.log(JSON.stringify(line));
    console.log(renderTableFleet(runs, styleFor(process.stdout)).join('\n'));
  } finally {
    await deployment.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
