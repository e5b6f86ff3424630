import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RunSummary } from '../../lambda/refresher/refresh.js';
import { ENV } from '../../lambda/shared/contract.js';
import { type LocalEventBridge, startLocalEventBridge } from '../local/endpoints/eventbridge.js';
import { type LocalOpenApi, startLocalOpenApi } from '../local/endpoints/open-api.js';
import {
  type LocalSecretsManager,
  type SeededSecret,
  startLocalSecretsManager,
} from '../local/endpoints/secrets-manager.js';
import {
  type LocalTikTok,
  type LocalTikTokOptions,
  startLocalTikTok,
} from '../local/endpoints/tiktok.js';
import { assertNoLeaks } from './leak-check.js';
import { type SeedOptions, type SellerToken, seedShop } from './seed-shop.js';
import { type SynthesizeOptions, synthesizeRefresher } from './synth.js';

const run = promisify(execFile);
const RUNNER = join(import.meta.dirname, 'lambda-runner.mjs');
const APP_KEY = 'local-app-key';
const APP_SECRET = 'LOCAL_APP_SECRET_5e1f0c2a9b';

/**
 * V8's heap limits as Lambda's Node.js runtime sets them from the function's memory (its
 * bootstrap starts node with a semi-space of 5 % and an old space of 90 % of the memory size):
 * without them V8 sizes its heap for this machine, and peak memory says little about Lambda.
 */
function lambdaHeapFlags(memoryMb: number): string[] {
  return [
    `--max-semi-space-size=${Math.floor((memoryMb * 5) / 100)}`,
    `--max-old-space-size=${Math.floor((memoryMb * 90) / 100)}`,
  ];
}

/**
 * A quick look for another writer after TikTok refuses a refresh token (REFUSAL_RECHECK_MS): for
 * deployments no other writer races. Races keep the template's environment, and so the default.
 */
export const QUICK_REFUSAL_RECHECK: Readonly<Record<string, string>> = {
  [ENV.refusalRecheckMs]: '15',
};

export interface InvokeOutcome {
  readonly result?: RunSummary;
  /** What Lambda reports for a failed invocation. */
  readonly error?: { readonly errorType: string; readonly errorMessage: string };
  /** Every line the function printed: its JSON logs and EMF metrics. */
  readonly logs: readonly string[];
  /** Milliseconds to import the bundle, and to serve the invocation after that. */
  readonly initMs?: number;
  readonly durationMs?: number;
  /** Peak resident memory of the function's process, in KB, and the CPU time it used. */
  readonly maxRssKb?: number;
  /**
   * The process's own peak resident memory in KB, sampled every 5 ms: `maxRssKb` starts at the
   * parent's peak on Linux (fork carries it over), which a bench holding a large store inflates.
   */
  readonly sampledPeakRssKb?: number;
  readonly cpuMs?: number;
}

/** A shop's secret seeded with a seller's token: the token, and the secret's ARN and version. */
export type SeededShop = SellerToken & SeededSecret;

export interface LocalDeploymentOptions {
  /** Shops the synthesized stack creates token secrets for. @default ['shop-a', 'shop-b'] */
  readonly shops?: SynthesizeOptions['shops'];
  /** The stack's apps besides `default` (their credentials are the test's to seed). */
  readonly apps?: SynthesizeOptions['apps'];
  readonly tiktok?: Partial<Omit<LocalTikTokOptions, 'appKey' | 'appSecret'>>;
  /** Secrets Manager's regional write quota, enforced by the local endpoint. */
  readonly writeQuotaPerSecond?: number;
  /** Settings an operator adds to the function's environment, on top of the template's. */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Checks what each invocation printed, answered, threw and published for every secret the
   * deployment knows (`secretValues`), in any encoding: an invocation that gives one away
   * rejects with SecretLeakedError. For tests; a bench's fleet would take long to scan.
   */
  readonly leakCheck?: boolean;
}

/**
 * The product as CDK deploys it, on this machine: the bundle the stack synthesizes, run in a
 * fresh Node process per invocation with the environment the template gives the function,
 * against local Secrets Manager, EventBridge and TikTok endpoints on 127.0.0.1.
 */
export class LocalDeployment {
  /** Every line the function printed and every outcome it returned, oldest first. */
  readonly outputs: string[] = [];
  /** Values a test planted (in a secret, in a TikTok answer) that must not get out either. */
  readonly #planted = new Set<string>();

  private constructor(
    readonly secretsManager: LocalSecretsManager,
    readonly eventBridge: LocalEventBridge,
    readonly tiktok: LocalTikTok,
    /** The Open API of the local TikTok's sellers: the shop ids a refreshed token covers. */
    readonly openApi: LocalOpenApi,
    readonly functionEnvironment: Readonly<Record<string, string>>,
    readonly handlerPath: string,
    readonly handlerExport: string,
    readonly timeoutMs: number,
    private readonly workDir: string,
    private readonly leakCheck: boolean,
  ) {}

  static async start(options: LocalDeploymentOptions = {}): Promise<LocalDeployment> {
    const shops = options.shops ?? ['shop-a', 'shop-b'];
    const deployed = await synthesizeRefresher(
      options.apps === undefined ? { shops } : { shops, apps: options.apps },
    );
    const [secretsManager, eventBridge, tiktok] = await Promise.all([
      startLocalSecretsManager(
        options.writeQuotaPerSecond === undefined
          ? {}
          : { writeQuotaPerSecond: options.writeQuotaPerSecond },
      ),
      startLocalEventBridge(),
      startLocalTikTok({ ...options.tiktok, appKey: APP_KEY, appSecret: APP_SECRET }),
    ]);
    const openApi = await startLocalOpenApi({
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      accessTokens: (accessToken) => tiktok.accessTokenStatus(accessToken),
      shopIdsOf: (accessToken) => tiktok.shopIdsOfAccessToken(accessToken),
    });
    const deployment = new LocalDeployment(
      secretsManager,
      eventBridge,
      tiktok,
      openApi,
      { ...deployed.environment, ...options.environment },
      deployed.handlerPath,
      deployed.handlerExport,
      deployed.timeoutSeconds * 1000,
      await mkdtemp(join(tmpdir(), 'tiktok-refresher-')),
      options.leakCheck ?? false,
    );
    secretsManager.seed(
      deployed.environment.APP_CREDENTIALS_SECRET_ID ?? '',
      JSON.stringify({ app_key: APP_KEY, app_secret: APP_SECRET }),
    );
    return deployment;
  }

  /** The token secret names the template hands the function. */
  get shopSecretNames(): string[] {
    return (this.functionEnvironment.TOKEN_SECRET_IDS ?? '')
      .split(',')
      .filter((name) => name !== '');
  }

  /**
   * Registers a seller at the local TikTok host and stores its token in the shop's secret, as
   * onboarding would: TikTok's answer, unchanged, whose access token ends in `accessTtlSeconds`.
   */
  seedShop(name: string, options: SeedOptions & { readonly tagKey?: string }): SeededShop {
    return seedShop(this, name, options);
  }

  /** The refresh token the shop's secret holds now. */
  storedRefreshToken(secretName: string): string | undefined {
    const current = this.secretsManager.current(secretName);
    if (current === undefined) return undefined;
    return (JSON.parse(current) as { data?: { refresh_token?: string } }).data?.refresh_token;
  }

  /**
   * One invocation in a fresh process, like a cold Lambda execution environment. Aborting
   * `signal` kills the process on the spot, as Lambda does when an invocation times out: what it
   * had done stays done, and the outcome is the timeout error Lambda reports.
   */
  async invoke(
    event: unknown,
    options: {
      timeoutMs?: number;
      environment?: Record<string, string>;
      signal?: AbortSignal;
      /** Another bundle to run in the function's place, with its environment (the bench's floor). */
      bundle?: { readonly handlerPath: string; readonly handlerExport: string };
    } = {},
  ): Promise<InvokeOutcome> {
    const outcomeFile = join(this.workDir, `${crypto.randomUUID()}.json`);
    const eventsBefore = this.eventBridge.events.length;
    const eventArgument = await this.eventArgument(event);
    let printed: { stdout: string; stderr: string };
    let outcome: Omit<InvokeOutcome, 'logs'>;
    const environment = { ...this.environment(), ...options.environment };
    try {
      printed = await run(
        process.execPath,
        [
          ...lambdaHeapFlags(Number(environment.AWS_LAMBDA_FUNCTION_MEMORY_SIZE)),
          RUNNER,
          options.bundle?.handlerPath ?? this.handlerPath,
          options.bundle?.handlerExport ?? this.handlerExport,
          eventArgument,
          String(options.timeoutMs ?? this.timeoutMs),
          outcomeFile,
        ],
        {
          env: environment,
          maxBuffer: 64 * 1024 * 1024,
          ...(options.signal === undefined
            ? {}
            : { signal: options.signal, killSignal: 'SIGKILL' }),
        },
      );
      outcome = JSON.parse(await readFile(outcomeFile, 'utf8')) as Omit<InvokeOutcome, 'logs'>;
    } catch (error) {
      if (options.signal?.aborted !== true) throw error;
      const killed = error as { stdout?: string; stderr?: string };
      printed = { stdout: killed.stdout ?? '', stderr: killed.stderr ?? '' };
      outcome = { error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out' } };
    }
    await rm(outcomeFile, { force: true });
    const logs = `${printed.stdout}${printed.stderr}`
      .split('\n')
      .filter((line) => line.trim() !== '');
    this.outputs.push(...logs, JSON.stringify(outcome));
    if (this.leakCheck) {
      const published = JSON.stringify(this.eventBridge.events.slice(eventsBefore));
      const output = [...logs, JSON.stringify(outcome), published].join('\n');
      assertNoLeaks('the invocation', output, this.secretValues());
    }
    return { ...outcome, logs };
  }

  /**
   * The event as the runner's argument: its JSON, or `@<file>` holding it when it is too large
   * for one (Linux refuses an argument over 128 KB; Lambda takes events up to 6 MB).
   */
  private async eventArgument(event: unknown): Promise<string> {
    const json = JSON.stringify(event);
    if (json.length < 64 * 1024) return json;
    const file = join(this.workDir, `${crypto.randomUUID()}.event.json`);
    await writeFile(file, json);
    return `@${file}`;
  }

  /** Every token and secret the local TikTok host ever issued, the app secret, what was planted. */
  secretValues(): string[] {
    return [...this.tiktok.issuedSecrets(), ...this.#planted];
  }

  /** Values a test planted in a secret or a TikTok answer: they must not get out either. */
  plant(...values: string[]): void {
    for (const value of values) this.#planted.add(value);
  }

  async close(): Promise<void> {
    await Promise.all([
      this.secretsManager.close(),
      this.eventBridge.close(),
      this.tiktok.close(),
      this.openApi.close(),
    ]);
    await rm(this.workDir, { recursive: true, force: true });
  }

  /** The template's environment, pointed at the local endpoints through the SDK's own variables. */
  private environment(): Record<string, string> {
    return {
      ...this.functionEnvironment,
      TIKTOK_AUTH_BASE_URL: this.tiktok.url,
      TIKTOK_API_BASE_URL: this.openApi.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.secretsManager.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: this.eventBridge.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_LAMBDA_FUNCTION_NAME: 'TikTokShopTokenRefresher',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    };
  }
}
