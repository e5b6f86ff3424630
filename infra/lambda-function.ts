// The one recipe every function of the package is built with: runtime, bundle, log group and role.
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { BUNDLE_NODE_MAJOR, type FunctionName, functionAssetDir } from './function-assets.js';
import { allowNetworkInterfaces, type VpcPlacement } from './network.js';

/** What the recipe fixes; a function's own props set the rest. */
type FixedProps =
  | 'code'
  | 'handler'
  | 'architecture'
  | 'role'
  | 'logGroup'
  | 'loggingFormat'
  | 'vpc'
  | 'vpcSubnets'
  | 'securityGroups';

export interface AppFunctionProps extends Omit<lambda.FunctionProps, FixedProps> {
  /** Which of the package's pre-built bundles the function runs. */
  readonly bundle: FunctionName;
  /** A Node.js runtime the bundle runs on (`isBundleRuntime`). */
  readonly runtime: lambda.Runtime;
  /** Description of the function's role. */
  readonly roleDescription: string;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Key for the log group; its policy must let CloudWatch Logs use it.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * VPC, subnets and security groups to attach the function to; the role then may manage the
   * function's network interfaces.
   * @default - no VPC
   */
  readonly placement?: VpcPlacement;
}

export interface AppFunction {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * A function built with the one recipe (Node.js on arm64, the package's pre-built ESM bundle
 * with the SDK and its source map, JSON logs), with its own log group and a role that may write only there. Creates
 * `LogGroup`, `Role` and `Function` directly in `scope`, so one function per scope.
 */
export function createAppFunction(scope: Construct, props: AppFunctionProps): AppFunction {
  const {
    bundle,
    roleDescription,
    logRetention,
    logEncryptionKey,
    placement,
    environment,
    ...rest
  } = props;
  const logGroup = new logs.LogGroup(scope, 'LogGroup', {
    retention: logRetention,
    encryptionKey: logEncryptionKey,
  });
  // An explicit role: the default one carries the AWSLambdaBasicExecutionRole managed policy,
  // which may create log groups and write to any of them.
  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: roleDescription,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  if (placement !== undefined) allowNetworkInterfaces(role);
  const fn = new lambda.Function(scope, 'Function', {
    ...rest,
    ...placement,
    code: lambda.Code.fromAsset(functionAssetDir(bundle)),
    handler: 'index.handler',
    runtime: props.runtime,
    architecture: lambda.Architecture.ARM_64,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    // The source map ships with the bundle but is not loaded: --enable-source-maps made every
    // cold start 35-100 ms slower (npm run bench), and the logs carry named errors, not stacks.
    // Set NODE_OPTIONS=--enable-source-maps on the function to read a stack trace in the sources.
    environment,
  });
  acknowledgeRuntimeChoice(fn, props.runtime);
  return { fn, role, logGroup };
}

/**
 * The runtime every function runs unless told otherwise: the one its bundle is built for and
 * tested on, so that a newer aws-cdk-lib does not move a deployed function to a runtime it was
 * never run on.
 */
export const DEFAULT_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** The Node.js major version of a runtime (`nodejs24.x` is 24), or undefined for another family. */
export function nodeMajor(runtime: lambda.Runtime): number | undefined {
  const match = /^nodejs(\d+)\.x$/.exec(runtime.name);
  return runtime.family === lambda.RuntimeFamily.NODEJS && match ? Number(match[1]) : undefined;
}

/** A runtime the bundles run on: Node.js, of the release they are built for or newer. */
export function isBundleRuntime(runtime: lambda.Runtime): boolean {
  return (nodeMajor(runtime) ?? 0) >= BUNDLE_NODE_MAJOR;
}

/**
 * cdk-nag's AwsSolutions-L1 asks for the newest Node.js runtime the installed aws-cdk-lib knows.
 * The runtime is chosen on purpose (the `runtime` prop), so when a newer one is known the finding
 * is acknowledged here, with the reason, instead of being left to every user to suppress.
 */
function acknowledgeRuntimeChoice(fn: lambda.Function, runtime: lambda.Runtime): void {
  const newest = Math.max(...lambda.Runtime.ALL.map((known) => nodeMajor(known) ?? 0));
  if ((nodeMajor(runtime) ?? 0) >= newest) return;
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: `The function runs ${runtime.name}, chosen with the construct's runtime prop: its default is the runtime the function's bundle is built for and tested on (${DEFAULT_RUNTIME.name}); set runtime to move to nodejs${newest}.x.`,
  });
}
