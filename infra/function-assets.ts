// Where the pre-built function bundles are, for the constructs to deploy them as they are.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The functions this package deploys, each bundled ahead of time (by `npm run build`, see
 * infra/bundle.ts) into `assets/<name>/index.mjs`. The construct deploys those files as they are:
 * the code a user deploys is the code this package was tested with, whatever the user's lock
 * file, bundler or TypeScript settings.
 */
export const FUNCTION_ENTRIES = {
  refresher: 'lambda/refresher/handler.ts',
  'consent-callback': 'lambda/onboarding/callback-handler.ts',
  'example-reader': 'lambda/reader/example-handler.ts',
  webhooks: 'lambda/webhooks/handler.ts',
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** The Node.js release the bundles are built for: the oldest runtime a function may use. */
export const BUNDLE_NODE_MAJOR = 24;

/**
 * `assets/` beside the folder of this module: from the sources (infra/) and from the package's
 * bundled build (dist/) alike, it is the package root's `assets/`.
 */
export const ASSETS_DIR = fileURLToPath(new URL('../assets/', import.meta.url));

/** The folder of one function's bundle; fails with what to run when it was not built. */
export function functionAssetDir(name: FunctionName): string {
  const dir = `${ASSETS_DIR}${name}`;
  if (!existsSync(`${dir}/index.mjs`)) {
    throw new Error(
      `the ${name} function's bundle is missing from ${dir}: run "npm run build" in the package`,
    );
  }
  return dir;
}
