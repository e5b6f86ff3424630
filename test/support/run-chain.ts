/**
 * The run state machine as synthesized, executed by aws-local-stepfunctions (an independent
 * Amazon States Language interpreter from npm) with its two tasks answered by the test.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node.js 22); the project supports Node.js
// 20 too, where the tests run it with this stand-in.
if (!('withResolvers' in Promise)) {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      return { promise, resolve, reject };
    },
  });
}

/** Stands in for the function's ARN and the partition in the definition's Fn::Join. */
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:refresher';
export const STATE_MACHINE_ARN =
  'arn:aws:states:us-east-1:123456789012:stateMachine:refresher-runs';

/** The definition of the template's one state machine, its CloudFormation references filled in. */
export function runChainDefinition(template: Template): Record<string, unknown> {
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1) throw new Error(`${machines.length} state machines in the template`);
  const body: unknown = machines[0]?.Properties.DefinitionString;
  const parts = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      return JSON.stringify(part) === '{"Ref":"AWS::Partition"}' ? 'aws' : FUNCTION_ARN;
    })
    .join('');
  return JSON.parse(text) as Record<string, unknown>;
}

/** An invocation's failure as Step Functions names it: the Lambda error type. */
export class TaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface ChainTasks {
  /** The function's answer to the state machine's event, or a TaskError. */
  invoke(event: unknown): Promise<unknown>;
  /** How many executions of the state machine are running, this one included. */
  readonly running?: number;
  /** ListExecutions fails with this, every time. */
  readonly listFails?: TaskError;
}

export interface ChainRun {
  /** What the state machine asked ListExecutions. */
  readonly listed: unknown[];
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly error?: string;
  readonly cause?: string;
  readonly events: unknown[];
  /** The states entered, in order. */
  readonly states: string[];
}

/** Runs the definition once; retries wait no time. */
export async function runChain(
  definition: Record<string, unknown>,
  tasks: ChainTasks,
): Promise<ChainRun> {
  const events: unknown[] = [];
  const listed: unknown[] = [];
  const machine = new StateMachine(definition as never, {
    validationOptions: { checkArn: false },
  });
  const execution = machine.run(
    {},
    {
      overrides: {
        taskResourceLocalHandlers: {
          LookForAnotherRun: (parameters) => {
            listed.push(parameters);
            if (tasks.listFails !== undefined) throw tasks.listFails;
            return {
              Executions: Array.from({ length: tasks.running ?? 1 }, (_, index) => ({
                executionArn: `${STATE_MACHINE_ARN}:execution-${index}`,
              })),
            };
          },
          InvokeRefresher: async (event) => {
            events.push(event);
            return (await tasks.invoke(event)) as never;
          },
        },
        retryIntervalOverrides: { InvokeRefresher: 0 },
      },
      context: {
        StateMachine: { Id: STATE_MACHINE_ARN, Name: 'refresher-runs' },
        Execution: { Id: `${STATE_MACHINE_ARN}:execution-0`, Name: 'execution-0' },
      },
    },
  );
  const states: string[] = [];
  const collected = (async () => {
    for await (const entry of execution.eventLogs) {
      if (entry.type === 'StateEntered') states.push(entry.state.name);
    }
  })();
  try {
    await execution.result;
    await collected;
    return { status: 'SUCCEEDED', listed, events, states };
  } catch (error) {
    await collected;
    const cause = (error as { cause?: { name?: string; message?: string } }).cause;
    return {
      status: 'FAILED',
      error: cause?.name ?? (error as Error).message,
      ...(cause?.message === undefined ? {} : { cause: cause.message }),
      listed,
      events,
      states,
    };
  }
}
