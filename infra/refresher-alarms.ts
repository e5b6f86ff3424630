// The refresher's alarms: what each watches and when it fires, each notifying the alarm topic.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { RefresherMetricFactory } from './refresher-metrics.js';

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
  /**
   * TikTok's answer was kept as a version that is not current (label TIKTOK_ANSWER_KEPT): it did
   * not parse as a usable token, or it named another seller. The shop is not refreshed until a
   * person decides.
   */
  readonly answerKept: cloudwatch.Alarm;
  /** The shortest access-token lifetime fell below the threshold, or the function stopped reporting. */
  readonly tokenExpiry: cloudwatch.Alarm;
  /** The schedule could not deliver a run to the function. */
  readonly scheduleDeadLetters: cloudwatch.Alarm;
  /** A run failed after Lambda's retries, or its event grew too old before it ran. */
  readonly failedInvocations: cloudwatch.Alarm;
  /**
   * With `invocationsPerRun` above 1: a run's state machine failed or timed out (shops still left
   * after its invocations, or an invocation failed).
   */
  readonly runsIncomplete?: cloudwatch.Alarm;
}

/** What the alarms watch: the function's metrics, the function and the dead-letter queues. */
export interface RefresherAlarmSources {
  readonly metrics: RefresherMetricFactory;
  readonly fn: lambda.IFunction;
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  readonly failureQueue: sqs.IQueue;
  readonly expiryAlarmThreshold: Duration;
  /** The run state machine, with `invocationsPerRun` above 1. */
  readonly runStateMachine: sfn.IStateMachine | undefined;
  /** The topic every alarm notifies. */
  readonly topic: sns.ITopic;
}

/** The refresher's alarms, created in its scope, each notifying the topic. */
export function createRefresherAlarms(
  scope: Construct,
  sources: RefresherAlarmSources,
): TikTokShopTokenRefresherAlarms {
  const { metrics, fn, expiryAlarmThreshold } = sources;
  const atLeastOne = (
    id: string,
    metric: cloudwatch.IMetric,
    alarmDescription: string,
    treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
  ): cloudwatch.Alarm =>
    new cloudwatch.Alarm(scope, id, {
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

  const alarms: TikTokShopTokenRefresherAlarms = {
    functionErrors: atLeastOne(
      'FunctionErrorsAlarm',
      fn.metricErrors({ period: metrics.period, statistic: cloudwatch.Stats.SUM }),
      'The token refresher ended a run with an error. Read its log for the run; a configuration error repeats every run.',
    ),
    refreshFailures: atLeastOne(
      'RefreshFailuresAlarm',
      metrics.metricRefreshFailures(),
      'A TikTok Shop token refresh failed. The log names the shop and the reason; the next run tries again.',
    ),
    reauthorizationRequired: atLeastOne(
      'ReauthorizationRequiredAlarm',
      metrics.metricReauthorizationRequired(),
      'TikTok rejected a refresh token: the seller must authorize the app again, then the new token is put into the shop secret.',
    ),
    authorizationExpiring: atLeastOne(
      'AuthorizationExpiringAlarm',
      metrics.metricAuthorizationExpiring(),
      "A seller's authorization ends soon: ask the seller to authorize the app again before it does.",
    ),
    answerKept: atLeastOne(
      'AnswerKeptAlarm',
      new cloudwatch.MathExpression({
        expression: 'notCurrent + sellerChanged',
        usingMetrics: {
          notCurrent: metrics.metricTokensNotCurrent(),
          sellerChanged: metrics.metricSellersChanged(),
        },
        label: 'answers kept, not current',
        period: metrics.period,
      }),
      "TikTok's answer was kept as a version that is not current (label TIKTOK_ANSWER_KEPT): it was no usable token, or it named another seller. The log names the shop, the version and why; make the version current by hand or remove its label (README: An answer kept but not current).",
    ),
    tokenExpiry: new cloudwatch.Alarm(scope, 'TokenExpiryAlarm', {
      metric: metrics.metricMinAccessTokenLifetime(),
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
      queueDepth(sources.scheduleDeadLetterQueue),
      'The schedule could not deliver a run to the token refresher. Read the message for the error, then delete it.',
      cloudwatch.TreatMissingData.IGNORE,
    ),
    failedInvocations: atLeastOne(
      'FailedInvocationsAlarm',
      queueDepth(sources.failureQueue),
      'A token refresher run failed after its retries. Read the record and the log of the run, then delete the record.',
      cloudwatch.TreatMissingData.IGNORE,
    ),
    ...(sources.runStateMachine === undefined
      ? {}
      : {
          runsIncomplete: atLeastOne(
            'RunsIncompleteAlarm',
            new cloudwatch.MathExpression({
              expression: 'failed + timedOut',
              usingMetrics: {
                failed: sources.runStateMachine.metricFailed({ period: metrics.period }),
                timedOut: sources.runStateMachine.metricTimedOut({ period: metrics.period }),
              },
              label: 'runs failed or timed out',
              period: metrics.period,
            }),
            "A refresh run's state machine failed: shops were still due after its invocations (ShopsLeft: raise invocationsPerRun or timeout), or an invocation failed (the function's log says why). The next scheduled run goes on, most urgent first.",
          ),
        }),
  };
  const action = new cloudwatchActions.SnsAction(sources.topic);
  for (const alarm of Object.values(alarms)) alarm.addAlarmAction(action);
  // Only this alarm describes a lasting state whose end is news: tokens are fresh again.
  alarms.tokenExpiry.addOkAction(action);
  return alarms;
}
