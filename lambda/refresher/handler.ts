// The refresher's Lambda entry point: reads the configuration and the event, builds the adapters
// and runs the core within the invocation's deadline.
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { authorizedShopIds } from '../shared/authorized-shops.js';
import {
  lazySingleAttemptDynamoDb,
  powertools,
  singleAttemptSecretsManager,
} from '../shared/aws-clients.js';
import { AWS_REQUEST_HANDLER, runBudget, runDeadlines } from '../shared/budget.js';
import { DeadlineExceededError, toInternalError } from '../shared/errors.js';
import { EventBridgePublisher } from '../shared/event-publisher.js';
import { errorFields } from '../shared/observability.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { SecretsManagerShopTags } from '../shared/shop-tags.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import { abortAt, systemClock } from '../shared/timing.js';
import { type Config, loadConfig, movedOnChecks } from './config.js';
import { openFleet } from './fleet.js';
import {
  AppCredentialReads,
  boundedSummary,
  type ChainedRunResult,
  chainedResult,
  incompleteRunError,
} from './invocation.js';
import { type RunSummary, refreshShops } from './refresh.js';
import { parseRunRequest } from './run-request.js';
import type { ShopIdsPort } from './shop-ids.js';

// Built once per execution environment and reused by every invocation it serves. Every call has
// a connection and a request timeout; the run's deadline (the signals below) bounds the rest.
const { logger, metrics } = powertools();
const secretsManager = singleAttemptSecretsManager();
const eventBridge = new EventBridgeClient({ requestHandler: AWS_REQUEST_HANDLER });
const dynamodb = lazySingleAttemptDynamoDb();
let config: Config | undefined;

/** Get Authorized Shops on the Open API host, and the shop ids tagged on the shop's secret. */
function shopIdsPort(config: Config, tags: SecretsManagerShopTags): ShopIdsPort {
  return {
    lookUp: async (credentials, accessToken, deadline) => {
      const now = Date.now();
      const timeoutMs = Math.min(config.tiktokTimeoutMs, deadline - now);
      if (timeoutMs <= 0) throw new DeadlineExceededError('no time left for Get Authorized Shops');
      return authorizedShopIds({
        baseUrl: config.tiktokApiBaseUrl,
        credentials,
        accessToken,
        timeoutMs,
        now,
      });
    },
    tag: (shop, ids) => tags.tagShopIds(shop.id, ids),
  };
}

/**
 * Scheduled, chained by the run state machine or typed by a person in the console: refreshes the
 * shops' tokens that are due and returns a summary. Throws when a shop's failure fails the
 * invocation (a retry may fix it, or a person must act at once) or when an app's credentials
 * cannot be used, so that Lambda's async retries, the on-failure destination and the error alarm
 * take over; a chained invocation returns its counts, the shops left for lack of time and that
 * failure instead, for the state machine. Returns or throws before the invocation's deadline,
 * whatever a call does.
 */
export const handler = async (
  event: unknown,
  context: Context,
): Promise<RunSummary | ChainedRunResult> => {
  logger.addContext(context);
  const timers: { stop(): void }[] = [];
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
    const secrets = new SecretsManagerTokenStore({
      client: secretsManager,
      writesPerSecond: config.secretWritesPerSecond,
      deadline: () => workEnd,
      signal: work.signal,
    });
    const tags = new SecretsManagerShopTags({
      client: secretsManager,
      deadline: () => workEnd,
      signal: work.signal,
    });
    // Each app's credentials are read once per run, beside the shops' reads, for every app the
    // run has a shop of: broken credentials fail every run, due or not.
    const credentials = new AppCredentialReads(config.apps.credentialsSecretIds, (secretId) =>
      secrets.readAppCredentials(secretId),
    );
    const { store, shops, ...fleet } = await openFleet(config, request, {
      secrets,
      secretsManager,
      dynamodb,
      metrics,
      readCredentialsAhead: credentials.start,
      deadline: () => workEnd,
      signal: work.signal,
    });
    logger.info('refresh run started', { ...request, shops: shops.length, ...fleet.surveyed });

    const run = await refreshShops(
      shops,
      request,
      { ...config, budget, movedOnChecksMs: movedOnChecks(config.refusalRecheckMs) },
      {
        store,
        ...(fleet.batch === undefined ? {} : { batch: fleet.batch }),
        tiktok: new TikTokAuthClient({
          baseUrl: config.tiktokAuthBaseUrl,
          timeoutMs: config.tiktokTimeoutMs,
        }),
        appCredentials: credentials.get,
        events: new EventBridgePublisher({
          client: eventBridge,
          busName: config.eventBusName,
          signal: report.signal,
        }),
        logger,
        metrics: fleet.metrics,
        clock: systemClock,
        remainingMs: () => context.getRemainingTimeInMillis(),
        ...(config.tokenStore.kind === 'secrets-manager'
          ? { shopIds: shopIdsPort(config, tags) }
          : {}),
      },
    );
    const summary = fleet.finish(run);
    // Everything is reported; now the run fails if an app's shops could not have been refreshed,
    // or if a shop's failure fails it. In a chain, a shop left for lack of time is the next
    // invocation's, and a failure is returned: the state machine goes on with the shops left
    // first, then fails the run with it.
    const failure = (await credentials.failure()) ?? incompleteRunError(summary, request);
    if (request.chained === true) {
      if (failure !== undefined) logger.error('invocation failed', errorFields(failure));
      return chainedResult(summary, failure);
    }
    if (failure !== undefined) throw failure;
    return boundedSummary(summary);
  } catch (error) {
    const failure = toInternalError(error);
    logger.error('invocation failed', errorFields(failure));
    throw failure;
  } finally {
    // Nothing this invocation started goes on into the next one the environment serves.
    for (const timer of timers) timer.stop();
    metrics.publishStoredMetrics();
  }
};
