// The apps of one deployment: reading them from the environment, and each shop's app.
import {
  APP_NAME,
  APPS_ENV,
  appCredentialsSecretName,
  DEFAULT_APP,
  DEFAULT_APP_TAG_KEY,
  ENV,
} from './contract.js';
import { type Env, type EnvReader, readEnv } from './env.js';
import { shopFromId } from './shop.js';

/**
 * Several TikTok apps in one deployment: the checks and names the refresher function, the
 * readers and the CDK construct share. Pure: nothing here calls AWS.
 */

/** What an app name may be, said the same way by the construct and the function. */
export const APP_NAME_RULE =
  "1 to 32 lower-case letters, digits or '-', starting with a letter or digit";

/** Lambda's whole environment is at most 4 KB: a longer value is not one the construct wrote. */
const MAX_ENV_VALUE_LENGTH = 4096;

export function isAppName(name: string): boolean {
  return APP_NAME.test(name);
}

/** The apps a function knows: where each app's credentials are, and the app of configured shops. */
export interface AppsConfig {
  /** App → name or ARN of its credentials secret. DEFAULT_APP's is APP_CREDENTIALS_SECRET_ID. */
  readonly credentialsSecretIds: ReadonlyMap<string, string>;
  /** Token secret name → app, for configured shops of apps other than DEFAULT_APP. */
  readonly shopApps: ReadonlyMap<string, string>;
}

/**
 * Reads APP_CREDENTIALS_SECRET_ID, APP_CREDENTIALS_SECRET_IDS and SHOP_APPS. Problems are
 * returned, not thrown, so that a function's configuration error names all of its problems at
 * once. A shop bound to an app that is not configured is no problem here: `shopApp` fails that
 * shop alone.
 */
export function readAppsEnv(env: Env): { apps: AppsConfig; problems: string[] } {
  const read = readEnv(env);
  const { problems } = read;
  const credentialsSecretIds = new Map<string, string>();
  const defaultId = read.text(ENV.appCredentialsSecretId);
  if (defaultId) credentialsSecretIds.set(DEFAULT_APP, defaultId);

  const others = readStringObject(read, APPS_ENV.appCredentialsSecretIds);
  for (const [app, secretId] of others) {
    if (app === DEFAULT_APP) {
      problems.push(
        `${APPS_ENV.appCredentialsSecretIds}: "${DEFAULT_APP}" is the app of ${ENV.appCredentialsSecretId}; leave it out`,
      );
    } else if (!isAppName(app)) {
      problems.push(
        `${APPS_ENV.appCredentialsSecretIds}: invalid app name ${quote(app)} (${APP_NAME_RULE})`,
      );
    } else if (secretId.trim() === '') {
      problems.push(`${APPS_ENV.appCredentialsSecretIds}: app "${app}" has no secret id`);
    } else {
      credentialsSecretIds.set(app, secretId.trim());
    }
  }
  if (credentialsSecretIds.size === 0 && problems.length === 0) {
    problems.push(
      `${ENV.appCredentialsSecretId} is required (or ${APPS_ENV.appCredentialsSecretIds})`,
    );
  }

  const shopApps = new Map<string, string>();
  for (const [shop, app] of readStringObject(read, APPS_ENV.shopApps)) {
    if (shop.trim() === '') problems.push(`${APPS_ENV.shopApps}: a shop without a name`);
    else if (!isAppName(app)) {
      problems.push(
        `${APPS_ENV.shopApps}: shop ${quote(shop)} is bound to an invalid app name ${quote(app)} (${APP_NAME_RULE})`,
      );
    } else shopApps.set(shop, app);
  }
  return { apps: { credentialsSecretIds, shopApps }, problems };
}

/** A shop's app and where its credentials are, or why it has none. */
export type ShopApp =
  | { readonly ok: true; readonly app: string; readonly credentialsSecretId: string }
  | { readonly ok: false; readonly app?: string; readonly problem: string };

/**
 * The app of a shop: its SHOP_APPS entry, else the app tag of its token secret (`appTag`, for a
 * discovered shop), else DEFAULT_APP. A shop bound to an app the deployment does not know, or
 * whose tag is no app name, is a configuration problem of that shop, named in `problem`.
 */
export function shopApp(apps: AppsConfig, shopName: string, appTag?: string): ShopApp {
  const configured = apps.shopApps.get(shopName);
  if (configured === undefined && appTag !== undefined && !isAppName(appTag)) {
    return {
      ok: false,
      problem: `shop ${shopName}: its token secret's tag ${DEFAULT_APP_TAG_KEY} is ${quote(appTag)}, not an app name (${APP_NAME_RULE})`,
    };
  }
  const app = configured ?? appTag ?? DEFAULT_APP;
  const credentialsSecretId = apps.credentialsSecretIds.get(app);
  if (credentialsSecretId === undefined) {
    const known = [...apps.credentialsSecretIds.keys()].join(', ') || '(none)';
    return {
      ok: false,
      app,
      problem: `shop ${shopName} is bound to app "${app}", which this deployment does not know (its apps: ${known}): add the app to the construct's apps, or bind the shop to one of them`,
    };
  }
  return { ok: true, app, credentialsSecretId };
}

/** The app a secret's tags name (tags as DescribeSecret and ListSecrets answer them); undefined when untagged. */
export function appTagOf(
  tags: readonly { readonly Key?: string; readonly Value?: string }[] | undefined,
): string | undefined {
  return tags?.find((tag) => tag.Key === DEFAULT_APP_TAG_KEY)?.Value;
}

/** `<prefix>` of a token secret named `<prefix>tokens/<shop>` (given by name or ARN); undefined for another name. */
export function secretNamePrefixOf(tokenSecretId: string): string | undefined {
  return /^(.*)tokens\/[^/]+$/.exec(shopFromId(tokenSecretId).name)?.[1];
}

/**
 * The id of `app`'s credentials secret beside a token secret named `<prefix>tokens/<shop>`:
 * `<prefix>app-credentials` or `<prefix>apps/<app>/credentials`; for a token secret given by
 * ARN, the partial ARN of that name in the same account and region. Undefined for a token
 * secret named otherwise.
 */
export function appCredentialsSecretIdBeside(
  tokenSecretId: string,
  app: string,
): string | undefined {
  const prefix = secretNamePrefixOf(tokenSecretId);
  if (prefix === undefined) return undefined;
  const name = appCredentialsSecretName(prefix, app);
  const { arn } = shopFromId(tokenSecretId);
  return arn === undefined ? name : `${arn.slice(0, arn.indexOf(':secret:'))}:secret:${name}`;
}

/** A JSON object of strings from the environment; empty when the variable is unset. */
function readStringObject(read: EnvReader, name: string): [string, string][] {
  const { problems } = read;
  const text = read.text(name);
  if (text === undefined) return [];
  if (text.length > MAX_ENV_VALUE_LENGTH) {
    problems.push(`${name} is longer than ${MAX_ENV_VALUE_LENGTH} characters`);
    return [];
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    problems.push(`${name} is not valid JSON`);
    return [];
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${name} must be a JSON object`);
    return [];
  }
  const entries = Object.entries(value);
  const notStrings = entries.filter(([, entry]) => typeof entry !== 'string');
  if (notStrings.length > 0) {
    problems.push(
      `${name}: the value of ${notStrings
        .slice(0, 5)
        .map(([key]) => quote(key))
        .join(', ')}${notStrings.length > 5 ? ', …' : ''} must be a string`,
    );
  }
  return entries.filter((entry): entry is [string, string] => typeof entry[1] === 'string');
}

/** A name from outside, quoted and cut short, for an error message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
