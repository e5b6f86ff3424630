// The webhook receiver's alarms (each notifying the refresher's topic) and its rows on the
// refresher's dashboard.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { WEBHOOK_METRIC } from '../lambda/shared/contract.js';

/** The alarms of a webhook receiver, all notifying the refresher's alarm topic. */
export interface TikTokShopWebhookReceiverAlarms {
  /**
   * A notification was refused for its signature within the hour: a forger, or (when every one
   * is) the wrong app secret in the app's credentials secret, or a URL registered for another app.
   */
  readonly signaturesRefused: cloudwatch.Alarm;
  /** A notification could not be recorded (answered 500, or the function failed): TikTok retries. */
  readonly notificationsFailed: cloudwatch.Alarm;
  /** TikTok said a seller revoked the app: the shop is marked deauthorized until reconnected. */
  readonly shopsDeauthorized: cloudwatch.Alarm;
}

/** The receiver's metrics the alarms and the dashboard read (the receiver's own methods). */
export interface WebhookMetricSource {
  metricNotificationsAccepted(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricNotificationsUnknownShop(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricSignaturesRefused(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricNotificationsMalformed(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricNotificationsUnknownApp(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricNotificationsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricShopsDeauthorized(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  metricAuthorizationExpiring(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** Alarms count over an hour: one refused signature in it is enough to alarm. */
export const WEBHOOK_ALARM_PERIOD = Duration.hours(1);

export function createWebhookAlarms(
  scope: Construct,
  metrics: WebhookMetricSource,
  fn: lambda.IFunction,
  topic: sns.ITopic,
): TikTokShopWebhookReceiverAlarms {
  const atLeastOne = (id: string, metric: cloudwatch.IMetric, alarmDescription: string) =>
    new cloudwatch.Alarm(scope, id, {
      metric,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // No notification, nothing wrong: TikTok sends these rarely.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription,
    });
  const period = WEBHOOK_ALARM_PERIOD;
  const alarms: TikTokShopWebhookReceiverAlarms = {
    signaturesRefused: atLeastOne(
      'SignaturesRefusedAlarm',
      metrics.metricSignaturesRefused({ period }),
      "A TikTok Shop notification was refused for its signature. If every one is, the app's credentials secret holds another app's key or secret, or the URL registered in Partner Center names another app (docs/webhooks.md); a lone one is a forger.",
    ),
    notificationsFailed: atLeastOne(
      'NotificationsFailedAlarm',
      new cloudwatch.MathExpression({
        expression: 'failed + errors',
        usingMetrics: {
          failed: metrics.metricNotificationsFailed({ period }),
          errors: fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
        },
        label: 'notifications not recorded',
        period,
      }),
      "A TikTok Shop notification could not be recorded (answered 500, or the receiver failed): TikTok delivers it again after 2 min, 30 min, 3 h and 12 h, then gives up. Read the receiver's log.",
    ),
    shopsDeauthorized: atLeastOne(
      'ShopsDeauthorizedAlarm',
      metrics.metricShopsDeauthorized({ period }),
      'TikTok says a seller revoked the app: the shop is marked deauthorized and left alone. The seller must authorize the app again (a consent link, or npm run authorize); the Shop Deauthorized event names the shop.',
    ),
  };
  const action = new cloudwatchActions.SnsAction(topic);
  for (const alarm of Object.values(alarms)) alarm.addAlarmAction(action);
  return alarms;
}

/** The receiver's rows for the refresher's dashboard: its alarms, notifications, answer time. */
export function webhookDashboardRows(
  metrics: WebhookMetricSource,
  fn: lambda.IFunction,
  alarms: TikTokShopWebhookReceiverAlarms,
): cloudwatch.IWidget[][] {
  const period = Duration.minutes(5);
  const graph = (props: cloudwatch.GraphWidgetProps) =>
    new cloudwatch.GraphWidget({ width: 12, height: 6, ...props });
  const count = { label: 'notifications', min: 0, showUnits: false };
  const status = new cloudwatch.AlarmStatusWidget({
    title: 'Webhook alarms',
    alarms: Object.values(alarms),
    width: 24,
    height: 3,
  });
  const received = graph({
    title: 'Webhook notifications answered 200, per 5 minutes',
    stacked: true,
    left: [
      metrics.metricNotificationsAccepted({
        period,
        label: 'recorded',
        color: cloudwatch.Color.GREEN,
      }),
      metrics.metric(WEBHOOK_METRIC.duplicate, {
        period,
        label: 'already recorded',
        color: cloudwatch.Color.GREY,
      }),
      metrics.metric(WEBHOOK_METRIC.stale, {
        period,
        label: 'older than the shop’s token',
        color: cloudwatch.Color.BROWN,
      }),
      metrics.metric(WEBHOOK_METRIC.notOurs, {
        period,
        label: 'another type',
        color: cloudwatch.Color.BLUE,
      }),
      metrics.metricNotificationsUnknownShop({
        period,
        label: 'unknown shop id',
        color: cloudwatch.Color.ORANGE,
      }),
    ],
    leftYAxis: count,
  });
  const refused = graph({
    title: 'Webhook notifications refused or failed, per 5 minutes',
    left: [
      metrics.metricSignaturesRefused({
        period,
        label: 'bad signature (401)',
        color: cloudwatch.Color.RED,
      }),
      metrics.metricNotificationsMalformed({
        period,
        label: 'malformed or stale (400, 413)',
        color: cloudwatch.Color.PURPLE,
      }),
      metrics.metricNotificationsUnknownApp({
        period,
        label: 'unknown app (404)',
        color: cloudwatch.Color.BROWN,
      }),
      metrics.metricNotificationsFailed({
        period,
        label: 'not recorded (500)',
        color: cloudwatch.Color.PINK,
      }),
      fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM, label: 'throttled (429)' }),
    ],
    leftYAxis: count,
  });
  const shops = graph({
    title: 'Shops deauthorized (notified) and authorizations expiring, per hour',
    left: [
      metrics.metricShopsDeauthorized({ period: WEBHOOK_ALARM_PERIOD, label: 'deauthorized' }),
      metrics.metricAuthorizationExpiring({
        period: WEBHOOK_ALARM_PERIOD,
        label: 'authorization expiring (webhooks and runs)',
      }),
    ],
    leftYAxis: { label: 'shops', min: 0, showUnits: false },
  });
  const answerTime = graph({
    title: "Longest answer per 5 minutes against TikTok's 3 s (seconds)",
    left: [
      new cloudwatch.MathExpression({
        expression: 'duration / 1000',
        usingMetrics: {
          duration: fn.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period }),
        },
        label: 'longest answer',
        period,
      }),
    ],
    leftAnnotations: [{ value: 3, label: 'TikTok stops waiting', color: cloudwatch.Color.RED }],
    leftYAxis: { label: 'seconds', min: 0, showUnits: false },
  });
  return [[status], [received, refused], [shops, answerTime]];
}
