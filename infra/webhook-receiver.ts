// The TikTokShopWebhookReceiver construct: TikTok Shop's authorization notifications behind a
// function URL, with least-privilege access, alarms and dashboard rows.
import { Duration, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  CALLBACK_ENV,
  DEFAULT_APP,
  ENV,
  METRIC,
  METRICS_NAMESPACE,
  SHOP_STATE_TAG,
  tokenSecretsPrefix,
  WEBHOOK_METRIC,
} from '../lambda/shared/contract.js';
import { createAppFunction } from './lambda-function.js';
import { adoptedSecretId, appCredentialsEnvironment } from './refresher-apps.js';
import type { ITikTokShopTokenRefresher } from './refresher-interface.js';
import {
  arnForPolicies,
  grantKeyThroughSecretsManager,
  nagArn,
  secretArnPattern,
  secretKeys,
  tagPresent,
} from './secret-access.js';
import {
  createWebhookAlarms,
  type TikTokShopWebhookReceiverAlarms,
  webhookDashboardRows,
} from './webhook-alarms.js';

export type { TikTokShopWebhookReceiverAlarms };

/** The tags the receiver writes on a token secret, and no other. */
export const WEBHOOK_TAG_KEYS: readonly string[] = [
  SHOP_STATE_TAG.deauthorized,
  SHOP_STATE_TAG.authorizationExpires,
  SHOP_STATE_TAG.authorizationExpiresNotification,
];

export interface TikTokShopWebhookReceiverProps {
  /**
   * The refresher whose apps' notifications the receiver takes: it reads their credentials,
   * writes the authorization state on their token secrets, publishes to the refresher's bus and
   * counts under the refresher's `service` dimension, so that the refresher's alarms see it.
   */
  readonly refresher: ITikTokShopTokenRefresher;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Most notifications answered at once. TikTok can send a burst (a seller with many shops, a
   * backlog of retries); a delivery beyond it is answered 429 and TikTok delivers it again
   * later. The URL is public: this also bounds what a flood of forged requests can cost.
   * @default 10
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * TikTok Shop's webhook notifications (lambda/webhooks/handler.ts) behind a Lambda function
 * URL, one URL per deployment: `<url>` is the `default` app's, `<url><app>` another app's, each
 * registered in that app's Partner Center. Type 6 (seller deauthorization) marks the shop's token
 * secret and publishes `Shop Deauthorized`; type 7 (authorization expiring) records when the
 * authorization ends and publishes `Authorization Expiring`; both on the refresher's bus.
 * Notifications are verified (signature with the app's secret, time window, replay) before
 * anything changes. Created by the refresher with `webhooks: true`, or beside it.
 */
export class TikTokShopWebhookReceiver extends Construct {
  /** The receiver function. */
  public readonly function: lambda.IFunction;
  /** The function URL: `url` is the `default` app's webhook URL (see `urlOf`). */
  public readonly functionUrl: lambda.FunctionUrl;
  /** The `default` app's webhook URL, to register in its Partner Center. */
  public readonly url: string;
  /** The receiver's alarms, by name, notifying the refresher's alarm topic. */
  public readonly alarms: TikTokShopWebhookReceiverAlarms;

  private readonly refresher: ITikTokShopTokenRefresher;

  constructor(scope: Construct, id: string, props: TikTokShopWebhookReceiverProps) {
    super(scope, id);
    const { refresher } = props;
    this.refresher = refresher;
    // The receiver acts on the refresher's token secrets only: those under its token prefix
    // (created, onboarded, discovered) and the adopted ones, wherever they are named.
    const tokensPrefix = refresher.tokenSecretName('');
    const secretNamePrefix = tokensPrefix.slice(0, -tokenSecretsPrefix('').length);
    const adopted = refresher.tokenSecrets
      .filter((secret) => secret.node.scope !== refresher)
      .map(adoptedSecretId);
    const { fn, role } = createAppFunction(this, {
      bundle: 'webhooks',
      runtime: refresher.runtime,
      roleDescription:
        'TikTok Shop webhook receiver: reads app credentials, tags token secrets, publishes events',
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      logEncryptionKey: refresher.encryptionKey,
      // Outside any VPC: it calls AWS only, never TikTok, so it needs no fixed egress address.
      description: 'Receives TikTok Shop authorization notifications (webhooks)',
      // Start-up is CPU-bound and CPU grows with memory: a cold start must answer within 3 s.
      memorySize: 512,
      // TikTok stops waiting after 3 s and delivers again: no use working past that. The
      // handler ends its AWS calls 2 s into an invocation (ANSWER_BUDGET_MS in
      // lambda/webhooks/handler.ts), so this only stops a function that ignores its deadline.
      timeout: Duration.seconds(3),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 10,
      environment: {
        ...appCredentialsEnvironment(refresher),
        [ENV.eventBusName]: refresher.eventBus.eventBusName,
        [CALLBACK_ENV.tokenSecretPrefix]: secretNamePrefix,
        ...(adopted.length > 0 && { [ENV.tokenSecretIds]: adopted.join(',') }),
        // The refresher's service: its Authorization Expiring alarm counts the receiver's too.
        POWERTOOLS_SERVICE_NAME: refresher.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    this.function = fn;
    // No IAM auth: TikTok cannot sign AWS requests. The HMAC signature under the app's secret
    // authenticates a notification, checked before anything is read or written.
    this.functionUrl = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.url = this.functionUrl.url;
    this.grantAccess(role);

    this.alarms = createWebhookAlarms(this, this, fn, refresher.alarmTopic);
    // One call per row: the widgets of one call are laid out left to right.
    for (const row of webhookDashboardRows(this, fn, this.alarms)) {
      refresher.dashboard?.addWidgets(...row);
    }
  }

  /**
   * The webhook URL of an app of the refresher: `url` for `default`, `<url><app>` for another.
   * Each is registered in its own app's Partner Center.
   */
  public urlOf(app: string): string {
    if (!Object.hasOwn(this.refresher.appCredentialsSecretIds, app)) {
      throw new Error(`${this.node.path}: "${app}" is not an app of the refresher`);
    }
    return app === DEFAULT_APP ? this.url : `${this.url}${app}`;
  }

  /** A metric the receiver emits: the refresher's namespace and `service`, summed over an hour. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.refresher.metric(metricName, { period: Duration.hours(1), ...props });
  }

  /** Notifications of type 6 or 7 recorded and announced. */
  public metricNotificationsAccepted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBHOOK_METRIC.accepted, props);
  }

  /** Notifications naming a TikTok shop id no connected shop of the app is known to cover. */
  public metricNotificationsUnknownShop(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBHOOK_METRIC.unknownShop, props);
  }

  /** Notifications refused because their signature did not verify (401). */
  public metricSignaturesRefused(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBHOOK_METRIC.badSignature, props);
  }

  /** Requests refused as too large, not a notification, or outside the time window (400, 413). */
  public metricNotificationsMalformed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBHOOK_METRIC.malformed, props);
  }

  /** Requests to a path that names no app of the refresher (404). */
  public metricNotificationsUnknownApp(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBHOOK_METRIC.unknownApp, props);
  }

  /** Notifications that could not be recorded (500): TikTok delivers them again. */
  public metricNotificationsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(WEBHOOK_METRIC.failed, props);
  }

  /** Shops marked deauthorized (one notification may cover several shops). */
  public metricShopsDeauthorized(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.shopsDeauthorized, props);
  }

  /** Shops whose authorization ends soon, from notifications and the refresher's runs alike. */
  public metricAuthorizationExpiring(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.authorizationExpiring, props);
  }

  private grantAccess(role: iam.Role): void {
    const { refresher } = this;
    const appCredentialsSecrets = Object.values(refresher.appCredentialsSecrets);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: appCredentialsSecrets.map(arnForPolicies),
      }),
    );
    // Finding the shops a notification's TikTok shop id names, by tag: ListSecrets has no
    // resource-level permission.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
    );
    // On token secrets only: when the current token was stored (a notification older than a
    // reconnect is stale), and the webhook tags, no other tag key and no value.
    const onlyWebhookTags = {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [...WEBHOOK_TAG_KEYS] },
    };
    const tokenSecrets = refresher.tokenSecrets.map(arnForPolicies);
    if (tokenSecrets.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:ListSecretVersionIds'],
          resources: tokenSecrets,
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:TagResource'],
          resources: tokenSecrets,
          conditions: onlyWebhookTags,
        }),
      );
    }
    const discovered = refresher.discoversTokenSecretsByTag
      ? secretArnPattern(this, refresher.tokenSecretName('*'))
      : undefined;
    if (discovered !== undefined) {
      const tagged = tagPresent(refresher.tokenSecretTagKey);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:ListSecretVersionIds'],
          resources: [discovered],
          conditions: tagged,
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:TagResource'],
          resources: [discovered],
          conditions: { ...tagged, ...onlyWebhookTags },
        }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [refresher.eventBus.eventBusArn],
      }),
    );
    for (const key of secretKeys(appCredentialsSecrets)) {
      grantKeyThroughSecretsManager(this, role, key, ['kms:Decrypt']);
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ListSecrets supports no resource-level permission, so IAM requires resource "*"; the receiver lists secret metadata (names and tags, no value) to find the shops a notification names.',
    });
    if (discovered !== undefined) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(discovered)}]`,
        reason:
          'Tag discovery is on: token secrets of shops onboarded at run time are not known at deploy time, so access is granted under the token name prefix, only on secrets carrying the discovery tag key, and tagging allows the webhook tag keys only.',
      });
    }
  }
}
