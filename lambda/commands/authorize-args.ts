// The authorize command's arguments and environment, checked into one Command before anything
// is read from AWS or sent to TikTok.
import { parseArgs } from 'node:util';
import { checkShopName } from '../onboarding/connect.js';
import type { ConsentRegion } from '../onboarding/consent-state.js';
import { APP_NAME_RULE, isAppName, readAppsEnv } from '../shared/apps.js';
import {
  APPS_ENV,
  appCredentialsSecretName,
  CALLBACK_ENV,
  DEFAULT_APP,
  DEFAULT_APP_CREDENTIALS_SECRET_ID,
  DEFAULT_CALLBACK_STATE_SECRET_ID,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TIKTOK_API_BASE_URL,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  ENV,
  tokenSecretName,
} from '../shared/contract.js';
import { type Env, type EnvReader, readEnv } from '../shared/env.js';
import { UsageError } from '../shared/errors.js';
import { readStoreChoice } from '../shared/store-choice.js';
import type { AppCredentials } from '../shared/token.js';
import { checkAuthCode } from './auth-code.js';
import { awsRequested, missingAppKeyProblem } from './aws-setup.js';
import { invocation } from './cli-help.js';

/** The usage lines, naming the command as it was started (`npm run authorize --` or the binary). */
export function usage(env: Env): string {
  const command = invocation('authorize', env);
  const shows = command.startsWith('npm ')
    ? "npm's banner and your shell history"
    : 'your shell history';
  return `usage:
  ${command} --shop <name> --auth-code-stdin [--token-file <path> | --secret-prefix <prefix> | --store dynamodb --table <name>] [--replace-seller] [--kms-key-id <key>] [--app <app>]
  TIKTOK_AUTH_CODE=<code> ${command} --shop <name> [...]
  ${command} --shop <name> --auth-code <code> [...]   (the code then shows in ${shows})
  ${command} --consent-link --shop <name> [--app <app>] [--region row|us] [--service-id <id>]
  another app than default: declare the apps with --apps or TIKTOK_APPS as in -c apps= (e.g. us:us)`;
}

/** Where the code comes from, when not from the flag or standard input. */
const AUTH_CODE_ENV = 'TIKTOK_AUTH_CODE';

/** The deployment's apps besides `default`, as the stack's `-c apps=`: `<app>[:row|us]`, comma-separated. */
const APPS_LIST_ENV = 'TIKTOK_APPS';

/** The service id of a consent link for `app`: TIKTOK_SERVICE_ID, or TIKTOK_SERVICE_ID_<APP>. */
function serviceIdEnvOf(app: string): string {
  return app === DEFAULT_APP
    ? 'TIKTOK_SERVICE_ID'
    : `TIKTOK_SERVICE_ID_${app.toUpperCase().replaceAll('-', '_')}`;
}

/** The app a command is for, as far as the command was told of it. */
export interface CommandApp {
  readonly name: string;
  /** Its consent page's region, where --apps or TIKTOK_APPS declares it. */
  readonly consentRegion: ConsentRegion | undefined;
  readonly credentialsSecretId: string;
}

/** Exchange an authorization code and store the shop's token. */
export interface AuthorizeCommand {
  readonly kind: 'authorize';
  readonly shop: string;
  readonly app: CommandApp;
  /** Read from standard input once the arguments are known to be right. */
  readonly authCode: string | 'stdin';
  /** A secret name, or a file path with `toFile`. */
  readonly destination: string;
  readonly toFile: boolean;
  /** The DynamoDB token table the token goes to instead of a secret (`--store dynamodb`). */
  readonly tableName?: string;
  /** The token secrets' name prefix (`<prefix>tokens/<shop>`). */
  readonly secretPrefix: string;
  readonly replaceSeller: boolean;
  readonly kmsKeyId: string | undefined;
  readonly tiktokAuthBaseUrl: string;
  /** The Open API host (TIKTOK_API_BASE_URL), for the shop ids a new token covers. */
  readonly tiktokApiBaseUrl: string;
  /** TIKTOK_APP_KEY and TIKTOK_APP_SECRET; undefined: read from the app's credentials secret. */
  readonly appCredentials: AppCredentials | undefined;
  /** The refresher's discovery tag key, put on a secret the command creates. */
  readonly tokenSecretTagKey: string;
  /** Where `Shop Connected` and `Shop Connection Refused` go. */
  readonly eventBusName: string;
}

/** Print a consent link for a seller. */
export interface ConsentLinkCommand {
  readonly kind: 'consent-link';
  readonly shop: string;
  readonly app: CommandApp;
  readonly region: ConsentRegion;
  readonly serviceId: string;
  readonly secretName: string;
  /** The secret holding the key that signs the link's state. */
  readonly stateSecretId: string;
}

export type Command = AuthorizeCommand | ConsentLinkCommand;

/** Throws UsageError naming what is wrong; reads nothing but `argv` and `env`. */
export function parseCommand(argv: readonly string[], env: Env): Command {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const read = readEnv(env);
  if (values.shop === undefined) throw new UsageError('--shop is required');
  const shop = checkShopName(values.shop);
  const prefix = values['secret-prefix'] ?? DEFAULT_SECRET_NAME_PREFIX;
  const app = commandApp(values, read, prefix);
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
    const serviceId = values['service-id'] ?? read.text(serviceIdEnv);
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
      stateSecretId: read.text(CALLBACK_ENV.stateSecretId) ?? DEFAULT_CALLBACK_STATE_SECRET_ID,
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
  const tableName = commandTable(values, env, tokenFile !== undefined);
  const tiktokAuthBaseUrl = read.baseUrl(ENV.tiktokAuthBaseUrl, DEFAULTS.tiktokAuthBaseUrl);
  const tiktokApiBaseUrl = read.baseUrl(ENV.tiktokApiBaseUrl, DEFAULT_TIKTOK_API_BASE_URL);
  if (read.problems.length > 0) throw new UsageError(read.problems.join('; '));
  const appKey = read.text('TIKTOK_APP_KEY');
  const appSecret = read.text('TIKTOK_APP_SECRET');
  if ((appKey === undefined) !== (appSecret === undefined)) {
    throw new UsageError(
      `set both TIKTOK_APP_KEY and TIKTOK_APP_SECRET, or neither to read them from the secret ${app.credentialsSecretId}`,
    );
  }
  // A file-only run turns to AWS for the app's credentials only when told to: without AWS it
  // would fail later, and only with the SDK's "Region is missing".
  if (appKey === undefined && tokenFile !== undefined && !awsRequested(read)) {
    throw new UsageError(missingAppKeyProblem(app.credentialsSecretId));
  }
  return {
    kind: 'authorize',
    shop,
    app,
    authCode,
    destination: tokenFile ?? tokenSecretName(prefix, shop),
    toFile: tokenFile !== undefined,
    ...(tableName === undefined ? {} : { tableName }),
    secretPrefix: prefix,
    replaceSeller: values['replace-seller'] === true,
    kmsKeyId: values['kms-key-id'] || read.text(CALLBACK_ENV.tokenSecretKmsKeyId),
    tiktokAuthBaseUrl,
    tiktokApiBaseUrl,
    appCredentials:
      appKey === undefined || appSecret === undefined
        ? undefined
        : { app_key: appKey, app_secret: appSecret },
    tokenSecretTagKey: read.text(ENV.tokenSecretTagKey) ?? DEFAULT_TOKEN_SECRET_TAG_KEY,
    eventBusName: read.text(ENV.eventBusName) ?? DEFAULTS.eventBusName,
  };
}

/**
 * The token table of `--store dynamodb --table <name>`, or of TOKEN_STORE and TOKEN_TABLE_NAME as
 * the functions get them (a flag wins); undefined for Secrets Manager or a token file.
 */
function commandTable(
  values: ReturnType<typeof parse>['values'],
  env: Env,
  toFile: boolean,
): string | undefined {
  const read = readEnv({
    [ENV.tokenStore]: values.store ?? env[ENV.tokenStore],
    [ENV.tokenTableName]: values.table ?? env[ENV.tokenTableName],
  });
  const choice = readStoreChoice(read);
  if (read.problems.length > 0) {
    throw new UsageError(read.problems.join('; ').replace(ENV.tokenStore, '--store'));
  }
  if (choice.kind !== 'dynamodb') {
    if (values.table !== undefined) throw new UsageError('--table goes with --store dynamodb');
    return undefined;
  }
  if (toFile && values.store !== undefined) {
    throw new UsageError('--token-file excludes --store dynamodb');
  }
  return toFile ? undefined : choice.tableName;
}

/**
 * The app of `--app` (DEFAULT_APP unless given), which must be one the command is told of:
 * DEFAULT_APP, an app of `--apps` (or TIKTOK_APPS), or one of APP_CREDENTIALS_SECRET_IDS.
 */
function commandApp(
  values: ReturnType<typeof parse>['values'],
  read: EnvReader,
  prefix: string,
): CommandApp {
  const name = values.app ?? DEFAULT_APP;
  if (!isAppName(name)) {
    throw new UsageError(
      `--app: ${JSON.stringify(name.slice(0, 40))} is no app name (${APP_NAME_RULE})`,
    );
  }
  const declaredBy = values.apps === undefined ? APPS_LIST_ENV : '--apps';
  const declared = appsList(values.apps ?? read.text(APPS_LIST_ENV) ?? '', declaredBy);
  const { apps, problems } = readAppsEnv({
    [ENV.appCredentialsSecretId]:
      read.text(ENV.appCredentialsSecretId) ?? DEFAULT_APP_CREDENTIALS_SECRET_ID,
    [APPS_ENV.appCredentialsSecretIds]: read.text(APPS_ENV.appCredentialsSecretIds),
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
      store: { type: 'string' },
      table: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
}
