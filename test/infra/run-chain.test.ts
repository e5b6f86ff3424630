import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CHAINED_EVENT } from '../../infra/run-events.js';
import { STACK_NAME } from '../../infra/stack.js';
import {
  runChain,
  runChainDefinition,
  STATE_MACHINE_ARN,
  TaskError,
} from '../support/run-chain.js';
import { onlyResourceOfType, statementsOf } from './template.js';
import { synthesizeVariant } from './variants.js';

const run = promisify(execFile);

const FLEET = { shops: ['shop-a'], invocationsPerRun: 3, timeout: Duration.minutes(15) };
const chained = synthesizeVariant(FLEET);
const definition = runChainDefinition(chained.template);

/** A chained invocation's answer: counts, and the shops it left for lack of time. */
function answer(shopsLeft: number) {
  return {
    trigger: 'schedule',
    force: false,
    dryRun: false,
    counts: { refreshed: 10, skipped: 0, superseded: 0, failed: shopsLeft },
    shopsLeft,
    failure: null,
  };
}

/** A chained invocation's answer with a failure that would have failed it alone. */
function failing(shopsLeft: number) {
  return {
    ...answer(shopsLeft),
    failure: {
      errorType: 'RefreshIncompleteError',
      message: '1 of 2 shops failed and need a person, a retry will not help: shop-a',
      retryable: false,
    },
  };
}

describe('Construct: TikTokShopTokenRefresher with invocationsPerRun', () => {
  it('runs each scheduled run as one invocation by default, with no state machine', () => {
    const { template, refresher } = synthesizeVariant({ shops: ['shop-a'] });

    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: {
        Arn: Match.objectLike({ 'Fn::GetAtt': [Match.stringLikeRegexp('Function'), 'Arn'] }),
      },
    });
    expect(refresher.runStateMachine).toBeUndefined();
    expect(refresher.alarms.runsIncomplete).toBeUndefined();
  });

  it('lets the schedule start the run state machine, and nothing else', () => {
    const machineId = onlyResourceOfType(chained.template, 'AWS::StepFunctions::StateMachine');

    chained.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: { Arn: { Ref: machineId }, Input: '{}' },
    });
    const scheduleRole = onlyScheduleRole();
    expect(statementsOf(chained.template, scheduleRole)).toContainEqual({
      Action: 'states:StartExecution',
      Effect: 'Allow',
      Resource: { Ref: machineId },
    });
    expect(chained.refresher.runStateMachine).toBeDefined();
  });

  it('lets the state machine invoke the refresher and list its own executions only', () => {
    const roleId = chained.stack.getLogicalId(
      chained.refresher.runStateMachine?.node.findChild('Role').node.defaultChild as never,
    );

    const statements = statementsOf(chained.template, roleId) as {
      Action: unknown;
      Resource: unknown;
    }[];

    const list = statements.find((statement) => statement.Action === 'states:ListExecutions');
    expect(JSON.stringify(list?.Resource)).toContain(':stateMachine:Variant-Refresher-');
    expect(JSON.stringify(list?.Resource)).not.toContain('*');
    expect(statements.flatMap((statement) => statement.Action)).not.toContain(
      'secretsmanager:GetSecretValue',
    );
  });

  it('alarms on a run that failed or timed out', () => {
    expect(chained.refresher.alarms.runsIncomplete).toBeDefined();
    chained.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('ShopsLeft'),
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed + timedOut' })]),
    });
  });

  it('logs every state to an encrypted-if-keyed log group and traces the runs', () => {
    chained.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { Level: 'ALL' },
      TracingConfiguration: { Enabled: true },
    });
    chained.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'),
    });
  });

  it.each([0, 1.5, 101, Number.NaN])(
    'refuses invocationsPerRun %s at synth',
    (invocationsPerRun) => {
      expect(() => synthesizeVariant({ shops: ['shop-a'], invocationsPerRun })).toThrow(
        `invocationsPerRun must be a whole number from 1 to 100 (got ${invocationsPerRun})`,
      );
    },
  );
});

describe('State machine: a run spread over invocations', () => {
  it('invokes the function with the chained event again while shops are left, then succeeds', async () => {
    const left = [40, 7, 0];

    const run = await runChain(definition, { invoke: async () => answer(left.shift() ?? 0) });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.events).toEqual([CHAINED_EVENT, CHAINED_EVENT, CHAINED_EVENT]);
    expect(run.listed).toEqual([
      { StateMachineArn: STATE_MACHINE_ARN, StatusFilter: 'RUNNING', MaxResults: 2 },
    ]);
  });

  it('stops after one invocation when none was left', async () => {
    const run = await runChain(definition, { invoke: async () => answer(0) });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.events).toHaveLength(1);
    // What Step Functions bills: the cost table counts 7 transitions a run.
    expect(run.states).toHaveLength(7);
  });

  it('fails with ShopsLeft once its invocations did not suffice', async () => {
    const run = await runChain(definition, { invoke: async () => answer(5) });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('ShopsLeft');
    expect(run.events).toHaveLength(FLEET.invocationsPerRun);
  });

  it('leaves the work to a run still going, invoking nothing', async () => {
    const run = await runChain(definition, { invoke: async () => answer(0), running: 2 });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.events).toEqual([]);
    expect(run.states).toContain('LeftToTheRunGoing');
  });

  it('waits for a manual invocation holding the function, then goes on', async () => {
    let throttles = 2;

    const run = await runChain(definition, {
      invoke: async () => {
        if (throttles-- > 0)
          throw new TaskError('Lambda.TooManyRequestsException', 'Rate exceeded');
        return answer(0);
      },
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.events).toHaveLength(3);
  });

  it('goes on with the shops left past a failing shop, then fails the run with its error', async () => {
    const answers = [failing(30), failing(0)];

    const run = await runChain(definition, { invoke: async () => answers.shift() ?? answer(0) });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RefreshIncompleteError');
    expect(run.cause).toBe('1 of 2 shops failed and need a person, a retry will not help: shop-a');
    expect(run.events).toHaveLength(2);
  });

  it('succeeds when the invocation that cleared the backlog failed nothing', async () => {
    const answers = [failing(30), answer(0)];

    const run = await runChain(definition, { invoke: async () => answers.shift() ?? answer(0) });

    expect(run.status).toBe('SUCCEEDED');
  });

  it('goes on to invoke when it cannot look for another run', async () => {
    const run = await runChain(definition, {
      invoke: async () => answer(0),
      listFails: new TaskError('Sfn.SfnException', 'Rate exceeded'),
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.listed).toHaveLength(3);
    expect(run.events).toHaveLength(1);
  });

  it('fails the run on an invocation that threw, without retrying it', async () => {
    const run = await runChain(definition, {
      invoke: async () => {
        throw new TaskError('RefreshIncompleteError', '1 of 2 shops failed');
      },
    });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RefreshIncompleteError');
    expect(run.events).toHaveLength(1);
  });
});

describe('App: -c invocationsPerRun=8 -c timeoutMinutes=15', () => {
  /** The app as the CLI runs it (cdk-nag fails the synth on any finding). */
  async function synthApp(context: Record<string, string>, outdir: string) {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(AWS|CDK)_/.test(name)),
    );
    await run('npx', ['--no', 'tsx', 'infra/app.ts'], {
      env: { ...env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(await readFile(join(outdir, `${STACK_NAME}.template.json`), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: { Timeout?: number } }>;
    };
  }

  it('deploys the run state machine and a 15-minute function, cdk-nag clean', async () => {
    const outdir = await mkdtemp(join(tmpdir(), 'cdk-chain-app-'));
    try {
      const template = await synthApp(
        { shops: 'shop-a', invocationsPerRun: '8', timeoutMinutes: '15' },
        outdir,
      );

      const resources = Object.values(template.Resources);
      expect(resources.filter((r) => r.Type === 'AWS::StepFunctions::StateMachine')).toHaveLength(
        1,
      );
      expect(
        resources.filter(
          (r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Timeout === 900,
        ),
      ).toHaveLength(1);
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a context that is not a whole number, naming it', async () => {
    const outdir = await mkdtemp(join(tmpdir(), 'cdk-chain-app-'));
    try {
      await expect(
        synthApp({ shops: 'shop-a', invocationsPerRun: 'eight' }, outdir),
      ).rejects.toThrow('context "invocationsPerRun" must be a whole number (got "eight")');
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});

function onlyScheduleRole(): string {
  const roles = chained.template.findResources('AWS::IAM::Role', {
    Properties: {
      AssumeRolePolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } }),
        ]),
      },
    },
  });
  const ids = Object.keys(roles);
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}
