// The refresher's stateful resources: secrets created without a value, and dead-letter queues.
import { Duration, type RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULT_APP, DEFAULT_APP_TAG_KEY } from '../lambda/shared/contract.js';
import { claimSecretName } from './secret-collisions.js';

/**
 * A secret with no value at all, its name claimed in the app (`claimSecretName`): no placeholder in the template that a later template change
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
  claimSecretName(scope, options.secretName);
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

/** How a shop's token secret is named, tagged and kept. */
export interface TokenSecretOptions {
  readonly secretName: string;
  /** The shop's app: tagged unless it is the default one. */
  readonly app: string;
  /** Tag key whose value is the shop name; discovery looks for it. */
  readonly tagKey: string;
  readonly encryptionKey: kms.IKey | undefined;
  readonly removalPolicy: RemovalPolicy;
}

/** A shop's token secret, created empty (the first token is put in after deploy) and tagged. */
function createTokenSecret(
  scope: Construct,
  shop: string,
  options: TokenSecretOptions,
): secretsmanager.Secret {
  const secret = createEmptySecret(scope, `TokenSecret-${shop}`, {
    encryptionKey: options.encryptionKey,
    secretName: options.secretName,
    description: `TikTok Shop OAuth tokens of shop ${shop}, kept fresh by ${scope.node.path}`,
    removalPolicy: options.removalPolicy,
    reason:
      'The refresher function renews these tokens on its own schedule with compare-and-swap version stages; a Secrets Manager rotation schedule would be a second, uncoordinated writer.',
  });
  Tags.of(secret).add(options.tagKey, shop);
  // Readers find the app of a shop by this tag; no tag means the default app.
  if (options.app !== DEFAULT_APP) Tags.of(secret).add(DEFAULT_APP_TAG_KEY, options.app);
  return secret;
}

/** Every shop's token secret, by shop name, each named by `secretName` and tagged. */
export function createTokenSecrets(
  scope: Construct,
  shops: readonly { readonly name: string; readonly app: string }[],
  options: Omit<TokenSecretOptions, 'secretName' | 'app'> & {
    readonly secretName: (shop: string) => string;
  },
): Map<string, secretsmanager.Secret> {
  return new Map(
    shops.map(({ name, app }) => [
      name,
      createTokenSecret(scope, name, { ...options, secretName: options.secretName(name), app }),
    ]),
  );
}

/** The refresher's two dead-letter queues. */
export interface RefresherQueues {
  /** Runs the schedule could not deliver. */
  readonly scheduleDeadLetterQueue: sqs.Queue;
  /** Runs that failed after Lambda's async retries. */
  readonly failureQueue: sqs.Queue;
}

export function createRefresherQueues(
  scope: Construct,
  encryptionKey: kms.IKey | undefined,
): RefresherQueues {
  return {
    scheduleDeadLetterQueue: createDeadLetterQueue(
      scope,
      'ScheduleDeadLetterQueue',
      encryptionKey,
      'It receives runs the schedule could not deliver; a message left here is investigated and deleted by hand.',
    ),
    failureQueue: createDeadLetterQueue(
      scope,
      'FailureQueue',
      encryptionKey,
      'It is the on-failure destination of the function; a record left here is investigated and deleted by hand.',
    ),
  };
}

/** A queue that keeps what could not be delivered or run for 14 days, for a person to look at. */
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
