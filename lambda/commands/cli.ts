#!/usr/bin/env node
// `npx tiktok-shop-token-refresher <command>`: the package's binary, and what `npm run authorize`,
// `refresh` and `switch-store` start in a clone. Picks the command, answers help, runs it.
import type { Env } from '../shared/env.js';
import type { CodeInput } from './auth-code.js';
import { main as authorize } from './authorize.js';
import { AUTHORIZE_HELP, COMMAND_LIST, REFRESH_HELP, SWITCH_STORE_HELP } from './cli-help.js';
import { main as refresh } from './refresh.js';
import { runAsScript } from './run.js';
import { main as switchStore } from './switch-store.js';
import { printable } from './terminal-text.js';

interface CommandEntry {
  readonly help: string;
  readonly run: (argv: readonly string[], env: Env, stdin?: CodeInput) => Promise<number>;
}

const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  authorize: { help: AUTHORIZE_HELP, run: authorize },
  refresh: { help: REFRESH_HELP, run: (argv, env) => refresh(argv, env) },
  'switch-store': { help: SWITCH_STORE_HELP, run: (argv, env) => switchStore(argv, env) },
};

const HELP_FLAGS = new Set(['--help', '-h']);

/** `--help` or `-h` among a command's options (not after `--`, where values could be anything). */
function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => HELP_FLAGS.has(arg));
}

/**
 * Exit codes are the commands' own (0 done, 1 failed, 2 usage); help asked for prints to stdout
 * and exits 0, and no command at all prints the list to stderr and exits 2.
 */
export async function main(argv: readonly string[], env: Env, stdin?: CodeInput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.error(COMMAND_LIST);
    return 2;
  }
  if (name === 'help' || HELP_FLAGS.has(name)) {
    const topic = rest[0];
    if (topic === undefined) {
      console.log(COMMAND_LIST);
      return 0;
    }
    const command = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
    if (command === undefined) {
      console.error(`unknown command "${printable(topic, 40)}"\n${COMMAND_LIST}`);
      return 2;
    }
    console.log(command.help);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    console.error(`unknown command "${printable(name, 40)}"\n${COMMAND_LIST}`);
    return 2;
  }
  if (asksForHelp(rest)) {
    console.log(command.help);
    return 0;
  }
  return command.run(rest, env, stdin);
}

runAsScript(import.meta.url, main);
