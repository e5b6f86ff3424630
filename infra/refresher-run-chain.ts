// The run state machine: with `invocationsPerRun` above 1, a scheduled run invokes the function
// again at once while shops are left for lack of time, one invocation at a time.
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { CHAINED_EVENT } from './run-events.js';

/** Room for Lambda's start-up and Step Functions' own steps around each invocation. */
const INVOCATION_SLACK = Duration.minutes(2);
/** The longest the throttling retries below wait in all. */
const THROTTLED_WAIT = Duration.seconds(1_050);

export interface RunChainOptions {
  readonly invocations: number;
  /** The function's timeout: bounds each invocation and with them the whole run. */
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly encryptionKey: kms.IKey | undefined;
  /** The state machine's name: its role may look at its own executions only. */
  readonly name: string;
}

/**
 * The state machine a scheduled run starts. It ends at once when another run of it is still
 * going (the function takes one invocation at a time anyway: a second chain would only wait);
 * otherwise it invokes the function with CHAINED_EVENT until no shop is left for lack of time,
 * and fails (`ShopsLeft`, alarmed) when `invocations` did not suffice. A failure an invocation
 * returns fails the run once no shop is left, with that invocation's error; one it throws (a
 * timeout, an invalid event) fails it at once. Either way the next scheduled run goes on.
 */
export function createRunChain(
  scope: Construct,
  fn: lambda.IFunction,
  options: RunChainOptions,
): sfn.StateMachine {
  const stack = Stack.of(scope);
  const ownArn = stack.formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: options.name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const otherRuns = new tasks.CallAwsService(scope, 'LookForAnotherRun', {
    service: 'sfn',
    action: 'listExecutions',
    iamAction: 'states:ListExecutions',
    iamResources: [ownArn],
    parameters: {
      StateMachineArn: sfn.JsonPath.stringAt('$$.StateMachine.Id'),
      StatusFilter: 'RUNNING',
      MaxResults: 2,
    },
    resultSelector: { running: sfn.JsonPath.arrayLength(sfn.JsonPath.listAt('$.Executions')) },
    resultPath: '$.others',
  });
  // The look is a courtesy (ListExecutions is eventually consistent; the function's reserved
  // concurrency is what keeps one writer): when it fails, the run goes on.
  otherRuns.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(1), maxAttempts: 2 });
  const count = new sfn.Pass(scope, 'CountInvocation', {
    parameters: {
      invocation: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.invocation'), 1),
    },
  });
  otherRuns.addCatch(count, { resultPath: '$.others' });
  const invoke = new tasks.LambdaInvoke(scope, 'InvokeRefresher', {
    lambdaFunction: fn,
    payload: sfn.TaskInput.fromObject(CHAINED_EVENT),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultSelector: {
      shopsLeft: sfn.JsonPath.numberAt('$.shopsLeft'),
      counts: sfn.JsonPath.objectAt('$.counts'),
      failure: sfn.JsonPath.objectAt('$.failure'),
    },
    resultPath: '$.last',
    taskTimeout: sfn.Timeout.duration(options.timeout.plus(INVOCATION_SLACK)),
  });
  // A manual invocation holds the function's one concurrent execution: wait for it, a while
  // (THROTTLED_WAIT: 30 + 60 + 120 + 240 + 300 + 300 s).
  invoke.addRetry({
    errors: ['Lambda.TooManyRequestsException'],
    interval: Duration.seconds(30),
    backoffRate: 2,
    maxDelay: Duration.minutes(5),
    maxAttempts: 6,
  });
  // What AWS advises retrying for Lambda tasks; a function error is never retried here.
  invoke.addRetry({
    errors: [
      'Lambda.ClientExecutionTimeoutException',
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
    ],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 3,
  });
  const shopsLeft = new sfn.Fail(scope, 'ShopsLeft', {
    error: 'ShopsLeft',
    cause: `shops were still left for lack of time after ${options.invocations} invocations; the next scheduled run goes on with them, most urgent first (raise invocationsPerRun or timeout)`,
  });
  // A failure an invocation returned (a shop that fails the run, credentials that cannot be
  // used) waits for the shops left, then fails the run with that invocation's error.
  const failed = new sfn.Fail(scope, 'RunFailed', {
    errorPath: '$.last.failure.errorType',
    causePath: '$.last.failure.message',
  });
  const next = new sfn.Choice(scope, 'ShopsLeft?')
    .when(
      sfn.Condition.and(
        sfn.Condition.numberGreaterThan('$.last.shopsLeft', 0),
        sfn.Condition.numberLessThan('$.invocation', options.invocations),
      ),
      count,
    )
    .when(sfn.Condition.numberGreaterThan('$.last.shopsLeft', 0), shopsLeft)
    .when(sfn.Condition.isNull('$.last.failure'), new sfn.Succeed(scope, 'Done'))
    .otherwise(failed);
  const definition = new sfn.Pass(scope, 'Start', { parameters: { invocation: 0 } })
    .next(otherRuns)
    .next(
      new sfn.Choice(scope, 'AnotherRunGoing?')
        .when(
          sfn.Condition.numberGreaterThan('$.others.running', 1),
          new sfn.Succeed(scope, 'LeftToTheRunGoing'),
        )
        .otherwise(count.next(invoke).next(next)),
    );
  const logGroup = new logs.LogGroup(scope, 'RunStateMachineLogs', {
    // AWS's advice for vended logs: the prefix keeps CloudWatch Logs' resource policy small.
    logGroupName: `/aws/vendedlogs/states/${options.name}`,
    // Named, so a group left behind would block turning the chain on again; it holds counts only.
    removalPolicy: RemovalPolicy.DESTROY,
    retention: options.logRetention,
    ...(options.encryptionKey === undefined ? {} : { encryptionKey: options.encryptionKey }),
  });
  const perInvocation = options.timeout.plus(INVOCATION_SLACK).plus(THROTTLED_WAIT).toSeconds();
  const stateMachine = new sfn.StateMachine(scope, 'RunStateMachine', {
    stateMachineName: options.name,
    comment: 'A TikTok Shop token refresh run spread over several invocations of the refresher',
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    // Each invocation's bound and its throttling retries.
    timeout: Duration.seconds(options.invocations * perInvocation),
    // The states carry counts only: no token, secret or URL.
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
  });
  Validations.of(stateMachine.role).acknowledge(
    {
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason:
        "LambdaInvoke grants lambda:InvokeFunction through the function's grantInvoke, which also covers its versions and aliases (<arn>:*); the role can invoke this one function only.",
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions needs X-Ray trace writes and CloudWatch Logs log deliveries on "*": neither action supports a narrower resource.',
    },
  );
  return stateMachine;
}
