import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { BUNDLING, LOCK_FILE } from '../../infra/lambda-function';

export interface FloorBundle {
  readonly dir: string;
  readonly handlerPath: string;
  readonly handlerExport: string;
}

/**
 * Builds floor-handler.ts into `dir` exactly as the app's functions are built: a NodejsFunction
 * with the app's bundling recipe, runtime and architecture, synthesized by CDK.
 */
export function buildFloor(dir: string): FloorBundle {
  const app = new App({ outdir: dir });
  new nodejs.NodejsFunction(new Stack(app, 'Floor'), 'Floor', {
    entry: join(import.meta.dirname, 'floor-handler.ts'),
    handler: 'handler',
    depsLockFilePath: LOCK_FILE,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    bundling: BUNDLING,
  });
  app.synth();
  const asset = readdirSync(dir).find((entry) => entry.startsWith('asset.'));
  if (asset === undefined) throw new Error(`the floor's asset is missing from ${dir}`);
  const bundleDir = join(dir, asset);
  return { dir: bundleDir, handlerPath: join(bundleDir, 'index.mjs'), handlerExport: 'handler' };
}
