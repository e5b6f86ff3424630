import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { ASSETS_DIR, FUNCTION_ENTRIES, type FunctionName } from './function-assets.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * How every function is bundled: the one recipe, used by the package build, the tests, the demo
 * and the benchmark (whose floor is built by it too), so what they measure is what deploys.
 */
export const FUNCTION_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  // Lambda reports a failed invocation by its error's class name (errorType): keep it.
  keepNames: true,
  // Shipped beside the bundle, not loaded: --enable-source-maps slows every cold start.
  sourcemap: true,
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies may call require() on Node built-ins, which ESM lacks.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  // The SDK ships inside the bundle: a lower cold start than loading the runtime's copy.
  external: [],
  logLevel: 'warning',
  legalComments: 'none',
};

/** Bundles one handler module into `<outdir>/index.mjs` (and its source map). */
export async function bundleFunction(entry: string, outdir: string): Promise<string> {
  rmSync(outdir, { recursive: true, force: true });
  const outfile = join(outdir, 'index.mjs');
  await build({
    ...FUNCTION_BUNDLING,
    entryPoints: [join(ROOT, entry)],
    outfile,
    absWorkingDir: ROOT,
  });
  return outfile;
}

/** Bundles every function of the package into `assets/<name>/`. */
export async function bundleFunctions(): Promise<void> {
  await Promise.all(
    Object.entries(FUNCTION_ENTRIES).map(([name, entry]) =>
      bundleFunction(entry, join(ASSETS_DIR, name as FunctionName)),
    ),
  );
}
