import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../lambda/commands/authorize-args.js';
import { UsageError } from '../../../lambda/shared/errors.js';

const CODE = ['--shop', 'acme-uk', '--auth-code', 'AUTHCODE_args_test_1234'];

describe('Function: parseCommand (token store)', () => {
  it('sends the token to the table of --store dynamodb --table', () => {
    const command = parseCommand([...CODE, '--store', 'dynamodb', '--table', 'shop-tokens'], {});

    expect(command).toMatchObject({ kind: 'authorize', tableName: 'shop-tokens', toFile: false });
  });

  it('takes the table from TOKEN_STORE and TOKEN_TABLE_NAME as the functions get them', () => {
    const command = parseCommand(CODE, { TOKEN_STORE: 'dynamodb', TOKEN_TABLE_NAME: 'from-env' });

    expect(command).toMatchObject({ tableName: 'from-env' });
  });

  it('stores in a secret when no store is named', () => {
    expect(parseCommand(CODE, {})).not.toHaveProperty('tableName');
  });

  it.each([
    [['--store', 'dynamodb'], 'TOKEN_TABLE_NAME is required when --store is dynamodb'],
    [['--table', 'shop-tokens'], '--table goes with --store dynamodb'],
    [['--store', 'redis'], '--store must be secrets-manager or dynamodb'],
    [
      ['--store', 'dynamodb', '--table', 'shop-tokens', '--token-file', 'x.json'],
      '--token-file excludes --store dynamodb',
    ],
  ])('refuses %j', (more, message) => {
    expect(() => parseCommand([...CODE, ...more], {})).toThrow(UsageError);
    expect(() => parseCommand([...CODE, ...more], {})).toThrow(message);
  });
});
