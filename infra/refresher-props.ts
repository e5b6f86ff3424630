import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { runBudget } from '../lambda/shared/budget.js';
import { DEFAULTS, SHOP_NAME } from '../lambda/shared/contract.js';

// Characters Secrets Manager allows in a name, minus the comma that separates TOKEN_SECRET_IDS.
const SECRET_NAME_PART = /^[A-Za-z0-9/_+=.@-]+$/;

export interface TikTokShopTokenRefresherProps {
  /**
   * Shops to create a token secret for, each named `<secretNamePrefix>tokens/<shop>` and tagged
   * `<tokenSecretTagKey>=<shop>`. The secrets are created empty: put the first token in after deploy.
   * @default - no token secrets are created
   */
  readonly shops?: string[];

  /**
   * Token secrets that already exist and that the function should keep fresh as well.
   * Import them with `Secret.fromSecretCompleteArn` (or `fromSecretNameV2` in the same account).
   * @default - none
   */
  readonly existingTokenSecrets?: secretsmanager.ISecret[];

  /**
   * Also refresh every secret that carries the tag key `tokenSecretTagKey` (found with ListSecrets
   * on each run), so a shop can be onboarded without a deploy. Only secrets under
   * `<secretNamePrefix>tokens/` can be written; this widens the function's write access from exact
   * ARNs to that name prefix, restricted to secrets carrying the tag key.
   * @default false
   */
  readonly discoverTokenSecretsByTag?: boolean;

  /**
   * Tag key put on the created token secrets (value: the shop name) and used for discovery.
   * @default DEFAULT_TOKEN_SECRET_TAG_KEY ('tiktok-shop-token')
   */
  readonly tokenSecretTagKey?: string;

  /**
   * Prefix of every secret name this construct creates or may discover.
   * @default 'tiktok-shop/'
   */
  readonly secretNamePrefix?: string;

  /**
   * Secret holding the app's `{"app_key","app_secret"}`; the function only reads it.
   * @default - an empty secret named `<secretNamePrefix>app-credentials` is created
   */
  readonly existingAppCredentialsSecret?: secretsmanager.ISecret;

  /**
   * How often the schedule starts a run. Also the period of the per-run metrics and alarms, which
   * is why this is an interval and not a free cron expression. Whole minutes, 1 minute to 1 day.
   * @default Duration.hours(1)
   */
  readonly refreshInterval?: Duration;

  /**
   * A token is refreshed once its access token expires within this time. Must exceed
   * `refreshInterval` (so that at least one run falls inside the window) and stay within 7 days.
   * @default Duration.hours(48)
   */
  readonly refreshBeforeExpiry?: Duration;

  /**
   * The expiry alarm fires when a shop's access token expires within this time (or when the
   * function stops reporting). Must be shorter than `refreshBeforeExpiry`, else it fires in normal operation.
   * @default Duration.hours(24)
   */
  readonly expiryAlarmThreshold?: Duration;

  /**
   * E-mail address subscribed to the alarm topic (the recipient must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * Topic the alarms notify. An imported topic must allow `cloudwatch.amazonaws.com` to publish
   * (and its KMS key, if any, must allow CloudWatch to use it): the construct cannot change it.
   * @default - a new TLS-only topic
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Event bus that receives the refresh events.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Customer-managed key for the created secrets, queues, log group and topic. When it is a key
   * of this stack, the construct adds the key-policy statements CloudWatch Logs and CloudWatch
   * alarms need; an imported key's policy must already allow them.
   * @default - AWS-managed encryption (Secrets Manager key, SQS-managed SSE; the topic stays
   * unencrypted because CloudWatch alarms cannot publish to a topic under an AWS-managed key)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Function timeout: at least `MINIMUM_REFRESHER_TIMEOUT` (start-up, one TikTok attempt, storing
   * and reporting). A run refreshes the most urgent shops first while one more refresh fits in
   * the time left; the shops it cannot reach are left to Lambda's retries and the next run.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;

  /**
   * What happens to the created secrets when they leave the stack. They hold refresh tokens a
   * seller had to grant, so they outlive the stack unless told otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly secretRemovalPolicy?: RemovalPolicy;
}

/**
 * The shortest function timeout in which a run refreshes one shop, for the settings the
 * construct gives the function: the same figure the function refuses a refresh by.
 */
export const MINIMUM_REFRESHER_TIMEOUT = Duration.millis(runBudget(DEFAULTS).minimumTimeoutMs);

/** Collects every problem with the props first, so one synth names all of them. */
export function validateRefresherProps(
  path: string,
  props: TikTokShopTokenRefresherProps,
  refreshInterval: Duration,
  prefix: string,
  shops: string[],
  discover: boolean,
  refreshBeforeExpiry: Duration,
  expiryAlarmThreshold: Duration,
  timeout: Duration,
): void {
  const problems: string[] = [];
  if (shops.length === 0 && (props.existingTokenSecrets ?? []).length === 0 && !discover) {
    problems.push(
      'nothing to refresh: give shops, existingTokenSecrets or discoverTokenSecretsByTag',
    );
  }
  if (!SECRET_NAME_PART.test(prefix)) problems.push(`invalid secretNamePrefix "${prefix}"`);
  for (const shop of shops) {
    if (!isShopName(shop)) {
      problems.push(
        `invalid shop name "${shop}": 1 to 64 letters, digits, '-' or '_', starting with a letter or digit`,
      );
    }
  }
  if (new Set(shops).size !== shops.length) problems.push('a shop is listed twice');
  const interval = refreshInterval.toSeconds();
  if (interval % 60 !== 0 || interval < 60 || interval > 86_400) {
    problems.push('refreshInterval must be whole minutes from 1 minute to 1 day');
  }
  if (refreshBeforeExpiry.toSeconds() <= interval) {
    problems.push('refreshBeforeExpiry must be longer than refreshInterval');
  }
  // The function refuses more: past an access token's ~7-day life every run would refresh.
  if (refreshBeforeExpiry.toSeconds() > Duration.days(7).toSeconds()) {
    problems.push('refreshBeforeExpiry must be at most 7 days');
  }
  if (expiryAlarmThreshold.toSeconds() >= refreshBeforeExpiry.toSeconds()) {
    problems.push('expiryAlarmThreshold must be shorter than refreshBeforeExpiry');
  }
  const minimum = MINIMUM_REFRESHER_TIMEOUT.toSeconds();
  if (timeout.toSeconds() < minimum) {
    problems.push(
      `timeout must be at least ${minimum} seconds: one refresh needs one TikTok attempt, storing and reporting after the run's start-up (got ${timeout.toSeconds()} seconds)`,
    );
  }
  if (problems.length > 0) {
    throw new Error(`${path}: invalid props: ${problems.join('; ')}`);
  }
}

/** The shop names the onboarding command and the callback accept, so every shop can be connected. */
export function isShopName(shop: string): boolean {
  return SHOP_NAME.test(shop);
}
