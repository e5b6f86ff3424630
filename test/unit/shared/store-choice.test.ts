import { describe, expect, it } from 'vitest';
import { ENV } from '../../../lambda/shared/contract.js';
import { readEnv } from '../../../lambda/shared/env.js';
import { readStoreChoice } from '../../../lambda/shared/store-choice.js';

describe('Function: readStoreChoice', () => {
  it('chooses Secrets Manager when TOKEN_STORE is unset', () => {
    const read = readEnv({});

    expect(readStoreChoice(read)).toEqual({ kind: 'secrets-manager' });
    expect(read.problems).toEqual([]);
  });

  it('chooses the DynamoDB table named by TOKEN_TABLE_NAME', () => {
    const read = readEnv({ [ENV.tokenStore]: 'dynamodb', [ENV.tokenTableName]: 'shop-tokens' });

    expect(readStoreChoice(read)).toEqual({ kind: 'dynamodb', tableName: 'shop-tokens' });
    expect(read.problems).toEqual([]);
  });

  it.each([
    [{ [ENV.tokenStore]: 'dynamodb' }, 'TOKEN_TABLE_NAME is required when TOKEN_STORE is dynamodb'],
    [
      { [ENV.tokenStore]: 'dynamodb', [ENV.tokenTableName]: 'a/b' },
      'TOKEN_TABLE_NAME must be 3 to 255 letters, digits, "_", "-" or "."',
    ],
    [{ [ENV.tokenStore]: 'redis' }, 'TOKEN_STORE must be secrets-manager or dynamodb'],
  ])('names what is wrong with %o', (env, problem) => {
    const read = readEnv(env);

    readStoreChoice(read);

    expect(read.problems).toEqual([problem]);
  });
});
