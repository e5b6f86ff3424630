import { describe, expect, it } from 'vitest';
import {
  costTable,
  dollars,
  dynamoDbRates,
  MONTH,
  monthlyCost,
  PRICES,
  type StoreRates,
} from '../bench/cost.js';
import type { TableFleetRun } from '../bench/table-fleet.js';

const nothing = {
  surveyCallsPerShopRun: 0,
  refreshCallsPerRefresh: 0,
  surveyReadUnitsPerShopRun: 0,
  refreshReadUnitsPerRefresh: 0,
  refreshWriteUnitsPerRefresh: 0,
  storedBytesPerShop: 0,
  appCredentialCallsPerRun: 0,
  eventEntriesPerRefresh: 0,
  lambdaGbSecondsPerShopRun: 0,
  logBytesPerRefresh: 0,
};

const secrets: StoreRates = {
  ...nothing,
  store: 'Secrets Manager',
  measuredShops: 1000,
  surveyCallsPerShopRun: 0.05,
  refreshCallsPerRefresh: 6,
};

const table: StoreRates = {
  ...nothing,
  store: 'DynamoDB',
  measuredShops: 10_000,
  surveyReadUnitsPerShopRun: 0.09,
  refreshReadUnitsPerRefresh: 1,
  refreshWriteUnitsPerRefresh: 2,
};

const line = (lines: { item: string; perMonth: number }[], item: string) =>
  lines.find((entry) => entry.item.startsWith(item))?.perMonth;

describe('Function: monthlyCost', () => {
  it('bills a secret per shop and the survey and refresh calls of 730 runs and 6 refreshes', () => {
    // Act
    const lines = monthlyCost(secrets, 1000);

    // Assess: 0.05 × 1,000 × 730 + 6 × 6 × 1,000 = 72,500 calls at $0.05 per 10,000
    expect(line(lines, 'Secrets:')).toBeCloseTo(1001 * 0.4, 6);
    expect(line(lines, 'Secrets Manager API calls')).toBeCloseTo(0.3625, 6);
    expect(line(lines, 'CloudWatch metrics')).toBe(8.9);
  });

  it('bills the table by request units, not calls', () => {
    const lines = monthlyCost(table, 1000);

    // 0.09 × 730,000 + 6,000 read units at $0.125 per million; 12,000 write units at $0.625
    expect(line(lines, 'DynamoDB read and write')).toBeCloseTo(
      71_700 * 0.125e-6 + 12_000 * 0.625e-6,
      9,
    );
    expect(line(lines, 'Secrets:')).toBeUndefined();
  });

  it('charges storage and point-in-time recovery on the stored bytes', () => {
    const lines = monthlyCost({ ...table, storedBytesPerShop: 1024 ** 3 / 1000 }, 1000);

    expect(line(lines, 'DynamoDB storage')).toBeCloseTo(0.45, 9);
  });

  it('carries Lambda time, events and logs to the month', () => {
    const lines = monthlyCost(
      {
        ...secrets,
        lambdaGbSecondsPerShopRun: 0.001,
        eventEntriesPerRefresh: 1,
        logBytesPerRefresh: 1024 ** 3 / 6000,
      },
      1000,
    );

    expect(line(lines, 'Lambda')).toBeCloseTo(730 * PRICES.lambdaArmGbSecond + 730 * 0.2e-6, 9);
    expect(line(lines, 'EventBridge')).toBeCloseTo(0.006, 9);
    expect(line(lines, 'CloudWatch Logs')).toBeCloseTo(0.5, 9);
  });
});

describe('Function: costTable', () => {
  it('uses the run of a size where one ran and scales the largest run elsewhere', () => {
    // Act
    const cost = costTable([secrets, { ...secrets, measuredShops: 10_000 }, table]);

    // Assess
    const countedAt = cost.columns.map((column) => [column.store, column.shops, column.countedAt]);
    expect(countedAt).toEqual([
      ['Secrets Manager', 1000, 1000],
      ['Secrets Manager', 10_000, 10_000],
      ['Secrets Manager', 100_000, 10_000],
      ['DynamoDB', 1000, 10_000],
      ['DynamoDB', 10_000, 10_000],
      ['DynamoDB', 100_000, 10_000],
    ]);
  });

  it('divides each month by its shops', () => {
    const [column] = costTable([secrets], [1000]).columns;

    expect(column?.perShopMonth).toBeCloseTo((column?.perMonth ?? 0) / 1000, 12);
  });

  it('estimates Step Functions apart from every total', () => {
    expect(costTable([secrets]).stepFunctionsPerMonth).toBeCloseTo(
      (MONTH.stepFunctionTransitionsPerRun * 730 * 0.025) / 1000,
      9,
    );
  });
});

describe('Function: dynamoDbRates', () => {
  const run = {
    shops: 10_000,
    refreshed: 100,
    durationMs: 1000,
    storedBytes: 15_000_000,
    dynamoDb: {
      calls: { Scan: 7, BatchGetItem: 1, UpdateItem: 100, GetItem: 2 },
      readUnits: { Scan: 900, BatchGetItem: 100, GetItem: 2 },
      writeUnits: { UpdateItem: 200 },
      refusedConditionalWrites: 2,
    },
    secretsManagerCalls: { GetSecretValue: 1 },
    eventBridgeEntries: 100,
    logBytes: 50_000,
  } as unknown as TableFleetRun;

  it('counts the Scan as the survey and every other call as the refreshes', () => {
    const rates = dynamoDbRates(run);

    expect(rates.surveyCallsPerShopRun).toBeCloseTo(7 / 10_000, 12);
    expect(rates.surveyReadUnitsPerShopRun).toBeCloseTo(0.09, 12);
    expect(rates.refreshCallsPerRefresh).toBeCloseTo(1.03, 12);
    expect(rates.refreshReadUnitsPerRefresh).toBeCloseTo(1.02, 12);
  });

  it('bills a refused conditional write at the item size, which dynalite does not report', () => {
    // 1,500 bytes an item: 2 write units for each of the 2 refused writes
    expect(dynamoDbRates(run).refreshWriteUnitsPerRefresh).toBeCloseTo(2.04, 12);
  });
});

describe('Function: dollars', () => {
  it('keeps two significant digits of small amounts, whole dollars of large ones', () => {
    expect(dollars(40_078.4)).toBe('$40,078');
    expect(dollars(0.4004)).toBe('$0.40');
    expect(dollars(0.0000165)).toBe('$0.000017');
    expect(dollars(0)).toBe('$0');
  });
});
