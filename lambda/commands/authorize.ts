/**
 * npm run authorize -- --auth-code <code> --shop <name> [--token-file <path>] [--secret-prefix tiktok-shop/]
 * npm run authorize -- --consent-link --shop <name> [--region row|us] [--service-id <id>]
 *
 * Connects a shop: exchanges the authorization code TikTok gave the seller for the shop's first
 * token and stores TikTok's answer, unchanged, as the secret `<prefix>tokens/<shop>` (created and
 * tagged for the refresher's discovery if missing, otherwise a new current version), or in a
 * local file. `--consent-link` prints the link a seller opens to authorize the app, with a signed
 * `state` that the consent callback accepts for an hour.
 *
 * App key and secret: TIKTOK_APP_KEY and TIKTOK_APP_SECRET, or else the secret named by
 * APP_CREDENTIALS_SECRET_ID. Exit codes: 0 done, 1 failed (nothing stored), 2 usage.
 */
import { parseArgs } from 'node:util';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type ConnectedShop,
  checkShopName,
  connectShop,
  DEFAULT_APP_CREDENTIALS_SECRET_ID,
  DEFAULT_CALLBACK_STATE_SECRET_ID,
  DEFAULT_TOKEN_SECRET_PREFIX,
  type StoredFirstToken,
  tokenSecretName,
} from '../onboarding/connect.js';
import {
  type ConsentRegion,
  consentLink,
  readSigningKey,
  signConsentState,
} from '../onboarding/consent-state.js';
import { checkBaseUrl } from '../shared/base-url.js';
import { DEFAULT_TOKEN_SECRET_TAG_KEY, DEFAULTS, ENV } from '../shared/contract.js';
import { describeError, UsageError } from '../shared/errors.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import type { AppCredentials } from '../shared/token.js';
import { runAsScript } from './run.js';
import { checkTokenFileWritable, storeFirstTokenFile } from './token-file.js';

const USAGE = `usage:
  npm run authorize -- --auth-code <code> --shop <name> [--token-file <path> | --secret-prefix <prefix>]
  npm run authorize -- --consent-link --shop <name> [--region row|us] [--service-id <id>]`;

type Env = Readonly<Record<string, string | undefined>>;

type Command =
  | {
      readonly kind: 'authorize';
      readonly shop: string;
      readonly authCode: string;
      /** A secret name, or a file path with `toFile`. */
      readonly destination: string;
      readonly toFile: boolean;
    }
  | {
      readonly kind: 'consent-link';
      readonly shop: string;
      readonly region: ConsentRegion;
      readonly serviceId: string;
    };

export async function main(argv: readonly string[], env: Env): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv, env);
  } catch (error) {
    console.error(`${describeError(error).message}\n${USAGE}`);
    return 2;
  }
  // Built only when used: a file-only run with app credentials in the environment needs no AWS.
  let client: SecretsManagerClient | undefined;
  const secretsManager = () => {
    // The store retries with its own policy, so the SDK makes single attempts.
    client ??= new SecretsManagerClient({ maxAttempts: 1 });
    return client;
  };
  try {
    if (command.kind === 'consent-link') {
      console.log(await printableConsentLink(command, env, secretsManager));
      return 0;
    }
    const connected = await authorize(command, env, secretsManager);
    console.log(describeConnected(connected, command.toFile));
    return 0;
  } catch (error) {
    const { message } = describeError(error);
    console.error(
      command.kind === 'authorize'
        ? `error: shop ${command.shop} not connected, nothing stored: ${message}`
        : `error: ${message}`,
    );
    return 1;
  } finally {
    client?.destroy();
  }
}

function parseCommand(argv: readonly string[], env: Env): Command {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.shop === undefined) throw new UsageError('--shop is required');
  const shop = checkShopName(values.shop);
  const authCode = values['auth-code'];

  if (values['consent-link'] === true) {
    if (authCode !== undefined || values['token-file'] !== undefined) {
      throw new UsageError('--consent-link takes neither --auth-code nor --token-file');
    }
    const region = values.region ?? 'row';
    if (region !== 'row' && region !== 'us') throw new UsageError('--region must be row or us');
    const serviceId = values['service-id'] ?? env.TIKTOK_SERVICE_ID;
    if (!serviceId) {
      throw new UsageError('--service-id (or TIKTOK_SERVICE_ID) is required for --consent-link');
    }
    return { kind: 'consent-link', shop, region, serviceId };
  }

  if (!authCode) throw new UsageError('--auth-code (or --consent-link) is required');
  if (values.region !== undefined || values['service-id'] !== undefined) {
    throw new UsageError('--region and --service-id go with --consent-link');
  }
  const tokenFile = values['token-file'];
  if (tokenFile !== undefined && values['secret-prefix'] !== undefined) {
    throw new UsageError('--token-file and --secret-prefix exclude each other');
  }
  const urlProblem = checkBaseUrl(tiktokAuthBaseUrl(env));
  if (urlProblem !== undefined) throw new UsageError(`${ENV.tiktokAuthBaseUrl} ${urlProblem}`);
  if (Boolean(env.TIKTOK_APP_KEY) !== Boolean(env.TIKTOK_APP_SECRET)) {
    throw new UsageError(
      `set both TIKTOK_APP_KEY and TIKTOK_APP_SECRET, or neither to read them from the secret ${appCredentialsSecretId(env)}`,
    );
  }
  return tokenFile === undefined
    ? {
        kind: 'authorize',
        shop,
        authCode,
        destination: tokenSecretName(values['secret-prefix'] ?? DEFAULT_TOKEN_SECRET_PREFIX, shop),
        toFile: false,
      }
    : { kind: 'authorize', shop, authCode, destination: tokenFile, toFile: true };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      'auth-code': { type: 'string' },
      shop: { type: 'string' },
      'token-file': { type: 'string' },
      'secret-prefix': { type: 'string' },
      'consent-link': { type: 'boolean' },
      region: { type: 'string' },
      'service-id': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
}

async function authorize(
  command: Extract<Command, { kind: 'authorize' }>,
  env: Env,
  secretsManager: () => SecretsManagerClient,
): Promise<ConnectedShop> {
  let tokenStore: SecretsManagerTokenStore | undefined;
  const store = () => {
    tokenStore ??= new SecretsManagerTokenStore({
      client: secretsManager(),
      writesPerSecond: DEFAULTS.secretWritesPerSecond,
    });
    return tokenStore;
  };
  const tagKey = env[ENV.tokenSecretTagKey] || DEFAULT_TOKEN_SECRET_TAG_KEY;
  if (command.toFile) await checkTokenFileWritable(command.destination);
  return connectShop(command.shop, command.authCode, {
    appCredentials: async (): Promise<AppCredentials> =>
      env.TIKTOK_APP_KEY && env.TIKTOK_APP_SECRET
        ? { app_key: env.TIKTOK_APP_KEY, app_secret: env.TIKTOK_APP_SECRET }
        : store().readAppCredentials(appCredentialsSecretId(env)),
    tiktok: new TikTokAuthClient({
      baseUrl: tiktokAuthBaseUrl(env),
      timeoutMs: DEFAULTS.tiktokTimeoutMs,
    }),
    store: (raw): Promise<StoredFirstToken> =>
      command.toFile
        ? storeFirstTokenFile(command.destination, raw)
        : store().storeFirstToken(command.destination, raw, { tagKey, tagValue: command.shop }),
  });
}

async function printableConsentLink(
  command: Extract<Command, { kind: 'consent-link' }>,
  env: Env,
  secretsManager: () => SecretsManagerClient,
): Promise<string> {
  const provider = new SecretsProvider({ awsSdkV3Client: secretsManager() });
  const key = await readSigningKey(
    env.CALLBACK_STATE_SECRET_ID || DEFAULT_CALLBACK_STATE_SECRET_ID,
    (secretId) => provider.get(secretId),
  );
  const state = signConsentState(command.shop, key, { now: Date.now() });
  const link = consentLink({ region: command.region, serviceId: command.serviceId, state });
  return `Consent link for shop ${command.shop} (valid for one hour; the seller opens it and approves):\n${link}`;
}

function tiktokAuthBaseUrl(env: Env): string {
  return env[ENV.tiktokAuthBaseUrl] || DEFAULTS.tiktokAuthBaseUrl;
}

function appCredentialsSecretId(env: Env): string {
  return env[ENV.appCredentialsSecretId] || DEFAULT_APP_CREDENTIALS_SECRET_ID;
}

function describeConnected(connected: ConnectedShop, toFile: boolean): string {
  const { stored } = connected;
  const where = toFile
    ? stored.created
      ? `created token file ${stored.name}`
      : `replaced the token in file ${stored.name} (the previous one is kept in ${stored.name}.previous)`
    : stored.created
      ? `created secret ${stored.name}, tagged for discovery by the refresher`
      : `stored a new current version of secret ${stored.name} (the previous token is kept as AWSPREVIOUS)`;
  return [
    `Shop ${connected.shop} connected: ${where}`,
    `  version: ${stored.versionId}`,
    ...(connected.sellerName === undefined ? [] : [`  seller: ${connected.sellerName}`]),
    `  access token expires: ${connected.accessTokenExpiresAt}`,
    `  refresh token expires: ${connected.refreshTokenExpiresAt}`,
  ].join('\n');
}

runAsScript(import.meta.url, main);
