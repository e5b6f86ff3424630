/**
 * What a shop costs a month on each store, from the calls the bench's fleet runs counted and AWS
 * list prices: per-run counts carried to a month of hourly runs and a refresh every ~5 days.
 */
import type { FleetRun } from './fleet.js';
import { renderTable, type Style } from './format.js';
import type { TableFleetRun } from './table-fleet.js';

/** us-east-1 list prices, in US dollars, as recorded for this project. */
export const PRICES = {
  recorded: 'us-east-1 list prices as recorded in December 2026',
  secretMonth: 0.4,
  secretsManagerPer10kCalls: 0.05,
  /** On demand, after the November 2024 cut. */
  dynamoDbPerMillionWriteUnits: 0.625,
  dynamoDbPerMillionReadUnits: 0.125,
  dynamoDbStorageGbMonth: 0.25,
  dynamoDbPitrGbMonth: 0.2,
  kmsKeyMonth: 1,
  kmsPer10kRequests: 0.03,
  lambdaArmGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  eventBridgePerMillionEvents: 1,
  cloudWatchLogsIngestedGb: 0.5,
  /** 17 metrics at $0.30, 8 alarms at $0.10, a dashboard at $3 (README, Cost). */
  cloudWatchFixedMonth: 8.9,
  stepFunctionsPer1kTransitions: 0.025,
} as const;

export type Prices = {
  readonly [K in keyof typeof PRICES]: K extends 'recorded' ? string : number;
};

/**
 * The month the runs are carried to: hourly runs, and a shop refreshed about every 5 days (TikTok's
 * access tokens live 7 days and are refreshed 48 hours before they expire: 730 h / 120 h ≈ 6).
 */
export const MONTH: Month = {
  runs: 730,
  refreshesPerShop: 6,
  /**
   * Step Functions, only with invocationsPerRun above 1: the 7 states a run of one invocation
   * enters (test/infra/run-chain.test.ts counts them; each further invocation adds 3).
   */
  stepFunctionTransitionsPerRun: 7,
};

export interface Month {
  readonly runs: number;
  readonly refreshesPerShop: number;
  readonly stepFunctionTransitionsPerRun: number;
}

/** The construct's memory for the refresher (the bench runs it with the same heap limits). */
const FUNCTION_MEMORY_GB = 0.25;
const GB = 1024 ** 3;

export type StoreName = 'Secrets Manager' | 'DynamoDB';

/** One counted run reduced to what every shop costs each run and what each refresh costs. */
export interface StoreRates {
  readonly store: StoreName;
  /** The fleet size of the run the rates were counted in. */
  readonly measuredShops: number;
  /** Store API calls surveying the fleet, per shop and run (everything not about a due shop). */
  readonly surveyCallsPerShopRun: number;
  /** Store API calls about a due shop, per refresh. */
  readonly refreshCallsPerRefresh: number;
  /** DynamoDB request units: the Scan's reads per shop and run; per refresh, reads and writes. */
  readonly surveyReadUnitsPerShopRun: number;
  readonly refreshReadUnitsPerRefresh: number;
  readonly refreshWriteUnitsPerRefresh: number;
  /** DynamoDB: bytes billed for storage per shop. */
  readonly storedBytesPerShop: number;
  /** Secrets Manager calls per run of the DynamoDB store: the app credentials. */
  readonly appCredentialCallsPerRun: number;
  readonly eventEntriesPerRefresh: number;
  /** The run's duration × the function's memory, per shop (the run's refreshes included). */
  readonly lambdaGbSecondsPerShopRun: number;
  /** The function logs a line per refreshed shop and a run summary, none per skipped shop. */
  readonly logBytesPerRefresh: number;
}

const total = (counts: Readonly<Record<string, number>>): number =>
  Object.values(counts).reduce((sum, count) => sum + count, 0);

/** The rates of a Secrets Manager fleet run (30 % due: Lambda and logs err high). */
export function secretsManagerRates(run: FleetRun): StoreRates {
  const refreshes = Math.max(run.refreshed, 1);
  return {
    store: 'Secrets Manager',
    measuredShops: run.shops,
    surveyCallsPerShopRun: (total(run.secretsManagerCalls) - run.dueShopCalls) / run.shops,
    refreshCallsPerRefresh: run.dueShopCalls / refreshes,
    surveyReadUnitsPerShopRun: 0,
    refreshReadUnitsPerRefresh: 0,
    refreshWriteUnitsPerRefresh: 0,
    storedBytesPerShop: 0,
    appCredentialCallsPerRun: 0,
    eventEntriesPerRefresh: run.eventBridgeEntries / refreshes,
    lambdaGbSecondsPerShopRun: ((run.durationMs / 1000) * FUNCTION_MEMORY_GB) / run.shops,
    logBytesPerRefresh: run.logBytes / refreshes,
  };
}

/** The rates of a DynamoDB fleet run: the Scan is the survey, every other call is a refresh's. */
export function dynamoDbRates(run: TableFleetRun): StoreRates {
  const refreshes = Math.max(run.refreshed, 1);
  const { calls, readUnits, writeUnits, refusedConditionalWrites } = run.dynamoDb;
  const scanCalls = calls.Scan ?? 0;
  const scanUnits = readUnits.Scan ?? 0;
  const storedBytesPerShop = run.storedBytes / run.shops;
  // A refused conditional write is billed at the item's size (minimum 1 unit); dynalite reports none.
  const refusedUnits = refusedConditionalWrites * Math.max(1, Math.ceil(storedBytesPerShop / 1024));
  return {
    store: 'DynamoDB',
    measuredShops: run.shops,
    surveyCallsPerShopRun: scanCalls / run.shops,
    refreshCallsPerRefresh: (total(calls) - scanCalls) / refreshes,
    surveyReadUnitsPerShopRun: scanUnits / run.shops,
    refreshReadUnitsPerRefresh: (total(readUnits) - scanUnits) / refreshes,
    refreshWriteUnitsPerRefresh: (total(writeUnits) + refusedUnits) / refreshes,
    storedBytesPerShop,
    appCredentialCallsPerRun: total(run.secretsManagerCalls),
    eventEntriesPerRefresh: run.eventBridgeEntries / refreshes,
    lambdaGbSecondsPerShopRun: ((run.durationMs / 1000) * FUNCTION_MEMORY_GB) / run.shops,
    logBytesPerRefresh: run.logBytes / refreshes,
  };
}

export interface CostLine {
  readonly item: string;
  readonly perMonth: number;
}

/** A month of `shops` on one store, line by line, in dollars. */
export function monthlyCost(
  rates: StoreRates,
  shops: number,
  prices: Prices = PRICES,
  month: Month = MONTH,
): CostLine[] {
  const shopRuns = shops * month.runs;
  const refreshes = shops * month.refreshesPerShop;
  const lambdaGbSeconds = rates.lambdaGbSecondsPerShopRun * shopRuns;
  const common: CostLine[] = [
    {
      item: 'Lambda (duration × 256 MB, requests)',
      perMonth:
        lambdaGbSeconds * prices.lambdaArmGbSecond +
        (month.runs / 1e6) * prices.lambdaPerMillionRequests,
    },
    {
      item: 'EventBridge events',
      perMonth:
        ((rates.eventEntriesPerRefresh * refreshes) / 1e6) * prices.eventBridgePerMillionEvents,
    },
    {
      item: 'CloudWatch Logs ingested',
      perMonth: ((rates.logBytesPerRefresh * refreshes) / GB) * prices.cloudWatchLogsIngestedGb,
    },
    { item: 'CloudWatch metrics, alarms, dashboard', perMonth: prices.cloudWatchFixedMonth },
  ];
  const storeCalls =
    rates.surveyCallsPerShopRun * shopRuns + rates.refreshCallsPerRefresh * refreshes;
  if (rates.store === 'Secrets Manager') {
    return [
      {
        item: 'Secrets: a shop’s token, the app credentials',
        perMonth: (shops + 1) * prices.secretMonth,
      },
      {
        item: 'Secrets Manager API calls',
        perMonth: (storeCalls / 1e4) * prices.secretsManagerPer10kCalls,
      },
      ...common,
    ];
  }
  const readUnits =
    rates.surveyReadUnitsPerShopRun * shopRuns + rates.refreshReadUnitsPerRefresh * refreshes;
  const writeUnits = rates.refreshWriteUnitsPerRefresh * refreshes;
  const storedGb = (rates.storedBytesPerShop * shops) / GB;
  return [
    {
      item: 'DynamoDB storage and point-in-time recovery',
      perMonth: storedGb * (prices.dynamoDbStorageGbMonth + prices.dynamoDbPitrGbMonth),
    },
    {
      item: 'DynamoDB read and write request units',
      perMonth:
        (readUnits / 1e6) * prices.dynamoDbPerMillionReadUnits +
        (writeUnits / 1e6) * prices.dynamoDbPerMillionWriteUnits,
    },
    {
      item: 'App credentials: a secret and its reads',
      perMonth:
        prices.secretMonth +
        ((rates.appCredentialCallsPerRun * month.runs) / 1e4) * prices.secretsManagerPer10kCalls,
    },
    ...common,
  ];
}

export interface CostColumn {
  readonly store: StoreName;
  readonly shops: number;
  /** The fleet size the counts come from: `shops` when that size ran, else scaled per shop. */
  readonly countedAt: number;
  readonly lines: readonly CostLine[];
  readonly perMonth: number;
  readonly perShopMonth: number;
}

export interface CostTable {
  readonly prices: Prices;
  readonly month: Month;
  readonly rates: readonly StoreRates[];
  readonly columns: readonly CostColumn[];
  /** Step Functions when a run spans several invocations: estimated, in no column's total. */
  readonly stepFunctionsPerMonth: number;
}

export const COST_SHOPS = [1000, 10_000, 100_000] as const;

/**
 * Every store at every size: the counts of the run of that size, or, where the bench ran no such
 * fleet, the per-shop counts of its largest run, scaled.
 */
export function costTable(
  rates: readonly StoreRates[],
  shops: readonly number[] = COST_SHOPS,
  prices: Prices = PRICES,
  month: Month = MONTH,
): CostTable {
  const columns: CostColumn[] = [];
  for (const store of ['Secrets Manager', 'DynamoDB'] as const) {
    const runs = rates.filter((entry) => entry.store === store);
    const largest = runs.reduce<StoreRates | undefined>(
      (best, entry) =>
        best === undefined || entry.measuredShops > best.measuredShops ? entry : best,
      undefined,
    );
    if (largest === undefined) continue;
    for (const size of shops) {
      const counted = runs.find((entry) => entry.measuredShops === size) ?? largest;
      const lines = monthlyCost(counted, size, prices, month);
      const perMonth = lines.reduce((sum, line) => sum + line.perMonth, 0);
      columns.push({
        store,
        shops: size,
        countedAt: counted.measuredShops,
        lines,
        perMonth,
        perShopMonth: perMonth / size,
      });
    }
  }
  return {
    prices,
    month,
    rates,
    columns,
    stepFunctionsPerMonth:
      ((month.stepFunctionTransitionsPerRun * month.runs) / 1000) *
      prices.stepFunctionsPer1kTransitions,
  };
}

/** Dollars with enough digits to tell small amounts apart: $0.41, $0.0031, $0.000012. */
export function dollars(amount: number): string {
  if (amount === 0) return '$0';
  if (amount >= 100) return `$${Math.round(amount).toLocaleString('en-US')}`;
  if (amount >= 0.1) return `$${amount.toFixed(2)}`;
  if (amount < 1e-8) return '< $0.00000001';
  return `$${amount.toFixed(1 - Math.floor(Math.log10(amount)))}`;
}

/** A list price as written: at least two decimals, never rounded ($0.40, $0.625, $0.0000133334). */
function price(amount: number): string {
  const decimals = String(amount).split('.')[1]?.length ?? 0;
  return `$${amount.toFixed(Math.max(2, decimals))}`;
}

export function renderCost(table: CostTable, style: Style): string[] {
  const columns = table.columns;
  const header = (column: CostColumn) =>
    `${column.store === 'DynamoDB' ? 'DDB' : 'SM'} ${column.shops.toLocaleString('en-US')}${column.countedAt === column.shops ? '' : '*'}`;
  const allItems = [...new Set(columns.flatMap((column) => column.lines.map((line) => line.item)))];
  const cell = (column: CostColumn, item: string) => {
    const line = column.lines.find((entry) => entry.item === item);
    return line === undefined ? '–' : dollars(line.perMonth / column.shops);
  };
  const scaled = columns.filter((column) => column.countedAt !== column.shops);
  const { month, prices } = table;
  return [
    style.bold(
      `Cost per shop-month: ${month.runs} hourly runs, each shop refreshed ${month.refreshesPerShop} times a month`,
    ),
    "  assumed: a shop is refreshed about every 5 days (7-day access tokens, refreshed 48 h before expiry); Lambda time per shop and run is the counted run's, which refreshed more shops than a steady run (it errs high)",
    ...renderTable(
      [
        { header: 'per shop-month' },
        ...columns.map((column) => ({ header: header(column), align: 'right' as const })),
      ],
      [
        ...allItems.map((item) => [item, ...columns.map((column) => cell(column, item))]),
        ['total per shop-month', ...columns.map((column) => dollars(column.perShopMonth))],
        ['total per month', ...columns.map((column) => dollars(column.perMonth))],
      ],
    ),
    ...(scaled.length === 0
      ? []
      : [
          `  * not run at this size: ${scaled.map((column) => `${column.store} ${column.shops.toLocaleString('en-US')} scaled from the ${column.countedAt.toLocaleString('en-US')}-shop run's counts per shop`).join('; ')}`,
        ]),
    ...table.rates.map((rates) => `  ${describeRates(rates)}`),
    `  Step Functions (only with invocationsPerRun > 1): ${month.stepFunctionTransitionsPerRun} state transitions per run of one invocation: ${dollars(table.stepFunctionsPerMonth)} a month, in no total`,
    `  a customer-managed KMS key (encryptionKey) adds ${price(prices.kmsKeyMonth)} a month and ${price(prices.kmsPer10kRequests)} per 10,000 requests, in no total`,
    `  prices: ${prices.recorded}: Secrets Manager ${price(prices.secretMonth)} per secret-month, ${price(prices.secretsManagerPer10kCalls)} per 10,000 calls; DynamoDB on demand ${price(prices.dynamoDbPerMillionWriteUnits)} per million write units, ${price(prices.dynamoDbPerMillionReadUnits)} per million read units, ${price(prices.dynamoDbStorageGbMonth)} per GB-month, PITR ${price(prices.dynamoDbPitrGbMonth)} per GB-month; Lambda arm64 ${price(prices.lambdaArmGbSecond)} per GB-s, ${price(prices.lambdaPerMillionRequests)} per million requests; EventBridge ${price(prices.eventBridgePerMillionEvents)} per million events; CloudWatch Logs ${price(prices.cloudWatchLogsIngestedGb)} per GB, metrics, alarms and dashboard ${price(prices.cloudWatchFixedMonth)} a month; Step Functions ${price(prices.stepFunctionsPer1kTransitions)} per 1,000 transitions`,
  ];
}

/** The counted rates behind a store's columns, in one line. */
export function describeRates(rates: StoreRates): string {
  const units =
    rates.store === 'DynamoDB'
      ? `, ${rates.surveyReadUnitsPerShopRun.toFixed(4)} read units per shop and run, per refresh ${rates.refreshReadUnitsPerRefresh.toFixed(2)} read and ${rates.refreshWriteUnitsPerRefresh.toFixed(2)} write units, ${Math.round(rates.storedBytesPerShop)} bytes stored per shop, ${rates.appCredentialCallsPerRun} Secrets Manager calls per run`
      : '';
  return `counted, ${rates.store} ${rates.measuredShops.toLocaleString('en-US')} shops: ${rates.surveyCallsPerShopRun.toFixed(4)} calls per shop and run, ${rates.refreshCallsPerRefresh.toFixed(2)} per refresh${units}, ${rates.eventEntriesPerRefresh.toFixed(2)} events per refresh, ${(rates.lambdaGbSecondsPerShopRun * 1000).toFixed(3)} GB-ms per shop and run, ${rates.logBytesPerRefresh.toFixed(0)} log bytes per refresh`;
}
