import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildJsiiAssembly } from '../../infra/build-jsii.js';
import { buildLibrary } from '../../infra/bundle.js';
import { bundleCommands } from '../../infra/bundle-commands.js';
import { FUNCTION_ENTRIES } from '../../infra/function-assets.js';
import { SHOP_TOKEN_SECRET_ID } from '../../lambda/shared/contract.js';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import { type LocalTikTok, startLocalTikTok } from '../local/endpoints/tiktok.js';
import { sellerToken } from '../support/seed-shop.js';

/**
 * The package as a user gets it: packed, installed into a scratch CDK app in a temporary folder
 * (npm's cache first, the npm registry only), typechecked under `cdk init`'s default tsconfig and
 * under `module: commonjs`, synthesized offline, and read from a Lambda that the app's own
 * esbuild bundles, its binary run; then the same from a git dependency, which builds itself in
 * `prepare`.
 */

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = 'tiktok-shop-token-refresher';
const SHOP_SECRET = 'tiktok-shop/tokens/shop-a';
const STACK = 'ShopApp';
/** The longest steps: installing the git dependency (its devDependencies and build) and tsc. */
const SETUP_TIMEOUT = 300_000;
const STEP_TIMEOUT = 120_000;

const exec = promisify(execFile);
const lock = JSON.parse(await readFile(join(REPOSITORY, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version: string }>;
};
/** The version this repository's lock file pins, so the scratch app installs from the cache. */
const pinned = (name: string): string => {
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`${name} is not in package-lock.json`);
  return version;
};

/**
 * The environment of every command: without what `npm test` adds about this package (its local
 * prefix would point a scratch app's npm at this repository), and without AWS or CDK variables
 * (no credentials, no account). The user's npm configuration stays.
 */
const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) =>
      !/^(npm_package_|npm_lifecycle_|npm_config_local_prefix$|npm_command$|INIT_CWD$|AWS_|CDK_)/i.test(
        name,
      ),
  ),
);

async function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = ENV,
): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { cwd, env, maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${cwd}:\n${`${stdout}\n${stderr}`.slice(-6000)}`,
    );
  }
}

const INSTALL_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];

/** `cdk init`'s app tsconfig as the pinned CLI writes it (NodeNext), minus its jest types. */
async function cdkInitTsconfig(): Promise<string> {
  const template = join(
    REPOSITORY,
    'node_modules/aws-cdk/lib/init-templates/app/typescript/tsconfig.json',
  );
  const tsconfig = JSON.parse(await readFile(template, 'utf8')) as {
    compilerOptions: Record<string, unknown>;
  };
  expect(tsconfig.compilerOptions.module).toBe('NodeNext');
  tsconfig.compilerOptions.types = ['node'];
  return JSON.stringify(tsconfig, null, 2);
}

/** A CommonJS app as older `cdk init` templates made it: node10 resolution, no skipLibCheck. */
const COMMONJS_TSCONFIG = JSON.stringify({
  compilerOptions: {
    target: 'ES2020',
    module: 'commonjs',
    lib: ['es2020', 'dom'],
    declaration: true,
    strict: true,
    noImplicitReturns: true,
    inlineSourceMap: true,
    experimentalDecorators: true,
    strictPropertyInitialization: false,
    typeRoots: ['./node_modules/@types'],
    outDir: 'build',
  },
  exclude: ['node_modules', 'cdk.out', 'build'],
});

/** The user's CDK app: ten lines of the README. The outdir comes from the command line. */
const APP_TS = `import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { TikTokShopTokenRefresher } from '${PACKAGE}';

// CloudFormation's schema validation adds seconds and is covered by the repository's own synth.
const app = new App({ outdir: process.argv[2], builtinCloudFormationValidation: false });
const stack = new Stack(app, '${STACK}');
const refresher = new TikTokShopTokenRefresher(stack, 'Refresher', { shops: ['shop-a'] });
const orders = new NodejsFunction(stack, 'Orders', {
  entry: 'lambda/orders.ts',
  runtime: lambda.Runtime.NODEJS_24_X,
  environment: { ${SHOP_TOKEN_SECRET_ID}: refresher.tokenSecretName('shop-a') },
});
refresher.grantReadToken(orders, 'shop-a');
app.synth();
`;

/** The user's Lambda: reads the shop's token through the package's reader. */
const ORDERS_TS = `import { getShopToken } from '${PACKAGE}/reader';

export async function handler(): Promise<{ expiresAt: string }> {
  const token = await getShopToken(process.env.${SHOP_TOKEN_SECRET_ID} ?? '');
  return { expiresAt: token.accessTokenExpiresAt.toISOString() };
}
`;

/** The same construct from an ES module app (the package's ESM build). */
const APP_MJS = `import { App, Stack } from 'aws-cdk-lib';
import { TikTokShopTokenRefresher } from '${PACKAGE}';
import { getShopToken } from '${PACKAGE}/reader';

if (typeof getShopToken !== 'function') throw new Error('the reader has no getShopToken');
const app = new App({ outdir: process.argv[2], builtinCloudFormationValidation: false });
new TikTokShopTokenRefresher(new Stack(app, '${STACK}'), 'Refresher', { shops: ['shop-a'] });
app.synth();
`;

interface ScratchApp {
  readonly dir: string;
  /** Where the package landed: node_modules/tiktok-shop-token-refresher. */
  readonly installed: string;
}

/** A CDK app folder depending on the package at `spec` (a tarball path or a git URL). */
async function createApp(dir: string, spec: string): Promise<ScratchApp> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'lambda'), { recursive: true });
  const manifest = {
    name: 'scratch-cdk-app',
    version: '0.0.0',
    private: true,
    dependencies: {
      'aws-cdk-lib': pinned('aws-cdk-lib'),
      constructs: pinned('constructs'),
      [PACKAGE]: spec,
    },
    devDependencies: {
      '@types/aws-lambda': pinned('@types/aws-lambda'),
      '@types/node': pinned('@types/node'),
      esbuild: pinned('esbuild'),
      typescript: pinned('typescript'),
    },
    // npm 12 runs only the install scripts an app allows: esbuild's, and the package's prepare.
    allowScripts: { esbuild: true, [PACKAGE]: true },
  };
  await Promise.all([
    writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2)),
    writeFile(join(dir, 'tsconfig.json'), await cdkInitTsconfig()),
    writeFile(join(dir, 'tsconfig.commonjs.json'), COMMONJS_TSCONFIG),
    writeFile(join(dir, 'bin/app.ts'), APP_TS),
    writeFile(join(dir, 'bin/esm-app.mjs'), APP_MJS),
    writeFile(join(dir, 'lambda/orders.ts'), ORDERS_TS),
  ]);
  await run('npm', ['install', ...INSTALL_FLAGS], dir);
  return { dir, installed: join(dir, 'node_modules', PACKAGE) };
}

/** Runs `build` once, on first use, and hands every later caller the same result. */
function once<T>(build: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= build();
    return result;
  };
}

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

interface Synthesized {
  readonly outdir: string;
  readonly resources: Record<string, Resource>;
  /** The folder of a function's staged asset, found by its logical id's prefix. */
  assetOf(functionPrefix: string): Promise<string>;
}

async function synthesized(outdir: string): Promise<Synthesized> {
  const template = JSON.parse(await readFile(join(outdir, `${STACK}.template.json`), 'utf8')) as {
    Resources: Record<string, Resource>;
  };
  const manifest = JSON.parse(await readFile(join(outdir, `${STACK}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string } }>;
  };
  return {
    outdir,
    resources: template.Resources,
    async assetOf(functionPrefix) {
      const fn = functionResource(template.Resources, functionPrefix);
      const key = (fn.Properties?.Code as { S3Key?: string } | undefined)?.S3Key ?? '';
      const asset = manifest.files[key.replace(/\.zip$/, '')];
      if (asset === undefined) throw new Error(`no staged asset for ${functionPrefix}`);
      return join(outdir, asset.source.path);
    },
  };
}

function functionResource(resources: Record<string, Resource>, prefix: string): Resource {
  const found = Object.entries(resources).filter(
    ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id.startsWith(prefix),
  );
  expect(found).toHaveLength(1);
  return (found[0] as [string, Resource])[1];
}

/**
 * What every synthesis must show: the refresher deploys the package's pre-built bundle, byte for
 * byte, on Node.js 24 arm64; the user's function got the read grant on the shop's secret.
 */
async function expectRefresherAndGrant(synth: Synthesized, app: ScratchApp): Promise<void> {
  const refresher = functionResource(synth.resources, 'Refresher');
  expect(refresher.Properties).toMatchObject({
    Runtime: 'nodejs24.x',
    Architectures: ['arm64'],
    Handler: 'index.handler',
  });
  const deployed = await readFile(join(await synth.assetOf('Refresher'), 'index.mjs'));
  const shipped = await readFile(join(app.installed, 'assets/refresher/index.mjs'));
  // A boolean: a failed comparison would print both bundles.
  expect(deployed.equals(shipped)).toBe(true);

  const policies = Object.values(synth.resources).filter(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' &&
      JSON.stringify(resource.Properties?.Roles).includes('OrdersServiceRole'),
  );
  const statements = policies.flatMap(
    (policy) =>
      ((policy.Properties?.PolicyDocument ?? {}) as { Statement?: { Action: string | string[] }[] })
        .Statement ?? [],
  );
  const actions = statements.flatMap((statement) => statement.Action);
  expect(actions).toContain('secretsmanager:GetSecretValue');
}

let secretsManager: LocalSecretsManager;
const accessTokenExpiresAt = Math.floor(Date.now() / 1000) + 5 * 24 * 3600;

/** Runs the user's Lambda module (a bundle or a compiled file) in a fresh Node process. */
async function invokeOrders(
  modulePath: string,
  synth: Synthesized,
): Promise<{ expiresAt: string }> {
  const orders = functionResource(synth.resources, 'Orders');
  const { Variables: environment = {} } = (orders.Properties?.Environment ?? {}) as {
    Variables?: Record<string, string>;
  };
  const script =
    'require(process.argv[1]).handler().then((result) => process.stdout.write(JSON.stringify(result)))';
  const stdout = await run(process.execPath, ['-e', script, modulePath], dirname(modulePath), {
    ...ENV,
    ...environment,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  return JSON.parse(stdout) as { expiresAt: string };
}

const expectedExpiry = () => new Date(accessTokenExpiresAt * 1000).toISOString();

/** Every file of a folder, relative to it, sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The strings at the leaves of a JSON value: the paths of `exports` and `typesVersions`. */
function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(leaves);
}

let workDir: string | undefined;
let packed: { filename: string; size: number; files: string[] };
let packedApp: ScratchApp;
let gitApp: Promise<ScratchApp>;

beforeAll(async () => {
  // Prepare: the git dependency takes longest (npm installs its devDependencies and runs
  // prepare), so it starts first and installs while the tarball is tested.
  const work = await mkdtemp(join(tmpdir(), 'package-test-'));
  workDir = work;
  const clone = join(work, 'clone');
  gitApp = run('git', ['clone', '--quiet', REPOSITORY, clone], work).then(() =>
    createApp(join(work, 'git-app'), `git+file://${clone}`),
  );
  // Awaited by the git tests; until then a failure must not count as unhandled.
  gitApp.catch(() => undefined);

  secretsManager = await startLocalSecretsManager();
  secretsManager.seed(
    SHOP_SECRET,
    JSON.stringify({
      code: 0,
      message: 'success',
      data: {
        access_token: 'ROW_package_test_access_token',
        access_token_expire_in: accessTokenExpiresAt,
        refresh_token: 'ROW_package_test_refresh_token',
        refresh_token_expire_in: accessTokenExpiresAt + 300 * 24 * 3600,
        seller_name: 'Shop A',
      },
      request_id: 'package-test',
    }),
  );

  // The function bundles are this run's (vitest's globalSetup); the library and the jsii
  // assembly are built here. --ignore-scripts: prepare would rebuild the bundles other test
  // files are reading.
  await Promise.all([buildLibrary().then(bundleCommands), buildJsiiAssembly()]);
  const [result] = JSON.parse(
    await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
      REPOSITORY,
    ),
  ) as { filename: string; size: number; files: { path: string }[] }[];
  if (result === undefined) throw new Error('npm pack reported no tarball');
  packed = { ...result, files: result.files.map((file) => file.path).sort() };
  packedApp = await createApp(join(work, 'packed-app'), `file:${join(work, result.filename)}`);
}, SETUP_TIMEOUT);

afterAll(async () => {
  await secretsManager?.close();
  await gitApp?.catch(() => undefined);
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
}, STEP_TIMEOUT);

describe('npm pack', () => {
  it('holds the compiled library, its declarations, the function bundles and the jsii assembly, and nothing else', () => {
    // Assess
    const unexpected = packed.files.filter(
      (path) =>
        !/^(package\.json|README\.md|LICENSE|\.jsii|API\.md|dist\/(index|reader)\.c?js|dist\/cli\.js|dist\/types\/(esm|cjs)\/.+\.d\.ts|dist\/types\/cjs\/package\.json|assets\/[a-z-]+\/index\.mjs(\.map)?)$/.test(
          path,
        ),
    );
    expect(unexpected).toEqual([]);
    for (const name of Object.keys(FUNCTION_ENTRIES)) {
      expect(packed.files).toContain(`assets/${name}/index.mjs`);
    }
    expect(packed.files).toEqual(
      expect.arrayContaining(['README.md', 'LICENSE', '.jsii', 'API.md']),
    );
    // The function bundles and their maps are most of it (each carries the Secrets Manager and
    // DynamoDB clients), then the commands' binary; a stray folder would show here.
    expect(packed.size).toBeLessThan(1_800_000);
  });

  it('holds every file that package.json points at', async () => {
    // Prepare
    const manifest = JSON.parse(await readFile(join(REPOSITORY, 'package.json'), 'utf8'));
    const targets = [
      manifest.main,
      manifest.types,
      manifest.typesVersions,
      manifest.exports,
      manifest.bin,
    ]
      .flatMap(leaves)
      .map((path) => path.replace(/^\.\//, ''));

    // Assess
    expect(targets.filter((path) => !packed.files.includes(path))).toEqual([]);
  });
});

describe('installed from the tarball into a CDK app', () => {
  const nodeNext = once(async () => {
    await run(join(packedApp.dir, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], packedApp.dir);
    // As `cdk init`'s app runs: tsx, CommonJS (the app's package.json has no "type").
    const outdir = join(packedApp.dir, 'cdk.out.nodenext');
    await run(join(REPOSITORY, 'node_modules/.bin/tsx'), ['bin/app.ts', outdir], packedApp.dir);
    return synthesized(outdir);
  });
  const commonjs = once(async () => {
    await run(
      join(packedApp.dir, 'node_modules/.bin/tsc'),
      ['-p', 'tsconfig.commonjs.json'],
      packedApp.dir,
    );
    const outdir = join(packedApp.dir, 'cdk.out.commonjs');
    await run(process.execPath, ['build/bin/app.js', outdir], packedApp.dir);
    return synthesized(outdir);
  });

  it(
    "typechecks and synthesizes under cdk init's default tsconfig (NodeNext)",
    async () => {
      // Act
      const synth = await nodeNext();

      // Assess
      await expectRefresherAndGrant(synth, packedApp);
      const deployed = await readFile(join(await synth.assetOf('Refresher'), 'index.mjs'));
      const built = await readFile(join(REPOSITORY, 'assets/refresher/index.mjs'));
      expect(deployed.equals(built)).toBe(true);
    },
    STEP_TIMEOUT,
  );

  it(
    'typechecks, compiles and synthesizes under module: commonjs',
    async () => {
      // Act
      const synth = await commonjs();

      // Assess
      await expectRefresherAndGrant(synth, packedApp);
    },
    STEP_TIMEOUT,
  );

  it(
    'synthesizes from an ES module app',
    async () => {
      // Act
      const outdir = join(packedApp.dir, 'cdk.out.esm');
      await run(process.execPath, ['bin/esm-app.mjs', outdir], packedApp.dir);

      // Assess
      const synth = await synthesized(outdir);
      const deployed = await readFile(join(await synth.assetOf('Refresher'), 'index.mjs'));
      const shipped = await readFile(join(packedApp.installed, 'assets/refresher/index.mjs'));
      expect(deployed.equals(shipped)).toBe(true);
    },
    STEP_TIMEOUT,
  );

  it(
    "reads the shop's token from a Lambda bundled by the app's own esbuild",
    async () => {
      // Act
      const synth = await nodeNext();
      const result = await invokeOrders(join(await synth.assetOf('Orders'), 'index.js'), synth);

      // Assess
      expect(result).toEqual({ expiresAt: expectedExpiry() });
    },
    STEP_TIMEOUT,
  );

  it(
    "reads the shop's token from a Lambda compiled to CommonJS by tsc, unbundled",
    async () => {
      // Act
      const synth = await commonjs();
      const result = await invokeOrders(join(packedApp.dir, 'build/lambda/orders.js'), synth);

      // Assess
      expect(result).toEqual({ expiresAt: expectedExpiry() });
    },
    STEP_TIMEOUT,
  );
});

describe('the binary installed from the tarball', () => {
  const APP_KEY = 'package-test-app-key';
  const APP_SECRET = 'APPSECRET_package_test_0a1b2c3d4e5f';
  let tiktok: LocalTikTok;

  /**
   * `npx tiktok-shop-token-refresher …` in the scratch app, as the README says to run it; `--no`:
   * never from the registry, and `--` so that npx leaves `--help` to the binary.
   */
  const binary = (args: readonly string[], env: NodeJS.ProcessEnv = ENV) =>
    run('npx', ['--no', '--', PACKAGE, ...args], packedApp.dir, env);

  beforeAll(async () => {
    tiktok = await startLocalTikTok({ appKey: APP_KEY, appSecret: APP_SECRET });
  });

  afterAll(async () => {
    await tiktok?.close();
  });

  it(
    'lists its commands and answers --help for each',
    async () => {
      // Act
      const [list, authorize, refresh] = await Promise.all([
        binary(['--help']),
        binary(['authorize', '--help']),
        binary(['refresh', '--help']),
      ]);

      // Assess
      expect(list).toMatch(/^usage: tiktok-shop-token-refresher <command> \[options\]/);
      expect(list).toMatch(/^ {2}authorize {3}/m);
      expect(list).toMatch(/^ {2}refresh {5}/m);
      expect(authorize).toContain('tiktok-shop-token-refresher authorize --shop <name>');
      expect(refresh).toContain('tiktok-shop-token-refresher refresh --token-file <path>');
    },
    STEP_TIMEOUT,
  );

  it(
    'refreshes a token file against the local TikTok, with no AWS',
    async () => {
      // Prepare: a token whose access token expires within the refresh window.
      const file = join(packedApp.dir, 'shop-a.json');
      const seeded = sellerToken(tiktok, { accessTtlSeconds: 3600 });
      await writeFile(file, seeded.raw, { mode: 0o600 });

      // Act: ENV holds no AWS variable.
      const output = await binary(['refresh', '--token-file', file], {
        ...ENV,
        TIKTOK_APP_KEY: APP_KEY,
        TIKTOK_APP_SECRET: APP_SECRET,
        TIKTOK_AUTH_BASE_URL: tiktok.url,
      });

      // Assess
      expect(output).toMatch(/^shop-a\.json: refreshed; access token expires /);
      const stored = JSON.parse(await readFile(file, 'utf8')) as {
        data: { refresh_token: string };
      };
      expect(stored.data.refresh_token).not.toBe(seeded.refreshToken);
      expect(tiktok.issuedSecrets()).toContain(stored.data.refresh_token);
    },
    STEP_TIMEOUT,
  );
});

/**
 * The constructs with cdk-nag's AwsSolutions pack as a plugin, as infra/app.ts runs it: an
 * unacknowledged finding fails the synth. Prints the newest Node.js runtime aws-cdk-lib knows.
 */
const NAG_APP_MJS = `import { App, Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  TikTokShopConsentCallback,
  TikTokShopExampleReader,
  TikTokShopTokenRefresher,
} from '${PACKAGE}';

const app = new App({ outdir: process.argv[2], builtinCloudFormationValidation: false });
const stack = new Stack(app, '${STACK}');
const refresher = new TikTokShopTokenRefresher(stack, 'Refresher', {
  shops: ['shop-a'],
  discoverTokenSecretsByTag: true,
});
new TikTokShopExampleReader(stack, 'ExampleReader', { refresher, shop: 'shop-a' });
new TikTokShopConsentCallback(stack, 'ConsentCallback', { refresher });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
const majors = lambda.Runtime.ALL.map((r) => /^nodejs(\\d+)\\.x$/.exec(r.name)?.[1]).filter(Boolean);
console.log(JSON.stringify({ newestNode: Math.max(...majors.map(Number)) }));
`;

describe('installed with the newest aws-cdk-lib the registry serves', () => {
  it(
    'passes the AwsSolutions pack: no finding from the constructs is left for the user',
    async () => {
      // Prepare: the tarball beside the newest aws-cdk-lib, in an app of its own.
      const dir = join(workDir ?? tmpdir(), 'newest-cdk-app');
      const newest = (await run('npm', ['view', 'aws-cdk-lib', 'version'], REPOSITORY)).trim();
      await mkdir(dir, { recursive: true });
      const manifest = {
        name: 'newest-cdk-app',
        version: '0.0.0',
        private: true,
        type: 'module',
        dependencies: {
          'aws-cdk-lib': newest,
          constructs: pinned('constructs'),
          'cdk-nag': pinned('cdk-nag'),
          [PACKAGE]: `file:${join(workDir ?? '', packed.filename)}`,
        },
      };
      await writeFile(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
      await writeFile(join(dir, 'app.mjs'), NAG_APP_MJS);
      await run('npm', ['install', ...INSTALL_FLAGS], dir);

      // Act: throws with cdk-nag's report on any unacknowledged finding.
      const output = await run(process.execPath, ['app.mjs', join(dir, 'cdk.out')], dir);

      // Assess
      const { newestNode } = JSON.parse(output.trim().split('\n').at(-1) ?? '{}');
      expect(newestNode).toBeGreaterThanOrEqual(24);
      const synth = await synthesized(join(dir, 'cdk.out'));
      const runtimes = Object.values(synth.resources)
        .filter((resource) => resource.Type === 'AWS::Lambda::Function')
        .map((resource) => resource.Properties?.Runtime);
      expect(runtimes).toEqual(['nodejs24.x', 'nodejs24.x', 'nodejs24.x']);
    },
    SETUP_TIMEOUT,
  );
});

describe('installed from a git URL into a CDK app', () => {
  // No typecheck here: the declarations are the tarball's files (the first test), built by the
  // same recipe, and typechecking them again would add a CPU-bound step to the longest test.
  const synthesize = once(async () => {
    const app = await gitApp;
    const outdir = join(app.dir, 'cdk.out');
    await run(join(REPOSITORY, 'node_modules/.bin/tsx'), ['bin/app.ts', outdir], app.dir);
    return synthesized(outdir);
  });

  it(
    'builds the same files as the tarball holds (prepare ran)',
    async () => {
      // Act
      const app = await gitApp;

      // Assess
      expect(await listFiles(app.installed)).toEqual(await listFiles(packedApp.installed));
    },
    SETUP_TIMEOUT,
  );

  it(
    'synthesizes with the refresher on the bundle that prepare built',
    async () => {
      // Act
      const synth = await synthesize();

      // Assess
      await expectRefresherAndGrant(synth, await gitApp);
    },
    SETUP_TIMEOUT,
  );

  it(
    "reads the shop's token from a Lambda bundled by the app's own esbuild",
    async () => {
      // Act
      const synth = await synthesize();
      const result = await invokeOrders(join(await synth.assetOf('Orders'), 'index.js'), synth);

      // Assess
      expect(result).toEqual({ expiresAt: expectedExpiry() });
    },
    SETUP_TIMEOUT,
  );
});
