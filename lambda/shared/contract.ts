/**
 * Names shared by the function, the CDK construct and the tests: environment variables,
 * metrics and events. Changing one here changes it everywhere, so alarms and rules never drift
 * from what the function emits.
 */

export const ENV = {
  appCredentialsSecretId: 'APP_CREDENTIALS_SECRET_ID',
  tokenSecretIds: 'TOKEN_SECRET_IDS',
  tokenSecretTagKey: 'TOKEN_SECRET_TAG_KEY',
  tiktokAuthBaseUrl: 'TIKTOK_AUTH_BASE_URL',
  refreshBeforeExpirySeconds: 'REFRESH_BEFORE_EXPIRY_SECONDS',
  eventBusName: 'EVENT_BUS_NAME',
  tiktokTimeoutMs: 'TIKTOK_TIMEOUT_MS',
  maxConcurrency: 'MAX_CONCURRENCY',
  secretWritesPerSecond: 'SECRET_WRITES_PER_SECOND',
  refusalRecheckMs: 'REFUSAL_RECHECK_MS',
  /** The Open API host (Get Authorized Shops, after a refresh); default DEFAULT_TIKTOK_API_BASE_URL. */
  tiktokApiBaseUrl: 'TIKTOK_API_BASE_URL',
  tokenStore: 'TOKEN_STORE',
  tokenTableName: 'TOKEN_TABLE_NAME',
} as const;

/**
 * Where shop tokens live: a secret per shop (the default), or an item per shop in one DynamoDB
 * table (large fleets, see docs/dynamodb-store.md). Values of TOKEN_STORE.
 */
export const TOKEN_STORE = {
  secretsManager: 'secrets-manager',
  dynamodb: 'dynamodb',
} as const;

export type TokenStoreName = (typeof TOKEN_STORE)[keyof typeof TOKEN_STORE];

/** The token table's index of shops by seller, so that a seller is connected under one shop. */
export const SELLER_INDEX_NAME = 'seller';
/** The item attribute that index is keyed on: the seller's open_id (as its tag value). */
export const SELLER_ATTRIBUTE = 'seller';

/** Environment of the consent callback function (lambda/callback-handler.ts). */
export const CALLBACK_ENV = {
  appCredentialsSecretId: ENV.appCredentialsSecretId,
  stateSecretId: 'CALLBACK_STATE_SECRET_ID',
  tokenSecretPrefix: 'TOKEN_SECRET_PREFIX',
  tokenSecretTagKey: ENV.tokenSecretTagKey,
  tiktokAuthBaseUrl: ENV.tiktokAuthBaseUrl,
  /** The Open API host, for Get Authorized Shops after a connection. */
  tiktokApiBaseUrl: ENV.tiktokApiBaseUrl,
  /** The refresher's bus, for `Shop Connected` and `Shop Connection Refused`. */
  eventBusName: ENV.eventBusName,
  /** Customer-managed KMS key of the token secrets the callback creates; unset: aws/secretsmanager. */
  tokenSecretKmsKeyId: 'TOKEN_SECRET_KMS_KEY_ID',
  tokenStore: ENV.tokenStore,
  tokenTableName: ENV.tokenTableName,
} as const;

/** Environment of the example reader function (lambda/example-reader.ts): its shop's secret. */
export const SHOP_TOKEN_SECRET_ID = 'SHOP_TOKEN_SECRET_ID';

/**
 * A shop name becomes part of a secret name and of an IAM resource pattern, so it is kept to
 * characters that mean nothing there: no `/`, no `*`, no `,`, no `..`.
 */
export const SHOP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const DEFAULTS = {
  tiktokAuthBaseUrl: 'https://auth.tiktok-shops.com',
  refreshBeforeExpirySeconds: 172_800,
  eventBusName: 'default',
  tiktokTimeoutMs: 10_000,
  maxConcurrency: 10,
  /**
   * Just below Secrets Manager's regional 50/s write quota: pacing avoids bursts of throttling;
   * the occasional throttle from another writer in the account is retried.
   */
  secretWritesPerSecond: 48,
  /**
   * After TikTok refuses a refresh token, the store is read again for this long before the seller
   * is asked to authorize again: a concurrent writer's new token may still be on its way (two
   * writes, each retried when throttled).
   */
  refusalRecheckMs: 7_500,
  /** `Authorization Expiring` fires when the seller's authorization ends sooner than this. */
  authorizationWarningSeconds: 30 * 24 * 3600,
} as const;

export const METRICS_NAMESPACE = 'TikTokShopTokens';

export const METRIC = {
  tokensRefreshed: 'TokensRefreshed',
  tokensSkipped: 'TokensSkipped',
  tokensSuperseded: 'TokensSuperseded',
  refreshFailures: 'RefreshFailures',
  reauthorizationRequired: 'ReauthorizationRequired',
  transientFailures: 'TransientFailures',
  unexpectedResponses: 'UnexpectedResponses',
  malformedSecrets: 'MalformedSecrets',
  tokensNotStored: 'TokensNotStored',
  authorizationExpiring: 'AuthorizationExpiring',
  eventPublishFailures: 'EventPublishFailures',
  /** TikTok's code-0 answer was kept as a non-current version (drifted, expired access token). */
  tokensNotCurrent: 'TokensNotCurrent',
  /** TikTok answered a refresh with another seller's token; kept, not made current. */
  sellersChanged: 'SellersChanged',
  /** TikTok issued a token whose refresh token had already expired (made current). */
  refreshTokensExpired: 'RefreshTokensExpired',
  /** An answer too large for a secret, stored as the token's fields without the rest. */
  answersTrimmed: 'AnswersTrimmed',
  /** An answer larger than the client reads; reading stopped, nothing of it could be kept. */
  oversizedAnswers: 'OversizedAnswers',
  /** Smallest remaining access-token lifetime across shops after a run, in seconds. */
  minAccessTokenLifetime: 'MinAccessTokenLifetimeSeconds',
  /** Consent callback: a shop connected or reconnected. */
  shopsConnected: 'ShopsConnected',
  /** Consent callback: a connection refused (replayed link, another seller, seller already connected). */
  shopConnectionsRefused: 'ShopConnectionsRefused',
  /**
   * Shops whose seller revoked the app: from the webhook receiver, each shop it marks; from the
   * refresher, each run, the shops it left alone for that reason (their `service` dimensions differ).
   */
  shopsDeauthorized: 'ShopsDeauthorized',
  /** Onboarding or a refresh could not learn which TikTok shop ids a token covers (webhooks need them). */
  shopIdsNotLearned: 'ShopIdsNotLearned',
} as const;

/** Notifications the webhook receiver answered, one metric per outcome. */
export const WEBHOOK_METRIC = {
  /** A type 6 or 7 notification recorded and announced. */
  accepted: 'WebhookNotificationsAccepted',
  /** Seen before, or older than the shop's current token: nothing changed. */
  duplicate: 'WebhookNotificationsDuplicate',
  stale: 'WebhookNotificationsStale',
  /** A notification type this product does not act on (orders, products…). */
  notOurs: 'WebhookNotificationsNotOurs',
  /** A TikTok shop id no connected shop of the app is known to cover. */
  unknownShop: 'WebhookNotificationsUnknownShop',
  /** Refused: the signature did not verify (all of them: a wrong scheme, or a forger). */
  badSignature: 'WebhookSignaturesRefused',
  /** Refused: too large, not JSON, not a notification, or outside the time window. */
  malformed: 'WebhookNotificationsMalformed',
  /** Refused: the URL's path names no app of the deployment. */
  unknownApp: 'WebhookNotificationsUnknownApp',
  /** Could not be recorded (answered 500, TikTok retries). */
  failed: 'WebhookNotificationsFailed',
} as const;

export const EVENT_SOURCE = 'tiktok-shop.token-refresher';

export const DETAIL_TYPE = {
  tokenRefreshed: 'Token Refreshed',
  tokenRefreshFailed: 'Token Refresh Failed',
  reauthorizationRequired: 'Reauthorization Required',
  /**
   * The seller's authorization ends within 30 days. One event, two sources: the refresher after a
   * refresh (detail: shop, app, accessTokenExpiresAt, refreshTokenExpiresAt) and the webhook
   * receiver on TikTok's type 7 notification (detail: shop, app, tiktokShopId, notificationId);
   * both say when it ends as `authorizationExpiresAt` (ISO 8601).
   */
  authorizationExpiring: 'Authorization Expiring',
  /** TikTok's answer is stored as a version that is not current; the detail says where and why. */
  tokenNotCurrent: 'Token Not Current',
  /** TikTok answered with another seller's token: kept, not current. */
  sellerChanged: 'Seller Changed',
  /** The new token is current but its refresh token has expired: the seller must authorize again. */
  refreshTokenExpired: 'Refresh Token Expired',
  /** A shop's token was stored for a new, returning or (on purpose) replaced seller. */
  shopConnected: 'Shop Connected',
  /** A consent or an authorization code was refused before anything was written. */
  shopConnectionRefused: 'Shop Connection Refused',
  /**
   * TikTok said the seller revoked the app: from the webhook receiver when it marks the shop, and
   * from the refresher every run while the shop stays marked (it is not refreshed).
   */
  shopDeauthorized: 'Shop Deauthorized',
} as const;

/** Tag key the CDK construct puts on shop token secrets, used for discovery by default. */
export const DEFAULT_TOKEN_SECRET_TAG_KEY = 'tiktok-shop-token';

/**
 * Environment of a function that calls the TikTok Shop API through the reader's client
 * (lambda/reader/api-client.ts), the example reader's among them.
 */
export const API_READER_ENV = {
  shopTokenSecretId: SHOP_TOKEN_SECRET_ID,
  /** With the shop's name: its token is the table's item, not a secret. */
  tokenTableName: ENV.tokenTableName,
  shopName: 'SHOP_NAME',
  appCredentialsSecretId: ENV.appCredentialsSecretId,
  tiktokApiBaseUrl: ENV.tiktokApiBaseUrl,
} as const;

/** The Open API host for every market, US included. */
export const DEFAULT_TIKTOK_API_BASE_URL = 'https://open-api.tiktokglobalshop.com';

// ---------------------------------------------------------------------------------------------
// Several TikTok apps in one deployment (US sellers authorize apps of the US Partner Center, the
// rest of the world apps of the global one). A deployment with one app keeps every name above;
// helpers that read and check these values are in lambda/shared/apps.ts.

/** The app every shop belongs to unless bound to another: its credentials keep their old name. */
export const DEFAULT_APP = 'default';

/** An app name becomes part of a secret name and a tag value: lower-case, no `/`, `*` or `,`. */
export const APP_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Tag on the token secret of a shop of another app than DEFAULT_APP; its value is the app. */
export const DEFAULT_APP_TAG_KEY = 'tiktok-shop-app';

/** Environment of the refresher function for apps other than DEFAULT_APP. */
export const APPS_ENV = {
  /** JSON object `{"<app>":"<secret name or ARN>"}`: the credentials of each non-default app. */
  appCredentialsSecretIds: 'APP_CREDENTIALS_SECRET_IDS',
  /** JSON object `{"<token secret name>":"<app>"}`: configured shops of non-default apps. */
  shopApps: 'SHOP_APPS',
} as const;

// ---------------------------------------------------------------------------------------------
// Secret naming: the construct creates these names and the functions and commands find them.

/** Prefix of every secret the product names, unless a deployment sets its own. */
export const DEFAULT_SECRET_NAME_PREFIX = 'tiktok-shop/';

/** Tag on each token secret naming its seller, so that a seller is found under one shop only. */
export const SELLER_TAG_KEY = 'tiktok-shop-open-id';

/** `<prefix>tokens/`: the start of every token secret's name. */
export function tokenSecretsPrefix(secretNamePrefix: string): string {
  return `${secretNamePrefix}tokens/`;
}

/** `<prefix>tokens/<shop>`, e.g. `tiktok-shop/tokens/acme-uk` (the shop name is checked by callers). */
export function tokenSecretName(secretNamePrefix: string, shop: string): string {
  return `${tokenSecretsPrefix(secretNamePrefix)}${shop}`;
}

/** `<prefix>callback-state-key`: the key that signs consent links' state. */
export function callbackStateSecretName(secretNamePrefix: string): string {
  return `${secretNamePrefix}callback-state-key`;
}

/**
 * Where an app's `{"app_key","app_secret"}` is: `<prefix>app-credentials` for DEFAULT_APP (as
 * before there were several apps), `<prefix>apps/<app>/credentials` for any other app.
 */
export function appCredentialsSecretName(secretNamePrefix: string, app: string): string {
  return app === DEFAULT_APP
    ? `${secretNamePrefix}app-credentials`
    : `${secretNamePrefix}apps/${app}/credentials`;
}

export const DEFAULT_APP_CREDENTIALS_SECRET_ID = appCredentialsSecretName(
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_APP,
);
export const DEFAULT_CALLBACK_STATE_SECRET_ID = callbackStateSecretName(DEFAULT_SECRET_NAME_PREFIX);

// A shop's authorization state as TikTok's webhooks report it (see lambda/shared/shop-state.ts).
// Tags, not secret versions: TagResource creates no version, so it never races the refresher's
// compare-and-swap, and ListSecrets/DescribeSecret show the state without reading a token.
export const SHOP_STATE_TAG = {
  /** `<unix seconds>:<tts_notification_id>`: TikTok said the seller revoked the app. */
  deauthorized: 'tiktok-shop-deauthorized',
  /** Unix seconds: when the seller's authorization ends, as TikTok announced it. */
  authorizationExpires: 'tiktok-shop-authorization-expires',
  /** The tts_notification_id that announced `authorizationExpires`: a replay of it is a no-op. */
  authorizationExpiresNotification: 'tiktok-shop-authorization-expires-notification',
  /** Prefix of a tag key per TikTok shop id the token may act for (`tiktok-shop-id:<id>`, value '1'). */
  shopIdPrefix: 'tiktok-shop-id:',
} as const;
