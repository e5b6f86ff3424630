/** The package's root: the constructs a CDK app adds, and what their props and events name. */
export {
  DEFAULT_APP,
  DEFAULT_APP_TAG_KEY,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DETAIL_TYPE,
  EVENT_SOURCE,
  METRIC,
  METRICS_NAMESPACE,
} from '../lambda/shared/contract.js';
export {
  TikTokShopConsentCallback,
  type TikTokShopConsentCallbackProps,
} from './consent-callback.js';
export {
  TikTokShopDefaults,
  TikTokShopEventNames,
  TikTokShopMetricNames,
} from './contract-names.js';
export { TikTokShopExampleReader, type TikTokShopExampleReaderProps } from './example-reader.js';
export type { VpcPlacement } from './network.js';
export type { TikTokShopTokenRefresherAlarms } from './refresher-alarms.js';
export type { ITikTokShopTokenRefresher } from './refresher-interface.js';
export {
  MINIMUM_REFRESHER_TIMEOUT,
  type TikTokShopAppProps,
  type TikTokShopBinding,
  TikTokShopConsentRegion,
  type TikTokShopTokenRefresherProps,
  TokenStoreKind,
} from './refresher-props.js';
export {
  type TikTokShopStackAppProps,
  TikTokShopTokenRefresherStack,
  type TikTokShopTokenRefresherStackProps,
} from './stack.js';
export { SCHEDULED_EVENT, TikTokShopTokenRefresher } from './token-refresher.js';
export type { TikTokShopAppOptions } from './token-refresher-props.js';
export {
  TikTokShopWebhookReceiver,
  type TikTokShopWebhookReceiverAlarms,
  type TikTokShopWebhookReceiverProps,
} from './webhook-receiver.js';
