import { Duration, Names, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as snsSubscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  ENV,
  METRIC,
  METRICS_NAMESPACE,
} from '../lambda/shared/contract.js';
import { createAlarmTopic } from './alarm-topic.js';
import { createAppFunction } from './lambda-function.js';
import { createRefresherAlarms, type TikTokShopTokenRefresherAlarms } from './refresher-alarms.js';
import {
  allowCloudWatchLogsToUseKey,
  type DiscoveryScope,
  discoveredSecretsAcknowledgment,
  grantRefresherAccess,
  grantSecretsRead,
} from './refresher-permissions.js';
import {
  isShopName,
  type TikTokShopTokenRefresherProps,
  validateRefresherProps,
} from './refresher-props.js';
import { createDeadLetterQueue, createEmptySecret } from './refresher-resources.js';
import { secretArnPattern } from './secret-access.js';

export type { TikTokShopTokenRefresherAlarms, TikTokShopTokenRefresherProps };

/** The event the schedule sends: the handler treats a "Scheduled Event" envelope as a scheduled run. */
export const SCHEDULED_EVENT = {
  source: 'aws.scheduler',
  'detail-type': 'Scheduled Event',
  detail: {},
} as const;

/**
 * Keeps TikTok Shop OAuth tokens in Secrets Manager fresh: a scheduled single-writer function,
 * its secrets, least-privilege permissions, dead-letter queues, metrics and alarms.
 */
export class TikTokShopTokenRefresher extends Construct {
  /** The refresher function (invoke it by hand with `{}`, `{"force":true}`, `{"dryRun":true}`, …). */
  public readonly function: lambda.IFunction;
  /** The secret holding `{"app_key","app_secret"}`. */
  public readonly appCredentialsSecret: secretsmanager.ISecret;
  /** Created and adopted token secrets (discovered secrets are not known at synth time). */
  public readonly tokenSecrets: secretsmanager.ISecret[];
  /** How the function names the app-credentials secret (APP_CREDENTIALS_SECRET_ID). */
  public readonly appCredentialsSecretId: string;
  /** How the function names the token secrets (TOKEN_SECRET_IDS): names of created secrets, ARNs of adopted ones. */
  public readonly tokenSecretIds: string[];
  /** Topic the alarms notify. */
  public readonly alarmTopic: sns.ITopic;
  /** Runs the schedule could not deliver. */
  public readonly scheduleDeadLetterQueue: sqs.IQueue;
  /** Runs that failed after Lambda's async retries. */
  public readonly failureQueue: sqs.IQueue;
  /** The alarms, by name. */
  public readonly alarms: TikTokShopTokenRefresherAlarms;
  /** Value of POWERTOOLS_SERVICE_NAME and of the `service` dimension of every metric. */
  public readonly serviceName: string;
  /** How often the function runs; the period of its metrics. */
  public readonly refreshInterval: Duration;
  /** Prefix of every secret name the construct creates or may discover. */
  public readonly secretNamePrefix: string;
  /** Tag key of the token secrets: the shop name is its value, discovery looks for the key. */
  public readonly tokenSecretTagKey: string;
  /** Whether the function also refreshes secrets found by `tokenSecretTagKey` under the token prefix. */
  public readonly discoversTokenSecretsByTag: boolean;
  /** Bus that receives the refresh events (`source` EVENT_SOURCE, `detail.shop` the secret's name). */
  public readonly eventBus: events.IEventBus;
  /** Customer-managed key of the created secrets, queues, log group and topic, if one was given. */
  public readonly encryptionKey: kms.IKey | undefined;

  private readonly createdTokenSecrets: ReadonlyMap<string, secretsmanager.ISecret>;
  private readonly discoveryScope: DiscoveryScope | undefined;

  constructor(scope: Construct, id: string, props: TikTokShopTokenRefresherProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.secretNamePrefix ?? 'tiktok-shop/';
    const shops = props.shops ?? [];
    const tagKey = props.tokenSecretTagKey ?? DEFAULT_TOKEN_SECRET_TAG_KEY;
    const discover = props.discoverTokenSecretsByTag ?? false;
    this.secretNamePrefix = prefix;
    this.tokenSecretTagKey = tagKey;
    this.discoversTokenSecretsByTag = discover;
    this.refreshInterval = props.refreshInterval ?? Duration.hours(1);
    const refreshBeforeExpiry = props.refreshBeforeExpiry ?? Duration.hours(48);
    const expiryAlarmThreshold = props.expiryAlarmThreshold ?? Duration.hours(24);
    const timeout = props.timeout ?? Duration.minutes(5);
    const removalPolicy = props.secretRemovalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = props.encryptionKey;
    this.serviceName = Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    validateRefresherProps(
      this.node.path,
      props,
      this.refreshInterval,
      prefix,
      shops,
      discover,
      refreshBeforeExpiry,
      expiryAlarmThreshold,
      timeout,
    );

    this.appCredentialsSecret =
      props.existingAppCredentialsSecret ??
      createEmptySecret(this, 'AppCredentialsSecret', {
        encryptionKey: this.encryptionKey,
        secretName: `${prefix}app-credentials`,
        description: 'TikTok Shop app credentials, as {"app_key":"...","app_secret":"..."}',
        removalPolicy,
        reason:
          'The app secret is issued by TikTok Partner Center and can only be renewed there; the owner updates this secret by hand when it does.',
      });
    const createdTokenSecrets = shops.map((shop): [string, secretsmanager.ISecret] => {
      const secret = createEmptySecret(this, `TokenSecret-${shop}`, {
        encryptionKey: this.encryptionKey,
        secretName: this.tokenSecretName(shop),
        description: `TikTok Shop OAuth tokens of shop ${shop}, kept fresh by ${this.node.path}`,
        removalPolicy,
        reason:
          'The refresher function renews these tokens on its own schedule with compare-and-swap version stages; a Secrets Manager rotation schedule would be a second, uncoordinated writer.',
      });
      Tags.of(secret).add(tagKey, shop);
      return [shop, secret];
    });
    this.createdTokenSecrets = new Map(createdTokenSecrets);
    const existingTokenSecrets = props.existingTokenSecrets ?? [];
    this.tokenSecrets = [...this.createdTokenSecrets.values(), ...existingTokenSecrets];
    // Literal names for created secrets: their secretName attribute is a token parsed from the ARN.
    this.appCredentialsSecretId = props.existingAppCredentialsSecret
      ? adoptedSecretId(props.existingAppCredentialsSecret)
      : `${prefix}app-credentials`;
    this.tokenSecretIds = [
      ...shops.map((shop) => this.tokenSecretName(shop)),
      ...existingTokenSecrets.map(adoptedSecretId),
    ];
    this.discoveryScope = discover
      ? {
          tagKey,
          arn: secretArnPattern(this, this.tokenSecretName('*')),
        }
      : undefined;
    this.eventBus =
      props.eventBus ??
      events.EventBus.fromEventBusName(this, 'DefaultEventBus', DEFAULTS.eventBusName);

    this.scheduleDeadLetterQueue = createDeadLetterQueue(
      this,
      'ScheduleDeadLetterQueue',
      this.encryptionKey,
      'It receives runs the schedule could not deliver; a message left here is investigated and deleted by hand.',
    );
    this.failureQueue = createDeadLetterQueue(
      this,
      'FailureQueue',
      this.encryptionKey,
      'It is the on-failure destination of the function; a record left here is investigated and deleted by hand.',
    );

    const { fn, role } = createAppFunction(this, {
      bundle: 'refresher',
      roleDescription:
        'TikTok Shop token refresher: reads app credentials, refreshes token secrets',
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      logEncryptionKey: this.encryptionKey,
      description: 'Refreshes TikTok Shop OAuth tokens stored in Secrets Manager',
      // Init work (SDK clients, TLS) is CPU-bound and CPU grows with memory; at one run an hour
      // the extra memory costs next to nothing.
      memorySize: 256,
      timeout,
      // One writer at a time: two concurrent runs could both refresh a shop and one of them would
      // store a refresh token TikTok has already replaced.
      reservedConcurrentExecutions: 1,
      retryAttempts: 2,
      // A run older than one interval is superseded by the next scheduled run.
      maxEventAge: minDuration(this.refreshInterval, Duration.hours(6)),
      onFailure: new destinations.SqsDestination(this.failureQueue),
      environment: {
        [ENV.appCredentialsSecretId]: this.appCredentialsSecretId,
        ...(this.tokenSecretIds.length > 0 && {
          [ENV.tokenSecretIds]: this.tokenSecretIds.join(','),
        }),
        ...(discover && { [ENV.tokenSecretTagKey]: tagKey }),
        [ENV.tiktokAuthBaseUrl]: DEFAULTS.tiktokAuthBaseUrl,
        [ENV.refreshBeforeExpirySeconds]: String(refreshBeforeExpiry.toSeconds()),
        [ENV.eventBusName]: this.eventBus.eventBusName,
        [ENV.tiktokTimeoutMs]: String(DEFAULTS.tiktokTimeoutMs),
        [ENV.maxConcurrency]: String(DEFAULTS.maxConcurrency),
        [ENV.secretWritesPerSecond]: String(DEFAULTS.secretWritesPerSecond),
        POWERTOOLS_SERVICE_NAME: this.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    allowCloudWatchLogsToUseKey(this, this.encryptionKey);
    this.function = fn;
    grantRefresherAccess(this, role, {
      appCredentialsSecret: this.appCredentialsSecret,
      tokenSecrets: this.tokenSecrets,
      eventBus: this.eventBus,
      discoveryScope: this.discoveryScope,
      encryptionKey: this.encryptionKey,
    });

    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler: invokes the TikTok Shop token refresher',
    });
    // The schedule writes undeliverable runs to its dead-letter queue, encrypted under the key.
    this.encryptionKey?.grant(scheduleRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.rate(this.refreshInterval),
      description: 'Starts a TikTok Shop token refresh run',
      target: new schedulerTargets.LambdaInvoke(fn, {
        role: scheduleRole,
        input: scheduler.ScheduleTargetInput.fromObject(SCHEDULED_EVENT),
        retryAttempts: 3,
        maxEventAge: this.refreshInterval,
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason:
        "LambdaInvoke grants lambda:InvokeFunction through the function's grantInvoke, which also covers its versions and aliases (<arn>:*); the role can invoke this one function only.",
    });

    this.alarmTopic = props.alarmTopic ?? createAlarmTopic(this, this.encryptionKey);
    if (props.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new snsSubscriptions.EmailSubscription(props.alarmEmail));
    }
    this.alarms = createRefresherAlarms(this, fn, expiryAlarmThreshold);
    const action = new cloudwatchActions.SnsAction(this.alarmTopic);
    for (const alarm of Object.values(this.alarms)) alarm.addAlarmAction(action);
    // Only this alarm describes a lasting state whose end is news: tokens are fresh again.
    this.alarms.tokenExpiry.addOkAction(action);
  }

  /**
   * Lets another function (or role) read the token secrets: GetSecretValue and DescribeSecret on
   * the created and adopted token secrets (and on discoverable ones when discovery is on), plus
   * kms:Decrypt through Secrets Manager when they are encrypted with a customer-managed key.
   */
  public grantReadTokens(grantee: iam.IGrantable): iam.Grant {
    const discoverableArn = this.discoveryScope?.arn;
    if (discoverableArn !== undefined && Construct.isConstruct(grantee.grantPrincipal)) {
      Validations.of(grantee.grantPrincipal).acknowledge(
        discoveredSecretsAcknowledgment(discoverableArn),
      );
    }
    // Never empty: the props are refused unless there are token secrets or discovery is on.
    return grantSecretsRead(this, grantee, this.tokenSecrets, this.discoveryScope);
  }

  /**
   * Lets another function (or role) read one shop's token secret and no other: the same access
   * as `grantReadTokens`, on `<secretNamePrefix>tokens/<shop>` only. The shop is one of `shops`
   * or, with discovery on, a shop onboarded at run time: the grant then names that secret (any
   * random suffix) and requires the discovery tag key, as the refresher's own access does.
   */
  public grantReadToken(grantee: iam.IGrantable, shop: string): iam.Grant {
    const created = this.createdTokenSecrets.get(shop);
    if (created !== undefined) return grantSecretsRead(this, grantee, [created], undefined);
    if (this.discoveryScope === undefined) {
      throw new Error(
        `${this.node.path}: no token secret for shop "${shop}": it is not in shops, and discovery by tag is off`,
      );
    }
    // The name becomes part of an ARN pattern: no wildcard may slip in.
    if (!isShopName(shop)) throw new Error(`${this.node.path}: invalid shop name "${shop}"`);
    const arn = secretArnPattern(this, `${this.tokenSecretName(shop)}-??????`);
    return grantSecretsRead(this, grantee, [], { arn, tagKey: this.tokenSecretTagKey });
  }

  /** `<secretNamePrefix>tokens/<shop>`: where the shop's token is, whoever created the secret. */
  public tokenSecretName(shop: string): string {
    return `${this.secretNamePrefix}tokens/${shop}`;
  }

  /** A metric the function emits, with the namespace, `service` dimension and run period set. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic: cloudwatch.Stats.SUM,
      period: this.refreshInterval,
      ...props,
    });
  }

  /** Tokens refreshed, summed per run interval. */
  public metricTokensRefreshed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensRefreshed, props);
  }

  /** Refreshes that failed, summed per run interval. */
  public metricRefreshFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.refreshFailures, props);
  }

  /** Shops whose seller must authorize again, summed per run interval. */
  public metricReauthorizationRequired(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.reauthorizationRequired, props);
  }

  /** Shops whose seller authorization ends soon, summed per run interval. */
  public metricAuthorizationExpiring(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.authorizationExpiring, props);
  }

  /** Smallest remaining access-token lifetime across shops in seconds, minimum per run interval. */
  public metricMinAccessTokenLifetime(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.minAccessTokenLifetime, {
      statistic: cloudwatch.Stats.MINIMUM,
      ...props,
    });
  }
}

/** The full ARN when known (the only form that works across accounts), else the name. */
function adoptedSecretId(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? secret.secretName;
}

function minDuration(a: Duration, b: Duration): Duration {
  return a.toSeconds() <= b.toSeconds() ? a : b;
}
