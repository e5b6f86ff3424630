import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { AWS_REQUEST_HANDLER, runBudget, runDeadlines } from '../shared/budget.js';
import { ENV, METRICS_NAMESPACE } from '../shared/contract.js';
import {
  AppCredentialsError,
  ConfigurationError,
  describeError,
  listSome,
  type RefresherError,
  RefreshIncompleteError,
  toInternalError,
} from '../shared/errors.js';
import { EventBridgePublisher } from '../shared/event-publisher.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import { abortAt, systemClock } from '../shared/timing.js';
import type { AppCredentials } from '../shared/token.js';
import { type Config, loadConfig } from './config.js';
import { MOVED_ON_CHECKS_MS, type RunSummary, refreshShops, type ShopResult } from './refresh.js';
import { parseRunRequest } from './run-request.js';
import { configuredShops, selectShops, withApps } from './shops.js';

/** Failed shops the thrown message names; the summary and the log lines have them all. */
const FAILURES_NAMED = 5;

// Built once per execution environment and reused by every invocation it serves. Every call has
// a connection and a request timeout; the run's deadline (the signals below) bounds the rest.
const logger = new Logger();
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
});
// The store retries with its own deadline-aware policy, so the SDK makes single attempts.
const secretsManager = new SecretsManagerClient({
  maxAttempts: 1,
  requestHandler: AWS_REQUEST_HANDLER,
});
const eventBridge = new EventBridgeClient({ requestHandler: AWS_REQUEST_HANDLER });
let config: Config | undefined;

/**
 * Scheduled or typed by a person in the console: refreshes the shops' tokens that are due and
 * returns a summary. Throws when a shop's failure fails the invocation (a retry may fix it, or a
 * person must act at once) or when an app's credentials cannot be used, so that Lambda's async
 * retries, the on-failure destination and the error alarm take over. Returns or throws before the
 * invocation's deadline, whatever a call does.
 */
export const handler = async (event: unknown, context: Context): Promise<RunSummary> => {
  logger.addContext(context);
  const timers: { cancel(): void }[] = [];
  try {
    const request = parseRunRequest(event);
    config ??= loadConfig(process.env);
    const budget = runBudget(config);
    const { workEnd, reportEnd } = runDeadlines(
      Date.now(),
      context.getRemainingTimeInMillis(),
      budget,
    );
    const work = abortAt(systemClock, workEnd);
    const report = abortAt(systemClock, reportEnd);
    timers.push(work, report);
    const store = new SecretsManagerTokenStore({
      client: secretsManager,
      writesPerSecond: config.secretWritesPerSecond,
      deadline: () => workEnd,
      signal: work.signal,
    });
    const discovered =
      config.tokenSecretTagKey === undefined ? [] : await store.listByTag(config.tokenSecretTagKey);
    const shops = withApps(
      selectShops(configuredShops(config.tokenSecretIds, discovered), request.shops),
      config.apps,
    );
    logger.info('refresh run started', { ...request, shops: shops.length });
    // Each app's credentials are read once per run, beside the shops' reads, for every app the
    // run has a shop of: broken credentials fail every run, due or not.
    const credentialReads = new Map<string, Promise<AppCredentials>>();
    const { credentialsSecretIds } = config.apps;
    const appCredentials = (app: string): Promise<AppCredentials> => {
      let read = credentialReads.get(app);
      if (read === undefined) {
        const secretId = credentialsSecretIds.get(app);
        read =
          secretId === undefined
            ? Promise.reject(
                new ConfigurationError(
                  `app "${app}" has no credentials secret (${ENV.appCredentialsSecretId} is not set)`,
                ),
              )
            : store.readAppCredentials(secretId);
        read.catch(() => {});
        credentialReads.set(app, read);
      }
      return read;
    };

    const summary = await refreshShops(
      shops,
      request,
      { ...config, budget, movedOnChecksMs: MOVED_ON_CHECKS_MS },
      {
        store,
        tiktok: new TikTokAuthClient({
          baseUrl: config.tiktokAuthBaseUrl,
          timeoutMs: config.tiktokTimeoutMs,
        }),
        appCredentials,
        events: new EventBridgePublisher({
          client: eventBridge,
          busName: config.eventBusName,
          signal: report.signal,
        }),
        logger,
        metrics,
        clock: systemClock,
        remainingMs: () => context.getRemainingTimeInMillis(),
      },
    );
    // Everything is reported; now the run fails if an app's shops could not have been refreshed.
    await throwUnusableCredentials(credentialReads);
    throwIfIncomplete(summary);
    return summary;
  } catch (error) {
    const failure = toInternalError(error);
    const { message: errorMessage, ...described } = describeError(failure);
    logger.error('invocation failed', { ...described, errorMessage });
    throw failure;
  } finally {
    for (const timer of timers) timer.cancel();
    metrics.publishStoredMetrics();
  }
};

/**
 * The credentials of one app that could not be used are thrown as they are (a deployment with
 * one app fails exactly as before there were several); those of several apps in one error.
 */
async function throwUnusableCredentials(
  reads: ReadonlyMap<string, Promise<AppCredentials>>,
): Promise<void> {
  const failures: { app: string; error: RefresherError }[] = [];
  for (const [app, read] of reads) {
    await read.catch((error: unknown) => failures.push({ app, error: toInternalError(error) }));
  }
  const [first] = failures;
  if (first === undefined) return;
  if (failures.length === 1) throw first.error;
  throw new AppCredentialsError(
    `the credentials of ${failures.length} apps cannot be used, so their shops cannot be refreshed: ${listSome(
      failures.map(({ app, error }) => `app "${app}": ${error.errorType}: ${error.message}`),
      FAILURES_NAMED,
      400,
    )}`,
  );
}

/**
 * Fails the invocation when a shop's failure does (see RefresherError): retryable when a retry
 * may fix one of them. The thrown message is all a person sees in the console: it says which
 * shops may succeed on retry and which need a person, each with the first few failures.
 */
function throwIfIncomplete(summary: RunSummary): void {
  const failed = summary.shops.filter((shop) => shop.outcome === 'failed');
  const failing = failed.filter((shop) => shop.failsInvocation === true);
  if (failing.length === 0) return;
  const retryable = failing.filter((shop) => shop.retryable === true);
  const needPerson = failing.filter((shop) => shop.retryable !== true);
  const others = failed.filter((shop) => shop.failsInvocation !== true);
  const of = `of ${summary.shops.length} shops`;
  const parts = [
    ...(retryable.length > 0
      ? [
          `${retryable.length} ${of} failed and may succeed on retry: ${describeFailures(retryable)}`,
        ]
      : []),
    ...(needPerson.length > 0
      ? [
          `${needPerson.length} ${retryable.length > 0 ? 'shops' : of} failed and need a person, a retry will not help: ${describeFailures(needPerson)}`,
        ]
      : []),
    ...(others.length > 0
      ? [`also failed, a retry will not help: ${describeFailures(others)}`]
      : []),
  ];
  throw new RefreshIncompleteError(parts.join('; '), { retryable: retryable.length > 0 });
}

function describeFailures(shops: readonly ShopResult[]): string {
  return listSome(
    shops.map((shop) => `${shop.shop} (${shop.errorType}: ${shop.message})`),
    FAILURES_NAMED,
    400,
  );
}
