/**
 * The webhook receiver's Lambda function URL handler: wiring only; receive.ts decides.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { readAppsEnv } from '../shared/apps.js';
import { AwsCalls } from '../shared/aws-call.js';
import { powertools, singleAttemptSecretsManager } from '../shared/aws-clients.js';
import { AWS_REQUEST_HANDLER } from '../shared/budget.js';
import {
  CALLBACK_ENV,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULTS,
  ENV,
  tokenSecretsPrefix,
  WEBHOOK_METRIC,
} from '../shared/contract.js';
import { ConfigurationError } from '../shared/errors.js';
import { EventBridgePublisher } from '../shared/event-publisher.js';
import { systemClock } from '../shared/timing.js';
import { CachedAppCredentials, readAppCredentials } from './app-credentials.js';
import {
  MAX_BODY_BYTES,
  type ReceiverPorts,
  receiveNotification,
  type WebhookResponse,
} from './receive.js';
import { SecretTagsShopState, type TokenSecretScope } from './secret-tags.js';

// Built once per execution environment: warm deliveries reuse clients and cached credentials.
const { logger, metrics } = powertools();
/**
 * TikTok waits 3 s for a 200. The work of an invocation ends ANSWER_BUDGET_MS after it starts
 * (a cold start's initialization and the function URL come out of the rest): a delivery needs
 * four AWS calls (ListSecrets, ListSecretVersionIds for a type 6, PutEvents, TagResource), the
 * credentials read a fifth on a cold start, each some tens of ms in the region. Every attempt is
 * bounded by AWS_ATTEMPT_MS and none starts that could not end by then: a slow call is retried
 * while one fits, else the delivery is answered 500 in time and TikTok delivers it again.
 */
export const ANSWER_BUDGET_MS = 2_000;
export const AWS_ATTEMPT_MS = 800;
/** Kept from the function's own end for the answer, logs and metrics, whatever its timeout. */
const FINISH_MS = 300;
/** Short back-offs: the budget holds two or three attempts, not the refresher's patience. */
const RETRY = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 } as const;

// One attempt per SDK send for Secrets Manager: AwsCalls retries within the budget. PutEvents
// keeps the SDK's one retry inside its bound.
const secretsManager = singleAttemptSecretsManager();
const eventBridge = new EventBridgeClient({ maxAttempts: 2, requestHandler: AWS_REQUEST_HANDLER });
let receiver: ReceiverPorts | undefined;
/** Epoch ms by which the current invocation's AWS calls are over. */
let deadline = Number.POSITIVE_INFINITY;

function build(): ReceiverPorts {
  const { apps, problems } = readAppsEnv(process.env);
  if (problems.length > 0) throw new ConfigurationError(problems.join('; '));
  const calls = new AwsCalls('Secrets Manager', {
    deadline: () => deadline,
    attemptMs: AWS_ATTEMPT_MS,
    retry: RETRY,
  });
  const busName = process.env[ENV.eventBusName]?.trim() || DEFAULTS.eventBusName;
  return {
    credentials: new CachedAppCredentials(
      apps.credentialsSecretIds,
      (secretId) => readAppCredentials(secretsManager, calls, secretId),
      systemClock,
    ),
    shops: new SecretTagsShopState({ client: secretsManager, calls, scope: tokenScope() }),
    events: {
      // Bounded by what is left of the budget too: PutEvents is the one call not made by AwsCalls.
      publish: (events) =>
        new EventBridgePublisher({
          client: eventBridge,
          busName,
          timeoutMs: Math.max(1, Math.min(AWS_ATTEMPT_MS, deadline - Date.now())),
        }).publish(events),
    },
    clock: systemClock,
    logger,
    metrics: {
      addMetric: (name, _unit, value) => metrics.addMetric(name, MetricUnit.Count, value),
    },
  };
}

/** The refresher's token secrets, as infra/webhook-receiver.ts names them. */
function tokenScope(): TokenSecretScope {
  const prefix = process.env[CALLBACK_ENV.tokenSecretPrefix]?.trim() || DEFAULT_SECRET_NAME_PREFIX;
  const ids = (process.env[ENV.tokenSecretIds] ?? '').split(',').map((id) => id.trim());
  return { namePrefix: tokenSecretsPrefix(prefix), ids: new Set(ids.filter((id) => id !== '')) };
}

/** POST from TikTok Shop to `/` (the default app) or `/<app>`. */
export const handler = async (
  event: LambdaFunctionURLEvent,
  context: Context,
): Promise<LambdaFunctionURLResult> => {
  logger.addContext(context);
  const started = Date.now();
  deadline = Math.min(
    started + ANSWER_BUDGET_MS,
    started + context.getRemainingTimeInMillis() - FINISH_MS,
  );
  try {
    if (event.requestContext.http.method !== 'POST') {
      return result({ status: 405, body: JSON.stringify({ error: 'POST only' }) });
    }
    // Base64 is 4 bytes per 3: a body over the cap is refused before it is decoded.
    const body = event.body ?? '';
    if (event.isBase64Encoded && body.length > Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4) {
      metrics.addMetric(WEBHOOK_METRIC.malformed, MetricUnit.Count, 1);
      logger.warn('webhook notification refused', { status: 413, bytes: body.length });
      return result({ status: 413, body: JSON.stringify({ error: 'body too large' }) });
    }
    receiver ??= build();
    return result(
      await receiveNotification(
        {
          path: event.rawPath,
          headers: event.headers ?? {},
          body: Buffer.from(body, event.isBase64Encoded ? 'base64' : 'utf8'),
        },
        receiver,
      ),
    );
  } catch (error) {
    // A configuration or programming error: TikTok retries, the error alarm tells a person.
    metrics.addMetric(WEBHOOK_METRIC.failed, MetricUnit.Count, 1);
    logger.error('webhook receiver failed', {
      errorType: error instanceof Error ? error.name : typeof error,
      errorMessage: error instanceof Error ? error.message : String(error),
    });
    return result({ status: 500, body: JSON.stringify({ error: 'not recorded; retry later' }) });
  } finally {
    metrics.publishStoredMetrics();
  }
};

function result(response: WebhookResponse): LambdaFunctionURLResult {
  return {
    statusCode: response.status,
    headers: { 'content-type': 'application/json' },
    body: response.body,
  };
}
