// The alarm topic a refresher creates when given none: TLS-only, open to this account's alarms.
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

/** A TLS-only topic that CloudWatch alarms of this account and region may publish to. */
export function createAlarmTopic(scope: Construct, encryptionKey: kms.IKey | undefined): sns.Topic {
  const topic = new sns.Topic(scope, 'AlarmTopic', {
    displayName: 'TikTok Shop token refresher alarms',
    masterKey: encryptionKey,
    enforceSSL: true,
  });
  // enforceSSL replaces the default topic policy, which is what let CloudWatch publish.
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarms',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: fromThisAccountsAlarms(scope),
    }),
  );
  // Without a customer-managed key the topic stays unencrypted: CloudWatch alarms cannot publish
  // to a topic under the AWS-managed SNS key. Notifications carry alarm names and numbers only.
  if (encryptionKey !== undefined) {
    encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAccountsAlarms(scope),
      }),
    );
  }
  return topic;
}

/**
 * The topic the alarms notify: `alarmTopic` if given, else a new one; `alarmEmail` (if any) is
 * subscribed to it and must confirm the subscription.
 */
export function alarmTopicOf(
  scope: Construct,
  props: { readonly alarmTopic?: sns.ITopic; readonly alarmEmail?: string },
  encryptionKey: kms.IKey | undefined,
): sns.ITopic {
  const topic = props.alarmTopic ?? createAlarmTopic(scope, encryptionKey);
  if (props.alarmEmail !== undefined) {
    topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  }
  return topic;
}

/** Confused-deputy guard: CloudWatch may act only for alarms of this account and region. */
function fromThisAccountsAlarms(scope: Construct): Record<string, Record<string, string>> {
  const stack = Stack.of(scope);
  return {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: {
      'aws:SourceArn': stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        resourceName: '*',
      }),
    },
  };
}
