// What the constructs built on a refresher read from it, as an interface: the webhook receiver
// takes this, so that the refresher can create its receiver without an import cycle.
import type { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';

/** A token refresher as the constructs built on it see it: `TikTokShopTokenRefresher` is one. */
export interface ITikTokShopTokenRefresher extends IConstruct {
  /** Every app's credentials secret, by app name (`default` among them). */
  readonly appCredentialsSecrets: Readonly<Record<string, secretsmanager.ISecret>>;
  /** How the functions name every app's credentials secret, by app name. */
  readonly appCredentialsSecretIds: Readonly<Record<string, string>>;
  /** How the functions name the `default` app's credentials secret. */
  readonly appCredentialsSecretId: string;
  /** Created and adopted token secrets. */
  readonly tokenSecrets: secretsmanager.ISecret[];
  /** Whether secrets carrying `tokenSecretTagKey` under the token prefix are token secrets too. */
  readonly discoversTokenSecretsByTag: boolean;
  /** Tag key of the token secrets. */
  readonly tokenSecretTagKey: string;
  /** Bus of the refresher's events. */
  readonly eventBus: events.IEventBus;
  /** POWERTOOLS_SERVICE_NAME of the refresher: the `service` dimension of its metrics. */
  readonly serviceName: string;
  /** How often the refresher runs: the period of its metrics and alarms. */
  readonly refreshInterval: Duration;
  /** Topic the alarms notify. */
  readonly alarmTopic: sns.ITopic;
  /** Customer-managed key of the refresher's secrets, log groups and queues, if any. */
  readonly encryptionKey?: kms.IKey;
  /** Node.js runtime of the refresher, and of the functions built on it. */
  readonly runtime: lambda.Runtime;
  /** The refresher's dashboard, if it has one. */
  readonly dashboard?: cloudwatch.Dashboard;

  /** `<secretNamePrefix>tokens/<shop>`. */
  tokenSecretName(shop: string): string;

  /** A metric under the refresher's namespace and `service` dimension. */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}
