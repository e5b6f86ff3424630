import { execFile } from 'node:child_process';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FUNCTION_BUNDLING } from '../../infra/bundle.js';
import { main } from '../../lambda/commands/refresh.js';
import { ENV } from '../../lambda/shared/contract.js';
import { type LocalTikTok, startLocalTikTok } from '../local/endpoints/tiktok.js';
import { sellerToken } from '../support/seed-shop.js';

const run = promisify(execFile);
const APP_KEY = '6cli1app2key3';
const APP_SECRET = 'APPSECRET_cli_5e4d3c2b1a09f8e7d6c5b4a3';
const HOUR = 3600;
const USAGE =
  'usage: tiktok-shop-token-refresher refresh --token-file <path> [--force] [--dry-run]';
/** Root ignores file permissions: a read-only folder is tested as an unprivileged user then. */
const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/**
 * The commands' binary bundled into a folder every user can read, run as `<binary> refresh …`:
 * the unprivileged user may not be able to enter the checkout (a clone under /root, or in a
 * `mktemp -d` folder, is mode 0700).
 */
async function bundleCommand(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'cli-refresh-command-'));
  await chmod(folder, 0o755);
  const outfile = join(folder, 'refresh.mjs');
  await build({
    ...FUNCTION_BUNDLING,
    entryPoints: [resolve('lambda/commands/cli.ts')],
    outfile,
    target: 'node20',
    minify: false,
    sourcemap: false,
  });
  return outfile;
}

/** The command as a script in its own process, as a user whom the folder's permissions bind. */
function runScript(
  command: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stderr: string; stdout: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [command, 'refresh', ...argv],
      {
        cwd: dirname(command),
        env: { PATH: process.env.PATH, ...env },
        timeout: 20_000,
        ...(AS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
      },
      (error, stdout, stderr) => done({ status: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('Function: main (npm run refresh)', () => {
  let tiktok: LocalTikTok;
  let command: string;
  let dir: string;
  let file: string;
  let env: NodeJS.ProcessEnv;
  let stdout: string[];
  let stderr: string[];

  /** Everything the command printed, one string. */
  const printed = (): string => [...stdout, ...stderr].join('\n');

  /**
   * Writes a token file for a new local seller, its access token expiring in `expiresInSeconds`.
   * Answers the seller's open_id and the file's exact content.
   */
  async function tokenFile(expiresInSeconds: number): Promise<{ openId: string; raw: string }> {
    const { openId, raw } = sellerToken(tiktok, { accessTtlSeconds: expiresInSeconds });
    await writeFile(file, raw, { mode: 0o600 });
    return { openId, raw };
  }

  function expectNoSecretPrinted(): void {
    const output = printed();
    expect(tiktok.issuedSecrets().length).toBeGreaterThan(1);
    for (const secret of tiktok.issuedSecrets()) expect(output).not.toContain(secret);
    expect(output).not.toContain('app_secret=');
  }

  beforeAll(async () => {
    tiktok = await startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET });
    command = await bundleCommand();
  });

  afterAll(async () => {
    await tiktok.close();
    await rm(dirname(command), { recursive: true, force: true });
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-refresh-test-'));
    if (AS_ROOT) await chown(dir, NOBODY, NOBODY);
    file = join(dir, 'shop-a.json');
    env = {
      TIKTOK_APP_KEY: APP_KEY,
      TIKTOK_APP_SECRET: APP_SECRET,
      [ENV.tiktokAuthBaseUrl]: tiktok.url,
      // Nobody else writes these files: a quick look for another writer after a refusal.
      [ENV.refusalRecheckMs]: '15',
    };
    stdout = [];
    stderr = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      stdout.push(args.join(' '));
    });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      stderr.push(args.join(' '));
    });
  });

  afterEach(async () => {
    tiktok.reset();
    await chmod(dir, 0o700);
    await rm(dir, { recursive: true, force: true });
  });

  describe('usage errors', () => {
    it('exits 2 with the usage when --token-file is missing', async () => {
      const code = await main([], env);

      expect(code).toBe(2);
      expect(stderr).toEqual([`--token-file is required\n${USAGE}`]);
      expect(stdout).toEqual([]);
      expect(tiktok.calls).toEqual([]);
    });

    it('names the npm script in the usage when npm runs it as `refresh`', async () => {
      const code = await main([], { ...env, npm_lifecycle_event: 'refresh' });

      expect(code).toBe(2);
      expect(stderr).toEqual([
        '--token-file is required\nusage: npm run refresh -- --token-file <path> [--force] [--dry-run]',
      ]);
    });

    it.each([
      [['--token-file']],
      [['--token-file', 'a.json', '--verbose']],
      [['--token-file', 'a.json', 'extra']],
      [['--force=yes', '--token-file', 'a.json']],
    ])('exits 2 with the usage for %j', async (argv) => {
      const code = await main(argv, env);

      expect(code).toBe(2);
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toMatch(new RegExp(`\\n${USAGE.replace(/[[\]]/g, '\\$&')}$`));
      expect(stdout).toEqual([]);
      expect(tiktok.calls).toEqual([]);
    });
  });

  it.each([
    ['not due', 6 * 24 * HOUR, [], {}, 'TIKTOK_APP_KEY and TIKTOK_APP_SECRET are missing or empty'],
    [
      'in a dry run',
      HOUR,
      ['--dry-run'],
      { TIKTOK_APP_KEY: APP_KEY },
      'TIKTOK_APP_SECRET is missing',
    ],
    [
      'empty',
      HOUR,
      [],
      { TIKTOK_APP_KEY: ' ', TIKTOK_APP_SECRET: APP_SECRET },
      'TIKTOK_APP_KEY is missing',
    ],
  ])(
    'reports missing app credentials at start, whatever the token (%s)',
    async (_, expiresIn, flags, credentials, expected) => {
      // Prepare
      const { raw } = await tokenFile(expiresIn);

      // Act
      const code = await main(['--token-file', file, ...flags], {
        [ENV.tiktokAuthBaseUrl]: tiktok.url,
        ...credentials,
      });

      // Assess
      expect(code).toBe(2);
      expect(stderr).toHaveLength(1);
      expect(stderr[0]).toContain(expected);
      expect(stderr[0]).toContain(USAGE);
      expect(stdout).toEqual([]);
      expect(tiktok.calls).toEqual([]);
      expect(await readFile(file, 'utf8')).toBe(raw);
    },
  );

  it('skips a token that is not due, without a call to TikTok or a write', async () => {
    // Prepare
    const { raw } = await tokenFile(6 * 24 * HOUR);

    // Act
    const code = await main(['--token-file', file], env);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toMatch(
      /^shop-a\.json: skipped \(not-due\); access token expires \d{4}-\d\d-\d\dT[\d:.]+Z$/,
    );
    expect(stderr).toEqual([]);
    expect(tiktok.calls).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe(raw);
    expect(await readdir(dir)).toEqual(['shop-a.json']);
    expectNoSecretPrinted();
  });

  it('refreshes a due token and writes TikTok’s answer to the file', async () => {
    // Prepare
    const { openId, raw } = await tokenFile(HOUR);

    // Act
    const code = await main(['--token-file', file], env);

    // Assess
    expect(code).toBe(0);
    const written = JSON.parse(await readFile(file, 'utf8')) as {
      data: { refresh_token: string; access_token_expire_in: number };
    };
    expect(written.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
    expect(tiktok.isRefreshTokenValid(written.data.refresh_token)).toBe(true);
    expect(await readFile(`${file}.previous`, 'utf8')).toBe(raw);
    expect((await readdir(dir)).sort()).toEqual(['shop-a.json', 'shop-a.json.previous']);
    expect(stdout).toEqual([
      `shop-a.json: refreshed; access token expires ${new Date(written.data.access_token_expire_in * 1000).toISOString()}`,
    ]);
    expect(stderr).toEqual([]);
    expect(tiktok.calls).toMatchObject([{ method: 'GET', status: 200, code: 0 }]);
    expectNoSecretPrinted();
  });

  it('refreshes a token that is not due when forced', async () => {
    const { raw } = await tokenFile(6 * 24 * HOUR);

    const code = await main(['--token-file', file, '--force'], env);

    expect(code).toBe(0);
    expect(stdout[0]).toMatch(/^shop-a\.json: refreshed; /);
    expect(await readFile(file, 'utf8')).not.toBe(raw);
    expect(tiktok.calls).toHaveLength(1);
    expectNoSecretPrinted();
  });

  it('decides but neither calls TikTok nor writes in a dry run', async () => {
    // Prepare
    const { raw } = await tokenFile(HOUR);

    // Act
    const code = await main(['--token-file', file, '--dry-run', '--force'], env);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toMatch(/^shop-a\.json: skipped \(dry-run\); access token expires /);
    expect(tiktok.calls).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe(raw);
    expect(await readdir(dir)).toEqual(['shop-a.json']);
    expectNoSecretPrinted();
  });

  it('reads a token file saved with a byte-order mark and CRLF line ends', async () => {
    // Prepare
    const { openId, raw } = await tokenFile(HOUR);
    await writeFile(
      file,
      `\uFEFF${JSON.stringify(JSON.parse(raw), null, 2).replace(/\n/g, '\r\n')}\r\n`,
    );

    // Act
    const code = await main(['--token-file', file], env);

    // Assess
    expect(code).toBe(0);
    expect(stdout[0]).toMatch(/^shop-a\.json: refreshed; /);
    const written = JSON.parse(await readFile(file, 'utf8')) as { data: { refresh_token: string } };
    expect(written.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
  });

  it('follows a symbolic link: the target gets the new token, the link stays', async () => {
    // Prepare: the token file is a link into another folder
    const vault = join(dir, 'vault');
    await mkdir(vault);
    const target = join(vault, 'acme.json');
    const { openId, raw } = await tokenFile(HOUR);
    await writeFile(target, raw, { mode: 0o600 });
    await rm(file);
    await symlink(target, file);

    // Act
    const code = await main(['--token-file', file], env);

    // Assess
    expect(code).toBe(0);
    expect((await lstat(file)).isSymbolicLink()).toBe(true);
    expect(await readlink(file)).toBe(target);
    const written = JSON.parse(await readFile(target, 'utf8')) as {
      data: { refresh_token: string };
    };
    expect(written.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
    expect(await readFile(`${target}.previous`, 'utf8')).toBe(raw);
    expect((await readdir(vault)).sort()).toEqual(['acme.json', 'acme.json.previous']);
  });

  it('refuses a folder it cannot write to before calling TikTok, keeping the token', async () => {
    // Prepare: a due token in a read-only folder
    const { raw } = await tokenFile(HOUR);
    if (AS_ROOT) await chown(file, NOBODY, NOBODY);
    await chmod(dir, 0o500);

    // Act
    const run = await runScript(command, ['--token-file', file], {
      TIKTOK_APP_KEY: APP_KEY,
      TIKTOK_APP_SECRET: APP_SECRET,
      [ENV.tiktokAuthBaseUrl]: tiktok.url,
    });

    // Assess
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        `^shop-a\\.json: failed: SecretStoreError: token file ${file} cannot be written \\(EACCES`,
      ),
    );
    expect(tiktok.calls).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe(raw);
    expect(await readdir(dir)).toEqual(['shop-a.json']);
  });

  it('keeps TikTok’s answer in an owner-only recovery file when the folder turns read-only meanwhile', async () => {
    // Prepare: TikTok answers late; the folder loses its write permission while it does
    const { openId, raw } = await tokenFile(HOUR);
    if (AS_ROOT) await chown(file, NOBODY, NOBODY);
    tiktok.failNext(1, { delayMs: 400 });

    // Act
    const running = runScript(command, ['--token-file', file], {
      TIKTOK_APP_KEY: APP_KEY,
      TIKTOK_APP_SECRET: APP_SECRET,
      [ENV.tiktokAuthBaseUrl]: tiktok.url,
    });
    await vi.waitFor(() => expect(tiktok.calls).toHaveLength(1), { timeout: 15_000, interval: 20 });
    await chmod(dir, 0o500);
    const run = await running;

    // Assess: non-zero exit, the path and the OS error printed
    expect(run.status).toBe(1);
    const recovery = (await readdir(dir)).find((name) => name.includes('.recovery-')) ?? '';
    expect(recovery).not.toBe('');
    expect(run.stdout).toContain(
      `TokenNotStoredError: TikTok issued a new token that could not be stored: token file ${file} could not be written (`,
    );
    expect(run.stdout).toContain('EACCES');
    expect(run.stdout).toContain(`TikTok's answer is kept in ${join(dir, recovery)} (owner-only)`);
    // Assess: the rotated token is in the recovery file, the old one still in the token file
    const kept = JSON.parse(await readFile(join(dir, recovery), 'utf8')) as {
      data: { refresh_token: string };
    };
    expect(kept.data.refresh_token).toBe(tiktok.refreshTokenOf(openId));
    expect(tiktok.isRefreshTokenValid(kept.data.refresh_token)).toBe(true);
    expect((await stat(join(dir, recovery))).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(raw);
    for (const secret of tiktok.issuedSecrets()) {
      expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
    }
  });

  it('exits 1 and keeps the file when TikTok refuses the refresh token', async () => {
    // Prepare
    const { openId, raw } = await tokenFile(HOUR);
    tiktok.revoke(openId);

    // Act
    const code = await main(['--token-file', file], env);

    // Assess
    expect(code).toBe(1);
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toMatch(
      /^shop-a\.json: failed: ReauthorizationRequiredError: seller must authorize again: .*36004005.*; access token expires /,
    );
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^error: shop failed \{.*"errorType":"ReauthorizationRequiredError"/);
    expect(await readFile(file, 'utf8')).toBe(raw);
    expect(await readdir(dir)).toEqual(['shop-a.json']);
    expectNoSecretPrinted();
  });

  it('prints TikTok’s message on stderr without terminal controls or bidirectional overrides', async () => {
    // Prepare: a refusal whose message reorders the line and clears the screen
    await tokenFile(HOUR);
    tiktok.failNext(1, {
      code: 36004005,
      message: 'no auth \u202eDETCENNOC\u202c \u009b2J\u009b1;1H\u001b[31m done',
    });

    // Act
    const code = await main(['--token-file', file, '--force'], env);

    // Assess
    expect(code).toBe(1);
    expect(stderr.length).toBeGreaterThan(0);
    for (const raw of ['\u202e', '\u202c', '\u009b', '\u001b'])
      expect(printed()).not.toContain(raw);
    expect(stderr.join('\n')).toContain('\\u{202e}DETCENNOC\\u{202c} \\u{9b}2J');
  });

  it('exits 1 when the token file does not exist', async () => {
    const code = await main(['--token-file', join(dir, 'missing.json')], env);

    expect(code).toBe(1);
    expect(stdout).toEqual([
      `missing.json: failed: SecretStoreError: token file ${join(dir, 'missing.json')} does not exist`,
    ]);
    expect(tiktok.calls).toEqual([]);
  });

  it.each([
    ['a FIFO', 'a FIFO', async (path: string) => void (await run('mkfifo', [path]))],
    ['/dev/zero, through a link', 'a device', async (path: string) => symlink('/dev/zero', path)],
  ])('refuses %s as token file at once, without calling TikTok', async (_, kind, make) => {
    // Prepare
    await make(file);
    const started = Date.now();

    // Act
    const code = await main(['--token-file', file], env);

    // Assess
    expect(code).toBe(1);
    expect(stdout[0]).toContain(
      `SecretStoreError: token file ${file} is not a regular file (${kind})`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(tiktok.calls).toEqual([]);
  });

  it('refuses a token file larger than a secret holds before calling TikTok, reading none of it', async () => {
    // Prepare: 150 MB, sparse
    await writeFile(file, '');
    await truncate(file, 150 * 1024 * 1024);

    // Act
    const code = await main(['--token-file', file], env);

    // Assess
    expect(code).toBe(1);
    expect(stdout[0]).toContain(
      `token file ${file} holds 157286400 bytes, more than the 65536 a token file may`,
    );
    expect(tiktok.calls).toEqual([]);
    expect(await readdir(dir)).toEqual(['shop-a.json']);
  });

  it('exits 1 without calling TikTok when the file does not hold a token', async () => {
    // Prepare: a file that looks like a token but has its expiry as a duration
    await writeFile(
      file,
      JSON.stringify({
        code: 0,
        data: {
          access_token: 'TTS_AT_file_only',
          access_token_expire_in: 604_800,
          refresh_token: 'TTS_RT_file_only',
          refresh_token_expire_in: 4_841_467_787,
        },
      }),
    );

    // Act
    const code = await main(['--token-file', file], env);

    // Assess
    expect(code).toBe(1);
    expect(stdout[0]).toContain('shop-a.json: failed: MalformedSecretError: ');
    expect(stdout[0]).toContain('data.access_token_expire_in');
    expect(printed()).not.toContain('TTS_AT_file_only');
    expect(printed()).not.toContain('TTS_RT_file_only');
    expect(tiktok.calls).toEqual([]);
  });

  it('refuses an http TikTok URL that is not loopback, before sending the app secret', async () => {
    // Prepare: nothing may leave the machine; record only where it would have gone
    await tokenFile(HOUR);
    const contacted: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      contacted.push(new URL(String(input)).origin);
      return new Response('{"code":36004005,"message":"no"}');
    });

    // Act
    const code = await main(['--token-file', file], {
      ...env,
      [ENV.tiktokAuthBaseUrl]: 'http://auth.tiktok-shops.example.com',
    });

    // Assess
    expect(contacted).toEqual([]);
    expect(code).not.toBe(0);
    expect(printed()).toContain(ENV.tiktokAuthBaseUrl);
  });

  it('refuses a TikTok URL carrying credentials without printing them', async () => {
    await tokenFile(HOUR);

    const code = await main(['--token-file', file], {
      ...env,
      [ENV.tiktokAuthBaseUrl]: 'https://ops:P4ss_in_url@auth.tiktok-shops.com/?sig=S1g_in_url',
    });

    expect(code).toBe(2);
    expect(printed()).toContain('must not contain credentials, a query string or a fragment');
    expect(printed()).not.toContain('P4ss_in_url');
    expect(printed()).not.toContain('S1g_in_url');
    expect(tiktok.calls).toEqual([]);
  });

  it.each(['-1', '60001', 'soon'])(
    'exits 2 before any call when REFUSAL_RECHECK_MS is %j',
    async (recheckMs) => {
      // Prepare
      const { raw } = await tokenFile(HOUR);

      // Act
      const code = await main(['--token-file', file], {
        ...env,
        [ENV.refusalRecheckMs]: recheckMs,
      });

      // Assess
      expect(code).toBe(2);
      expect(stderr).toEqual([
        `${ENV.refusalRecheckMs} must be a whole number from 0 to 60000\n${USAGE}`,
      ]);
      expect(tiktok.calls).toEqual([]);
      expect(await readFile(file, 'utf8')).toBe(raw);
    },
  );

  it('sets the process exit code when run as a script', async () => {
    // Act
    const [usage, missing] = await Promise.all([
      runScript(command, [], {}),
      runScript(command, ['--token-file', join(dir, 'missing.json')], {
        TIKTOK_APP_KEY: APP_KEY,
        TIKTOK_APP_SECRET: APP_SECRET,
      }),
    ]);

    // Assess
    expect(usage).toMatchObject({ status: 2, stdout: '' });
    expect(usage.stderr).toContain(USAGE);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe(
      `missing.json: failed: SecretStoreError: token file ${join(dir, 'missing.json')} does not exist\n`,
    );
  });
});
