import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';

/**
 * The smallest function that could do this job: it builds the two SDK clients the handler needs
 * and does nothing else. The deployed bundle is measured against it, so the figures show what
 * the handler's own code and libraries cost on top of the SDK it cannot do without.
 */
const FLOOR_SOURCE = `
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
const secretsManager = new SecretsManagerClient({ maxAttempts: 1 });
const eventBridge = new EventBridgeClient({});
export const handler = async () => ({ clients: [secretsManager, eventBridge].length });
`;

const REPOSITORY = join(import.meta.dirname, '..', '..');

/**
 * BUNDLING of infra/lambda-function.ts (NodejsFunction `bundling`, with the target its runtime
 * implies), as esbuild's API spells the flags CDK passes. That module does not export it, so it
 * is repeated here; a change there must be made here too.
 */
const CONSTRUCT_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  keepNames: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
};

export interface FloorBundle {
  readonly dir: string;
  readonly handlerPath: string;
  readonly handlerExport: string;
}

/** Builds the floor into `dir` (index.mjs and its map, as CDK names the asset's files). */
export async function buildFloor(dir: string): Promise<FloorBundle> {
  const handlerPath = join(dir, 'index.mjs');
  await build({
    ...CONSTRUCT_BUNDLING,
    stdin: {
      contents: FLOOR_SOURCE,
      loader: 'ts',
      resolveDir: REPOSITORY,
      sourcefile: 'floor-handler.ts',
    },
    outfile: handlerPath,
    logLevel: 'silent',
  });
  return { dir, handlerPath, handlerExport: 'handler' };
}
