import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** The refresher's stateful resources: secrets created without a value, and dead-letter queues. */

/**
 * A secret with no value at all: no placeholder in the template that a later template change
 * could write over a live token, and nothing for the function to take for a token. (The L2
 * construct always generates a value unless given one; CloudFormation creates an empty secret
 * when both SecretString and GenerateSecretString are absent.)
 */
export function createEmptySecret(
  scope: Construct,
  id: string,
  options: {
    encryptionKey: kms.IKey | undefined;
    secretName: string;
    description: string;
    removalPolicy: RemovalPolicy;
    reason: string;
  },
): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, id, {
    secretName: options.secretName,
    description: options.description,
    encryptionKey: options.encryptionKey,
    removalPolicy: options.removalPolicy,
  });
  (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride(
    'GenerateSecretString',
  );
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: options.reason });
  return secret;
}

export function createDeadLetterQueue(
  scope: Construct,
  id: string,
  encryptionKey: kms.IKey | undefined,
  reason: string,
): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: encryptionKey ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
    encryptionMasterKey: encryptionKey,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself a dead-letter queue. ${reason}`,
  });
  return queue;
}
