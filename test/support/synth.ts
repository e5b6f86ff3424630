import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, parse } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { TikTokShopBinding } from '../../infra/refresher-props.js';
import {
  STACK_NAME,
  TikTokShopTokenRefresherStack,
  type TikTokShopTokenRefresherStackProps,
} from '../../infra/stack.js';

export interface SynthesizeOptions {
  /**
   * Shops the stack creates token secrets for; `{ name, app }` binds one to another of `apps`.
   * @default ['shop-a', 'shop-b']
   */
  readonly shops?: readonly (string | TikTokShopBinding)[];
  /** The apps besides `default`. @default - the app `default` only */
  readonly apps?: TikTokShopTokenRefresherStackProps['apps'];
  /** @default false */
  readonly discoverByTag?: boolean;
  /** @default - none */
  readonly alarmEmail?: string;
  /** Deploy the webhook receiver too. @default false */
  readonly webhooks?: boolean;
}

/** The refresher function as the synthesized stack deploys it. */
export interface SynthesizedRefresher {
  readonly stack: TikTokShopTokenRefresherStack;
  readonly template: Template;
  /** The cloud assembly directory (temporary: removed at exit, or by a later process). */
  readonly outdir: string;
  /** The function's bundled asset directory. */
  readonly bundleDir: string;
  /** Absolute path of the bundled handler module (index.mjs). */
  readonly handlerPath: string;
  readonly handlerExport: string;
  /** The function's environment exactly as the template sets it; every value a literal. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
}

const cache = new Map<string, SynthesizedRefresher>();
let processDir: string | undefined;

/**
 * Synthesizes the product stack in-process (bundling the function with esbuild) and describes
 * its function. The one build recipe for infra tests, integration tests, the demo and the
 * benchmark: what they run is what `cdk deploy` uploads. Memoized per options for the process.
 */
export function synthesizeRefresher(options: SynthesizeOptions = {}): SynthesizedRefresher {
  const key = JSON.stringify(options);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;

  processDir ??= claimProcessDir();
  const outdir = mkdtempSync(join(processDir, 'out-'));
  // The CLI and `npm run synth` run CloudFormation's schema validation; repeating it here would
  // add seconds to every test process.
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new TikTokShopTokenRefresherStack(app, STACK_NAME, {
    shops: [...(options.shops ?? ['shop-a', 'shop-b'])],
    discoverByTag: options.discoverByTag,
    alarmEmail: options.alarmEmail,
    ...(options.webhooks === undefined ? {} : { webhooks: options.webhooks }),
    ...(options.apps === undefined ? {} : { apps: options.apps }),
  });
  const assembly = app.synth();
  const template = Template.fromJSON(assembly.getStackByName(STACK_NAME).template);

  const logicalId = stack.getLogicalId(stack.refresher.function.node.defaultChild as CfnFunction);
  const properties = template.toJSON().Resources?.[logicalId]?.Properties;
  if (properties === undefined) throw new Error(`function ${logicalId} not in the template`);

  const bundleDir = join(outdir, assetPath(outdir, properties.Code?.S3Key));
  const [handlerFile, handlerExport] = splitHandler(properties.Handler);
  const bundleFile = readdirSync(bundleDir).find((file) => {
    const { name, ext } = parse(file);
    return name === handlerFile && ['.mjs', '.js', '.cjs'].includes(ext);
  });
  if (bundleFile === undefined) throw new Error(`no ${handlerFile}.* module in ${bundleDir}`);

  const result: SynthesizedRefresher = {
    stack,
    template,
    outdir,
    bundleDir,
    handlerPath: join(bundleDir, bundleFile),
    handlerExport,
    environment: literalEnvironment(properties.Environment?.Variables ?? {}),
    timeoutSeconds: Number(properties.Timeout),
  };
  cache.set(key, result);
  return result;
}

/**
 * A directory for this process's cloud assemblies, removed at exit. Test runners end workers
 * with a signal, which skips exit handlers, so each new process also removes the directories of
 * processes that no longer run.
 */
function claimProcessDir(): string {
  const root = join(tmpdir(), 'tiktok-refresher-synth');
  mkdirSync(root, { recursive: true });
  for (const entry of readdirSync(root)) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && !isRunning(pid)) {
      rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
  const dir = join(root, String(process.pid));
  mkdirSync(dir, { recursive: true });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The staged directory of the asset the function code points at (S3Key `<hash>.zip`). */
function assetPath(outdir: string, s3Key: unknown): string {
  if (typeof s3Key !== 'string') throw new Error(`function code key is not literal: ${s3Key}`);
  const hash = parse(s3Key).name;
  const manifest = JSON.parse(readFileSync(join(outdir, `${STACK_NAME}.assets.json`), 'utf8')) as {
    files?: Record<string, { source?: { path?: string } }>;
  };
  const path = manifest.files?.[hash]?.source?.path;
  if (path === undefined) throw new Error(`asset ${hash} not in the asset manifest`);
  return path;
}

function splitHandler(handler: unknown): [string, string] {
  const match = typeof handler === 'string' ? /^(.+)\.([^.]+)$/.exec(handler) : null;
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new Error(`unexpected Handler ${JSON.stringify(handler)}`);
  }
  return [match[1], match[2]];
}

/** Fails loudly on a token or intrinsic: a test would otherwise run with a value no deploy has. */
function literalEnvironment(variables: Record<string, unknown>): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value !== 'string') {
      throw new Error(
        `environment variable ${name} is not a literal string: ${JSON.stringify(value)}`,
      );
    }
    environment[name] = value;
  }
  return environment;
}
