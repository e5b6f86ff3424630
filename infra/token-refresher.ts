// The TikTokShopTokenRefresher construct: wires the refresher function, its secrets, schedule,
// queues, grants, alarms and dashboard from the resolved props.
import { type Duration, Names, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_APP_TAG_KEY, DEFAULTS, tokenSecretName } from '../lambda/shared/contract.js';
import { alarmTopicOf } from './alarm-topic.js';
import { resolveVpcPlacement, type VpcPlacement } from './network.js';
import { createRefresherAlarms, type TikTokShopTokenRefresherAlarms } from './refresher-alarms.js';
import { AppDirectory, adoptedSecretId, createAppCredentials } from './refresher-apps.js';
import { createRefresherDashboard } from './refresher-dashboard.js';
import { createRefresherFunction, createRefresherSchedule } from './refresher-function.js';
import type { ITikTokShopTokenRefresher } from './refresher-interface.js';
import { RefresherMetricFactory } from './refresher-metrics.js';
import {
  allowCloudWatchLogsToUseKey,
  type DiscoveryScope,
  discoveredSecretsAcknowledgment,
  grantRefresherAccess,
  grantSecretsRead,
} from './refresher-permissions.js';
import { isShopName, MINIMUM_REFRESHER_TIMEOUT, resolveRefresherProps } from './refresher-props.js';
import { createRefresherQueues, createTokenSecrets } from './refresher-resources.js';
import { secretArnPattern } from './secret-access.js';
import type {
  TikTokShopAppOptions,
  TikTokShopConsentRegion,
  TikTokShopTokenRefresherProps,
} from './token-refresher-props.js';
import { createTokenTable, grantTableRead } from './token-table.js';
import { TikTokShopWebhookReceiver } from './webhook-receiver.js';

export { SCHEDULED_EVENT } from './run-events.js';

/**
 * Keeps TikTok Shop OAuth tokens in Secrets Manager fresh: a scheduled single-writer function,
 * its secrets, least-privilege permissions, dead-letter queues, metrics, alarms and a dashboard;
 * optionally in a VPC, for a fixed egress IP.
 */
export class TikTokShopTokenRefresher extends Construct implements ITikTokShopTokenRefresher {
  /** The shortest `timeout` the props accept (MINIMUM_REFRESHER_TIMEOUT in TypeScript). */
  public static readonly MINIMUM_TIMEOUT: Duration = MINIMUM_REFRESHER_TIMEOUT;

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
  /** The table holding every shop's token, with `tokenStore: TokenStoreKind.DYNAMODB`. */
  public readonly tokenTable: dynamodb.ITable | undefined;
  /** Created and adopted token secrets (discovered secrets are not known at synth time). */
  public readonly tokenSecrets: secretsmanager.ISecret[];
  /** How the function names the `default` app's credentials secret (APP_CREDENTIALS_SECRET_ID). */
  public readonly appCredentialsSecretId: string;
  /** How the function names the token secrets (TOKEN_SECRET_IDS): names of created secrets, ARNs of adopted ones. */
  public readonly tokenSecretIds: string[];
  /** Topic the alarms notify. */
  public readonly alarmTopic: sns.ITopic;
  /**
   * With `invocationsPerRun` above 1, the state machine each scheduled run starts: it invokes the
   * function again while due shops were left for lack of time.
   */
  public readonly runStateMachine: sfn.IStateMachine | undefined;
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
  /** Runtime of the refresher function and of the functions built on this refresher. */
  public readonly runtime: lambda.Runtime;
  /** The dashboard of the runs, unless turned off with `createDashboard: false`. */
  public readonly dashboard: cloudwatch.Dashboard | undefined;
  /** The webhook receiver, with `webhooks: true`; its `urlOf(app)` is each app's webhook URL. */
  public readonly webhookReceiver: TikTokShopWebhookReceiver | undefined;

  private readonly createdTokenSecrets: ReadonlyMap<string, secretsmanager.ISecret>;
  private readonly apps: AppDirectory;
  private readonly discoveryScope: DiscoveryScope | undefined;
  private readonly metrics: RefresherMetricFactory;

  constructor(scope: Construct, id: string, props: TikTokShopTokenRefresherProps = {}) {
    super(scope, id);
    const resolved = resolveRefresherProps(this.node.path, props);
    const { shops, tokenSecretTagKey: tagKey, discoverTokenSecretsByTag: discover } = resolved;
    const { refreshBeforeExpiry, expiryAlarmThreshold, timeout } = resolved;
    this.secretNamePrefix = resolved.secretNamePrefix;
    this.tokenSecretTagKey = tagKey;
    this.discoversTokenSecretsByTag = discover;
    this.refreshInterval = resolved.refreshInterval;
    this.encryptionKey = resolved.encryptionKey;
    this.runtime = resolved.runtime;
    this.serviceName = Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    this.metrics = new RefresherMetricFactory(this.serviceName, this.refreshInterval);

    const secretOptions = {
      secretNamePrefix: this.secretNamePrefix,
      encryptionKey: this.encryptionKey,
      removalPolicy: resolved.secretRemovalPolicy,
    };
    const defaultApp = createAppCredentials(this, resolved.defaultApp, secretOptions);
    const otherApps = resolved.otherApps.map((app) =>
      createAppCredentials(this, app, secretOptions),
    );
    const credentials = [defaultApp, ...otherApps];
    this.apps = new AppDirectory(this.node.path, credentials, shops);
    this.appCredentialsSecrets = this.apps.secrets;
    this.appCredentialsSecretIds = Object.fromEntries(credentials.map((c) => [c.app, c.id]));
    this.appConsentRegions = Object.fromEntries(credentials.map((c) => [c.app, c.consentRegion]));
    this.appCredentialsSecret = defaultApp.secret;
    this.appCredentialsSecretId = defaultApp.id;

    this.tokenTable = createTokenTable(this, resolved.tokenStore, this.encryptionKey);
    this.createdTokenSecrets = createTokenSecrets(this, this.tokenTable ? [] : shops, {
      secretName: (shop) => this.tokenSecretName(shop),
      tagKey,
      ...secretOptions,
    });
    const existingTokenSecrets = resolved.existingTokenSecrets;
    this.tokenSecrets = [...this.createdTokenSecrets.values(), ...existingTokenSecrets];
    this.tokenSecretIds = [
      ...[...this.createdTokenSecrets.keys()].map((name) => this.tokenSecretName(name)),
      ...existingTokenSecrets.map(adoptedSecretId),
    ];
    this.discoveryScope = discover
      ? { tagKey, arn: secretArnPattern(this, this.tokenSecretName('*')) }
      : undefined;
    this.eventBus =
      props.eventBus ??
      events.EventBus.fromEventBusName(this, 'DefaultEventBus', DEFAULTS.eventBusName);

    this.vpcPlacement = resolveVpcPlacement(this, props);
    const queues = createRefresherQueues(this, this.encryptionKey);
    this.scheduleDeadLetterQueue = queues.scheduleDeadLetterQueue;
    this.failureQueue = queues.failureQueue;

    const { fn, role } = createRefresherFunction(this, {
      resolved,
      serviceName: this.serviceName,
      defaultApp,
      otherApps,
      tokenSecretIds: this.tokenSecretIds,
      tokenSecretName: (shop) => this.tokenSecretName(shop),
      eventBus: this.eventBus,
      placement: this.vpcPlacement,
      failureQueue: this.failureQueue,
      tokenTable: this.tokenTable,
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
    this.runStateMachine = createRefresherSchedule(this, fn, {
      resolved,
      runStateMachineName: `${this.serviceName.slice(0, 75)}-runs`,
      deadLetterQueue: this.scheduleDeadLetterQueue,
    });

    this.alarmTopic = alarmTopicOf(this, props, this.encryptionKey);
    const watched = { metrics: this.metrics, fn, ...queues, expiryAlarmThreshold };
    const alarmed = { ...watched, runStateMachine: this.runStateMachine, topic: this.alarmTopic };
    this.alarms = createRefresherAlarms(this, alarmed);

    this.dashboard = resolved.createDashboard
      ? createRefresherDashboard(this, {
          ...watched,
          alarms: this.alarms,
          timeout,
          refreshBeforeExpiry,
        })
      : undefined;
    this.webhookReceiver = props.webhooks
      ? new TikTokShopWebhookReceiver(this, 'WebhookReceiver', { refresher: this })
      : undefined;
  }

  /**
   * Lets another function (or role) read the token secrets: GetSecretValue and DescribeSecret on
   * the created and adopted token secrets (and on discoverable ones when discovery is on), plus
   * kms:Decrypt through Secrets Manager when they are encrypted with a customer-managed key.
   */
  public grantReadTokens(grantee: iam.IGrantable): iam.Grant {
    if (this.tokenTable !== undefined) return grantTableRead(this.tokenTable, grantee, undefined);
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
    // The name becomes part of an ARN pattern or an IAM condition: no wildcard may slip in.
    if (!isShopName(shop)) throw new Error(`${this.node.path}: invalid shop name "${shop}"`);
    if (this.tokenTable !== undefined) return grantTableRead(this.tokenTable, grantee, [shop]);
    const created = this.createdTokenSecrets.get(shop);
    if (created !== undefined) return grantSecretsRead(this, grantee, [created], undefined);
    if (this.discoveryScope === undefined) {
      throw new Error(
        `${this.node.path}: no token secret for shop "${shop}": it is not in shops, and discovery by tag is off`,
      );
    }
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
      app === undefined ? Object.values(this.appCredentialsSecrets) : [this.apps.secretOf(app)];
    return token.combine(grantSecretsRead(this, grantee, secrets, undefined));
  }

  /**
   * The app of a shop: its binding in `shops`, else `options.app`, else the only app of the
   * deployment. Undefined for a shop onboarded at run time into a deployment of several apps
   * when `options.app` does not name one: its token secret's tag decides at run time.
   */
  public appOf(shop: string, options: TikTokShopAppOptions = {}): string | undefined {
    return this.apps.appOf(shop, options.app);
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

  /** `<secretNamePrefix>tokens/<shop>`: where the shop's token is, whoever created the secret. */
  public tokenSecretName(shop: string): string {
    return tokenSecretName(this.secretNamePrefix, shop);
  }

  /** A metric the function emits, with the namespace, `service` dimension and run period set. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metrics.metric(metricName, props);
  }

  /** Tokens refreshed, summed per run interval. */
  public metricTokensRefreshed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricTokensRefreshed(props);
  }

  /** Shops not due for a refresh (or left alone by a dry run), summed per run interval. */
  public metricTokensSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricTokensSkipped(props);
  }

  /** Shops where another writer stored a newer token first (it was kept), summed per run interval. */
  public metricTokensSuperseded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricTokensSuperseded(props);
  }

  /** Refreshes that failed, summed per run interval. */
  public metricRefreshFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricRefreshFailures(props);
  }

  /** Shops whose seller must authorize again, summed per run interval. */
  public metricReauthorizationRequired(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricReauthorizationRequired(props);
  }

  /** Failed refreshes a later run may fix (network, throttling, a token not stored), summed per run interval. */
  public metricTransientFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricTransientFailures(props);
  }

  /** Refreshes TikTok answered with something the function could not read, summed per run interval. */
  public metricUnexpectedResponses(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricUnexpectedResponses(props);
  }

  /** Token secrets that hold no valid token document, summed per run interval. */
  public metricMalformedSecrets(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricMalformedSecrets(props);
  }

  /** Refreshed tokens that could not be stored, summed per run interval. */
  public metricTokensNotStored(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricTokensNotStored(props);
  }

  /** TikTok answers kept as a version that is not current (not a usable token), per run interval. */
  public metricTokensNotCurrent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricTokensNotCurrent(props);
  }

  /** Refreshes answered with another seller's token (kept, not current), per run interval. */
  public metricSellersChanged(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricSellersChanged(props);
  }

  /** New tokens whose refresh token had already expired (made current), per run interval. */
  public metricRefreshTokensExpired(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricRefreshTokensExpired(props);
  }

  /** Answers too large for a secret, stored as their token fields, per run interval. */
  public metricAnswersTrimmed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricAnswersTrimmed(props);
  }

  /** Answers larger than the client reads (nothing of them kept), per run interval. */
  public metricOversizedAnswers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricOversizedAnswers(props);
  }

  /** Refresh events that could not be published to the bus, summed per run interval. */
  public metricEventPublishFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricEventPublishFailures(props);
  }

  /** Shops whose seller authorization ends soon, summed per run interval. */
  public metricAuthorizationExpiring(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricAuthorizationExpiring(props);
  }

  /** Smallest remaining access-token lifetime across shops in seconds, minimum per run interval. */
  public metricMinAccessTokenLifetime(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.metricMinAccessTokenLifetime(props);
  }
}
