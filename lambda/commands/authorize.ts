/**
 * npm run authorize -- --shop <name> --auth-code-stdin [--token-file <path> | --secret-prefix tiktok-shop/] [--replace-seller] [--kms-key-id <key>]
 * TIKTOK_AUTH_CODE=<code> npm run authorize -- --shop <name> …
 * npm run authorize -- --shop <name> --auth-code <code> …   (shows in npm's banner and shell history)
 * npm run authorize -- --consent-link --shop <name> [--region row|us] [--service-id <id>]
 *
 * Connects a shop: exchanges the authorization code TikTok gave the seller for the shop's token
 * and stores TikTok's answer, unchanged, as the secret `<prefix>tokens/<shop>` (created, tagged
 * for the refresher's discovery and with the seller's open_id, when missing), or in a local
 * file. A shop that holds a token is reconnected only by the same seller; `--replace-seller`
 * hands it to another seller on purpose. A seller connected under another shop name is refused.
 * `--consent-link` prints the link a seller opens to authorize the app, with a signed `state`
 * that the consent callback accepts once, within an hour.
 *
 * App key and secret: TIKTOK_APP_KEY and TIKTOK_APP_SECRET, or else the secret named by
 * APP_CREDENTIALS_SECRET_ID. Writes to Secrets Manager publish `Shop Connected` or `Shop
 * Connection Refused` to EVENT_BUS_NAME (default `default`). Exit codes: 0 done, 1 failed
 * (nothing stored), 2 usage.
 */
import { parseArgs } from 'node:util';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type ConnectedShop,
  checkShopName,
  connectShop,
  DEFAULT_APP_CREDENTIALS_SECRET_ID,
  DEFAULT_CALLBACK_STATE_SECRET_ID,
  DEFAULT_TOKEN_SECRET_PREFIX,
  shopConnectedEvent,
  shopConnectionRefusedEvent,
  tokenSecretName,
} from '../onboarding/connect.js';
import {
  type ConsentRegion,
  consentLink,
  readSigningKey,
  signConsentState,
} from '../onboarding/consent-state.js';
import { TokenSecretDestination } from '../onboarding/token-secret.js';
import { checkBaseUrl } from '../shared/base-url.js';
import { CALLBACK_ENV, DEFAULT_TOKEN_SECRET_TAG_KEY, DEFAULTS, ENV } from '../shared/contract.js';
import { describeError, ShopConnectionRefusedError, UsageError } from '../shared/errors.js';
import { EventBridgePublisher, type RefresherEvent } from '../shared/event-publisher.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import type { AppCredentials } from '../shared/token.js';
import { type CodeInput, checkAuthCode, readAuthCode } from './auth-code.js';
import { runAsScript } from './run.js';
import { TokenFileDestination } from './token-file.js';

const USAGE = `usage:
  npm run authorize -- --shop <name> --auth-code-stdin [--token-file <path> | --secret-prefix <prefix>] [--replace-seller] [--kms-key-id <key>]
  TIKTOK_AUTH_CODE=<code> npm run authorize -- --shop <name> [...]
  npm run authorize -- --shop <name> --auth-code <code> [...]   (the code then shows in npm's banner and your shell history)
  npm run authorize -- --consent-link --shop <name> [--region row|us] [--service-id <id>]`;

/** Where the code comes from, when not from the flag or standard input. */
export const AUTH_CODE_ENV = 'TIKTOK_AUTH_CODE';

/** Every AWS call is bounded: the SDK's default handler waits forever. */
const AWS_TIMEOUTS = { requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 } };

type Env = Readonly<Record<string, string | undefined>>;

type Command =
  | {
      readonly kind: 'authorize';
      readonly shop: string;
      /** Read from standard input once the arguments are known to be right. */
      readonly authCode: string | 'stdin';
      /** A secret name, or a file path with `toFile`. */
      readonly destination: string;
      readonly toFile: boolean;
      /** The token secrets' name prefix (`<prefix>tokens/<shop>`). */
      readonly secretPrefix: string;
      readonly replaceSeller: boolean;
      readonly kmsKeyId: string | undefined;
    }
  | {
      readonly kind: 'consent-link';
      readonly shop: string;
      readonly region: ConsentRegion;
      readonly serviceId: string;
      readonly secretName: string;
    };

export async function main(
  argv: readonly string[],
  env: Env,
  /** Read only with --auth-code-stdin. */
  stdin?: CodeInput,
): Promise<number> {
  let command: Command;
  let authCode = '';
  try {
    command = parseCommand(argv, env);
    if (command.kind === 'authorize') {
      authCode =
        command.authCode === 'stdin'
          ? await readAuthCode(stdin ?? process.stdin, (text) => process.stderr.write(text))
          : command.authCode;
    }
  } catch (error) {
    console.error(`${describeError(error).message}\n${USAGE}`);
    return 2;
  }
  // Built only when used: a file-only run with app credentials in the environment needs no AWS.
  let client: SecretsManagerClient | undefined;
  let eventBridge: EventBridgeClient | undefined;
  const secretsManager = () => {
    // The stores retry with their own policy, so the SDK makes single attempts.
    client ??= new SecretsManagerClient({ maxAttempts: 1, ...AWS_TIMEOUTS });
    return client;
  };
  const publish = async (event: RefresherEvent) => {
    eventBridge ??= new EventBridgeClient({ maxAttempts: 2, ...AWS_TIMEOUTS });
    const busName = env[ENV.eventBusName] || DEFAULTS.eventBusName;
    const published = await new EventBridgePublisher({ client: eventBridge, busName }).publish([
      event,
    ]);
    if (published.failed > 0) {
      console.error(
        `warning: the ${event.detailType} event was not published to bus ${busName}: ${published.reasons.join('; ').slice(0, 300)}`,
      );
    }
  };
  try {
    if (command.kind === 'consent-link') {
      console.log(await printableConsentLink(command, env, secretsManager));
      return 0;
    }
    return await authorize(command, authCode, env, secretsManager, publish);
  } catch (error) {
    console.error(`error: ${describeError(error).message}`);
    return 1;
  } finally {
    client?.destroy();
    eventBridge?.destroy();
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
  const prefix = values['secret-prefix'] ?? DEFAULT_TOKEN_SECRET_PREFIX;
  const codeSources = [
    values['auth-code'] !== undefined,
    values['auth-code-stdin'] === true,
    Boolean(env[AUTH_CODE_ENV]),
  ].filter(Boolean).length;

  if (values['consent-link'] === true) {
    if (
      codeSources > 0 ||
      values['token-file'] !== undefined ||
      values['replace-seller'] !== undefined
    ) {
      throw new UsageError(
        '--consent-link takes no authorization code, --token-file or --replace-seller',
      );
    }
    const region = values.region ?? 'row';
    if (region !== 'row' && region !== 'us') throw new UsageError('--region must be row or us');
    const serviceId = values['service-id'] ?? env.TIKTOK_SERVICE_ID;
    if (!serviceId) {
      throw new UsageError('--service-id (or TIKTOK_SERVICE_ID) is required for --consent-link');
    }
    return {
      kind: 'consent-link',
      shop,
      region,
      serviceId,
      secretName: tokenSecretName(prefix, shop),
    };
  }

  if (codeSources === 0) {
    throw new UsageError(
      `--auth-code-stdin, ${AUTH_CODE_ENV} or --auth-code (or --consent-link) is required`,
    );
  }
  if (codeSources > 1) {
    throw new UsageError(
      `give the authorization code one way only: --auth-code-stdin, ${AUTH_CODE_ENV} or --auth-code`,
    );
  }
  const authCode =
    values['auth-code-stdin'] === true
      ? 'stdin'
      : values['auth-code'] !== undefined
        ? checkAuthCode(values['auth-code'], '--auth-code')
        : checkAuthCode(env[AUTH_CODE_ENV] ?? '', AUTH_CODE_ENV);
  if (values.region !== undefined || values['service-id'] !== undefined) {
    throw new UsageError('--region and --service-id go with --consent-link');
  }
  const tokenFile = values['token-file'];
  if (
    tokenFile !== undefined &&
    (values['secret-prefix'] !== undefined || values['kms-key-id'] !== undefined)
  ) {
    throw new UsageError('--token-file excludes --secret-prefix and --kms-key-id');
  }
  const urlProblem = checkBaseUrl(tiktokAuthBaseUrl(env));
  if (urlProblem !== undefined) throw new UsageError(`${ENV.tiktokAuthBaseUrl} ${urlProblem}`);
  if (Boolean(env.TIKTOK_APP_KEY?.trim()) !== Boolean(env.TIKTOK_APP_SECRET?.trim())) {
    throw new UsageError(
      `set both TIKTOK_APP_KEY and TIKTOK_APP_SECRET, or neither to read them from the secret ${appCredentialsSecretId(env)}`,
    );
  }
  return {
    kind: 'authorize',
    shop,
    authCode,
    destination: tokenFile ?? tokenSecretName(prefix, shop),
    toFile: tokenFile !== undefined,
    secretPrefix: prefix,
    replaceSeller: values['replace-seller'] === true,
    kmsKeyId: values['kms-key-id'] || env[CALLBACK_ENV.tokenSecretKmsKeyId] || undefined,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      'auth-code': { type: 'string' },
      'auth-code-stdin': { type: 'boolean' },
      shop: { type: 'string' },
      'token-file': { type: 'string' },
      'secret-prefix': { type: 'string' },
      'replace-seller': { type: 'boolean' },
      'kms-key-id': { type: 'string' },
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
  authCode: string,
  env: Env,
  secretsManager: () => SecretsManagerClient,
  publish: (event: RefresherEvent) => Promise<void>,
): Promise<number> {
  const { shop } = command;
  const file = command.toFile ? new TokenFileDestination(command.destination) : undefined;
  const destination =
    file ??
    new TokenSecretDestination({
      client: secretsManager(),
      shop,
      secretName: command.destination,
      tokenSecretsPrefix: `${command.secretPrefix}tokens/`,
      tagKey: env[ENV.tokenSecretTagKey] || DEFAULT_TOKEN_SECRET_TAG_KEY,
      ...(command.kmsKeyId === undefined ? {} : { kmsKeyId: command.kmsKeyId }),
    });
  try {
    // A code works once: a file that cannot be written is found out before it is exchanged.
    await file?.prepareWrite();
    const connected = await connectShop(
      { shop, authCode, purpose: 'any', replaceSeller: command.replaceSeller },
      {
        appCredentials: async (): Promise<AppCredentials> =>
          env.TIKTOK_APP_KEY?.trim() && env.TIKTOK_APP_SECRET?.trim()
            ? { app_key: env.TIKTOK_APP_KEY.trim(), app_secret: env.TIKTOK_APP_SECRET.trim() }
            : new SecretsManagerTokenStore({
                client: secretsManager(),
                writesPerSecond: DEFAULTS.secretWritesPerSecond,
              }).readAppCredentials(appCredentialsSecretId(env)),
        tiktok: new TikTokAuthClient({
          baseUrl: tiktokAuthBaseUrl(env),
          timeoutMs: DEFAULTS.tiktokTimeoutMs,
        }),
        destination,
      },
    );
    console.log(describeConnected(connected, command.toFile));
    for (const warning of connected.warnings) console.error(`warning: ${warning}`);
    if (!command.toFile) await publish(shopConnectedEvent(connected, 'authorize-command'));
    return 0;
  } catch (error) {
    const { message } = describeError(error);
    const used =
      error instanceof ShopConnectionRefusedError && error.detail.codeUsed === true
        ? ' The authorization code is used up: the seller approves again for a new one.'
        : '';
    console.error(`error: shop ${shop} not connected, nothing stored: ${message}${used}`);
    if (error instanceof ShopConnectionRefusedError && !command.toFile) {
      await publish(shopConnectionRefusedEvent(command.destination, error, 'authorize-command'));
    }
    return 1;
  } finally {
    await file?.release();
  }
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
  // A shop that holds a token gets a reconnect link, which only its seller can use.
  const { current } = await new TokenSecretDestination({
    client: secretsManager(),
    shop: command.shop,
    secretName: command.secretName,
    tokenSecretsPrefix: '',
    tagKey: DEFAULT_TOKEN_SECRET_TAG_KEY,
  }).inspect(undefined);
  const purpose = current === undefined ? 'connect' : 'reconnect';
  const state = signConsentState({ shop: command.shop, purpose }, key, { now: Date.now() });
  const link = consentLink({ region: command.region, serviceId: command.serviceId, state });
  const seller =
    current?.openId === undefined
      ? 'the seller stored'
      : `seller ${current.sellerName ?? ''}${current.sellerName ? ' ' : ''}(open_id ${current.openId})`;
  const what =
    purpose === 'connect'
      ? `a new shop (${command.secretName} holds no token yet)`
      : `a reconnect: only ${seller} can use it; another seller is refused`;
  return `Consent link for shop ${command.shop}, ${what}. It works once, for one hour; the seller opens it and approves:\n${link}`;
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
  const connection = {
    new: 'a new shop',
    reconnected: 'the same seller again',
    'seller-replaced': `seller replaced on purpose (was open_id ${connected.previousOpenId ?? 'unknown'})`,
  }[connected.connection];
  return [
    `Shop ${connected.shop} connected: ${where}`,
    `  connection: ${connection}`,
    `  version: ${stored.versionId}`,
    `  seller: ${connected.sellerName ? `${connected.sellerName} ` : ''}(open_id ${connected.openId})`,
    `  access token expires: ${connected.accessTokenExpiresAt}`,
    `  refresh token expires: ${connected.refreshTokenExpiresAt}`,
  ].join('\n');
}

runAsScript(import.meta.url, main);
