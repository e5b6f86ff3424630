import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../shared/contract.js';
import { describeError, RefreshIncompleteError, toInternalError } from '../shared/errors.js';
import { EventBridgePublisher } from '../shared/event-publisher.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import { systemClock } from '../shared/timing.js';
import { type Config, loadConfig } from './config.js';
import { type RunSummary, refreshShops } from './refresh.js';
import { parseRunRequest } from './run-request.js';
import { configuredShops, selectShops } from './shops.js';

/** Time kept back at the end of an invocation so that retries stop before Lambda does. */
const SAFETY_MARGIN_MS = 3_000;

// Built once per execution environment and reused by every invocation it serves.
const logger = new Logger();
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
});
// The store retries with its own deadline-aware policy, so the SDK makes single attempts.
const secretsManager = new SecretsManagerClient({ maxAttempts: 1 });
const eventBridge = new EventBridgeClient({});
let config: Config | undefined;

/**
 * Scheduled or typed by a person in the console: refreshes the shops' tokens that are due and
 * returns a summary. Throws when a shop failed in a way that a retry may fix, so that Lambda's
 * async retries, the on-failure destination and the error alarm take over.
 */
export const handler = async (event: unknown, context: Context): Promise<RunSummary> => {
  logger.addContext(context);
  try {
    const request = parseRunRequest(event);
    config ??= loadConfig(process.env);
    const deadline = () => Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;
    const store = new SecretsManagerTokenStore({
      client: secretsManager,
      writesPerSecond: config.secretWritesPerSecond,
      deadline,
    });
    const discovered =
      config.tokenSecretTagKey === undefined ? [] : await store.listByTag(config.tokenSecretTagKey);
    const shops = selectShops(configuredShops(config.tokenSecretIds, discovered), request.shops);
    logger.info('refresh run started', { ...request, shops: shops.length });

    const appCredentialsSecretId = config.appCredentialsSecretId;
    const summary = await refreshShops(shops, request, config, {
      store,
      tiktok: new TikTokAuthClient({
        baseUrl: config.tiktokAuthBaseUrl,
        timeoutMs: config.tiktokTimeoutMs,
      }),
      appCredentials: () => store.readAppCredentials(appCredentialsSecretId),
      events: new EventBridgePublisher({ client: eventBridge, busName: config.eventBusName }),
      logger,
      metrics,
      clock: systemClock,
      remainingMs: () => context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    });

    const failed = summary.shops.filter((shop) => shop.outcome === 'failed');
    const retryable = failed.filter((shop) => shop.retryable);
    if (retryable.length > 0) {
      // The thrown message is all a person sees in the console, so it names every failure.
      const describe = (shops: typeof failed) =>
        shops.map((shop) => `${shop.shop} (${shop.errorType}: ${shop.message})`).join('; ');
      const others = failed.filter((shop) => !shop.retryable);
      throw new RefreshIncompleteError(
        `${retryable.length} of ${summary.shops.length} shops failed and may succeed on retry: ${describe(retryable)}` +
          (others.length > 0 ? `; also failed, a retry will not help: ${describe(others)}` : ''),
      );
    }
    return summary;
  } catch (error) {
    const failure = toInternalError(error);
    const { message: errorMessage, ...described } = describeError(failure);
    logger.error('invocation failed', { ...described, errorMessage });
    throw failure;
  } finally {
    metrics.publishStoredMetrics();
  }
};
