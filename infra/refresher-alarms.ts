import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { TikTokShopTokenRefresher } from './token-refresher.js';

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
}

/** The refresher's alarms, created in its scope; the caller points them at the alarm topic. */
export function createRefresherAlarms(
  refresher: TikTokShopTokenRefresher,
  fn: lambda.IFunction,
  expiryAlarmThreshold: Duration,
): TikTokShopTokenRefresherAlarms {
  const atLeastOne = (
    id: string,
    metric: cloudwatch.IMetric,
    alarmDescription: string,
    treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
  ): cloudwatch.Alarm =>
    new cloudwatch.Alarm(refresher, id, {
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
      fn.metricErrors({ period: refresher.refreshInterval, statistic: cloudwatch.Stats.SUM }),
      'The token refresher ended a run with an error. Read its log for the run; a configuration error repeats every run.',
    ),
    refreshFailures: atLeastOne(
      'RefreshFailuresAlarm',
      refresher.metricRefreshFailures(),
      'A TikTok Shop token refresh failed. The log names the shop and the reason; the next run tries again.',
    ),
    reauthorizationRequired: atLeastOne(
      'ReauthorizationRequiredAlarm',
      refresher.metricReauthorizationRequired(),
      'TikTok rejected a refresh token: the seller must authorize the app again, then the new token is put into the shop secret.',
    ),
    authorizationExpiring: atLeastOne(
      'AuthorizationExpiringAlarm',
      refresher.metricAuthorizationExpiring(),
      "A seller's authorization ends soon: ask the seller to authorize the app again before it does.",
    ),
    answerKept: atLeastOne(
      'AnswerKeptAlarm',
      new cloudwatch.MathExpression({
        expression: 'notCurrent + sellerChanged',
        usingMetrics: {
          notCurrent: refresher.metricTokensNotCurrent(),
          sellerChanged: refresher.metricSellersChanged(),
        },
        label: 'answers kept, not current',
        period: refresher.refreshInterval,
      }),
      "TikTok's answer was kept as a version that is not current (label TIKTOK_ANSWER_KEPT): it was no usable token, or it named another seller. The log names the shop, the version and why; make the version current by hand or remove its label (README: An answer kept but not current).",
    ),
    tokenExpiry: new cloudwatch.Alarm(refresher, 'TokenExpiryAlarm', {
      metric: refresher.metricMinAccessTokenLifetime(),
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
      queueDepth(refresher.scheduleDeadLetterQueue),
      'The schedule could not deliver a run to the token refresher. Read the message for the error, then delete it.',
      cloudwatch.TreatMissingData.IGNORE,
    ),
    failedInvocations: atLeastOne(
      'FailedInvocationsAlarm',
      queueDepth(refresher.failureQueue),
      'A token refresher run failed after its retries. Read the record and the log of the run, then delete the record.',
      cloudwatch.TreatMissingData.IGNORE,
    ),
  };
}
