// The one recipe every function of the package is built with: runtime, bundle, log group and role.
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type FunctionName, functionAssetDir } from './function-assets.js';
import { allowNetworkInterfaces, type VpcPlacement } from './network.js';

/** What the recipe fixes; a function's own props set the rest. */
type FixedProps =
  | 'code'
  | 'handler'
  | 'runtime'
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
 * A function built with the one recipe (Node.js 24 on arm64, the package's pre-built ESM bundle
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
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    // The source map ships with the bundle but is not loaded: --enable-source-maps made every
    // cold start 35-100 ms slower (npm run bench), and the logs carry named errors, not stacks.
    // Set NODE_OPTIONS=--enable-source-maps on the function to read a stack trace in the sources.
    environment,
  });
  return { fn, role, logGroup };
}
