import { describe, expect, it } from 'vitest';
import {
  type AlarmDefinition,
  alarmDefinitions,
  type Datapoint,
  emfDatapoints,
  evaluateAlarms,
  formatExpiry,
  maskToken,
  refTo,
} from '../local/demo.js';

const SERVICE = 'TikTokShopTokenRefresher-CD6978A2';

/** The alarms as the synthesized template holds them (trimmed to what is read). */
const TEMPLATE = {
  Resources: {
    RefresherReauthorizationRequiredAlarm21653250: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: 'The seller must authorize again.',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'service', Value: SERVICE }],
        EvaluationPeriods: 1,
        MetricName: 'ReauthorizationRequired',
        Namespace: 'TikTokShopTokens',
        Statistic: 'Sum',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      },
    },
    RefresherTokenExpiryAlarm1AD69C27: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ComparisonOperator: 'LessThanThreshold',
        DatapointsToAlarm: 2,
        Dimensions: [{ Name: 'service', Value: SERVICE }],
        EvaluationPeriods: 2,
        MetricName: 'MinAccessTokenLifetimeSeconds',
        Namespace: 'TikTokShopTokens',
        Statistic: 'Minimum',
        Threshold: 86400,
        TreatMissingData: 'breaching',
      },
    },
    RefresherFunctionErrorsAlarm72456DB6: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'RefresherFunction4AAAAD8B' } }],
        MetricName: 'Errors',
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      },
    },
    RefresherFailedInvocationsAlarm44B405CB: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': ['RefresherFailureQueue90B28D42', 'QueueName'] },
          },
        ],
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: 1,
        TreatMissingData: 'ignore',
      },
    },
    RefresherAlarmTopicF4C75DE2: { Type: 'AWS::SNS::Topic', Properties: {} },
  },
};

/** An EMF line as Powertools Metrics prints it. */
function emfLine(values: Record<string, number>, service = SERVICE): string {
  return JSON.stringify({
    _aws: {
      Timestamp: 1_795_607_492_760,
      CloudWatchMetrics: [
        {
          Namespace: 'TikTokShopTokens',
          Dimensions: [['service']],
          Metrics: Object.keys(values).map((Name) => ({ Name, Unit: 'Count' })),
        },
      ],
    },
    service,
    ...values,
  });
}

function byName(alarms: AlarmDefinition[], name: string): AlarmDefinition {
  const alarm = alarms.find((candidate) => candidate.name === name);
  if (alarm === undefined) throw new Error(`no alarm ${name}`);
  return alarm;
}

describe('Function: alarmDefinitions', () => {
  it('reads every metric alarm with its threshold, and names it without the hash', () => {
    // Act
    const alarms = alarmDefinitions(TEMPLATE);

    // Assess
    expect(alarms.map((alarm) => alarm.name)).toEqual([
      'RefresherReauthorizationRequiredAlarm',
      'RefresherTokenExpiryAlarm',
      'RefresherFunctionErrorsAlarm',
      'RefresherFailedInvocationsAlarm',
    ]);
    expect(byName(alarms, 'RefresherTokenExpiryAlarm')).toMatchObject({
      threshold: 86400,
      comparison: 'LessThanThreshold',
      statistic: 'Minimum',
      datapointsToAlarm: 2,
      treatMissingData: 'breaching',
      dimensions: { service: SERVICE },
    });
  });

  it('names a dimension given by reference after the resource, and leaves other intrinsics open', () => {
    const alarms = alarmDefinitions(TEMPLATE);

    expect(byName(alarms, 'RefresherFunctionErrorsAlarm').dimensions).toEqual({
      FunctionName: refTo('RefresherFunction4AAAAD8B'),
    });
    expect(byName(alarms, 'RefresherFailedInvocationsAlarm').dimensions).toEqual({
      QueueName: undefined,
    });
  });
});

describe('Function: emfDatapoints', () => {
  it('reads each metric of an EMF line with its namespace and dimensions', () => {
    // Act
    const points = emfDatapoints([
      '{"level":"INFO","message":"shop refreshed"}',
      'not json: a runtime warning',
      emfLine({ RefreshFailures: 2, ReauthorizationRequired: 1 }),
    ]);

    // Assess
    expect(points).toEqual([
      {
        namespace: 'TikTokShopTokens',
        name: 'RefreshFailures',
        dimensions: { service: SERVICE },
        value: 2,
      },
      {
        namespace: 'TikTokShopTokens',
        name: 'ReauthorizationRequired',
        dimensions: { service: SERVICE },
        value: 1,
      },
    ]);
  });
});

describe('Function: evaluateAlarms', () => {
  const alarms = alarmDefinitions(TEMPLATE);
  const lambdaErrors = (value: number, functionId = 'RefresherFunction4AAAAD8B'): Datapoint => ({
    namespace: 'AWS/Lambda',
    name: 'Errors',
    dimensions: { FunctionName: refTo(functionId) },
    value,
  });
  const stateOf = (points: Datapoint[], name: string) =>
    evaluateAlarms(alarms, points).find((verdict) => verdict.alarm.name === name);

  it('fires an alarm whose metric crosses the threshold from the template', () => {
    const points = emfDatapoints([
      emfLine({ ReauthorizationRequired: 1, MinAccessTokenLifetimeSeconds: 17_998 }),
    ]);

    expect(stateOf(points, 'RefresherReauthorizationRequiredAlarm')).toMatchObject({
      state: 'ALARM',
      value: 1,
    });
    expect(stateOf(points, 'RefresherTokenExpiryAlarm')).toMatchObject({
      state: 'ALARM',
      value: 17_998,
    });
  });

  it('keeps an alarm OK when its metric stays on the right side of the threshold', () => {
    const points = emfDatapoints([
      emfLine({ ReauthorizationRequired: 0, MinAccessTokenLifetimeSeconds: 604_799 }),
    ]);

    expect(stateOf(points, 'RefresherReauthorizationRequiredAlarm')?.state).toBe('OK');
    expect(stateOf(points, 'RefresherTokenExpiryAlarm')?.state).toBe('OK');
  });

  it('treats a missing datapoint as the alarm says: breaching for the expiry alarm', () => {
    const points = emfDatapoints([emfLine({ ReauthorizationRequired: 0 })]);

    expect(stateOf(points, 'RefresherTokenExpiryAlarm')).toEqual({
      alarm: byName(alarms, 'RefresherTokenExpiryAlarm'),
      state: 'ALARM',
    });
  });

  it('ignores datapoints of another service', () => {
    const points = emfDatapoints([emfLine({ ReauthorizationRequired: 3 }, 'other-service')]);

    expect(stateOf(points, 'RefresherReauthorizationRequiredAlarm')?.state).toBe('OK');
  });

  it('applies the statistic over several datapoints', () => {
    const points = emfDatapoints([
      emfLine({ MinAccessTokenLifetimeSeconds: 90_000 }),
      emfLine({ MinAccessTokenLifetimeSeconds: 80_000 }),
    ]);

    expect(stateOf(points, 'RefresherTokenExpiryAlarm')).toMatchObject({
      state: 'ALARM',
      value: 80_000,
    });
  });

  it('matches a dimension given by reference, and leaves unreported namespaces unevaluated', () => {
    const points = [lambdaErrors(1)];

    expect(stateOf(points, 'RefresherFunctionErrorsAlarm')?.state).toBe('ALARM');
    expect(stateOf(points, 'RefresherFailedInvocationsAlarm')?.state).toBe('NOT_EVALUATED');
  });

  it("does not charge another function's errors to this function's alarm", () => {
    const points = [lambdaErrors(1, 'ConsentCallbackFunction1234ABCD')];

    expect(stateOf(points, 'RefresherFunctionErrorsAlarm')?.state).toBe('OK');
  });
});

describe('Function: maskToken', () => {
  it('keeps only the kind prefix of a token', () => {
    expect(maskToken('TTS_AT_4f1c2d9e8b7a6c5d4e3f2a1b0c9d8e7f')).toBe('TTS_AT_…');
  });

  it('shows nothing of a token without a recognisable prefix', () => {
    expect(maskToken('ROW_a1b2c3d4e5f6')).toBe('ROW_…');
    expect(maskToken('a1b2c3d4e5f6')).toBe('…');
  });
});

describe('Function: formatExpiry', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');

  it('gives hours under two days and days beyond', () => {
    expect(formatExpiry(new Date('2026-11-25T17:00:00Z'), now)).toBe(
      '2026-11-25 17:00 UTC (in 5.0 h)',
    );
    expect(formatExpiry(new Date('2026-12-02T12:00:00Z'), now)).toBe(
      '2026-12-02 12:00 UTC (in 7.0 days)',
    );
  });

  it('says when an expiry has passed', () => {
    expect(formatExpiry(new Date('2026-11-25T09:00:00Z'), now)).toBe(
      '2026-11-25 09:00 UTC (3.0 h ago)',
    );
  });
});
