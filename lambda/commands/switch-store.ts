/**
 * The switch-store command: copies every shop's current token from one store to the other, when
 * a deployment moves between Secrets Manager and the DynamoDB token table (docs/dynamodb-store.md).
 *
 * npm run switch-store -- --from secrets-manager --to dynamodb --table <name> [--secret-prefix tiktok-shop/] [--tag-key tiktok-shop-token]
 * npm run switch-store -- --from dynamodb --to secrets-manager --table <name> [--secret-prefix …] [--kms-key-id <key>]
 *
 * Run it right after deploying the stack on the new store: the copy goes on, pass after pass,
 * until a pass finds no source token moved (a run of the old refresher still going), then checks
 * each copy. A token is copied only onto an older one, so what the new store's refresher or
 * onboarding wrote is kept, and the command may be run again. Nothing is deleted: the old
 * secrets (or items) stay until the operator deletes them. Exit codes: 0 every shop copied and
 * checked, 1 a shop failed, 2 usage.
 */

import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWS_REQUEST_HANDLER } from '../shared/budget.js';
import {
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  TOKEN_STORE,
  type TokenStoreName,
} from '../shared/contract.js';
import type { Env } from '../shared/env.js';
import { describeError, UsageError } from '../shared/errors.js';
import { checkTableName } from '../shared/store-choice.js';
import { type CopyReport, copyTokens } from './store-copy.js';
import { SecretsSideStore, TableSideStore } from './store-copy-stores.js';
import { printable } from './terminal-text.js';

export const USAGE = `usage:
  npm run switch-store -- --from secrets-manager --to dynamodb --table <name> [--secret-prefix <prefix>] [--tag-key <key>]
  npm run switch-store -- --from dynamodb --to secrets-manager --table <name> [--secret-prefix <prefix>] [--tag-key <key>] [--kms-key-id <key>]`;

interface SwitchCommand {
  readonly from: TokenStoreName;
  readonly tableName: string;
  readonly secretNamePrefix: string;
  readonly tagKey: string;
  readonly kmsKeyId?: string;
}

export function parseSwitch(argv: readonly string[]): SwitchCommand {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const stores: string[] = Object.values(TOKEN_STORE);
  const { from, to } = values;
  if (from === undefined || to === undefined || !stores.includes(from) || !stores.includes(to)) {
    throw new UsageError(`--from and --to are required, each ${stores.join(' or ')}`);
  }
  if (from === to) throw new UsageError('--from and --to name the same store');
  const table = checkTableName(values.table);
  if (typeof table !== 'string') {
    throw new UsageError(`--table: ${table.problem.replace(/^TOKEN_TABLE_NAME /, '')}`);
  }
  if (values['kms-key-id'] !== undefined && to !== TOKEN_STORE.secretsManager) {
    throw new UsageError('--kms-key-id goes with --to secrets-manager');
  }
  return {
    from: from as TokenStoreName,
    tableName: table,
    secretNamePrefix: values['secret-prefix'] ?? DEFAULT_SECRET_NAME_PREFIX,
    tagKey: values['tag-key'] ?? DEFAULT_TOKEN_SECRET_TAG_KEY,
    ...(values['kms-key-id'] === undefined ? {} : { kmsKeyId: values['kms-key-id'] }),
  };
}

export async function main(
  argv: readonly string[],
  _env: Env,
  clients: { secretsManager?: SecretsManagerClient; dynamodb?: DynamoDBClient } = {},
): Promise<number> {
  let command: SwitchCommand;
  try {
    command = parseSwitch(argv);
  } catch (error) {
    console.error(`${printable(describeError(error).message, 2_000)}\n${USAGE}`);
    return 2;
  }
  const secretsManager =
    clients.secretsManager ??
    new SecretsManagerClient({ maxAttempts: 1, requestHandler: AWS_REQUEST_HANDLER });
  const dynamodb =
    clients.dynamodb ?? new DynamoDBClient({ maxAttempts: 1, requestHandler: AWS_REQUEST_HANDLER });
  try {
    const secrets = new SecretsSideStore({
      client: secretsManager,
      secretNamePrefix: command.secretNamePrefix,
      tagKey: command.tagKey,
      ...(command.kmsKeyId === undefined ? {} : { kmsKeyId: command.kmsKeyId }),
    });
    const table = new TableSideStore(dynamodb, command.tableName);
    const report =
      command.from === TOKEN_STORE.secretsManager
        ? await copyTokens(secrets, table)
        : await copyTokens(table, secrets);
    console.log(describeReport(command, report));
    return report.failed.length === 0 ? 0 : 1;
  } catch (error) {
    console.error(`error: ${printable(describeError(error).message, 2_000)}`);
    return 1;
  } finally {
    if (clients.secretsManager === undefined) secretsManager.destroy();
    if (clients.dynamodb === undefined) dynamodb.destroy();
  }
}

/** What the operator reads: counts, the shops that need a look, and what is left to do. */
export function describeReport(command: SwitchCommand, report: CopyReport): string {
  const source =
    command.from === TOKEN_STORE.secretsManager
      ? `secrets ${command.secretNamePrefix}tokens/*`
      : `table ${command.tableName}`;
  const lines = [
    `Copied from ${source}: ${report.shops} shops in ${report.passes} passes; ${report.verified} copies checked equal to their source.`,
  ];
  if (report.keptNewer.length > 0) {
    lines.push(
      `Kept the destination's newer token (written there after the switch) for ${report.keptNewer.length}: ${report.keptNewer.slice(0, 20).join(', ')}`,
    );
  }
  for (const { shop, problem } of report.failed.slice(0, 50)) {
    lines.push(`  not copied: ${shop}: ${problem}`);
  }
  lines.push(
    report.failed.length === 0
      ? `Done. The source store is left as it was: delete it when the new one has served a few runs.`
      : `${report.failed.length} shops not copied: fix what is named and run the command again (it is safe to repeat).`,
  );
  return lines.join('\n');
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      table: { type: 'string' },
      'secret-prefix': { type: 'string' },
      'tag-key': { type: 'string' },
      'kms-key-id': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
}
