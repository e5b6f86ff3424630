// The refresher's props, their defaults and the checks that refuse a deployment that cannot work.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { APP_NAME_RULE, isAppName } from '../lambda/shared/apps.js';
import { runBudget } from '../lambda/shared/budget.js';
import {
  DEFAULT_APP,
  DEFAULT_SECRET_NAME_PREFIX,
  DEFAULT_TOKEN_SECRET_TAG_KEY,
  DEFAULTS,
  SHOP_NAME,
} from '../lambda/shared/contract.js';
import { BUNDLE_NODE_MAJOR } from './function-assets.js';
import { DEFAULT_RUNTIME, isBundleRuntime } from './lambda-function.js';
import { vpcPlacementProblems } from './network.js';
import { limitProblems } from './refresher-limits.js';
import {
  type TikTokShopAppOptions,
  type TikTokShopAppProps,
  type TikTokShopBinding,
  TikTokShopConsentRegion,
  type TikTokShopTokenRefresherProps,
  TokenStoreKind,
} from './token-refresher-props.js';

export {
  type TikTokShopAppOptions,
  type TikTokShopAppProps,
  type TikTokShopBinding,
  TikTokShopConsentRegion,
  type TikTokShopTokenRefresherProps,
  TokenStoreKind,
};

// Folders of characters Secrets Manager allows in a name (minus the comma that separates
// TOKEN_SECRET_IDS), each ending with '/': the names then read `<prefix>tokens/<shop>`.
const SECRET_NAME_PREFIX = /^([A-Za-z0-9_+=.@-]+\/)+$/;

/** Most invocations one run may take (`invocationsPerRun`): 100 × 15 minutes is past any schedule's sense. */
export const MAX_INVOCATIONS_PER_RUN = 100;

/**
 * The shortest function timeout in which a run refreshes one shop, for the settings the
 * construct gives the function: the same figure the function refuses a refresh by.
 */
export const MINIMUM_REFRESHER_TIMEOUT = Duration.millis(runBudget(DEFAULTS).minimumTimeoutMs);

/** The props with every default applied: what the construct builds from. */
export interface ResolvedRefresherProps {
  readonly tokenStore: TokenStoreKind;
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
  readonly invocationsPerRun: number;
  readonly secretRemovalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
  readonly encryptionKey: kms.IKey | undefined;
  readonly createDashboard: boolean;
  readonly runtime: lambda.Runtime;
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
    tokenStore: props.tokenStore ?? TokenStoreKind.SECRETS_MANAGER,
    existingTokenSecrets: props.existingTokenSecrets ?? [],
    discoverTokenSecretsByTag: props.discoverTokenSecretsByTag ?? false,
    tokenSecretTagKey: props.tokenSecretTagKey ?? DEFAULT_TOKEN_SECRET_TAG_KEY,
    refreshInterval: props.refreshInterval ?? Duration.hours(1),
    refreshBeforeExpiry: props.refreshBeforeExpiry ?? Duration.hours(48),
    expiryAlarmThreshold: props.expiryAlarmThreshold ?? Duration.hours(24),
    timeout: props.timeout ?? Duration.minutes(5),
    invocationsPerRun: props.invocationsPerRun ?? 1,
    secretRemovalPolicy: props.secretRemovalPolicy ?? RemovalPolicy.RETAIN,
    logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
    encryptionKey: props.encryptionKey,
    createDashboard: props.createDashboard ?? true,
    runtime: props.runtime ?? DEFAULT_RUNTIME,
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
    consentRegion: options.consentRegion ?? TikTokShopConsentRegion.ROW,
  };
}

function propsProblems(
  props: TikTokShopTokenRefresherProps,
  resolved: ResolvedRefresherProps,
): string[] {
  const { shops, secretNamePrefix: prefix, refreshBeforeExpiry, expiryAlarmThreshold } = resolved;
  const problems: string[] = [];
  const onTable = resolved.tokenStore === TokenStoreKind.DYNAMODB;
  if (!Object.values(TokenStoreKind).includes(resolved.tokenStore)) {
    problems.push(`tokenStore must be one of ${Object.values(TokenStoreKind).join(', ')}`);
  }
  if (onTable && (props.existingTokenSecrets?.length || props.discoverTokenSecretsByTag)) {
    problems.push(
      'tokenStore DYNAMODB keeps every token in the table: existingTokenSecrets and discoverTokenSecretsByTag do not apply (copy their tokens with npm run switch-store)',
    );
  }
  if (onTable && props.webhooks === true) {
    problems.push(
      "webhooks are not supported with tokenStore DYNAMODB: the webhook receiver and the shop marks it sets (deauthorized, TikTok shop ids) live in the token secrets' tags; leave webhooks off, or keep the tokens in Secrets Manager",
    );
  }
  if (
    !onTable &&
    shops.length === 0 &&
    resolved.existingTokenSecrets.length === 0 &&
    !resolved.discoverTokenSecretsByTag
  ) {
    problems.push(
      'nothing to refresh: give shops, existingTokenSecrets or discoverTokenSecretsByTag',
    );
  }
  if (!SECRET_NAME_PREFIX.test(prefix)) {
    problems.push(
      `invalid secretNamePrefix ${quote(prefix)}: one or more folder names of letters, digits or _+=.@-, each followed by '/' (such as 'tiktok-shop/' or 'staging/tiktok-shop/')`,
    );
  }
  const apps = props.apps ?? {};
  for (const [app, options] of Object.entries(apps)) {
    if (!isAppName(app)) problems.push(`invalid app name ${quote(app)}: ${APP_NAME_RULE}`);
    const region = options.consentRegion;
    if (region !== undefined && !isConsentRegion(region)) {
      problems.push(
        `app ${quote(app)}: invalid consentRegion ${quote(String(region))}: one of TikTokShopConsentRegion (${Object.values(TikTokShopConsentRegion).join(', ')})`,
      );
    }
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
  problems.push(...limitProblems({ ...resolved, alarmEmail: props.alarmEmail }));
  if (!isBundleRuntime(resolved.runtime)) {
    problems.push(
      `runtime must be Node.js ${BUNDLE_NODE_MAJOR} or newer, the release the functions' bundles are built for (got ${resolved.runtime.name})`,
    );
  }
  const minimum = MINIMUM_REFRESHER_TIMEOUT.toSeconds();
  const timeout = resolved.timeout.toSeconds();
  if (timeout < minimum) {
    problems.push(
      `timeout must be at least ${minimum} seconds: one refresh needs one TikTok attempt, storing and reporting after the run's start-up (got ${timeout} seconds)`,
    );
  }
  const invocations = resolved.invocationsPerRun;
  if (!Number.isInteger(invocations) || invocations < 1 || invocations > MAX_INVOCATIONS_PER_RUN) {
    problems.push(
      `invocationsPerRun must be a whole number from 1 to ${MAX_INVOCATIONS_PER_RUN} (got ${invocations})`,
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

/** A consent region as the enum has it (a JavaScript caller or the CLI context may give any text). */
export function isConsentRegion(region: string): region is TikTokShopConsentRegion {
  return (Object.values(TikTokShopConsentRegion) as string[]).includes(region);
}
