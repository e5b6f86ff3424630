/**
 * The webhook receiver's Lambda function URL handler: wiring only; receive.ts decides.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { readAppsEnv } from '../shared/apps.js';
import { AWS_REQUEST_HANDLER } from '../shared/budget.js';
import { DEFAULTS, ENV, METRICS_NAMESPACE, WEBHOOK_METRIC } from '../shared/contract.js';
import { ConfigurationError } from '../shared/errors.js';
import { EventBridgePublisher } from '../shared/event-publisher.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { systemClock } from '../shared/timing.js';
import { CachedAppCredentials } from './app-credentials.js';
import {
  MAX_BODY_BYTES,
  type ReceiverPorts,
  receiveNotification,
  type WebhookResponse,
} from './receive.js';
import { SecretTagsShopState } from './secret-tags.js';

// Built once per execution environment: warm deliveries reuse clients and cached credentials.
const logger = new Logger();
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
});
// TikTok waits 3 s for an answer: at most two attempts per AWS call, each bounded; a failure is
// answered 500 and TikTok delivers again minutes later.
const secretsManager = new SecretsManagerClient({
  maxAttempts: 2,
  requestHandler: AWS_REQUEST_HANDLER,
});
const eventBridge = new EventBridgeClient({ maxAttempts: 2, requestHandler: AWS_REQUEST_HANDLER });
let receiver: ReceiverPorts | undefined;
/** The current invocation's end, less a second to answer: the credentials read stops by then. */
let deadline = Number.POSITIVE_INFINITY;

function build(): ReceiverPorts {
  const { apps, problems } = readAppsEnv(process.env);
  if (problems.length > 0) throw new ConfigurationError(problems.join('; '));
  // Reads the credentials as the refresher does (the store's read, retried and checked).
  const store = new SecretsManagerTokenStore({
    client: secretsManager,
    writesPerSecond: DEFAULTS.secretWritesPerSecond,
    deadline: () => deadline,
  });
  return {
    credentials: new CachedAppCredentials(
      apps.credentialsSecretIds,
      (secretId) => store.readAppCredentials(secretId),
      systemClock,
    ),
    shops: new SecretTagsShopState({ client: secretsManager }),
    events: new EventBridgePublisher({
      client: eventBridge,
      busName: process.env[ENV.eventBusName]?.trim() || DEFAULTS.eventBusName,
    }),
    clock: systemClock,
    logger,
    metrics: {
      addMetric: (name, _unit, value) => metrics.addMetric(name, MetricUnit.Count, value),
    },
  };
}

/** POST from TikTok Shop to `/` (the default app) or `/<app>`. */
export const handler = async (
  event: LambdaFunctionURLEvent,
  context: Context,
): Promise<LambdaFunctionURLResult> => {
  logger.addContext(context);
  deadline = Date.now() + context.getRemainingTimeInMillis() - 1_000;
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
