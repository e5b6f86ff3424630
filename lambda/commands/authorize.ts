/**
 * npm run authorize -- --shop <name> --auth-code-stdin [--token-file <path> | --secret-prefix tiktok-shop/] [--replace-seller] [--kms-key-id <key>] [--app <app>]
 * TIKTOK_AUTH_CODE=<code> npm run authorize -- --shop <name> …
 * npm run authorize -- --shop <name> --auth-code <code> …   (shows in npm's banner and shell history)
 * npm run authorize -- --consent-link --shop <name> [--app <app>] [--region row|us] [--service-id <id>]
 *
 * Connects a shop: exchanges the authorization code TikTok gave the seller for the shop's token
 * and stores TikTok's answer, unchanged, as the secret `<prefix>tokens/<shop>` (created, tagged
 * for the refresher's discovery and with the seller's open_id, when missing), or in a local
 * file. A shop that holds a token is reconnected only by the same seller; `--replace-seller`
 * hands it to another seller on purpose. A seller connected under another shop name is refused.
 * `--consent-link` prints the link a seller opens to authorize the app, with a signed `state`
 * that the consent callback accepts once, within an hour.
 *
 * Several TikTok apps: `--app <app>` (default `default`) names the app the seller approves, whose
 * credentials exchange the code and to which the shop is bound (its secret's `tiktok-shop-app`
 * tag); a shop bound to another app is refused. The command knows the deployment's apps from
 * `--apps` or TIKTOK_APPS, written as the stack's `-c apps=` (`us:us`: the app `us`, whose consent
 * page is the US one), and from APP_CREDENTIALS_SECRET_IDS as the functions get it. A link goes
 * to the app's consent page (`--region` only where the app's region is not declared), with the
 * service id of `--service-id`, else TIKTOK_SERVICE_ID (default app) or TIKTOK_SERVICE_ID_<APP>
 * (`us` → TIKTOK_SERVICE_ID_US).
 *
 * App key and secret: TIKTOK_APP_KEY and TIKTOK_APP_SECRET (the named app's), or else the app's
 * secret: APP_CREDENTIALS_SECRET_ID for the default app, the app's entry of
 * APP_CREDENTIALS_SECRET_IDS or `<prefix>apps/<app>/credentials` for another. Writes to Secrets
 * Manager publish `Shop Connected` or `Shop Connection Refused` to EVENT_BUS_NAME (default
 * `default`). Exit codes: 0 done, 1 failed (nothing stored), 2 usage.
 */
import { parseArgs } from 'node:util';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type ConnectedShop,
  checkShopName,
  connectShop,
  shopConnectedEvent,
  shopConnectionRefusedEvent,
} from '../onboarding/connect.js';
import {
  type ConsentRegion,
  consentLink,
  readSigningKey,
  signConsentState,
} from '../onboarding/consent-state.js';
import { TokenSecretDestination } from '../onboarding/token-secret.js';
import { APP_NAME_RULE, isAppName, readAppsEnv } from '../shared/apps.js';
import { checkBaseUrl } from '../shared/base-url.js';
import { AWS_REQUEST_HANDLER } from '../shared/budget.js';
import {
  APPS_ENV,
  appCredentialsSecretName,
  CALLBACK_ENV,
  DEFAULT_APP,
  DEFAULT_APP_CREDENTIALS_SECRET_ID,
  DEFAULT_CALLBACK_STATE_SECRET_ID,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  ENV,
  tokenSecretName,
} from '../shared/contract.js';
import { describeError, ShopConnectionRefusedError, UsageError } from '../shared/errors.js';
import { EventBridgePublisher, type RefresherEvent } from '../shared/event-publisher.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import type { AppCredentials } from '../shared/token.js';
import { type CodeInput, checkAuthCode, readAuthCode } from './auth-code.js';
import { runAsScript } from './run.js';
import { TokenFileDestination } from './token-file.js';

const USAGE = `usage:
  npm run authorize -- --shop <name> --auth-code-stdin [--token-file <path> | --secret-prefix <prefix>] [--replace-seller] [--kms-key-id <key>] [--app <app>]
  TIKTOK_AUTH_CODE=<code> npm run authorize -- --shop <name> [...]
  npm run authorize -- --shop <name> --auth-code <code> [...]   (the code then shows in npm's banner and your shell history)
  npm run authorize -- --consent-link --shop <name> [--app <app>] [--region row|us] [--service-id <id>]
  another app than default: declare the apps with --apps or TIKTOK_APPS as in -c apps= (e.g. us:us)`;

/** Where the code comes from, when not from the flag or standard input. */
export const AUTH_CODE_ENV = 'TIKTOK_AUTH_CODE';

/** The deployment's apps besides `default`, as the stack's `-c apps=`: `<app>[:row|us]`, comma-separated. */
const APPS_LIST_ENV = 'TIKTOK_APPS';

/** The service id of a consent link for `app`: TIKTOK_SERVICE_ID, or TIKTOK_SERVICE_ID_<APP>. */
function serviceIdEnvOf(app: string): string {
  return app === DEFAULT_APP
    ? 'TIKTOK_SERVICE_ID'
    : `TIKTOK_SERVICE_ID_${app.toUpperCase().replaceAll('-', '_')}`;
}

/** Every AWS call is bounded: the SDK's default handler waits forever. */

type Env = Readonly<Record<string, string | undefined>>;

/** The app a command is for, as far as the command was told of it. */
interface CommandApp {
  readonly name: string;
  /** Its consent page's region, where --apps or TIKTOK_APPS declares it. */
  readonly consentRegion: ConsentRegion | undefined;
  readonly credentialsSecretId: string;
}

type Command =
  | {
      readonly kind: 'authorize';
      readonly shop: string;
      readonly app: CommandApp;
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
      readonly app: CommandApp;
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
    client ??= new SecretsManagerClient({ maxAttempts: 1, requestHandler: AWS_REQUEST_HANDLER });
    return client;
  };
  const publish = async (event: RefresherEvent) => {
    eventBridge ??= new EventBridgeClient({ maxAttempts: 2, requestHandler: AWS_REQUEST_HANDLER });
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
  const prefix = values['secret-prefix'] ?? DEFAULT_SECRET_NAME_PREFIX;
  const app = commandApp(values, env, prefix);
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
    const given = values.region;
    if (given !== undefined && given !== 'row' && given !== 'us') {
      throw new UsageError('--region must be row or us');
    }
    // A link to the other region's page shows the seller an app they cannot authorize.
    if (given !== undefined && app.consentRegion !== undefined && given !== app.consentRegion) {
      throw new UsageError(
        `--region ${given}: the consent page of app "${app.name}" is ${app.consentRegion} (as --apps or ${APPS_LIST_ENV} says); leave --region out`,
      );
    }
    const region = given ?? app.consentRegion ?? 'row';
    const serviceIdEnv = serviceIdEnvOf(app.name);
    const serviceId = values['service-id'] ?? env[serviceIdEnv];
    if (!serviceId) {
      throw new UsageError(`--service-id (or ${serviceIdEnv}) is required for --consent-link`);
    }
    return {
      kind: 'consent-link',
      shop,
      app,
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
      `set both TIKTOK_APP_KEY and TIKTOK_APP_SECRET, or neither to read them from the secret ${app.credentialsSecretId}`,
    );
  }
  return {
    kind: 'authorize',
    shop,
    app,
    authCode,
    destination: tokenFile ?? tokenSecretName(prefix, shop),
    toFile: tokenFile !== undefined,
    secretPrefix: prefix,
    replaceSeller: values['replace-seller'] === true,
    kmsKeyId: values['kms-key-id'] || env[CALLBACK_ENV.tokenSecretKmsKeyId] || undefined,
  };
}

/**
 * The app of `--app` (DEFAULT_APP unless given), which must be one the command is told of:
 * DEFAULT_APP, an app of `--apps` (or TIKTOK_APPS), or one of APP_CREDENTIALS_SECRET_IDS.
 */
function commandApp(
  values: ReturnType<typeof parse>['values'],
  env: Env,
  prefix: string,
): CommandApp {
  const name = values.app ?? DEFAULT_APP;
  if (!isAppName(name)) {
    throw new UsageError(
      `--app: ${JSON.stringify(name.slice(0, 40))} is no app name (${APP_NAME_RULE})`,
    );
  }
  const declaredBy = values.apps === undefined ? APPS_LIST_ENV : '--apps';
  const declared = appsList(values.apps ?? env[APPS_LIST_ENV] ?? '', declaredBy);
  const { apps, problems } = readAppsEnv({
    [ENV.appCredentialsSecretId]: appCredentialsSecretId(env),
    [APPS_ENV.appCredentialsSecretIds]: env[APPS_ENV.appCredentialsSecretIds],
  });
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  const secretId = apps.credentialsSecretIds.get(name);
  if (!declared.has(name) && secretId === undefined) {
    const known = [...new Set([...apps.credentialsSecretIds.keys(), ...declared.keys()])];
    throw new UsageError(
      `app "${name}" is not one this command knows (${known.join(', ')}): declare the deployment's apps in --apps or ${APPS_LIST_ENV} as in the stack's -c apps= (e.g. ${name}:us), or name its secret in ${APPS_ENV.appCredentialsSecretIds}`,
    );
  }
  return {
    name,
    consentRegion: declared.get(name),
    credentialsSecretId: secretId ?? appCredentialsSecretName(prefix, name),
  };
}

/** `us:us,eu` → us (US consent page), eu (region not said); as the stack reads `-c apps=`. */
function appsList(text: string, from: string): Map<string, ConsentRegion | undefined> {
  const apps = new Map<string, ConsentRegion | undefined>();
  for (const entry of text.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const [app = '', region, ...rest] = entry.split(':');
    if (
      !isAppName(app) ||
      rest.length > 0 ||
      (region !== undefined && region !== 'row' && region !== 'us')
    ) {
      throw new UsageError(
        `${from}: invalid entry ${JSON.stringify(entry.slice(0, 60))}: give <app> or <app>:<row|us>, comma-separated, the app ${APP_NAME_RULE}`,
      );
    }
    if (apps.has(app)) throw new UsageError(`${from}: app "${app}" is listed twice`);
    apps.set(app, region);
  }
  return apps;
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
      app: { type: 'string' },
      apps: { type: 'string' },
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
      {
        shop,
        authCode,
        purpose: 'any',
        replaceSeller: command.replaceSeller,
        app: command.app.name,
      },
      {
        appCredentials: async (): Promise<AppCredentials> =>
          env.TIKTOK_APP_KEY?.trim() && env.TIKTOK_APP_SECRET?.trim()
            ? { app_key: env.TIKTOK_APP_KEY.trim(), app_secret: env.TIKTOK_APP_SECRET.trim() }
            : new SecretsManagerTokenStore({
                client: secretsManager(),
                writesPerSecond: DEFAULTS.secretWritesPerSecond,
              }).readAppCredentials(command.app.credentialsSecretId),
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
  const { current, app: boundTo } = await new TokenSecretDestination({
    client: secretsManager(),
    shop: command.shop,
    secretName: command.secretName,
    tokenSecretsPrefix: '',
    tagKey: DEFAULT_TOKEN_SECRET_TAG_KEY,
  }).inspect(undefined);
  const app = command.app.name;
  // The callback would refuse the link: a shop stays with its app.
  if (boundTo !== undefined && boundTo !== app) {
    throw new UsageError(
      `shop ${command.shop} is bound to app "${boundTo.slice(0, 40)}" (the tiktok-shop-app tag of ${command.secretName}; none means "${DEFAULT_APP}"), so a link for app "${app}" would be refused: make it with --app ${boundTo.slice(0, 40)}`,
    );
  }
  const purpose = current === undefined ? 'connect' : 'reconnect';
  const state = signConsentState({ shop: command.shop, purpose, app }, key, { now: Date.now() });
  const link = consentLink({ region: command.region, serviceId: command.serviceId, state });
  const seller =
    current?.openId === undefined
      ? 'the seller stored'
      : `seller ${current.sellerName ?? ''}${current.sellerName ? ' ' : ''}(open_id ${current.openId})`;
  const what =
    purpose === 'connect'
      ? `a new shop (${command.secretName} holds no token yet)`
      : `a reconnect: only ${seller} can use it; another seller is refused`;
  const ofApp = app === DEFAULT_APP ? '' : ` of app ${app} (${command.region} consent page)`;
  return `Consent link for shop ${command.shop}${ofApp}, ${what}. It works once, for one hour; the seller opens it and approves:\n${link}`;
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
    ...(connected.app === DEFAULT_APP ? [] : [`  app: ${connected.app}`]),
    `  connection: ${connection}`,
    `  version: ${stored.versionId}`,
    `  seller: ${connected.sellerName ? `${connected.sellerName} ` : ''}(open_id ${connected.openId})`,
    `  access token expires: ${connected.accessTokenExpiresAt}`,
    `  refresh token expires: ${connected.refreshTokenExpiresAt}`,
  ].join('\n');
}

runAsScript(import.meta.url, main);
