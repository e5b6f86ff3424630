// The clients every Lambda handler builds once per execution environment: Powertools logging and
// metrics, and the AWS SDK clients whose retries the stores own.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWS_REQUEST_HANDLER } from './budget.js';
import { METRICS_NAMESPACE } from './contract.js';

/** Powertools' logger and metrics, in the namespace the deployment sets (else the product's). */
export function powertools(): { logger: Logger; metrics: Metrics } {
  return {
    logger: new Logger(),
    metrics: new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
    }),
  };
}

/**
 * Every AWS call is bounded (the SDK's default handler waits forever); the stores retry with
 * their own policy, so the SDK makes single attempts.
 */
export function singleAttemptSecretsManager(): SecretsManagerClient {
  return new SecretsManagerClient({ maxAttempts: 1, requestHandler: AWS_REQUEST_HANDLER });
}

/** Built on first use: a deployment on Secrets Manager never makes a DynamoDB client. */
export function lazySingleAttemptDynamoDb(): () => DynamoDBClient {
  let client: DynamoDBClient | undefined;
  return () => {
    client ??= new DynamoDBClient({ maxAttempts: 1, requestHandler: AWS_REQUEST_HANDLER });
    return client;
  };
}
