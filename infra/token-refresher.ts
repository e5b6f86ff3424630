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
  APPS_ENV,
  appCredentialsSecretName,
  DEFAULT_APP,
  DEFAULT_APP_TAG_KEY,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  ENV,
  METRIC,
  METRICS_NAMESPACE,
  tokenSecretName,
} from '../lambda/shared/contract.js';
import { createAlarmTopic } from './alarm-topic.js';
import { createAppFunction } from './lambda-function.js';
import { resolveVpcPlacement, type VpcPlacement } from './network.js';
import { createRefresherAlarms, type TikTokShopTokenRefresherAlarms } from './refresher-alarms.js';
import { createRefresherDashboard } from './refresher-dashboard.js';
import {
  allowCloudWatchLogsToUseKey,
  type DiscoveryScope,
  discoveredSecretsAcknowledgment,
  grantRefresherAccess,
  grantSecretsRead,
} from './refresher-permissions.js';
import {
  isShopName,
  shopEntries,
  type TikTokShopAppProps,
  type TikTokShopBinding,
  type TikTokShopConsentRegion,
  type TikTokShopTokenRefresherProps,
  validateRefresherProps,
} from './refresher-props.js';
import { createDeadLetterQueue, createEmptySecret } from './refresher-resources.js';
import { secretArnPattern } from './secret-access.js';

export type {
  TikTokShopAppProps,
  TikTokShopBinding,
  TikTokShopConsentRegion,
  TikTokShopTokenRefresherAlarms,
  TikTokShopTokenRefresherProps,
};

/** Which of the deployment's apps a shop belongs to, for a shop `shops` does not bind. */
export interface TikTokShopAppOptions {
  /**
   * The app of a shop onboarded at run time (found by tag). A shop of `shops` is bound already:
   * naming another app for it is refused.
   * @default - the only app when there is one; else unknown
   */
  readonly app?: string;
}

/** The event the schedule sends: the handler treats a "Scheduled Event" envelope as a scheduled run. */
export const SCHEDULED_EVENT = {
  source: 'aws.scheduler',
  'detail-type': 'Scheduled Event',
  detail: {},
} as const;

/**
 * Keeps TikTok Shop OAuth tokens in Secrets Manager fresh: a scheduled single-writer function,
 * its secrets, least-privilege permissions, dead-letter queues, metrics, alarms and a dashboard;
 * optionally in a VPC, for a fixed egress IP.
 */
export class TikTokShopTokenRefresher extends Construct {
  /** The refresher function (invoke it by hand with `{}`, `{"force":true}`, `{"dryRun":true}`, …). */
  public readonly function: lambda.IFunction;
  /** The secret holding the `default` app's `{"app_key","app_secret"}`. */
  public readonly appCredentialsSecret: secretsmanager.ISecret;
  /** Every app's credentials secret, by app name (`default` among them). */
  public readonly appCredentialsSecrets: Readonly<Record<string, secretsmanager.ISecret>>;
  /**
   * How the functions name every app's credentials secret, by app name: names of created
   * secrets, ARNs of adopted ones. The non-default apps' are the function's
   * APP_CREDENTIALS_SECRET_IDS.
   */
  public readonly appCredentialsSecretIds: Readonly<Record<string, string>>;
  /** Where each app's consent links send sellers, by app name. */
  public readonly appConsentRegions: Readonly<Record<string, TikTokShopConsentRegion>>;
  /** Tag key that binds a token secret to an app other than `default` (the value is the app). */
  public readonly appTagKey: string = DEFAULT_APP_TAG_KEY;
  /** Created and adopted token secrets (discovered secrets are not known at synth time). */
  public readonly tokenSecrets: secretsmanager.ISecret[];
  /** How the function names the `default` app's credentials secret (APP_CREDENTIALS_SECRET_ID). */
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
  /**
   * The VPC, subnets and security groups the function runs in, when given a `vpc`; the consent
   * callback and the example reader built on this refresher run there too.
   */
  public readonly vpcPlacement: VpcPlacement | undefined;
  /** The dashboard of the runs, unless turned off with `createDashboard: false`. */
  public readonly dashboard: cloudwatch.Dashboard | undefined;

  private readonly createdTokenSecrets: ReadonlyMap<string, secretsmanager.ISecret>;
  /** The app of every shop of `shops`. */
  private readonly shopApps: ReadonlyMap<string, string>;
  private readonly discoveryScope: DiscoveryScope | undefined;

  constructor(scope: Construct, id: string, props: TikTokShopTokenRefresherProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.secretNamePrefix ?? DEFAULT_SECRET_NAME_PREFIX;
    const shops = shopEntries(props.shops ?? []);
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

    // `default` first, with the secret it always had; then the other apps in the order given.
    const defaultOptions = props.apps?.[DEFAULT_APP];
    const defaultApp = this.createAppCredentials(
      DEFAULT_APP,
      {
        existingCredentialsSecret:
          defaultOptions?.existingCredentialsSecret ?? props.existingAppCredentialsSecret,
        consentRegion: defaultOptions?.consentRegion,
      },
      removalPolicy,
    );
    const otherApps = Object.entries(props.apps ?? {})
      .filter(([app]) => app !== DEFAULT_APP)
      .map(([app, options]) => this.createAppCredentials(app, options, removalPolicy));
    const credentials = [defaultApp, ...otherApps];
    this.appCredentialsSecrets = Object.fromEntries(credentials.map((c) => [c.app, c.secret]));
    this.appCredentialsSecretIds = Object.fromEntries(credentials.map((c) => [c.app, c.id]));
    this.appConsentRegions = Object.fromEntries(credentials.map((c) => [c.app, c.consentRegion]));
    this.appCredentialsSecret = defaultApp.secret;
    this.appCredentialsSecretId = defaultApp.id;
    this.shopApps = new Map(shops.map(({ name, app }) => [name, app]));

    const createdTokenSecrets = shops.map(
      ({ name: shop, app }): [string, secretsmanager.ISecret] => {
        const secret = createEmptySecret(this, `TokenSecret-${shop}`, {
          encryptionKey: this.encryptionKey,
          secretName: this.tokenSecretName(shop),
          description: `TikTok Shop OAuth tokens of shop ${shop}, kept fresh by ${this.node.path}`,
          removalPolicy,
          reason:
            'The refresher function renews these tokens on its own schedule with compare-and-swap version stages; a Secrets Manager rotation schedule would be a second, uncoordinated writer.',
        });
        Tags.of(secret).add(tagKey, shop);
        // Readers find the app of a shop by this tag; no tag means the default app.
        if (app !== DEFAULT_APP) Tags.of(secret).add(DEFAULT_APP_TAG_KEY, app);
        return [shop, secret];
      },
    );
    this.createdTokenSecrets = new Map(createdTokenSecrets);
    const shopAppsOfOtherApps = shops.filter(({ app }) => app !== DEFAULT_APP);
    const existingTokenSecrets = props.existingTokenSecrets ?? [];
    this.tokenSecrets = [...this.createdTokenSecrets.values(), ...existingTokenSecrets];
    this.tokenSecretIds = [
      ...shops.map(({ name }) => this.tokenSecretName(name)),
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

    this.vpcPlacement = resolveVpcPlacement(this, props);
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
      placement: this.vpcPlacement,
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
        // Only with other apps, so that a one-app template stays as it was.
        ...(otherApps.length > 0 && {
          [APPS_ENV.appCredentialsSecretIds]: JSON.stringify(
            Object.fromEntries(otherApps.map(({ app, id }) => [app, id])),
          ),
        }),
        ...(shopAppsOfOtherApps.length > 0 && {
          [APPS_ENV.shopApps]: JSON.stringify(
            Object.fromEntries(
              shopAppsOfOtherApps.map(({ name, app }) => [this.tokenSecretName(name), app]),
            ),
          ),
        }),
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
      appCredentialsSecrets: Object.values(this.appCredentialsSecrets),
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

    this.dashboard =
      props.createDashboard === false
        ? undefined
        : createRefresherDashboard(this, {
            fn,
            timeout,
            refreshBeforeExpiry,
            expiryAlarmThreshold,
          });
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

  /**
   * Lets another function (or role) call the TikTok Shop API for one shop: read that shop's
   * token secret (as `grantReadToken` does, DescribeSecret included, which tells a reader the
   * shop's app by its tag) and the credentials secret of the shop's app, which signs every
   * request; plus kms:Decrypt through Secrets Manager when either is encrypted with a
   * customer-managed key. `grantReadToken` stays token-only.
   *
   * The app is the shop's binding in `shops`, or `options.app` for a shop onboarded at run time.
   * When neither says it and the deployment has several apps, every app's credentials are
   * granted: the reader then reads those of the app its token secret's tag names.
   */
  public grantApiAccess(
    grantee: iam.IGrantable,
    shop: string,
    options: TikTokShopAppOptions = {},
  ): iam.Grant {
    const app = this.appOf(shop, options);
    const token = this.grantReadToken(grantee, shop);
    const secrets =
      app === undefined
        ? Object.values(this.appCredentialsSecrets)
        : [this.appCredentialsSecretOf(app)];
    return token.combine(grantSecretsRead(this, grantee, secrets, undefined));
  }

  /**
   * The app of a shop: its binding in `shops`, else `options.app`, else the only app of the
   * deployment. Undefined for a shop onboarded at run time into a deployment of several apps
   * when `options.app` does not name one: its token secret's tag decides at run time.
   */
  public appOf(shop: string, options: TikTokShopAppOptions = {}): string | undefined {
    const bound = this.shopApps.get(shop);
    const wanted = options.app;
    if (bound !== undefined && wanted !== undefined && wanted !== bound) {
      throw new Error(
        `${this.node.path}: shop "${shop}" is bound to app "${bound}" in shops, not "${wanted}"`,
      );
    }
    if (wanted !== undefined) this.appCredentialsSecretOf(wanted);
    const apps = Object.keys(this.appCredentialsSecrets);
    return bound ?? wanted ?? (apps.length === 1 ? apps[0] : undefined);
  }

  /**
   * How a function names the credentials secret of the shop's app (see `appOf`), or undefined
   * when the app is known only at run time (a reader then finds it by the token secret's tag).
   */
  public appCredentialsSecretIdFor(
    shop: string,
    options: TikTokShopAppOptions = {},
  ): string | undefined {
    const app = this.appOf(shop, options);
    return app === undefined ? undefined : this.appCredentialsSecretIds[app];
  }

  private appCredentialsSecretOf(app: string): secretsmanager.ISecret {
    const secret = Object.hasOwn(this.appCredentialsSecrets, app)
      ? this.appCredentialsSecrets[app]
      : undefined;
    if (secret === undefined) {
      const known = Object.keys(this.appCredentialsSecrets).join(', ');
      throw new Error(`${this.node.path}: no app "${app}" (apps: ${known})`);
    }
    return secret;
  }

  /** An app's credentials secret: adopted, or created empty under its predictable name. */
  private createAppCredentials(
    app: string,
    options: TikTokShopAppProps,
    removalPolicy: RemovalPolicy,
  ): {
    app: string;
    secret: secretsmanager.ISecret;
    id: string;
    consentRegion: TikTokShopConsentRegion;
  } {
    const secretName = appCredentialsSecretName(this.secretNamePrefix, app);
    const adopted = options.existingCredentialsSecret;
    const secret =
      adopted ??
      createEmptySecret(
        this,
        app === DEFAULT_APP ? 'AppCredentialsSecret' : `AppCredentialsSecret-${app}`,
        {
          encryptionKey: this.encryptionKey,
          secretName,
          description:
            app === DEFAULT_APP
              ? 'TikTok Shop app credentials, as {"app_key":"...","app_secret":"..."}'
              : `TikTok Shop app credentials of app ${app}, as {"app_key":"...","app_secret":"..."}`,
          removalPolicy,
          reason:
            'The app secret is issued by TikTok Partner Center and can only be renewed there; the owner updates this secret by hand when it does.',
        },
      );
    return {
      app,
      secret,
      // Literal names for created secrets: their secretName attribute is a token parsed from the ARN.
      id: adopted ? adoptedSecretId(adopted) : secretName,
      consentRegion: options.consentRegion ?? 'row',
    };
  }

  /** `<secretNamePrefix>tokens/<shop>`: where the shop's token is, whoever created the secret. */
  public tokenSecretName(shop: string): string {
    return tokenSecretName(this.secretNamePrefix, shop);
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

  /** Shops not due for a refresh (or left alone by a dry run), summed per run interval. */
  public metricTokensSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensSkipped, props);
  }

  /** Shops where another writer stored a newer token first (it was kept), summed per run interval. */
  public metricTokensSuperseded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensSuperseded, props);
  }

  /** Refreshes that failed, summed per run interval. */
  public metricRefreshFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.refreshFailures, props);
  }

  /** Shops whose seller must authorize again, summed per run interval. */
  public metricReauthorizationRequired(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.reauthorizationRequired, props);
  }

  /** Failed refreshes a later run may fix (network, throttling, a token not stored), summed per run interval. */
  public metricTransientFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.transientFailures, props);
  }

  /** Refreshes TikTok answered with something the function could not read, summed per run interval. */
  public metricUnexpectedResponses(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.unexpectedResponses, props);
  }

  /** Token secrets that hold no valid token document, summed per run interval. */
  public metricMalformedSecrets(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.malformedSecrets, props);
  }

  /** Refreshed tokens that could not be stored, summed per run interval. */
  public metricTokensNotStored(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensNotStored, props);
  }

  /** TikTok answers kept as a version that is not current (not a usable token), per run interval. */
  public metricTokensNotCurrent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.tokensNotCurrent, props);
  }

  /** Refreshes answered with another seller's token (kept, not current), per run interval. */
  public metricSellersChanged(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.sellersChanged, props);
  }

  /** New tokens whose refresh token had already expired (made current), per run interval. */
  public metricRefreshTokensExpired(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.refreshTokensExpired, props);
  }

  /** Answers too large for a secret, stored as their token fields, per run interval. */
  public metricAnswersTrimmed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.answersTrimmed, props);
  }

  /** Answers larger than the client reads (nothing of them kept), per run interval. */
  public metricOversizedAnswers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.oversizedAnswers, props);
  }

  /** Refresh events that could not be published to the bus, summed per run interval. */
  public metricEventPublishFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.eventPublishFailures, props);
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
