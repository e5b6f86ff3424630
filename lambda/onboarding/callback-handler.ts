import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { checkBaseUrl } from '../shared/base-url.js';
import { AWS_REQUEST_HANDLER } from '../shared/budget.js';
import { CALLBACK_ENV, DEFAULT_TOKEN_SECRET_TAG_KEY, DEFAULTS } from '../shared/contract.js';
import {
  ConfigurationError,
  describeError,
  ReauthorizationRequiredError,
  TokenNotStoredError,
  TransientError,
  toInternalError,
  UnexpectedResponseError,
} from '../shared/errors.js';
import { type FirstTokenStored, SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import type { AppCredentials } from '../shared/token.js';
import {
  type ConnectDependencies,
  connectShop,
  DEFAULT_TOKEN_SECRET_PREFIX,
  tokenSecretName,
} from './connect.js';
import { readSigningKey, verifyConsentState } from './consent-state.js';

/**
 * TikTok's consent redirect, served by a Lambda function URL: `GET ?code=…&state=…` after a
 * seller approved the app through a link made by `npm run authorize -- --consent-link`. A valid
 * state names the shop; the code is exchanged and TikTok's answer stored as that shop's token
 * secret, created and tagged for the refresher if missing. The page never shows a token, and
 * the event (whose query string holds the code) is never logged.
 */

export { CALLBACK_ENV };

/** The signing key changes rarely; caching it keeps a flood of bogus requests off Secrets Manager. */
const STATE_KEY_MAX_AGE_SECONDS = 300;

export interface CallbackConfig {
  readonly appCredentialsSecretId: string;
  readonly stateSecretId: string;
  readonly tokenSecretPrefix: string;
  readonly tokenSecretTagKey: string;
  readonly tiktokAuthBaseUrl: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadCallbackConfig(env: Env): CallbackConfig {
  const text = (name: string) => env[name]?.trim() || undefined;
  const problems = [CALLBACK_ENV.appCredentialsSecretId, CALLBACK_ENV.stateSecretId]
    .filter((name) => text(name) === undefined)
    .map((name) => `${name} is required`);
  const tiktokAuthBaseUrl = text(CALLBACK_ENV.tiktokAuthBaseUrl) ?? DEFAULTS.tiktokAuthBaseUrl;
  const urlProblem = checkBaseUrl(tiktokAuthBaseUrl);
  if (urlProblem !== undefined) problems.push(`${CALLBACK_ENV.tiktokAuthBaseUrl} ${urlProblem}`);
  if (problems.length > 0) {
    throw new ConfigurationError(`invalid configuration: ${problems.join('; ')}`);
  }
  return {
    appCredentialsSecretId: text(CALLBACK_ENV.appCredentialsSecretId) ?? '',
    stateSecretId: text(CALLBACK_ENV.stateSecretId) ?? '',
    tokenSecretPrefix: text(CALLBACK_ENV.tokenSecretPrefix) ?? DEFAULT_TOKEN_SECRET_PREFIX,
    tokenSecretTagKey: text(CALLBACK_ENV.tokenSecretTagKey) ?? DEFAULT_TOKEN_SECRET_TAG_KEY,
    tiktokAuthBaseUrl,
  };
}

export interface CallbackRequest {
  readonly method: string;
  readonly query: Readonly<Record<string, string | undefined>>;
}

/** What the seller's browser shows. */
export interface Page {
  readonly statusCode: number;
  readonly title: string;
  readonly message: string;
}

export interface CallbackLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export interface CallbackDependencies {
  readonly stateKey: () => Promise<string>;
  readonly appCredentials: () => Promise<AppCredentials>;
  readonly tiktok: ConnectDependencies['tiktok'];
  readonly store: {
    storeFirstToken(
      name: string,
      raw: string,
      tag: { tagKey: string; tagValue: string },
    ): Promise<FirstTokenStored>;
  };
  readonly tokenSecretPrefix: string;
  readonly tokenSecretTagKey: string;
  /** Epoch ms. */
  readonly now: () => number;
  readonly logger: CallbackLogger;
}

const UNAVAILABLE: Page = {
  statusCode: 500,
  title: 'Shop not connected',
  message:
    'Something went wrong on our side and the shop was not connected. Please contact us; you may be asked to approve the app again.',
};

/**
 * Checks the state before anything else: an invalid one calls neither Secrets Manager for
 * credentials nor TikTok. TikTok's refusal is shown with its code and message (redacted by the
 * client); a failure on our side shows a generic page and is logged.
 */
export async function answerConsentCallback(
  request: CallbackRequest,
  deps: CallbackDependencies,
): Promise<Page> {
  if (request.method !== 'GET') {
    return { statusCode: 405, title: 'Method not allowed', message: 'Only GET is accepted.' };
  }
  const { code, state } = request.query;
  if (!code || !state) {
    deps.logger.warn('consent callback refused', { reason: 'missing code or state' });
    return invalidLink('The link is missing its authorization code or state.');
  }
  const check = verifyConsentState(state, await deps.stateKey(), { now: deps.now() });
  if (!check.valid) {
    deps.logger.warn('consent callback refused', { reason: `state ${check.reason}` });
    return invalidLink(
      check.reason === 'expired'
        ? 'This authorization link has expired.'
        : 'This authorization link was not issued by us.',
    );
  }
  const { shop } = check;
  const secretName = tokenSecretName(deps.tokenSecretPrefix, shop);
  const credentials = await deps.appCredentials();
  try {
    const connected = await connectShop(shop, code, {
      appCredentials: async () => credentials,
      tiktok: deps.tiktok,
      store: (raw) =>
        deps.store.storeFirstToken(secretName, raw, {
          tagKey: deps.tokenSecretTagKey,
          tagValue: shop,
        }),
    });
    deps.logger.info('shop connected', {
      shop,
      secretName,
      created: connected.stored.created,
      versionId: connected.stored.versionId,
      accessTokenExpiresAt: connected.accessTokenExpiresAt,
      refreshTokenExpiresAt: connected.refreshTokenExpiresAt,
    });
    return {
      statusCode: 200,
      title: 'Shop connected',
      message: `Shop ${shop} is connected. Its token will be refreshed automatically.`,
    };
  } catch (error) {
    return failurePage(shop, error, deps.logger);
  }
}

function invalidLink(why: string): Page {
  return {
    statusCode: 400,
    title: 'Invalid authorization link',
    message: `${why} Nothing was changed. Ask us for a new link and approve the app again.`,
  };
}

function failurePage(shop: string, error: unknown, logger: CallbackLogger): Page {
  const described = describeError(error);
  if (error instanceof TokenNotStoredError || !isFromTikTok(error)) {
    logger.error('shop not connected', { shop, ...loggable(error) });
    return UNAVAILABLE;
  }
  logger.warn('TikTok refused the authorization code', { shop, ...loggable(error) });
  return {
    statusCode: error instanceof ReauthorizationRequiredError ? 400 : 502,
    title: 'Shop not connected',
    message: `TikTok did not accept the authorization (${described.message}). Nothing was stored. Please approve the app again from a new link.`,
  };
}

/**
 * The error as log keys. Its message goes under `errorMessage`: Powertools Logger keeps its own
 * `message` key and would silently drop the error's.
 */
function loggable(error: unknown): Record<string, unknown> {
  const { message, ...rest } = describeError(error);
  return { ...rest, errorMessage: message };
}

/** What the TikTok client throws; the store's failures arrive as TokenNotStoredError. */
function isFromTikTok(error: unknown): boolean {
  return (
    error instanceof ReauthorizationRequiredError ||
    error instanceof UnexpectedResponseError ||
    error instanceof TransientError
  );
}

/** A page without scripts or outside resources, so the URL with the code goes nowhere else. */
export function renderPage(page: Page): LambdaFunctionURLResult {
  return {
    statusCode: page.statusCode,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'",
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      ...(page.statusCode === 405 ? { allow: 'GET' } : {}),
    },
    body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title></head>
<body><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.message)}</p></body></html>
`,
  };
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );
}

// Built once per execution environment and reused by every invocation it serves.
const logger = new Logger();
// The store retries with its own policy, so the SDK makes single attempts.
const secretsManager = new SecretsManagerClient({
  maxAttempts: 1,
  requestHandler: AWS_REQUEST_HANDLER,
});
const secrets = new SecretsProvider({ awsSdkV3Client: secretsManager });
let config: CallbackConfig | undefined;

export const handler = async (
  event: LambdaFunctionURLEvent,
  context: Context,
): Promise<LambdaFunctionURLResult> => {
  logger.addContext(context);
  try {
    config ??= loadCallbackConfig(process.env);
    const { appCredentialsSecretId, stateSecretId } = config;
    const store = new SecretsManagerTokenStore({
      client: secretsManager,
      writesPerSecond: DEFAULTS.secretWritesPerSecond,
      // Retries stop before Lambda does, so a timeout is logged as a token not stored.
      deadline: () => Date.now() + context.getRemainingTimeInMillis() - 3_000,
    });
    const page = await answerConsentCallback(
      { method: event.requestContext.http.method, query: event.queryStringParameters ?? {} },
      {
        stateKey: () =>
          readSigningKey(stateSecretId, (id) =>
            secrets.get(id, { maxAge: STATE_KEY_MAX_AGE_SECONDS }),
          ),
        appCredentials: () => store.readAppCredentials(appCredentialsSecretId),
        tiktok: new TikTokAuthClient({
          baseUrl: config.tiktokAuthBaseUrl,
          timeoutMs: DEFAULTS.tiktokTimeoutMs,
        }),
        store,
        tokenSecretPrefix: config.tokenSecretPrefix,
        tokenSecretTagKey: config.tokenSecretTagKey,
        now: Date.now,
        logger,
      },
    );
    return renderPage(page);
  } catch (error) {
    logger.error('consent callback failed', loggable(toInternalError(error)));
    return renderPage(UNAVAILABLE);
  }
};
