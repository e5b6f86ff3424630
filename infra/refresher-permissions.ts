// The IAM access of the refresher function, and the read grants other functions get on its secrets.
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SHOP_STATE_TAG } from '../lambda/shared/contract.js';
import {
  arnForPolicies,
  grantKeyThroughSecretsManager,
  nagArn,
  secretKeys,
  tagPresent,
} from './secret-access.js';

/** Token secrets found by tag at run time: those under `arn` (a name pattern) carrying `tagKey`. */
export interface DiscoveryScope {
  readonly arn: string;
  readonly tagKey: string;
}

export interface RefresherAccess {
  /** Every app's, `default` first. */
  readonly appCredentialsSecrets: readonly secretsmanager.ISecret[];
  readonly tokenSecrets: readonly secretsmanager.ISecret[];
  readonly eventBus: events.IEventBus;
  readonly discoveryScope: DiscoveryScope | undefined;
  readonly encryptionKey: kms.IKey | undefined;
}

/** What the refresher function may do: read every app's credentials, read and write token secrets, publish events. */
export function grantRefresherAccess(
  scope: Construct,
  role: iam.Role,
  access: RefresherAccess,
): void {
  const { appCredentialsSecrets, tokenSecrets, eventBus, discoveryScope, encryptionKey } = access;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: appCredentialsSecrets.map(arnForPolicies),
    }),
  );
  const tokenActions = [
    'secretsmanager:GetSecretValue',
    'secretsmanager:DescribeSecret',
    'secretsmanager:PutSecretValue',
    'secretsmanager:UpdateSecretVersionStage',
  ];
  if (tokenSecrets.length > 0) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: tokenActions,
        resources: tokenSecrets.map(arnForPolicies),
      }),
    );
    role.addToPrincipalPolicy(shopIdTagging(tokenSecrets.map(arnForPolicies)));
  }
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [eventBus.eventBusArn] }),
  );
  // A large run lists its token secrets with their labels (by tag, or configured ones by name)
  // and reads their current values 20 to a BatchGetSecretValue, which still needs GetSecretValue
  // on each secret (granted above and below).
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:BatchGetSecretValue', 'secretsmanager:ListSecrets'],
      resources: ['*'],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'ListSecrets and BatchGetSecretValue support no resource-level permission, so IAM requires resource "*"; ListSecrets lists secret metadata, no value, and BatchGetSecretValue answers only the secrets GetSecretValue is granted on.',
  });
  if (discoveryScope !== undefined) {
    const { arn, tagKey } = discoveryScope;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: tokenActions,
        resources: [arn],
        conditions: tagPresent(tagKey),
      }),
    );
    role.addToPrincipalPolicy(shopIdTagging([arn], tagPresent(tagKey)));
    Validations.of(role).acknowledge(discoveredSecretsAcknowledgment(arn));
  }

  const tokenKeys = secretKeys(tokenSecrets);
  for (const key of secretKeys([...appCredentialsSecrets, ...tokenSecrets])) {
    // PutSecretValue needs a data key to encrypt a new version under the key.
    const actions = tokenKeys.includes(key)
      ? ['kms:Decrypt', 'kms:GenerateDataKey']
      : ['kms:Decrypt'];
    grantKeyThroughSecretsManager(scope, role, key, actions);
  }
  if (encryptionKey !== undefined) {
    const reason =
      "SqsDestination grants sending to the KMS-encrypted failure queue through the queue's grantSendMessages, which allows this action family on the one key.";
    Validations.of(role).acknowledge(
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason },
    );
  }
}

/**
 * GetSecretValue and DescribeSecret on `secrets` (and on the discoverable ones, which must carry
 * the tag key), plus kms:Decrypt through Secrets Manager for their customer-managed keys.
 */
export function grantSecretsRead(
  scope: Construct,
  grantee: iam.IGrantable,
  secrets: secretsmanager.ISecret[],
  discoverable: DiscoveryScope | undefined,
): iam.Grant {
  const actions = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];
  const grants: iam.Grant[] = [];
  if (secrets.length > 0) {
    grants.push(
      iam.Grant.addToPrincipal({
        grantee,
        actions,
        resourceArns: secrets.map(arnForPolicies),
      }),
    );
  }
  if (discoverable !== undefined) {
    grants.push(
      iam.Grant.addToPrincipal({
        grantee,
        actions,
        resourceArns: [discoverable.arn],
        conditions: tagPresent(discoverable.tagKey),
      }),
    );
  }
  for (const key of secretKeys(secrets)) {
    grants.push(grantKeyThroughSecretsManager(scope, grantee, key, ['kms:Decrypt']));
  }
  return grants.reduce((all, grant) => all.combine(grant));
}

/** Lets CloudWatch Logs of this account and region use the key for log groups. */
export function allowCloudWatchLogsToUseKey(scope: Construct, key: kms.IKey | undefined): void {
  const stack = Stack.of(scope);
  key?.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: [
        'kms:Encrypt*',
        'kms:Decrypt*',
        'kms:ReEncrypt*',
        'kms:GenerateDataKey*',
        'kms:Describe*',
      ],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            resourceName: '*',
          }),
        },
      },
    }),
  );
}

export function discoveredSecretsAcknowledgment(arn: string): { id: string; reason: string } {
  return {
    id: `AwsSolutions-IAM5[Resource::${nagArn(arn)}]`,
    reason:
      'Tag discovery is on: secrets found by tag are not known at deploy time, so access is granted under the token name prefix, and only on secrets that carry the discovery tag key.',
  };
}

/**
 * Tagging a token secret with the TikTok shop ids its token covers (`tiktok-shop-id:<id>`), which
 * the webhook receiver finds a shop by: those tag keys and no other.
 */
export function shopIdTagging(
  resources: string[],
  conditions: Record<string, unknown> = {},
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['secretsmanager:TagResource'],
    resources,
    conditions: {
      ...conditions,
      'ForAllValues:StringLike': { 'aws:TagKeys': [`${SHOP_STATE_TAG.shopIdPrefix}*`] },
    },
  });
}
