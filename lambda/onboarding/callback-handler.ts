// The consent callback: TikTok's redirect after a seller approved the app, answered with a page
// (answerConsentCallback), and the Lambda handler that builds its adapters.
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { authorizedShopIds } from '../shared/authorized-shops.js';
import {
  lazySingleAttemptDynamoDb,
  powertools,
  singleAttemptSecretsManager,
} from '../shared/aws-clients.js';
import { AWS_REQUEST_HANDLER } from '../shared/budget.js';
import { DEFAULTS, METRIC, tokenSecretName, tokenSecretsPrefix } from '../shared/contract.js';
import { TokenNotCurrentError, toInternalError } from '../shared/errors.js';
import {
  EventBridgePublisher,
  type EventPublisher,
  type RefresherEvent,
} from '../shared/event-publisher.js';
import {
  errorFields,
  type Logger as LoggerPort,
  type Metrics as MetricsPort,
} from '../shared/observability.js';
import { SecretsManagerTokenStore } from '../shared/secrets-store.js';
import { SecretsManagerShopTags } from '../shared/shop-tags.js';
import { TikTokAuthClient } from '../shared/tiktok-auth-client.js';
import type { AppCredentials } from '../shared/token.js';
import { type CallbackConfig, loadCallbackConfig } from './callback-config.js';
import {
  type ConnectDependencies,
  ConnectedElsewhereError,
  type ConnectedShop,
  checkShopName,
  connectShop,
} from './connect.js';
import { readSigningKey, verifyConsentState } from './consent-state.js';
import type { ShopTokenDestination } from './destination.js';
import { DynamoDbDestination } from './dynamodb-destination.js';
import { ShopConnectionRefusedError } from './errors.js';
import { answerKeptEvent, shopConnectedEvent, shopConnectionRefusedEvent } from './events.js';
import {
  answerKeptPage,
  connectedPage,
  declinedPage,
  failurePage,
  invalidLink,
  METHOD_NOT_ALLOWED,
  type Page,
  refusedPage,
  renderPage,
  UNAVAILABLE,
} from './pages.js';
import type { ShopStateDependencies } from './shop-state.js';
import { TokenSecretDestination } from './token-secret.js';

/**
 * TikTok's consent redirect, served by a Lambda function URL: `GET ?code=…&state=…` after a
 * seller approved the app through a link made by `npm run authorize -- --consent-link` (no
 * `code` when the seller declined). A valid state names the shop, what the link is for and its
 * nonce; the code is exchanged and TikTok's answer stored as that shop's token secret, once per
 * link, and only for the seller already stored (a reconnect) or for a shop without a token (a
 * new shop). The code is exchanged with the credentials of the TikTok app the state names
 * (APP_CREDENTIALS_SECRET_ID for the default app, APP_CREDENTIALS_SECRET_IDS for the others), and
 * only for a shop bound to that app. The page never shows a token, and the event (whose query
 * string holds the code) is never logged. Connections and refusals are published to the
 * refresher's bus and counted.
 */

/** The signing key changes rarely; caching it keeps a flood of bogus requests off Secrets Manager. */
const STATE_KEY_MAX_AGE_SECONDS = 300;
/** Far longer than any authorization code seen; longer input is refused before any work. */
const MAX_AUTH_CODE_LENGTH = 512;
/**
 * Time kept back for storing the token once TikTok answered: no retry of the code exchange
 * starts later, as a function killed at its timeout would lose the token without a word.
 */
const STORE_RESERVE_MS = 20_000;
/** Bound on Get Authorized Shops after the token is stored: the page must not wait long for it. */
const SHOP_IDS_TIMEOUT_MS = 5_000;
/** What TikTok's `error` parameter may look like to be named on the page (it is the seller's input). */
const ERROR_PARAMETER = /^[A-Za-z0-9_.-]{1,64}$/;

export interface CallbackRequest {
  readonly method: string;
  readonly query: Readonly<Record<string, string | undefined>>;
}

export interface CallbackDependencies {
  readonly stateKey: () => Promise<string>;
  /** App → its credentials secret: the apps a link may name. */
  readonly appCredentialsSecretIds: ReadonlyMap<string, string>;
  /** The app credentials a secret holds. */
  readonly appCredentials: (secretId: string) => Promise<AppCredentials>;
  readonly tiktok: ConnectDependencies['tiktok'];
  /** The shop's token secret. */
  readonly destination: (shop: string, secretName: string) => ShopTokenDestination;
  /** The deauthorized mark cleared and the TikTok shop ids tagged once a token is stored. */
  readonly shopState?: ShopStateDependencies;
  readonly tokenSecretPrefix: string;
  readonly events: EventPublisher;
  readonly metrics: MetricsPort;
  /** Epoch ms. */
  readonly now: () => number;
  readonly logger: LoggerPort;
}

/**
 * Checks the state before anything else: an invalid one, or one naming an app this deployment
 * does not have, calls neither Secrets Manager for credentials nor TikTok. TikTok's refusal is
 * shown with its code and message (redacted by the client); a refused connection is explained
 * without naming any seller; a failure on our side shows a generic page and is logged.
 */
export async function answerConsentCallback(
  request: CallbackRequest,
  deps: CallbackDependencies,
): Promise<Page> {
  if (request.method !== 'GET') return METHOD_NOT_ALLOWED;
  const { state, error: declined } = request.query;
  // TikTok Shop documents `code`; `auth_code` is accepted too, as some of TikTok's flows name it.
  const code = request.query.code || request.query.auth_code;
  if (!state) {
    deps.logger.warn('consent callback refused', { reason: 'missing state' });
    return invalidLink(
      code
        ? 'The link is missing its state.'
        : 'The link is missing its authorization code and state.',
    );
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
  const { shop, purpose, app, nonce, expiresAt } = check;
  if (!code) {
    const said = declined !== undefined && ERROR_PARAMETER.test(declined) ? declined : undefined;
    deps.logger.warn('consent declined', { shop, app, ...(said ? { tiktokError: said } : {}) });
    return declinedPage(shop, said, expiresAt);
  }
  if (code.length > MAX_AUTH_CODE_LENGTH || !/^[\x21-\x7e]+$/.test(code)) {
    deps.logger.warn('consent callback refused', { shop, reason: 'malformed code' });
    return invalidLink('The authorization code in the link is not one TikTok issues.');
  }

  const tokenSecret = tokenSecretName(deps.tokenSecretPrefix, checkShopName(shop));
  const destination = deps.destination(shop, tokenSecret);
  // Events and logs name the shop as its store does: its secret, or its item (the shop's name).
  const secretName = destination.name;
  const credentialsSecretId = deps.appCredentialsSecretIds.get(app);
  if (credentialsSecretId === undefined) {
    const apps = [...deps.appCredentialsSecretIds.keys()];
    const known = `${apps.slice(0, 10).join(', ') || '(none)'}${apps.length > 10 ? ', …' : ''}`;
    return refused(
      deps,
      shop,
      secretName,
      new ShopConnectionRefusedError(
        `this consent link for shop ${shop} is for app "${app}", which this deployment does not have (its apps: ${known}); nothing was called`,
        'app-unknown',
        { shop, app, codeUsed: false },
      ),
    );
  }
  // What TikTok said is shown to the seller; any other failure is ours, and only logged.
  let tiktokRefusal: unknown;
  const tiktok: ConnectDependencies['tiktok'] = {
    getToken: (credentials, authCode) =>
      deps.tiktok.getToken(credentials, authCode).catch((error: unknown) => {
        tiktokRefusal = error;
        throw error;
      }),
  };
  try {
    const connected = await connectShop(
      { shop, authCode: code, purpose, linkNonce: nonce, app },
      {
        appCredentials: () => deps.appCredentials(credentialsSecretId),
        tiktok,
        destination,
        now: deps.now,
        ...(deps.shopState === undefined ? {} : { shopState: deps.shopState }),
      },
    );
    await announceConnected(deps, connected);
    return connectedPage(connected);
  } catch (error) {
    // The seller's token went to the seller's own shop: that shop is connected again.
    if (error instanceof ConnectedElsewhereError) await announceConnected(deps, error.connected);
    if (error instanceof ShopConnectionRefusedError) {
      return refused(deps, shop, secretName, error);
    }
    if (error instanceof TokenNotCurrentError) {
      deps.logger.error('TikTok answer kept, not current', {
        shop,
        app,
        secretName,
        ...error.kept,
        ...errorFields(error),
      });
      deps.metrics.addMetric(METRIC.tokensNotCurrent, 'Count', 1);
      await publish(deps, answerKeptEvent(secretName, shop, app, error, 'consent-callback'));
      return answerKeptPage(shop);
    }
    const fromTikTok = error === tiktokRefusal;
    if (fromTikTok) {
      deps.logger.warn('TikTok refused the authorization code', { shop, ...errorFields(error) });
    } else {
      deps.logger.error('shop not connected', { shop, ...errorFields(error) });
    }
    return failurePage(error, fromTikTok);
  }
}

/** A token stored: logged, counted and published. */
async function announceConnected(
  deps: CallbackDependencies,
  connected: ConnectedShop,
): Promise<void> {
  const { shop } = connected;
  deps.logger.info('shop connected', {
    shop,
    app: connected.app,
    secretName: connected.stored.name,
    connection: connected.connection,
    created: connected.stored.created,
    versionId: connected.stored.versionId,
    openId: connected.openId,
    accessTokenExpiresAt: connected.accessTokenExpiresAt,
    refreshTokenExpiresAt: connected.refreshTokenExpiresAt,
  });
  for (const warning of connected.warnings) deps.logger.warn('shop connected', { shop, warning });
  deps.metrics.addMetric(METRIC.shopsConnected, 'Count', 1);
  if (connected.shopIdsNotLearned === true) {
    deps.metrics.addMetric(METRIC.shopIdsNotLearned, 'Count', 1);
  }
  await publish(deps, shopConnectedEvent(connected, 'consent-callback'));
}

/** A refused connection: logged, counted, published, and explained to the seller. */
async function refused(
  deps: CallbackDependencies,
  shop: string,
  secretName: string,
  refusal: ShopConnectionRefusedError,
): Promise<Page> {
  deps.logger.warn('shop connection refused', {
    ...refusal.detail,
    shop,
    secretName,
    reason: refusal.reason,
    errorMessage: refusal.message,
  });
  deps.metrics.addMetric(METRIC.shopConnectionsRefused, 'Count', 1);
  await publish(deps, shopConnectionRefusedEvent(secretName, refusal, 'consent-callback'));
  return refusedPage(shop, refusal);
}

/** An event that cannot be published is logged: the connection itself stands. */
async function publish(deps: CallbackDependencies, event: RefresherEvent): Promise<void> {
  const published = await deps.events.publish([event]);
  if (published.failed > 0) {
    deps.logger.error('event not published', {
      detailType: event.detailType,
      reasons: published.reasons.map((reason) => reason.slice(0, 300)),
    });
    deps.metrics.addMetric(METRIC.eventPublishFailures, 'Count', published.failed);
  }
}

// Built once per execution environment and reused by every invocation it serves.
const { logger, metrics } = powertools();
const secretsManager = singleAttemptSecretsManager();
const eventBridge = new EventBridgeClient({ maxAttempts: 2, requestHandler: AWS_REQUEST_HANDLER });
const dynamoDbClient = lazySingleAttemptDynamoDb();
const secrets = new SecretsProvider({ awsSdkV3Client: secretsManager });
let config: CallbackConfig | undefined;

export const handler = async (
  event: LambdaFunctionURLEvent,
  context: Context,
): Promise<LambdaFunctionURLResult> => {
  logger.addContext(context);
  let counted = false;
  try {
    config ??= loadCallbackConfig(process.env);
    const {
      appCredentialsSecretIds,
      stateSecretId,
      tokenSecretKmsKeyId,
      tiktokApiBaseUrl,
      tokenStore,
    } = config;
    // Retries stop before Lambda does, so a timeout is logged as a token not stored.
    const deadline = () => Date.now() + context.getRemainingTimeInMillis() - 3_000;
    const store = new SecretsManagerTokenStore({
      client: secretsManager,
      writesPerSecond: DEFAULTS.secretWritesPerSecond,
      deadline,
    });
    const tokenSecretPrefix = config.tokenSecretPrefix;
    const tagKey = config.tokenSecretTagKey;
    const auth = new TikTokAuthClient({
      baseUrl: config.tiktokAuthBaseUrl,
      timeoutMs: DEFAULTS.tiktokTimeoutMs,
    });
    const page = await answerConsentCallback(
      { method: event.requestContext.http.method, query: event.queryStringParameters ?? {} },
      {
        stateKey: () =>
          readSigningKey(stateSecretId, (id) =>
            secrets.get(id, { maxAge: STATE_KEY_MAX_AGE_SECONDS }),
          ),
        appCredentialsSecretIds,
        appCredentials: (secretId) => store.readAppCredentials(secretId),
        tiktok: {
          getToken: (credentials, authCode) =>
            auth.getToken(
              credentials,
              authCode,
              Date.now() + context.getRemainingTimeInMillis() - STORE_RESERVE_MS,
            ),
        },
        destination: (shop, secretName) =>
          tokenStore.kind === 'dynamodb'
            ? new DynamoDbDestination({
                client: dynamoDbClient(),
                tableName: tokenStore.tableName,
                shop,
                deadline,
              })
            : new TokenSecretDestination({
                client: secretsManager,
                shop,
                secretName,
                tokenSecretsPrefix: tokenSecretsPrefix(tokenSecretPrefix),
                tagKey,
                ...(tokenSecretKmsKeyId === undefined ? {} : { kmsKeyId: tokenSecretKmsKeyId }),
                deadline,
              }),
        // Shop state lives in the secrets' tags: the table keeps none (see docs/webhooks.md).
        ...(tokenStore.kind === 'dynamodb'
          ? {}
          : {
              shopState: {
                tags: new SecretsManagerShopTags({ client: secretsManager, deadline }),
                shopIds: (credentials, accessToken) =>
                  authorizedShopIds({
                    baseUrl: tiktokApiBaseUrl,
                    credentials,
                    accessToken,
                    timeoutMs: SHOP_IDS_TIMEOUT_MS,
                    now: Date.now(),
                  }),
              },
            }),
        tokenSecretPrefix,
        events: new EventBridgePublisher({ client: eventBridge, busName: config.eventBusName }),
        metrics: {
          addMetric: (name, unit, value) => {
            counted = true;
            metrics.addMetric(name, unit, value);
          },
        },
        now: Date.now,
        logger,
      },
    );
    return renderPage(page);
  } catch (error) {
    logger.error('consent callback failed', errorFields(toInternalError(error)));
    return renderPage(UNAVAILABLE);
  } finally {
    if (counted) metrics.publishStoredMetrics();
  }
};
