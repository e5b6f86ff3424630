// The package's binary (package.json `bin`): the commands bundled into one self-contained file.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { DIST_DIR, FUNCTION_BUNDLING } from './bundle.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The commands' entry (lambda/commands/cli.ts) and where the package ships it. */
export const COMMANDS_ENTRY = 'lambda/commands/cli.ts';
export const COMMANDS_BINARY = join(DIST_DIR, 'cli.js');

/**
 * Bundles the commands as the functions are bundled, their dependencies inside (the
 * EventBridge client that `authorize` publishes with is no dependency of the package), for the
 * oldest Node.js the package supports. No source map: a command's errors are its messages.
 */
export async function bundleCommands(): Promise<void> {
  await build({
    ...FUNCTION_BUNDLING,
    entryPoints: [join(ROOT, COMMANDS_ENTRY)],
    outfile: COMMANDS_BINARY,
    absWorkingDir: ROOT,
    target: 'node20',
    sourcemap: false,
  });
}
