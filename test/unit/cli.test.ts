import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../lambda/commands/cli.js';
import {
  AUTHORIZE_HELP,
  COMMAND_LIST,
  REFRESH_HELP,
  SWITCH_STORE_HELP,
} from '../../lambda/commands/cli-help.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';

/** The package's binary (`npx tiktok-shop-token-refresher …`): the dispatcher and its help. */

describe('Function: main (the tiktok-shop-token-refresher binary)', () => {
  let stdout: string[];
  let stderr: string[];

  beforeEach(() => {
    stdout = [];
    stderr = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      stdout.push(args.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      stderr.push(args.join(' '));
    });
    // No AWS but what a test sets: no region, no profile, no shared files.
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE'])
      vi.stubEnv(name, undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
  });

  describe('help', () => {
    it.each([[['help']], [['--help']], [['-h']]])(
      'prints the command list for %j',
      async (argv) => {
        // Act
        const code = await main(argv, {});

        // Assess
        expect(code).toBe(0);
        expect(stdout).toEqual([COMMAND_LIST]);
        expect(COMMAND_LIST).toMatch(/authorize .*\n\s+refresh .*\n\s+switch-store /);
      },
    );

    it('prints the command list to stderr and exits 2 when no command is given', async () => {
      // Act
      const code = await main([], {});

      // Assess
      expect(code).toBe(2);
      expect(stdout).toEqual([]);
      expect(stderr).toEqual([COMMAND_LIST]);
    });

    it.each([
      [['refresh', '--help'], REFRESH_HELP],
      [['refresh', '--token-file', 'shop.json', '-h'], REFRESH_HELP],
      [['help', 'refresh'], REFRESH_HELP],
      [['authorize', '--help'], AUTHORIZE_HELP],
      [['authorize', '--shop', 'a', '--auth-code', 'x', '--help'], AUTHORIZE_HELP],
      [['help', 'authorize'], AUTHORIZE_HELP],
      [['switch-store', '--help'], SWITCH_STORE_HELP],
      [['help', 'switch-store'], SWITCH_STORE_HELP],
    ])("prints the command's help for %j, running nothing", async (argv, help) => {
      // Act
      const code = await main(argv, {});

      // Assess
      expect(code).toBe(0);
      expect(stdout).toEqual([help]);
      expect(stderr).toEqual([]);
    });

    it('runs switch-store, which refuses a missing store with its usage and exit code 2', async () => {
      // Act
      const code = await main(['switch-store', '--to', 'dynamodb', '--table', 'tokens'], {});

      // Assess
      expect(code).toBe(2);
      expect(stderr.join('\n')).toContain('--from and --to are required');
    });

    it('says how a file-only authorize gets the app key, and how refresh is scheduled', () => {
      // Assess
      expect(AUTHORIZE_HELP).toContain(
        'A --token-file run reads that secret only when AWS_REGION, AWS_DEFAULT_REGION,\n  AWS_PROFILE, APP_CREDENTIALS_SECRET_ID or APP_CREDENTIALS_SECRET_IDS is set',
      );
      expect(REFRESH_HELP).toMatch(/^ +17 \* \* \* \* .* refresh --token-file shop\.json$/m);
    });

    it('names the binary in the usage after a command’s usage error', async () => {
      // Act
      const code = await main(['refresh'], {});

      // Assess
      expect(code).toBe(2);
      expect(stderr.join('\n')).toMatch(
        /\nusage: tiktok-shop-token-refresher refresh --token-file <path>/,
      );
      expect(stderr.join('\n')).not.toContain('npm run');
    });

    it.each([
      [['refund'], 'unknown command "refund"'],
      [['help', 'refund'], 'unknown command "refund"'],
      [['re\u202efund\u009b2J'], 'unknown command "re\\u{202e}fund\\u{9b}2J"'],
    ])('refuses %j with exit code 2, listing the commands', async (argv, message) => {
      // Act
      const code = await main(argv, {});

      // Assess
      expect(code).toBe(2);
      expect(stderr.join('\n')).toBe(`${message}\n${COMMAND_LIST}`);
    });
  });

  describe('authorize without TIKTOK_APP_KEY', () => {
    let secretsManager: LocalSecretsManager;
    let dir: string;
    const fileRun = ['authorize', '--shop', 'acme', '--auth-code', 'AUTHCODE_cli_1'];

    beforeAll(async () => {
      secretsManager = await startLocalSecretsManager();
      dir = await mkdtemp(join(tmpdir(), 'cli-test-'));
    });

    afterAll(async () => {
      await secretsManager.close();
      await rm(dir, { recursive: true, force: true });
    });

    beforeEach(() => {
      secretsManager.reset();
      vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', secretsManager.url);
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    });

    it('names the variables to set for a --token-file run with no AWS set up, calling nothing', async () => {
      // Act
      const code = await main([...fileRun, '--token-file', '/nonexistent/acme.json'], {});

      // Assess
      expect(code).toBe(2);
      expect(stderr.join('\n')).toContain(
        "TIKTOK_APP_KEY and TIKTOK_APP_SECRET are not set: set both to the app's key and secret from TikTok Partner Center (a --token-file run needs no AWS), or, to read them from the secret tiktok-shop/app-credentials in AWS Secrets Manager, set AWS_REGION (or AWS_PROFILE), and APP_CREDENTIALS_SECRET_ID where the secret has another name",
      );
      expect(secretsManager.calls).toEqual([]);
    });

    it.each([
      ['AWS_REGION', { AWS_REGION: 'us-east-1' }],
      ['APP_CREDENTIALS_SECRET_ID', { APP_CREDENTIALS_SECRET_ID: 'team/app-credentials' }],
    ])(
      'reads the app credentials secret for a --token-file run when %s is set',
      async (_name, env) => {
        // Prepare: the SDK reads its region from the process's environment.
        vi.stubEnv('AWS_REGION', 'us-east-1');

        // Act
        const code = await main([...fileRun, '--token-file', join(dir, 'acme.json')], env);

        // Assess: the secret was asked for (and is missing here).
        expect(code).toBe(1);
        expect(secretsManager.calls.map((call) => call.operation)).toContain('GetSecretValue');
      },
    );

    it('says to set AWS_REGION, exiting 2 as for a missing setting, when a run that stores to Secrets Manager finds no region', async () => {
      // Act
      const code = await main(fileRun, {});

      // Assess
      expect(code).toBe(2);
      expect(COMMAND_LIST).toContain('2 usage (a wrong option or a missing setting)');
      expect(stderr.join('\n')).toMatch(
        /Region is missing.*: set AWS_REGION \(or AWS_PROFILE of a profile with a region\) to use AWS, or give --token-file with TIKTOK_APP_KEY and TIKTOK_APP_SECRET to work without it/,
      );
      expect(secretsManager.calls).toEqual([]);
    });
  });
});
