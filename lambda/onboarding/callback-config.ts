// The consent callback function's configuration, read once from its environment (as
// refresher/config.ts reads the refresher's).
import { readAppsEnv } from '../shared/apps.js';
import {
  CALLBACK_ENV,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TIKTOK_API_BASE_URL,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
} from '../shared/contract.js';
import { type Env, readEnv } from '../shared/env.js';
import { readStoreChoice, type StoreChoice } from '../shared/store-choice.js';

export interface CallbackConfig {
  /** App → its credentials secret: the default app's and every other app's the callback may use. */
  readonly appCredentialsSecretIds: ReadonlyMap<string, string>;
  readonly stateSecretId: string;
  /** Where the shops' tokens go: their secrets (named by the prefix), or the token table. */
  readonly tokenStore: StoreChoice;
  readonly tokenSecretPrefix: string;
  readonly tokenSecretTagKey: string;
  readonly tiktokAuthBaseUrl: string;
  /** The Open API host, for the shop ids a new token covers. */
  readonly tiktokApiBaseUrl: string;
  readonly eventBusName: string;
  /** Customer-managed key for the secrets the callback creates; undefined: aws/secretsmanager. */
  readonly tokenSecretKmsKeyId?: string;
}

/** Every problem is collected first, so one error names all of them. */
export function loadCallbackConfig(env: Env): CallbackConfig {
  const { apps, problems } = readAppsEnv(env);
  const read = readEnv(env, problems);
  const { text } = read;
  const stateSecretId = read.required(CALLBACK_ENV.stateSecretId);
  const tiktokAuthBaseUrl = read.baseUrl(
    CALLBACK_ENV.tiktokAuthBaseUrl,
    DEFAULTS.tiktokAuthBaseUrl,
  );
  const tiktokApiBaseUrl = read.baseUrl(CALLBACK_ENV.tiktokApiBaseUrl, DEFAULT_TIKTOK_API_BASE_URL);
  const tokenStore = readStoreChoice(read);
  read.check();
  const kmsKeyId = text(CALLBACK_ENV.tokenSecretKmsKeyId);
  return {
    appCredentialsSecretIds: apps.credentialsSecretIds,
    stateSecretId,
    tokenStore,
    tokenSecretPrefix: text(CALLBACK_ENV.tokenSecretPrefix) ?? DEFAULT_SECRET_NAME_PREFIX,
    tokenSecretTagKey: text(CALLBACK_ENV.tokenSecretTagKey) ?? DEFAULT_TOKEN_SECRET_TAG_KEY,
    tiktokAuthBaseUrl,
    tiktokApiBaseUrl,
    eventBusName: text(CALLBACK_ENV.eventBusName) ?? DEFAULTS.eventBusName,
    ...(kmsKeyId === undefined ? {} : { tokenSecretKmsKeyId: kmsKeyId }),
  };
}
