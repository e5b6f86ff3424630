import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { AWS_REQUEST_HANDLER, runBudget, runDeadlines } from '../shared/budget.js';
import { METRICS_NAMESPACE } from '../shared/contract.js';
import {
  describeError,
  listSome,
  RefreshIncompleteError,
  toInternalError,
} from '../shared/errors.js';
import { EventBridgePublisher } from '../shared/event-publisher.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import { abortAt, systemClock } from '../shared/timing.js';
import { type Config, loadConfig, movedOnChecks } from './config.js';
import { type RunSummary, refreshShops, type ShopResult } from './refresh.js';
import { parseRunRequest } from './run-request.js';
import { configuredShops, selectShops } from './shops.js';

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
 * returns a summary. Throws when a shop failed in a way that a retry may fix, or when the app
 * credentials cannot be used, so that Lambda's async retries, the on-failure destination and the
 * error alarm take over. Returns or throws before the invocation's deadline, whatever a call does.
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
    const shops = selectShops(configuredShops(config.tokenSecretIds, discovered), request.shops);
    logger.info('refresh run started', { ...request, shops: shops.length });
    // One read per run, beside the shops' reads: broken credentials fail every run, due or not.
    const appCredentials = store.readAppCredentials(config.appCredentialsSecretId);
    appCredentials.catch(() => {});

    const summary = await refreshShops(
      shops,
      request,
      { ...config, budget, movedOnChecksMs: movedOnChecks(config.refusalRecheckMs) },
      {
        store,
        tiktok: new TikTokAuthClient({
          baseUrl: config.tiktokAuthBaseUrl,
          timeoutMs: config.tiktokTimeoutMs,
        }),
        appCredentials: () => appCredentials,
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
    // Everything is reported; now the run fails if no refresh could have worked.
    await appCredentials;

    const failed = summary.shops.filter((shop) => shop.outcome === 'failed');
    const retryable = failed.filter((shop) => shop.retryable);
    if (retryable.length > 0) {
      // The thrown message is all a person sees in the console: it names the first failures.
      const others = failed.filter((shop) => !shop.retryable);
      throw new RefreshIncompleteError(
        `${retryable.length} of ${summary.shops.length} shops failed and may succeed on retry: ${describeFailures(retryable)}` +
          (others.length > 0
            ? `; also failed, a retry will not help: ${describeFailures(others)}`
            : ''),
      );
    }
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

function describeFailures(shops: readonly ShopResult[]): string {
  return listSome(
    shops.map((shop) => `${shop.shop} (${shop.errorType}: ${shop.message})`),
    FAILURES_NAMED,
    400,
  );
}
