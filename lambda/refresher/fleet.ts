// The shops of a run and the store they are read from and written to: the token secrets (named
// and found by tag), or the DynamoDB table's items surveyed page by page.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsCallOptions } from '../shared/aws-call.js';
import { DynamoDbTokenStore } from '../shared/dynamodb-store.js';
import { BATCH_GET_MAX_KEYS, DynamoDbShopSurvey } from '../shared/dynamodb-survey.js';
import type { Metrics } from '../shared/observability.js';
import type { SecretsManagerTokenStore, TokenStore } from '../shared/secrets-store.js';
import { SecretsManagerShopSurvey } from '../shared/secrets-survey.js';
import type { SurveySource } from '../shared/survey-source.js';
import type { Config } from './config.js';
import { BatchedFirstReads, PrefetchedReads } from './first-reads.js';
import { listShops } from './listing.js';
import type { RunSummary } from './reports.js';
import type { RunRequest } from './run-request.js';
import { appOf, type ListedShop, learnAppTags, type Shop, withApps } from './shops.js';
import { planTableRun, TableRunMetrics } from './table-run.js';

export interface Fleet {
  readonly store: TokenStore;
  /** The shops the core reads. */
  readonly shops: readonly Shop[];
  /** Batched reads of current tokens, where the store lists them (see batch-reads). */
  readonly batch?: SurveySource;
  /** The metrics the core writes to, with what the survey settled added. */
  readonly metrics: Metrics;
  /** The run's summary with what the survey settled added. */
  finish(summary: RunSummary): RunSummary;
  /** What the operator sees of the survey, for the run's first log line. */
  readonly surveyed: Record<string, number>;
}

export interface FleetDependencies extends AwsCallOptions {
  /** Holds the token secrets, and every app's credentials whatever the token store. */
  readonly secrets: SecretsManagerTokenStore;
  /** The client `secrets` uses, for listing the token secrets. */
  readonly secretsManager: SecretsManagerClient;
  /** Built only when the table is the store. */
  readonly dynamodb: () => DynamoDBClient;
  readonly metrics: Metrics;
  /** Starts reading the credentials of these apps: the run is likely to ask for them. */
  readonly readCredentialsAhead?: (apps: Iterable<string>) => void;
}

/**
 * How old an early token read may be when the survey takes it: about one slow tag read. The tags
 * it is judged with are read beside it, and a refresh goes by it.
 */
const EARLY_READ_MAX_AGE_MS = 1_000;

/**
 * The apps whose credentials the run will ask for, as far as is known before the unlisted shops'
 * tags are read: every shop's, with one app; else those of shops whose tags were listed or that
 * are bound to an app. No other app's credentials are read early.
 */
function appsKnownBeforeTags(listed: readonly ListedShop[], config: Config): Set<string> {
  const { apps } = config;
  if (apps.credentialsSecretIds.size === 1) return new Set(apps.credentialsSecretIds.keys());
  const known = listed.filter((shop) => shop.tags !== undefined || apps.shopApps.has(shop.name));
  return new Set(
    withApps(known, apps)
      .filter((shop) => shop.appProblem === undefined)
      .map(appOf),
  );
}

/**
 * The run's fleet. With secrets, every configured or tagged shop is read, its writes paced below
 * Secrets Manager's quota. With the table, writes are not paced (DynamoDB has no account-wide
 * write quota of that kind; on-demand tables absorb bursts and throttling is retried), so the
 * TikTok calls in flight (MAX_CONCURRENCY) set the pace; and only the shops the Scan survey
 * cannot settle as not due are read, a BatchGetItem of 100 at a time.
 */
export async function openFleet(
  config: Config,
  request: RunRequest,
  deps: FleetDependencies,
): Promise<Fleet> {
  const { secrets, metrics } = deps;
  if (config.tokenStore.kind === 'secrets-manager') {
    const survey = new SecretsManagerShopSurvey({
      client: deps.secretsManager,
      ...(config.tokenSecretTagKey === undefined ? {} : { tagKey: config.tokenSecretTagKey }),
      ...(deps.deadline === undefined ? {} : { deadline: deps.deadline }),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    const listed = await listShops(survey, config.tokenSecretIds, request);
    // The app tag of each shop no listing brought: readers follow it, so must the run. The
    // first of those shops' tokens are read meanwhile (the survey reads them first).
    const unlisted = listed.filter((shop) => shop.tags === undefined).map((shop) => shop.id);
    const store = new PrefetchedReads(secrets, unlisted.slice(0, config.maxConcurrency), {
      now: () => deps.clock?.now() ?? Date.now(),
      maxAgeMs: EARLY_READ_MAX_AGE_MS,
    });
    deps.readCredentialsAhead?.(appsKnownBeforeTags(listed, config));
    const tagged = await learnAppTags(
      listed,
      (secretId) => secrets.tagsOf(secretId),
      config.maxConcurrency,
    );
    const shops = withApps(tagged, config.apps);
    return {
      store,
      shops,
      batch: survey,
      metrics,
      finish: (summary) => summary,
      surveyed: {},
    };
  }
  const options = {
    client: deps.dynamodb(),
    tableName: config.tokenStore.tableName,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.deadline === undefined ? {} : { deadline: deps.deadline }),
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  };
  const survey = new DynamoDbShopSurvey(options);
  const table = new DynamoDbTokenStore(options);
  const now = deps.clock?.now() ?? Date.now();
  const plan = await planTableRun(survey.pages(), request, config, now);
  const tableMetrics = new TableRunMetrics(metrics, plan.notDue, () => now);
  return {
    store: new BatchedFirstReads(
      table,
      (ids) => survey.readMany(ids),
      plan.shops.map((shop) => shop.id),
      BATCH_GET_MAX_KEYS,
    ),
    shops: plan.shops,
    metrics: tableMetrics,
    finish: (summary) => tableMetrics.finish(summary),
    surveyed: { notDue: plan.notDue.count, toRead: plan.shops.length },
  };
}
