// Which store holds the shops' tokens, read from TOKEN_STORE and TOKEN_TABLE_NAME: a secret per
// shop (the default) or an item per shop in one DynamoDB table.
import { ENV, TOKEN_STORE } from './contract.js';
import type { EnvReader } from './env.js';

export type StoreChoice =
  | { readonly kind: typeof TOKEN_STORE.secretsManager }
  | { readonly kind: typeof TOKEN_STORE.dynamodb; readonly tableName: string };

/** A table name as DynamoDB accepts it: 3 to 255 of letters, digits, `_`, `-` and `.`. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/**
 * The store an environment asks for. TOKEN_STORE unset is Secrets Manager, as before there was
 * a choice; `dynamodb` needs TOKEN_TABLE_NAME. A problem is added to the reader's list.
 */
export function readStoreChoice(read: EnvReader): StoreChoice {
  const kind = read.text(ENV.tokenStore) ?? TOKEN_STORE.secretsManager;
  if (kind === TOKEN_STORE.secretsManager) return { kind };
  if (kind !== TOKEN_STORE.dynamodb) {
    read.problems.push(
      `${ENV.tokenStore} must be ${TOKEN_STORE.secretsManager} or ${TOKEN_STORE.dynamodb}`,
    );
    return { kind: TOKEN_STORE.secretsManager };
  }
  const tableName = checkTableName(read.text(ENV.tokenTableName));
  if (typeof tableName !== 'string') read.problems.push(tableName.problem);
  return { kind, tableName: typeof tableName === 'string' ? tableName : '' };
}

/** The table name, or what is wrong with it. */
export function checkTableName(name: string | undefined): string | { problem: string } {
  if (name === undefined) {
    return { problem: `${ENV.tokenTableName} is required when ${ENV.tokenStore} is dynamodb` };
  }
  if (!TABLE_NAME.test(name)) {
    return {
      problem: `${ENV.tokenTableName} must be 3 to 255 letters, digits, "_", "-" or "."`,
    };
  }
  return name;
}
