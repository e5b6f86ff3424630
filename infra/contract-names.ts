// The names the functions use for metrics, events, tags and secrets, for CDK code in every
// language: jsii leaves exported constant objects out of the assembly, static constants stay.
import {
  DEFAULT_APP,
  DEFAULT_APP_TAG_KEY,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DETAIL_TYPE,
  EVENT_SOURCE,
  METRIC,
  METRICS_NAMESPACE,
} from '../lambda/shared/contract.js';

/**
 * The metrics of the refresher and the consent callback (the TypeScript `METRIC` object):
 * namespace `NAMESPACE`, dimension `service` (the construct's `serviceName`).
 */
export class TikTokShopMetricNames {
  public static readonly NAMESPACE: string = METRICS_NAMESPACE;
  public static readonly TOKENS_REFRESHED: string = METRIC.tokensRefreshed;
  public static readonly TOKENS_SKIPPED: string = METRIC.tokensSkipped;
  public static readonly TOKENS_SUPERSEDED: string = METRIC.tokensSuperseded;
  public static readonly REFRESH_FAILURES: string = METRIC.refreshFailures;
  public static readonly REAUTHORIZATION_REQUIRED: string = METRIC.reauthorizationRequired;
  public static readonly TRANSIENT_FAILURES: string = METRIC.transientFailures;
  public static readonly UNEXPECTED_RESPONSES: string = METRIC.unexpectedResponses;
  public static readonly MALFORMED_SECRETS: string = METRIC.malformedSecrets;
  public static readonly TOKENS_NOT_STORED: string = METRIC.tokensNotStored;
  public static readonly AUTHORIZATION_EXPIRING: string = METRIC.authorizationExpiring;
  public static readonly EVENT_PUBLISH_FAILURES: string = METRIC.eventPublishFailures;
  public static readonly TOKENS_NOT_CURRENT: string = METRIC.tokensNotCurrent;
  public static readonly SELLERS_CHANGED: string = METRIC.sellersChanged;
  public static readonly REFRESH_TOKENS_EXPIRED: string = METRIC.refreshTokensExpired;
  public static readonly ANSWERS_TRIMMED: string = METRIC.answersTrimmed;
  public static readonly OVERSIZED_ANSWERS: string = METRIC.oversizedAnswers;
  public static readonly MIN_ACCESS_TOKEN_LIFETIME: string = METRIC.minAccessTokenLifetime;
  public static readonly SHOPS_CONNECTED: string = METRIC.shopsConnected;
  public static readonly SHOP_CONNECTIONS_REFUSED: string = METRIC.shopConnectionsRefused;
  public static readonly SHOPS_DEAUTHORIZED: string = METRIC.shopsDeauthorized;
  public static readonly SHOP_IDS_NOT_LEARNED: string = METRIC.shopIdsNotLearned;

  private constructor() {}
}

/** The events on the refresher's bus (the TypeScript `EVENT_SOURCE` and `DETAIL_TYPE`). */
export class TikTokShopEventNames {
  /** The `source` of every event. */
  public static readonly SOURCE: string = EVENT_SOURCE;
  public static readonly TOKEN_REFRESHED: string = DETAIL_TYPE.tokenRefreshed;
  public static readonly TOKEN_REFRESH_FAILED: string = DETAIL_TYPE.tokenRefreshFailed;
  public static readonly REAUTHORIZATION_REQUIRED: string = DETAIL_TYPE.reauthorizationRequired;
  public static readonly AUTHORIZATION_EXPIRING: string = DETAIL_TYPE.authorizationExpiring;
  public static readonly TOKEN_NOT_CURRENT: string = DETAIL_TYPE.tokenNotCurrent;
  public static readonly SELLER_CHANGED: string = DETAIL_TYPE.sellerChanged;
  public static readonly REFRESH_TOKEN_EXPIRED: string = DETAIL_TYPE.refreshTokenExpired;
  public static readonly SHOP_CONNECTED: string = DETAIL_TYPE.shopConnected;
  public static readonly SHOP_CONNECTION_REFUSED: string = DETAIL_TYPE.shopConnectionRefused;
  public static readonly SHOP_DEAUTHORIZED: string = DETAIL_TYPE.shopDeauthorized;

  private constructor() {}
}

/** The default names of apps, tags and secrets (the TypeScript `DEFAULT_*` constants). */
export class TikTokShopDefaults {
  /** The app every deployment has. */
  public static readonly APP: string = DEFAULT_APP;
  /** Tag key that binds a token secret to an app other than `APP`. */
  public static readonly APP_TAG_KEY: string = DEFAULT_APP_TAG_KEY;
  /** Tag key of the token secrets, whose value is the shop. */
  public static readonly TOKEN_SECRET_TAG_KEY: string = DEFAULT_TOKEN_SECRET_TAG_KEY;
  /** Prefix of every secret name, unless `secretNamePrefix` says otherwise. */
  public static readonly SECRET_NAME_PREFIX: string = DEFAULT_SECRET_NAME_PREFIX;

  private constructor() {}
}
