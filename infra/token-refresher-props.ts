// The construct's props as users write them, each with what it does and its default; resolved
// and checked by refresher-props.ts.
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';

/** Where the consent link of an app sends a seller: the US Partner Center's apps, or the global ones'. */
export enum TikTokShopConsentRegion {
  /** An app of the global Partner Center: sellers of every market but the US. */
  ROW = 'row',
  /** An app of the US Partner Center: US sellers. */
  US = 'us',
}

/** Where the shops' tokens are kept. */
export enum TokenStoreKind {
  /** A secret per shop (`<secretNamePrefix>tokens/<shop>`): $0.40 a shop a month. */
  SECRETS_MANAGER = 'secrets-manager',
  /**
   * An item per shop in one DynamoDB table (on demand, point-in-time recovery, kept when the
   * stack goes): for fleets of thousands of shops, a few cents a shop a year. See
   * docs/dynamodb-store.md.
   */
  DYNAMODB = 'dynamodb',
}

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
   * @default TikTokShopConsentRegion.ROW
   */
  readonly consentRegion?: TikTokShopConsentRegion;
}

/** Which of the deployment's apps a shop belongs to, for a shop `shops` does not bind. */
export interface TikTokShopAppOptions {
  /**
   * The app of a shop onboarded at run time (found by tag). A shop of `shops` is bound already:
   * naming another app for it is refused.
   * @default - the only app when there is one; else unknown
   */
  readonly app?: string;
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
   * Where the tokens are kept. `DYNAMODB` creates the token table (encrypted with
   * `encryptionKey` when given, else DynamoDB's AWS-managed key) and no token secrets: `shops`
   * then only binds shops to apps, and `existingTokenSecrets` and `discoverTokenSecretsByTag`
   * are refused (move their tokens with `npm run switch-store`).
   * @default TokenStoreKind.SECRETS_MANAGER
   */
  readonly tokenStore?: TokenStoreKind;

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
   * Prefix of every secret name this construct creates or may discover: folder names of
   * letters, digits or `_+=.@-`, each followed by `/` (`staging/tiktok-shop/`). Secret names
   * are unique in an account and region, so each deployment there needs its own prefix: synth
   * refuses two refreshers of one app whose created secrets would share a name.
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
   * How many invocations one scheduled run may take. With 1, a run is one invocation (and
   * Lambda's two async retries): a fleet whose due shops do not fit in `timeout` is caught up by
   * the next runs. With more, the schedule starts a Step Functions state machine that invokes the
   * function again at once while due shops were left for lack of time, one invocation at a time
   * (the single writer stays single), up to this many; its failures are alarmed
   * (`alarms.runsIncomplete`) in place of Lambda's async retries and failure queue, which do not
   * apply to its invocations. For a backlog of tens of thousands of due shops: `timeout` of 15
   * minutes and 8 invocations.
   * @default 1
   */
  readonly invocationsPerRun?: number;

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

  /**
   * Node.js runtime of the refresher function, and of the consent callback and example reader
   * built on this refresher: Node.js 24 or newer, the release the bundles are built for. The
   * default stays put when a newer aws-cdk-lib knows a newer runtime (cdk-nag's AwsSolutions-L1
   * is then acknowledged on the functions, saying why): moving is a choice made here.
   * @default lambda.Runtime.NODEJS_24_X (the runtime the bundles are tested on)
   */
  readonly runtime?: lambda.Runtime;

  /**
   * Also deploy a `TikTokShopWebhookReceiver`: TikTok Shop's authorization notifications
   * (deauthorization, authorization expiring) at a public function URL to register per app in
   * Partner Center (`webhookReceiver.urlOf(app)`). See docs/webhooks.md.
   * @default false
   */
  readonly webhooks?: boolean;
}

/** Which of the deployment's apps a shop belongs to, for a shop `shops` does not bind. */
export interface TikTokShopAppOptions {
  /**
   * The app of a shop onboarded at run time (found by tag). A shop of `shops` is bound already:
   * naming another app for it is refused.
   * @default - the only app when there is one; else unknown
   */
  readonly app?: string;
}
