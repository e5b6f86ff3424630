import { fileURLToPath } from 'node:url';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

/**
 * How every function of this app is bundled: the one recipe, so that what the tests and the
 * benchmark measure for one function holds for the others (the benchmark's floor uses it too).
 */
export const BUNDLING: nodejs.BundlingOptions = {
  forceDockerBundling: false,
  minify: true,
  // Lambda reports a failed invocation by its error's class name (errorType): keep it.
  keepNames: true,
  sourceMap: true,
  format: nodejs.OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies may call require() on Node built-ins, which ESM lacks.
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  // The SDK ships inside the bundle: a lower cold start than loading the runtime's copy.
  externalModules: [],
};

/** What the recipe fixes; a function's own props set the rest. */
type FixedProps =
  | 'entry'
  | 'handler'
  | 'depsLockFilePath'
  | 'runtime'
  | 'architecture'
  | 'bundling'
  | 'role'
  | 'logGroup'
  | 'loggingFormat';

export interface AppFunctionProps extends Omit<nodejs.NodejsFunctionProps, FixedProps> {
  /** File under lambda/ that exports `handler`, e.g. `handler.ts`. */
  readonly entryFile: string;
  /** Description of the function's role. */
  readonly roleDescription: string;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Key for the log group; its policy must let CloudWatch Logs use it.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

export interface AppFunction {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * A function built with the one recipe (Node.js 24 on arm64, ESM bundle with the SDK, source
 * maps, JSON logs), with its own log group and a role that may write only there. Creates
 * `LogGroup`, `Role` and `Function` directly in `scope`, so one function per scope.
 */
export function createAppFunction(scope: Construct, props: AppFunctionProps): AppFunction {
  const { entryFile, roleDescription, logRetention, logEncryptionKey, environment, ...rest } =
    props;
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
  const fn = new nodejs.NodejsFunction(scope, 'Function', {
    ...rest,
    entry: fileURLToPath(new URL(`../lambda/${entryFile}`, import.meta.url)),
    handler: 'handler',
    depsLockFilePath: LOCK_FILE,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    // The source map ships with the bundle but is not loaded: --enable-source-maps made every
    // cold start 35-100 ms slower (npm run bench), and the logs carry named errors, not stacks.
    // Set NODE_OPTIONS=--enable-source-maps on the function to read a stack trace in the sources.
    environment,
    bundling: BUNDLING,
  });
  return { fn, role, logGroup };
}
