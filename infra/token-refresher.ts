import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Tags, Validations } from 'aws-cdk-lib';
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
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as snsSubscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  ENV,
  METRIC,
  METRICS_NAMESPACE,
  SHOP_NAME,
} from '../lambda/contract';
import { createAppFunction } from './lambda-function';
import {
  arnForPolicies,
  grantKeyThroughSecretsManager,
  nagArn,
  secretArnPattern,
  secretKeys,
  tagPresent,
} from './secret-access';

/** The event the schedule sends: the handler treats a "Scheduled Event" envelope as a scheduled run. */
export const SCHEDULED_EVENT = {
  source: 'aws.scheduler',
  'detail-type': 'Scheduled Event',
  detail: {},
} as const;

// Characters Secrets Manager allows in a name, minus the comma that separates TOKEN_SECRET_IDS.
const SECRET_NAME_PART = /^[A-Za-z0-9/_+=.@-]+$/;

export interface TikTokShopTokenRefresherProps {
  /**
   * Shops to create a token secret for, each named `<secretNamePrefix>tokens/<shop>` and tagged
   * `<tokenSecretTagKey>=<shop>`. The secrets are created empty: put the first token in after deploy.
   * @default - no token secrets are created
   */
  readonly shops?: string[];

  /**
   * Token secrets that already exist and that the function should keep fresh as well.
   * Import them with `Secret.fromSecretCompleteArn` (or `fromSecretNameV2` in the same account).
   * @default - none
   */
  readonly existingTokenSecrets?: secretsmanager.ISecret[];

  /**
   * Also refresh every secret that carries the tag key `tokenSecretTagKey` (found with ListSecrets
   * on each run), so a shop can be onboarded without a deploy. Only secrets under
   * `<secretNamePrefix>tokens/` can be written; this widens the function's write access from exact
   * ARNs to that name prefix, restricted to secrets carrying the tag key.
   * @default false
   */
  readonly discoverTokenSecretsByTag?: boolean;

  /**
   * Tag key put on the created token secrets (value: the shop name) and used for discovery.
   * @default DEFAULT_TOKEN_SECRET_TAG_KEY ('tiktok-shop-token')
   */
  readonly tokenSecretTagKey?: string;

  /**
   * Prefix of every secret name this construct creates or may discover.
   * @default 'tiktok-shop/'
   */
  readonly secretNamePrefix?: string;

  /**
   * Secret holding the app's `{"app_key","app_secret"}`; the function only reads it.
   * @default - an empty secret named `<secretNamePrefix>app-credentials` is created
   */
  readonly existingAppCredentialsSecret?: secretsmanager.ISecret;

  /**
   * How often the schedule starts a run. Also the period of the per-run metrics and alarms, which
   * is why this is an interval and not a free cron expression. Whole minutes, 1 minute to 1 day.
   * @default Duration.hours(1)
   */
  readonly refreshInterval?: Duration;

  /**
   * A token is refreshed once its access token expires within this time. Must exceed
   * `refreshInterval` (so that at least one run falls inside the window) and stay within 7 days.
   * @default Duration.hours(48)
   */
  readonly refreshBeforeExpiry?: Duration;

  /**
   * The expiry alarm fires when a shop's access token expires within this time (or when the
   * function stops reporting). Must be shorter than `refreshBeforeExpiry`, else it fires in normal operation.
   * @default Duration.hours(24)
   */
  readonly expiryAlarmThreshold?: Duration;

  /**
   * E-mail address subscribed to the alarm topic (the recipient must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * Topic the alarms notify. An imported topic must allow `cloudwatch.amazonaws.com` to publish
   * (and its KMS key, if any, must allow CloudWatch to use it): the construct cannot change it.
   * @default - a new TLS-only topic
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Event bus that receives the refresh events.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Customer-managed key for the created secrets, queues, log group and topic. When it is a key
   * of this stack, the construct adds the key-policy statements CloudWatch Logs and CloudWatch
   * alarms need; an imported key's policy must already allow them.
   * @default - AWS-managed encryption (Secrets Manager key, SQS-managed SSE; the topic stays
   * unencrypted because CloudWatch alarms cannot publish to a topic under an AWS-managed key)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Function timeout: covers TikTok calls (10 s each, up to 10 shops at a time) plus Secrets
   * Manager write retries for every shop of a run.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * What happens to the created secrets when they leave the stack. They hold refresh tokens a
   * seller had to grant, so they outlive the stack unless told otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly secretRemovalPolicy?: RemovalPolicy;
}

/** The alarms the construct creates, all notifying `alarmTopic`. */
export interface TikTokShopTokenRefresherAlarms {
  /** The function ended a run with an error (configuration error or transient failures). */
  readonly functionErrors: cloudwatch.Alarm;
  /** A refresh failed for at least one shop in a run. */
  readonly refreshFailures: cloudwatch.Alarm;
  /** TikTok rejected a refresh token: the seller must authorize the app again. */
  readonly reauthorizationRequired: cloudwatch.Alarm;
  /** A seller's authorization itself ends soon: ask the seller to authorize again. */
  readonly authorizationExpiring: cloudwatch.Alarm;
  /** The shortest access-token lifetime fell below the threshold, or the function stopped reporting. */
  readonly tokenExpiry: cloudwatch.Alarm;
  /** The schedule could not deliver a run to the function. */
  readonly scheduleDeadLetters: cloudwatch.Alarm;
  /** A run failed after Lambda's retries, or its event grew too old before it ran. */
  readonly failedInvocations: cloudwatch.Alarm;
}

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
  private readonly discoveryScope: { arn: string; tagKey: string } | undefined;

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
    const removalPolicy = props.secretRemovalPolicy ?? RemovalPolicy.RETAIN;
    this.encryptionKey = props.encryptionKey;
    this.serviceName = Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    this.validate(props, prefix, shops, discover, refreshBeforeExpiry, expiryAlarmThreshold);

    this.appCredentialsSecret =
      props.existingAppCredentialsSecret ??
      this.emptySecret('AppCredentialsSecret', {
        secretName: `${prefix}app-credentials`,
        description: 'TikTok Shop app credentials, as {"app_key":"...","app_secret":"..."}',
        removalPolicy,
        reason:
          'The app secret is issued by TikTok Partner Center and can only be renewed there; the owner updates this secret by hand when it does.',
      });
    const createdTokenSecrets = shops.map((shop): [string, secretsmanager.ISecret] => {
      const secret = this.emptySecret(`TokenSecret-${shop}`, {
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

    this.scheduleDeadLetterQueue = this.deadLetterQueue(
      'ScheduleDeadLetterQueue',
      'It receives runs the schedule could not deliver; a message left here is investigated and deleted by hand.',
    );
    this.failureQueue = this.deadLetterQueue(
      'FailureQueue',
      'It is the on-failure destination of the function; a record left here is investigated and deleted by hand.',
    );

    const timeout = props.timeout ?? Duration.minutes(5);
    const { fn, role } = createAppFunction(this, {
      entryFile: 'handler.ts',
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
    this.allowCloudWatchLogsToUseKey();
    this.function = fn;
    this.grantFunctionAccess(role, this.eventBus);

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

    this.alarmTopic = props.alarmTopic ?? this.createAlarmTopic();
    if (props.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new snsSubscriptions.EmailSubscription(props.alarmEmail));
    }
    this.alarms = this.createAlarms(fn, expiryAlarmThreshold);
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
    return this.grantRead(grantee, this.tokenSecrets, discoverableArn);
  }

  /**
   * Lets another function (or role) read one shop's token secret and no other: the same access
   * as `grantReadTokens`, on `<secretNamePrefix>tokens/<shop>` only. The shop is one of `shops`
   * or, with discovery on, a shop onboarded at run time: the grant then names that secret (any
   * random suffix) and requires the discovery tag key, as the refresher's own access does.
   */
  public grantReadToken(grantee: iam.IGrantable, shop: string): iam.Grant {
    const created = this.createdTokenSecrets.get(shop);
    if (created !== undefined) return this.grantRead(grantee, [created], undefined);
    if (this.discoveryScope === undefined) {
      throw new Error(
        `${this.node.path}: no token secret for shop "${shop}": it is not in shops, and discovery by tag is off`,
      );
    }
    // The name becomes part of an ARN pattern: no wildcard may slip in.
    if (!isShopName(shop)) throw new Error(`${this.node.path}: invalid shop name "${shop}"`);
    const arn = secretArnPattern(this, `${this.tokenSecretName(shop)}-??????`);
    return this.grantRead(grantee, [], arn);
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

  /** Collects every problem with the props first, so one synth names all of them. */
  private validate(
    props: TikTokShopTokenRefresherProps,
    prefix: string,
    shops: string[],
    discover: boolean,
    refreshBeforeExpiry: Duration,
    expiryAlarmThreshold: Duration,
  ): void {
    const problems: string[] = [];
    if (shops.length === 0 && (props.existingTokenSecrets ?? []).length === 0 && !discover) {
      problems.push(
        'nothing to refresh: give shops, existingTokenSecrets or discoverTokenSecretsByTag',
      );
    }
    if (!SECRET_NAME_PART.test(prefix)) problems.push(`invalid secretNamePrefix "${prefix}"`);
    for (const shop of shops) {
      if (!isShopName(shop)) {
        problems.push(
          `invalid shop name "${shop}": 1 to 64 letters, digits, '-' or '_', starting with a letter or digit`,
        );
      }
    }
    if (new Set(shops).size !== shops.length) problems.push('a shop is listed twice');
    const interval = this.refreshInterval.toSeconds();
    if (interval % 60 !== 0 || interval < 60 || interval > 86_400) {
      problems.push('refreshInterval must be whole minutes from 1 minute to 1 day');
    }
    if (refreshBeforeExpiry.toSeconds() <= interval) {
      problems.push('refreshBeforeExpiry must be longer than refreshInterval');
    }
    // The function refuses more: past an access token's ~7-day life every run would refresh.
    if (refreshBeforeExpiry.toSeconds() > Duration.days(7).toSeconds()) {
      problems.push('refreshBeforeExpiry must be at most 7 days');
    }
    if (expiryAlarmThreshold.toSeconds() >= refreshBeforeExpiry.toSeconds()) {
      problems.push('expiryAlarmThreshold must be shorter than refreshBeforeExpiry');
    }
    if (problems.length > 0) {
      throw new Error(`${this.node.path}: invalid props: ${problems.join('; ')}`);
    }
  }

  private grantRead(
    grantee: iam.IGrantable,
    secrets: secretsmanager.ISecret[],
    discoverableArn: string | undefined,
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
    if (discoverableArn !== undefined) {
      grants.push(
        iam.Grant.addToPrincipal({
          grantee,
          actions,
          resourceArns: [discoverableArn],
          conditions: tagPresent(this.tokenSecretTagKey),
        }),
      );
    }
    for (const key of secretKeys(secrets)) {
      grants.push(grantKeyThroughSecretsManager(this, grantee, key, ['kms:Decrypt']));
    }
    return grants.reduce((all, grant) => all.combine(grant));
  }

  /**
   * A secret with no value at all: no placeholder in the template that a later template change
   * could write over a live token, and nothing for the function to take for a token. (The L2
   * construct always generates a value unless given one; CloudFormation creates an empty secret
   * when both SecretString and GenerateSecretString are absent.)
   */
  private emptySecret(
    id: string,
    options: {
      secretName: string;
      description: string;
      removalPolicy: RemovalPolicy;
      reason: string;
    },
  ): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      secretName: options.secretName,
      description: options.description,
      encryptionKey: this.encryptionKey,
      removalPolicy: options.removalPolicy,
    });
    (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride(
      'GenerateSecretString',
    );
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: options.reason });
    return secret;
  }

  private deadLetterQueue(id: string, reason: string): sqs.Queue {
    const queue = new sqs.Queue(this, id, {
      encryption: this.encryptionKey ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This queue is itself a dead-letter queue. ${reason}`,
    });
    return queue;
  }

  private grantFunctionAccess(role: iam.Role, eventBus: events.IEventBus): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [arnForPolicies(this.appCredentialsSecret)],
      }),
    );
    const tokenActions = [
      'secretsmanager:GetSecretValue',
      'secretsmanager:DescribeSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ];
    if (this.tokenSecrets.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: tokenActions,
          resources: this.tokenSecrets.map(arnForPolicies),
        }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [eventBus.eventBusArn] }),
    );
    if (this.discoveryScope !== undefined) {
      const { arn, tagKey } = this.discoveryScope;
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: tokenActions,
          resources: [arn],
          conditions: tagPresent(tagKey),
        }),
      );
      Validations.of(role).acknowledge(
        {
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'Tag discovery is on: ListSecrets supports no resource-level permission, so IAM requires resource "*"; it lists secret metadata, no value.',
        },
        discoveredSecretsAcknowledgment(arn),
      );
    }

    const tokenKeys = secretKeys(this.tokenSecrets);
    for (const key of secretKeys([this.appCredentialsSecret, ...this.tokenSecrets])) {
      // PutSecretValue needs a data key to encrypt a new version under the key.
      const actions = tokenKeys.includes(key)
        ? ['kms:Decrypt', 'kms:GenerateDataKey']
        : ['kms:Decrypt'];
      grantKeyThroughSecretsManager(this, role, key, actions);
    }
    if (this.encryptionKey !== undefined) {
      const reason =
        "SqsDestination grants sending to the KMS-encrypted failure queue through the queue's grantSendMessages, which allows this action family on the one key.";
      Validations.of(role).acknowledge(
        { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason },
        { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason },
      );
    }
  }

  private allowCloudWatchLogsToUseKey(): void {
    const stack = Stack.of(this);
    this.encryptionKey?.addToResourcePolicy(
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

  private createAlarmTopic(): sns.Topic {
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'TikTok Shop token refresher alarms',
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
    // enforceSSL replaces the default topic policy, which is what let CloudWatch publish.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: this.fromThisAccountsAlarms(),
      }),
    );
    // Without a customer-managed key the topic stays unencrypted: CloudWatch alarms cannot publish
    // to a topic under the AWS-managed SNS key. Notifications carry alarm names and numbers only.
    if (this.encryptionKey !== undefined) {
      this.encryptionKey.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: this.fromThisAccountsAlarms(),
        }),
      );
    }
    return topic;
  }

  /** Confused-deputy guard: CloudWatch may act only for alarms of this account and region. */
  private fromThisAccountsAlarms(): Record<string, Record<string, string>> {
    const stack = Stack.of(this);
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

  private createAlarms(
    fn: lambda.IFunction,
    expiryAlarmThreshold: Duration,
  ): TikTokShopTokenRefresherAlarms {
    const atLeastOne = (
      id: string,
      metric: cloudwatch.IMetric,
      alarmDescription: string,
      treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ): cloudwatch.Alarm =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData,
        alarmDescription,
      });
    // SQS reports queue depth every 5 minutes; a message stays until someone deals with it, so a
    // gap in the data says nothing and must not end the alarm.
    const queueDepth = (queue: sqs.IQueue): cloudwatch.IMetric =>
      queue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(5),
      });

    return {
      functionErrors: atLeastOne(
        'FunctionErrorsAlarm',
        fn.metricErrors({ period: this.refreshInterval, statistic: cloudwatch.Stats.SUM }),
        'The token refresher ended a run with an error. Read its log for the run; a configuration error repeats every run.',
      ),
      refreshFailures: atLeastOne(
        'RefreshFailuresAlarm',
        this.metricRefreshFailures(),
        'A TikTok Shop token refresh failed. The log names the shop and the reason; the next run tries again.',
      ),
      reauthorizationRequired: atLeastOne(
        'ReauthorizationRequiredAlarm',
        this.metricReauthorizationRequired(),
        'TikTok rejected a refresh token: the seller must authorize the app again, then the new token is put into the shop secret.',
      ),
      authorizationExpiring: atLeastOne(
        'AuthorizationExpiringAlarm',
        this.metricAuthorizationExpiring(),
        "A seller's authorization ends soon: ask the seller to authorize the app again before it does.",
      ),
      tokenExpiry: new cloudwatch.Alarm(this, 'TokenExpiryAlarm', {
        metric: this.metricMinAccessTokenLifetime(),
        threshold: expiryAlarmThreshold.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // Two intervals: a run whose metric lands in the next period does not alarm, two missed
        // runs in a row do.
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        // Silence means nobody is refreshing: readers could soon get an expired token.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        alarmDescription: `A shop's access token expires within ${expiryAlarmThreshold.toHumanString()}, or the refresher stopped reporting. Check the other alarms and the function's log.`,
      }),
      scheduleDeadLetters: atLeastOne(
        'ScheduleDeadLettersAlarm',
        queueDepth(this.scheduleDeadLetterQueue),
        'The schedule could not deliver a run to the token refresher. Read the message for the error, then delete it.',
        cloudwatch.TreatMissingData.IGNORE,
      ),
      failedInvocations: atLeastOne(
        'FailedInvocationsAlarm',
        queueDepth(this.failureQueue),
        'A token refresher run failed after its retries. Read the record and the log of the run, then delete the record.',
        cloudwatch.TreatMissingData.IGNORE,
      ),
    };
  }
}

/** The full ARN when known (the only form that works across accounts), else the name. */
function adoptedSecretId(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? secret.secretName;
}

function discoveredSecretsAcknowledgment(arn: string): { id: string; reason: string } {
  return {
    id: `AwsSolutions-IAM5[Resource::${nagArn(arn)}]`,
    reason:
      'Tag discovery is on: secrets found by tag are not known at deploy time, so access is granted under the token name prefix, and only on secrets that carry the discovery tag key.',
  };
}

/** The shop names the onboarding command and the callback accept, so every shop can be connected. */
function isShopName(shop: string): boolean {
  return SHOP_NAME.test(shop);
}

function minDuration(a: Duration, b: Duration): Duration {
  return a.toSeconds() <= b.toSeconds() ? a : b;
}
