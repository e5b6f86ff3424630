// The refresher function (its settings and the environment that tells it what to refresh) and
// the schedule that starts its runs.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  APPS_ENV,
  DEFAULT_APP,
  DEFAULTS,
  ENV,
  METRICS_NAMESPACE,
} from '../lambda/shared/contract.js';
import { type AppFunction, createAppFunction } from './lambda-function.js';
import type { VpcPlacement } from './network.js';
import type { AppCredentials } from './refresher-apps.js';
import { checkedEnvironment } from './refresher-limits.js';
import type { ResolvedRefresherProps } from './refresher-props.js';
import { createRunChain } from './refresher-run-chain.js';
import { SCHEDULED_EVENT } from './run-events.js';
import { grantTableRefresher, tokenTableEnvironment } from './token-table.js';

/** What the function is told besides the resolved props: the names the construct settled on. */
export interface RefresherFunctionOptions {
  readonly resolved: ResolvedRefresherProps;
  readonly serviceName: string;
  readonly defaultApp: AppCredentials;
  readonly otherApps: readonly AppCredentials[];
  readonly tokenSecretIds: readonly string[];
  /** How the function names a shop's token secret. */
  readonly tokenSecretName: (shop: string) => string;
  readonly eventBus: events.IEventBus;
  readonly placement: VpcPlacement | undefined;
  readonly failureQueue: sqs.IQueue;
  /** The token table, when the tokens are kept there instead of in secrets. */
  readonly tokenTable: dynamodb.ITable | undefined;
}

/** The refresher function and its role, in `scope`. */
export function createRefresherFunction(
  scope: Construct,
  options: RefresherFunctionOptions,
): AppFunction {
  const { resolved, defaultApp, otherApps, tokenSecretIds, tokenTable } = options;
  // A table's items are keyed by the shop's name, a secret by its name.
  const tokenSecretName =
    tokenTable === undefined ? options.tokenSecretName : (shop: string) => shop;
  const shopsOfOtherApps = resolved.shops.filter(({ app }) => app !== DEFAULT_APP);
  const created = createAppFunction(scope, {
    bundle: 'refresher',
    runtime: resolved.runtime,
    roleDescription: 'TikTok Shop token refresher: reads app credentials, refreshes token secrets',
    logRetention: resolved.logRetention,
    logEncryptionKey: resolved.encryptionKey,
    placement: options.placement,
    description: 'Refreshes TikTok Shop OAuth tokens stored in Secrets Manager',
    // Init work (SDK clients, TLS) is CPU-bound and CPU grows with memory; at one run an hour
    // the extra memory costs next to nothing.
    memorySize: 256,
    timeout: resolved.timeout,
    // One writer at a time: two concurrent runs could both refresh a shop and one of them would
    // store a refresh token TikTok has already replaced.
    reservedConcurrentExecutions: 1,
    retryAttempts: 2,
    // A run older than one interval is superseded by the next scheduled run.
    maxEventAge: minDuration(resolved.refreshInterval, Duration.hours(6)),
    onFailure: new destinations.SqsDestination(options.failureQueue),
    // Refused at synth when over Lambda's limit: the shop list grows with the fleet.
    environment: checkedEnvironment(scope, tokenSecretIds.length, {
      [ENV.appCredentialsSecretId]: defaultApp.id,
      // Only with other apps, so that a one-app template stays as it was.
      ...(otherApps.length > 0 && {
        [APPS_ENV.appCredentialsSecretIds]: JSON.stringify(
          Object.fromEntries(otherApps.map(({ app, id }) => [app, id])),
        ),
      }),
      ...(shopsOfOtherApps.length > 0 && {
        [APPS_ENV.shopApps]: JSON.stringify(
          Object.fromEntries(shopsOfOtherApps.map(({ name, app }) => [tokenSecretName(name), app])),
        ),
      }),
      ...(tokenSecretIds.length > 0 && {
        [ENV.tokenSecretIds]: tokenSecretIds.join(','),
      }),
      ...(resolved.discoverTokenSecretsByTag && {
        [ENV.tokenSecretTagKey]: resolved.tokenSecretTagKey,
      }),
      ...(tokenTable === undefined ? {} : tokenTableEnvironment(tokenTable)),
      [ENV.tiktokAuthBaseUrl]: DEFAULTS.tiktokAuthBaseUrl,
      [ENV.refreshBeforeExpirySeconds]: String(resolved.refreshBeforeExpiry.toSeconds()),
      [ENV.eventBusName]: options.eventBus.eventBusName,
      [ENV.tiktokTimeoutMs]: String(DEFAULTS.tiktokTimeoutMs),
      [ENV.maxConcurrency]: String(DEFAULTS.maxConcurrency),
      [ENV.secretWritesPerSecond]: String(DEFAULTS.secretWritesPerSecond),
      POWERTOOLS_SERVICE_NAME: options.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    }),
  });
  if (tokenTable !== undefined) grantTableRefresher(tokenTable, created.role);
  return created;
}

/** The props the schedule follows, and where the runs it cannot deliver go. */
export interface RefresherScheduleOptions {
  readonly resolved: ResolvedRefresherProps;
  /** With `invocationsPerRun` above 1, the name of the run state machine the schedule starts. */
  readonly runStateMachineName: string;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * The schedule that starts a run every interval, with a role that can invoke this function only;
 * with `invocationsPerRun` above 1 it starts the run state machine instead (see
 * refresher-run-chain), which it answers.
 */
export function createRefresherSchedule(
  scope: Construct,
  fn: lambda.IFunction,
  options: RefresherScheduleOptions,
): sfn.StateMachine | undefined {
  const { resolved } = options;
  const stack = Stack.of(scope);
  const scheduleRole = new iam.Role(scope, 'ScheduleRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
    description: 'EventBridge Scheduler: invokes the TikTok Shop token refresher',
  });
  // The schedule writes undeliverable runs to its dead-letter queue, encrypted under the key.
  resolved.encryptionKey?.grant(scheduleRole, 'kms:GenerateDataKey', 'kms:Decrypt');
  const delivery = {
    role: scheduleRole,
    retryAttempts: 3,
    maxEventAge: resolved.refreshInterval,
    deadLetterQueue: options.deadLetterQueue,
  };
  const chain =
    resolved.invocationsPerRun > 1
      ? createRunChain(scope, fn, {
          invocations: resolved.invocationsPerRun,
          timeout: resolved.timeout,
          logRetention: resolved.logRetention,
          encryptionKey: resolved.encryptionKey,
          name: options.runStateMachineName,
        })
      : undefined;
  new scheduler.Schedule(scope, 'Schedule', {
    schedule: scheduler.ScheduleExpression.rate(resolved.refreshInterval),
    description: 'Starts a TikTok Shop token refresh run',
    target:
      chain === undefined
        ? new schedulerTargets.LambdaInvoke(fn, {
            ...delivery,
            input: scheduler.ScheduleTargetInput.fromObject(SCHEDULED_EVENT),
          })
        : new schedulerTargets.StepFunctionsStartExecution(chain, {
            ...delivery,
            input: scheduler.ScheduleTargetInput.fromObject({}),
          }),
  });
  if (chain !== undefined) return chain;
  Validations.of(scheduleRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
    reason:
      "LambdaInvoke grants lambda:InvokeFunction through the function's grantInvoke, which also covers its versions and aliases (<arn>:*); the role can invoke this one function only.",
  });
}

function minDuration(a: Duration, b: Duration): Duration {
  return a.toSeconds() <= b.toSeconds() ? a : b;
}
