import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describeError } from '../shared/errors.js';
import { printable } from './terminal-text.js';

/**
 * Runs a command's `main` when its module is the script node was started with (not when a test
 * imports it), and turns the outcome into the exit code; an unforeseen error prints only its
 * describable part, never a value it may quote. The script's path is resolved through symbolic
 * links as node resolves its module: npm installs a package's binary as a link in node_modules/.bin.
 */
export function runAsScript(
  moduleUrl: string,
  main: (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>,
): void {
  const script = process.argv[1];
  if (script === undefined || moduleUrl !== pathToFileURL(realPath(script)).href) return;
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`error: ${printable(describeError(error).message, 2_000)}`);
      process.exitCode = 1;
    },
  );
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
