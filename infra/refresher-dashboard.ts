// The refresher's CloudWatch dashboard: which widgets, in which order, drawn against which limits.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { TikTokShopTokenRefresherAlarms } from './refresher-alarms.js';
import type { RefresherMetricFactory } from './refresher-metrics.js';

/** What the dashboard draws, and the limits it draws its lines against. */
export interface RefresherDashboardOptions {
  readonly metrics: RefresherMetricFactory;
  readonly alarms: TikTokShopTokenRefresherAlarms;
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  readonly failureQueue: sqs.IQueue;
  /** The refresher function: its duration is drawn against its timeout. */
  readonly fn: lambda.IFunction;
  readonly timeout: Duration;
  readonly refreshBeforeExpiry: Duration;
  readonly expiryAlarmThreshold: Duration;
}

const HALF = 12;
const HEIGHT = 6;

/**
 * The refresher's dashboard, created in its scope: the alarms' states, then per run what each shop
 * came to, failures by type, the smallest access-token lifetime against the expiry alarm, the run's
 * duration against the timeout, unpublished events and the dead-letter queues.
 */
export function createRefresherDashboard(
  scope: Construct,
  options: RefresherDashboardOptions,
): cloudwatch.Dashboard {
  const { metrics, fn, timeout, refreshBeforeExpiry, expiryAlarmThreshold } = options;
  const interval = metrics.period;
  const perRun = `per run (every ${interval.toHumanString()})`;
  const graph = (props: cloudwatch.GraphWidgetProps): cloudwatch.GraphWidget =>
    new cloudwatch.GraphWidget({ width: HALF, height: HEIGHT, ...props });
  const count = { label: 'shops', min: 0, showUnits: false };

  const alarms = new cloudwatch.AlarmStatusWidget({
    title: 'Alarms',
    alarms: Object.values(options.alarms),
    width: 2 * HALF,
    height: 3,
  });
  const outcomes = graph({
    title: `Shops ${perRun}: refreshed, skipped, superseded, failed`,
    stacked: true,
    left: [
      metrics.metricTokensRefreshed({ label: 'refreshed', color: cloudwatch.Color.GREEN }),
      metrics.metricTokensSkipped({ label: 'skipped (not due)', color: cloudwatch.Color.GREY }),
      metrics.metricTokensSuperseded({ label: 'superseded', color: cloudwatch.Color.ORANGE }),
      metrics.metricRefreshFailures({ label: 'failed', color: cloudwatch.Color.RED }),
    ],
    leftYAxis: count,
  });
  const failures = graph({
    title: `Failures by type ${perRun}`,
    left: [
      metrics.metricReauthorizationRequired({
        label: 'reauthorization required',
        color: cloudwatch.Color.RED,
      }),
      metrics.metricTransientFailures({
        label: 'transient (Lambda retries, the next run tries again)',
        color: cloudwatch.Color.ORANGE,
      }),
      metrics.metricTokensNotCurrent({
        label: 'answer kept, not current',
        color: cloudwatch.Color.BLUE,
      }),
      metrics.metricSellersChanged({
        label: 'seller changed (kept, not current)',
        color: cloudwatch.Color.GREEN,
      }),
      metrics.metricOversizedAnswers({
        label: 'answer too large to read',
        color: cloudwatch.Color.GREY,
      }),
      metrics.metricUnexpectedResponses({
        label: 'unexpected TikTok response',
        color: cloudwatch.Color.PURPLE,
      }),
      metrics.metricMalformedSecrets({
        label: 'malformed secret',
        color: cloudwatch.Color.BROWN,
      }),
      metrics.metricTokensNotStored({
        label: 'token not stored',
        color: cloudwatch.Color.PINK,
      }),
    ],
    leftYAxis: count,
  });
  const lifetime = graph({
    title: 'Smallest access-token lifetime after a run (hours)',
    left: [
      new cloudwatch.MathExpression({
        expression: 'lifetime / 3600',
        usingMetrics: { lifetime: metrics.metricMinAccessTokenLifetime() },
        label: 'smallest lifetime',
        color: cloudwatch.Color.BLUE,
        period: interval,
      }),
    ],
    leftAnnotations: [
      {
        value: expiryAlarmThreshold.toSeconds() / 3600,
        label: `expiry alarm: below ${expiryAlarmThreshold.toHumanString()}`,
        color: cloudwatch.Color.RED,
        fill: cloudwatch.Shading.BELOW,
      },
      {
        value: refreshBeforeExpiry.toSeconds() / 3600,
        label: `refreshed when below ${refreshBeforeExpiry.toHumanString()}`,
        color: cloudwatch.Color.GREY,
      },
    ],
    leftYAxis: { label: 'hours', min: 0, showUnits: false },
  });
  const duration = graph({
    title: `Run duration, longest per ${interval.toHumanString()}, against the timeout (seconds)`,
    left: [
      new cloudwatch.MathExpression({
        expression: 'duration / 1000',
        usingMetrics: {
          duration: fn.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, period: interval }),
        },
        label: 'longest run',
        color: cloudwatch.Color.BLUE,
        period: interval,
      }),
    ],
    leftAnnotations: [
      {
        value: timeout.toSeconds(),
        label: `timeout: ${timeout.toHumanString()}`,
        color: cloudwatch.Color.RED,
      },
    ],
    leftYAxis: { label: 'seconds', min: 0, showUnits: false },
  });
  const unpublished = graph({
    title: `Events not published ${perRun}`,
    left: [
      metrics.metricEventPublishFailures({
        label: 'events not published',
        color: cloudwatch.Color.RED,
      }),
    ],
    leftYAxis: { label: 'events', min: 0, showUnits: false },
  });
  const queues = graph({
    title: 'Dead-letter queues (most messages waiting)',
    left: [
      queueDepth(options.scheduleDeadLetterQueue, interval, {
        label: 'runs the schedule could not deliver',
        color: cloudwatch.Color.ORANGE,
      }),
      queueDepth(options.failureQueue, interval, {
        label: 'runs failed after retries',
        color: cloudwatch.Color.RED,
      }),
    ],
    leftYAxis: { label: 'messages', min: 0, showUnits: false },
  });

  return new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: defaultRange(interval),
    // Each graph keeps its period: a point is one run, whatever time range is shown.
    periodOverride: cloudwatch.PeriodOverride.INHERIT,
    widgets: [[alarms], [outcomes, failures], [lifetime, duration], [unpublished, queues]],
  });
}

/** The most messages a queue held per run interval, or per 5 minutes (as often as SQS reports). */
function queueDepth(
  queue: sqs.IQueue,
  interval: Duration,
  props: { label: string; color: string },
): cloudwatch.IMetric {
  const fiveMinutes = Duration.minutes(5);
  return queue.metricApproximateNumberOfMessagesVisible({
    statistic: cloudwatch.Stats.MAXIMUM,
    period: interval.toSeconds() < fiveMinutes.toSeconds() ? fiveMinutes : interval,
    ...props,
  });
}

/**
 * 168 runs (a week at the default interval), kept between a day and eight weeks: a line holds at
 * most 1,440 points (a day of runs a minute), and a daily run still shows a trend.
 */
function defaultRange(interval: Duration): Duration {
  const seconds = interval.toSeconds() * 168;
  return Duration.seconds(
    Math.min(Math.max(seconds, Duration.days(1).toSeconds()), Duration.days(56).toSeconds()),
  );
}
