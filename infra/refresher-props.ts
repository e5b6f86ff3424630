// The refresher's props, their defaults and the checks that refuse a deployment that cannot work.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { APP_NAME_RULE, isAppName } from '../lambda/shared/apps.js';
import { runBudget } from '../lambda/shared/budget.js';
import {
  DEFAULT_APP,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  SHOP_NAME,
} from '../lambda/shared/contract.js';
import { vpcPlacementProblems } from './network.js';

// Characters Secrets Manager allows in a name, minus the comma that separates TOKEN_SECRET_IDS.
const SECRET_NAME_PART = /^[A-Za-z0-9/_+=.@-]+$/;

/** Where the consent link of an app sends a seller: the US Partner Center's apps, or the global ones'. */
export type TikTokShopConsentRegion = 'row' | 'us';

/** One TikTok app of the deployment (an app of TikTok's US or global Partner Center). */
export interface TikTokShopAppProps {
  /**
   * Secret holding the app's `{"app_key","app_secret"}`; the functions only read it.
   * @default - an empty secret is created: `<secretNamePrefix>app-credentials` for the app
   * `default`, `<secretNamePrefix>apps/<app>/credentials` for any other
   */
  readonly existingCredentialsSecret?: secretsmanager.ISecret;

  /**
   * Which Partner Center the app comes from, and so where its consent links send sellers:
   * `us` for an app of the US Partner Center (US sellers), `row` for one of the global Partner
   * Center (every other market). Token hosts are the same for both.
   * @default 'row'
   */
  readonly consentRegion?: TikTokShopConsentRegion;
}

/** A shop bound to an app other than the default one. */
export interface TikTokShopBinding {
  /** The shop: its token secret is `<secretNamePrefix>tokens/<name>`. */
  readonly name: string;
  /** One of `apps`. */
  readonly app: string;
}

export interface TikTokShopTokenRefresherProps {
  /**
   * Shops to create a token secret for, each named `<secretNamePrefix>tokens/<shop>` and tagged
   * `<tokenSecretTagKey>=<shop>`. The secrets are created empty: put the first token in after deploy.
   * A name alone is a shop of the app `default`; `{ name, app }` binds a shop to another of
   * `apps`, and its secret also carries the tag `tiktok-shop-app=<app>` (DEFAULT_APP_TAG_KEY).
   * @default - no token secrets are created
   */
  readonly shops?: (string | TikTokShopBinding)[];

  /**
   * The TikTok apps of the deployment, by name (1 to 32 lower-case letters, digits or `-`): an
   * integrator serving US sellers and sellers elsewhere has an app of each Partner Center. The
   * app `default` is always one of them (an entry for it only sets its options); every other
   * app gets its own credentials secret, `<secretNamePrefix>apps/<app>/credentials`. A shop
   * found by tag belongs to the app its secret's `tiktok-shop-app` tag names, `default` when
   * untagged.
   * @default - the app `default` only, as before there were several
   */
  readonly apps?: Record<string, TikTokShopAppProps>;

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
   * Secret holding the `default` app's `{"app_key","app_secret"}`; the function only reads it.
   * (The same as `apps: { default: { existingCredentialsSecret } }`: give one of them.)
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

  /**
   * VPC to run the function in, and with it the consent callback and example reader built on this
   * refresher: their calls to TikTok then leave through the VPC's NAT gateway, from its Elastic IP,
   * the address to put on the app's IP allow list in TikTok Partner Center. The functions reach
   * Secrets Manager and EventBridge through the NAT gateway too, unless the VPC has interface
   * endpoints for them (`secretsmanager`, `events`) with private DNS.
   * @default - no VPC: the functions call out from Lambda's shared addresses, which change
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Subnets of `vpc` for the functions. They need a route to the internet through a NAT gateway:
   * Lambda gives a function no public address, so public subnets are refused.
   * @default - the private subnets with egress of `vpc` (`SubnetType.PRIVATE_WITH_EGRESS`)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the functions in `vpc`. They need outbound HTTPS (TCP 443) only, as long
   * as names resolve through the VPC's own DNS server (which security groups do not filter).
   * @default - one security group for all the functions, allowing outbound HTTPS and no inbound
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * Create a CloudWatch dashboard of the runs: outcomes and failures per run, the smallest
   * access-token lifetime, run duration, unpublished events, dead-letter queues and alarm states.
   * @default true
   */
  readonly createDashboard?: boolean;
}

/**
 * The shortest function timeout in which a run refreshes one shop, for the settings the
 * construct gives the function: the same figure the function refuses a refresh by.
 */
export const MINIMUM_REFRESHER_TIMEOUT = Duration.millis(runBudget(DEFAULTS).minimumTimeoutMs);

/** The props with every default applied: what the construct builds from. */
export interface ResolvedRefresherProps {
  readonly secretNamePrefix: string;
  /** `shops` with the app of every shop spelled out. */
  readonly shops: readonly ShopEntry[];
  /** The app `default`, with the secret it always had. */
  readonly defaultApp: AppEntry;
  /** The other apps, in the order given. */
  readonly otherApps: readonly AppEntry[];
  readonly existingTokenSecrets: readonly secretsmanager.ISecret[];
  readonly discoverTokenSecretsByTag: boolean;
  readonly tokenSecretTagKey: string;
  readonly refreshInterval: Duration;
  readonly refreshBeforeExpiry: Duration;
  readonly expiryAlarmThreshold: Duration;
  readonly timeout: Duration;
  readonly secretRemovalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
  readonly encryptionKey: kms.IKey | undefined;
  readonly createDashboard: boolean;
}

/** An app of the deployment, its options resolved. */
export interface AppEntry {
  readonly app: string;
  readonly existingCredentialsSecret: secretsmanager.ISecret | undefined;
  readonly consentRegion: TikTokShopConsentRegion;
}

/**
 * Applies every default and collects every problem with the props first, so one synth names all
 * of them. The props needing a scope to resolve (VPC placement, event bus) are the caller's.
 */
export function resolveRefresherProps(
  path: string,
  props: TikTokShopTokenRefresherProps,
): ResolvedRefresherProps {
  const apps = props.apps ?? {};
  const defaultOptions = apps[DEFAULT_APP];
  const resolved: ResolvedRefresherProps = {
    secretNamePrefix: props.secretNamePrefix ?? DEFAULT_SECRET_NAME_PREFIX,
    shops: shopEntries(props.shops ?? []),
    defaultApp: appEntry(DEFAULT_APP, {
      existingCredentialsSecret:
        defaultOptions?.existingCredentialsSecret ?? props.existingAppCredentialsSecret,
      consentRegion: defaultOptions?.consentRegion,
    }),
    otherApps: Object.entries(apps)
      .filter(([app]) => app !== DEFAULT_APP)
      .map(([app, options]) => appEntry(app, options)),
    existingTokenSecrets: props.existingTokenSecrets ?? [],
    discoverTokenSecretsByTag: props.discoverTokenSecretsByTag ?? false,
    tokenSecretTagKey: props.tokenSecretTagKey ?? DEFAULT_TOKEN_SECRET_TAG_KEY,
    refreshInterval: props.refreshInterval ?? Duration.hours(1),
    refreshBeforeExpiry: props.refreshBeforeExpiry ?? Duration.hours(48),
    expiryAlarmThreshold: props.expiryAlarmThreshold ?? Duration.hours(24),
    timeout: props.timeout ?? Duration.minutes(5),
    secretRemovalPolicy: props.secretRemovalPolicy ?? RemovalPolicy.RETAIN,
    logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    encryptionKey: props.encryptionKey,
    createDashboard: props.createDashboard ?? true,
  };
  const problems = propsProblems(props, resolved);
  if (problems.length > 0) {
    throw new Error(`${path}: invalid props: ${problems.join('; ')}`);
  }
  return resolved;
}

function appEntry(app: string, options: TikTokShopAppProps): AppEntry {
  return {
    app,
    existingCredentialsSecret: options.existingCredentialsSecret,
    consentRegion: options.consentRegion ?? 'row',
  };
}

function propsProblems(
  props: TikTokShopTokenRefresherProps,
  resolved: ResolvedRefresherProps,
): string[] {
  const { shops, secretNamePrefix: prefix, refreshBeforeExpiry, expiryAlarmThreshold } = resolved;
  const problems: string[] = [];
  if (
    shops.length === 0 &&
    resolved.existingTokenSecrets.length === 0 &&
    !resolved.discoverTokenSecretsByTag
  ) {
    problems.push(
      'nothing to refresh: give shops, existingTokenSecrets or discoverTokenSecretsByTag',
    );
  }
  if (!SECRET_NAME_PART.test(prefix)) problems.push(`invalid secretNamePrefix "${prefix}"`);
  const apps = props.apps ?? {};
  for (const app of Object.keys(apps)) {
    if (!isAppName(app)) problems.push(`invalid app name ${quote(app)}: ${APP_NAME_RULE}`);
  }
  if (
    props.existingAppCredentialsSecret !== undefined &&
    apps[DEFAULT_APP]?.existingCredentialsSecret !== undefined
  ) {
    problems.push(
      `the default app's credentials secret is given twice: give existingAppCredentialsSecret or apps.${DEFAULT_APP}.existingCredentialsSecret`,
    );
  }
  const seen = new Set<string>();
  for (const { name, app } of shops) {
    if (!isShopName(name)) {
      problems.push(
        `invalid shop name ${quote(name)}: 1 to 64 letters, digits, '-' or '_', starting with a letter or digit`,
      );
    }
    if (app !== DEFAULT_APP && !Object.hasOwn(apps, app)) {
      const known = [DEFAULT_APP, ...Object.keys(apps).filter((a) => a !== DEFAULT_APP)];
      problems.push(
        `shop ${quote(name)} is bound to app ${quote(app)}, which is not one of apps (${known.join(', ')})`,
      );
    }
    if (seen.has(name)) problems.push(`shop ${quote(name)} is listed twice`);
    seen.add(name);
  }
  const interval = resolved.refreshInterval.toSeconds();
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
  problems.push(...vpcPlacementProblems(props));
  const minimum = MINIMUM_REFRESHER_TIMEOUT.toSeconds();
  const timeout = resolved.timeout.toSeconds();
  if (timeout < minimum) {
    problems.push(
      `timeout must be at least ${minimum} seconds: one refresh needs one TikTok attempt, storing and reporting after the run's start-up (got ${timeout} seconds)`,
    );
  }
  return problems;
}

/** A shop of `shops`, its app spelled out. */
export interface ShopEntry {
  readonly name: string;
  readonly app: string;
}

/** `shops` with the app of every shop spelled out (`default` for a name alone). */
export function shopEntries(shops: readonly (string | TikTokShopBinding)[]): ShopEntry[] {
  return shops.map((shop) =>
    typeof shop === 'string'
      ? { name: shop, app: DEFAULT_APP }
      : { name: shop.name, app: shop.app },
  );
}

/** A name from the props, quoted and cut short, for an error message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 70 ? `${text.slice(0, 70)}…` : text);
}

/** The shop names the onboarding command and the callback accept, so every shop can be connected. */
export function isShopName(shop: string): boolean {
  return SHOP_NAME.test(shop);
}
