// The TikTokShopConsentCallback construct: the onboarding callback function behind a function URL.
import { Duration, Names, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  CALLBACK_ENV,
  callbackStateSecretName,
  DEFAULT_APP_TAG_KEY,
  DEFAULTS,
  METRIC,
  METRICS_NAMESPACE,
  SELLER_TAG_KEY,
  SHOP_STATE_TAG,
} from '../lambda/shared/contract.js';
import { createAppFunction } from './lambda-function.js';
import { appCredentialsEnvironment, otherAppSecretIds } from './refresher-apps.js';
import { shopIdTagging } from './refresher-permissions.js';
import {
  arnForPolicies,
  grantKeyThroughSecretsManager,
  nagArn,
  secretArnPattern,
  secretKeys,
  tagPresent,
} from './secret-access.js';
import { serviceMetric } from './service-metric.js';
import type { TikTokShopTokenRefresher } from './token-refresher.js';
import { grantTableOnboarding, tokenTableEnvironment } from './token-table.js';

export interface TikTokShopConsentCallbackProps {
  /**
   * The refresher whose app credentials the callback reads and under whose token prefix and tag
   * key it stores a new shop's first token. It must discover token secrets by tag
   * (`discoverTokenSecretsByTag: true`): the secrets of new shops are created at run time.
   */
  readonly refresher: TikTokShopTokenRefresher;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Most requests served at once. The URL is public: this bounds what a flood of requests can
   * cost (each one reads the signing key, at most every 5 minutes per environment) while a
   * seller who meets a throttle simply reloads the page.
   * @default 2
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * TikTok's consent redirect (lambda/onboarding/callback-handler.ts) behind a Lambda function
 * URL: after a seller approves the app from a link made by `npm run authorize -- --consent-link`,
 * TikTok sends the seller's browser here with an authorization code and the link's signed state;
 * the function exchanges the code and stores the shop's token as `<prefix>tokens/<shop>` (created
 * and tagged for the refresher's discovery when missing, under the refresher's key when it has
 * one), once per link and only for a new shop or the seller already stored. With several apps,
 * the code is exchanged with the credentials of the app the link names, and a shop of another
 * app than `default` is tagged with it. It publishes `Shop Connected` and `Shop Connection
 * Refused` to the refresher's bus and counts both. Also creates the state-signing key.
 */
export class TikTokShopConsentCallback extends Construct {
  /** The callback function. */
  public readonly function: lambda.IFunction;
  /** The function URL: the redirect URL to register in TikTok Partner Center. */
  public readonly functionUrl: lambda.FunctionUrl;
  /** The key that signs and verifies consent states (the authorize CLI reads it too). */
  public readonly stateKeySecret: secretsmanager.ISecret;
  /** Its name: the authorize CLI's CALLBACK_STATE_SECRET_ID (whose default is the default name). */
  public readonly stateKeySecretName: string;
  /** Value of POWERTOOLS_SERVICE_NAME and of the `service` dimension of the callback's metrics. */
  public readonly serviceName: string;

  constructor(scope: Construct, id: string, props: TikTokShopConsentCallbackProps) {
    super(scope, id);
    const { refresher } = props;
    const otherApps = otherAppSecretIds(refresher.appCredentialsSecretIds);
    if (refresher.tokenTable === undefined && !refresher.discoversTokenSecretsByTag) {
      throw new Error(
        `${this.node.path}: the refresher ${refresher.node.path} must discover token secrets by tag (discoverTokenSecretsByTag: true): the callback creates the token secrets of new shops at run time, which the refresher would otherwise never refresh`,
      );
    }

    this.stateKeySecretName = callbackStateSecretName(refresher.secretNamePrefix);
    this.serviceName = Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    const stateKeySecret = new secretsmanager.Secret(this, 'StateKeySecret', {
      secretName: this.stateKeySecretName,
      description:
        'Signs the state of TikTok Shop consent links (the authorize CLI and the callback)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      encryptionKey: refresher.encryptionKey,
      // Losing it only voids the consent links issued in the last hour.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(stateKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the state key would void every consent link issued within the hour, and the key never leaves the CLI and the callback; to replace it, put a new random value of 32+ characters by hand.',
    });
    this.stateKeySecret = stateKeySecret;

    const { fn, role } = createAppFunction(this, {
      bundle: 'consent-callback',
      runtime: refresher.runtime,
      roleDescription:
        'TikTok Shop consent callback: reads app credentials and state key, stores new shop tokens',
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      logEncryptionKey: refresher.encryptionKey,
      // In the refresher's VPC, if it has one: the calls to TikTok leave from its Elastic IP.
      placement: refresher.vpcPlacement,
      description: "TikTok Shop consent callback: stores a newly authorized shop's first token",
      memorySize: 256,
      // The seller's browser waits for the code exchange (10 s at most) and the Secrets Manager
      // writes after it, which retry on throttling: an authorization code works once, so giving
      // up early would lose the token.
      timeout: Duration.seconds(60),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 2,
      environment: {
        ...appCredentialsEnvironment(refresher),
        [CALLBACK_ENV.stateSecretId]: this.stateKeySecretName,
        [CALLBACK_ENV.tokenSecretPrefix]: refresher.secretNamePrefix,
        [CALLBACK_ENV.tokenSecretTagKey]: refresher.tokenSecretTagKey,
        [CALLBACK_ENV.tiktokAuthBaseUrl]: DEFAULTS.tiktokAuthBaseUrl,
        [CALLBACK_ENV.eventBusName]: refresher.eventBus.eventBusName,
        ...(refresher.tokenTable && tokenTableEnvironment(refresher.tokenTable)),
        // New shops' secrets are encrypted like the ones the stack creates.
        ...(refresher.encryptionKey &&
          refresher.tokenTable === undefined && {
            [CALLBACK_ENV.tokenSecretKmsKeyId]: refresher.encryptionKey.keyArn,
          }),
        POWERTOOLS_SERVICE_NAME: this.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
    });
    this.function = fn;
    // No IAM auth: TikTok redirects the seller's browser here with a plain GET. The signed state
    // (HMAC under the state key, one hour) is what authenticates a request.
    this.functionUrl = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    this.grantAccess(
      role,
      refresher,
      stateKeySecret,
      otherApps.map(([app]) => app),
    );
  }

  /** A metric the callback emits: namespace and `service` dimension set, summed over 5 minutes. */
  public metric(metricName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return serviceMetric(this.serviceName, Duration.minutes(5), metricName, props);
  }

  /** Shops connected or reconnected. */
  public metricShopsConnected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.shopsConnected, props);
  }

  /**
   * Connections refused: a link used again, another seller than the one stored, a seller
   * already connected under another shop name. The `Shop Connection Refused` event says which.
   */
  public metricShopConnectionsRefused(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.shopConnectionsRefused, props);
  }

  private grantAccess(
    role: iam.Role,
    refresher: TikTokShopTokenRefresher,
    stateKeySecret: secretsmanager.ISecret,
    otherApps: readonly string[],
  ): void {
    // Every app's credentials (a link names its app), the default app's first as before.
    const appCredentialsSecrets = Object.values(refresher.appCredentialsSecrets);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...appCredentialsSecrets.map(arnForPolicies), stateKeySecret.secretArn],
      }),
    );
    if (refresher.tokenTable === undefined) this.grantTokenSecrets(role, refresher, otherApps);
    else grantTableOnboarding(refresher.tokenTable, role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [refresher.eventBus.eventBusArn],
      }),
    );
    const { encryptionKey } = refresher;
    // The refresher's key encrypts the token secrets: new ones created here, new versions of
    // existing ones. Other keys (of adopted secrets) are only read through. With the token table,
    // the key is used through DynamoDB (see grantTableOnboarding) and here only read through.
    if (encryptionKey !== undefined) {
      grantKeyThroughSecretsManager(
        this,
        role,
        encryptionKey,
        refresher.tokenTable === undefined
          ? ['kms:Decrypt', 'kms:GenerateDataKey']
          : ['kms:Decrypt'],
      );
    }
    for (const key of secretKeys([...appCredentialsSecrets, stateKeySecret])) {
      if (key !== encryptionKey) grantKeyThroughSecretsManager(this, role, key, ['kms:Decrypt']);
    }
  }

  /** The token secrets: created, tagged, read and written at run time under the token prefix. */
  private grantTokenSecrets(
    role: iam.Role,
    refresher: TikTokShopTokenRefresher,
    otherApps: readonly string[],
  ): void {
    const tagKey = refresher.tokenSecretTagKey;
    const tokenSecrets = secretArnPattern(this, refresher.tokenSecretName('*'));
    // Looked at before the code is exchanged: whether the shop's secret exists (DescribeSecret
    // answers ResourceNotFoundException for a new shop, so no tag condition), which versions it
    // has (a link used once), and the stored seller.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:DescribeSecret'],
        resources: [tokenSecrets],
      }),
    );
    // Reading the stored seller and writing a token: only secrets tagged as token secrets.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        resources: [tokenSecrets],
        conditions: tagPresent(tagKey),
      }),
    );
    // A new shop's secret is created with the discovery tag and the seller's tag (and, for a shop
    // of another app than `default`, the app's tag naming one of those apps), and an existing one
    // gets them again; the conditions allow those tag keys and no other.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
        resources: [tokenSecrets],
        conditions: {
          Null: { [`aws:RequestTag/${tagKey}`]: 'false' },
          'ForAllValues:StringEquals': {
            'aws:TagKeys': [
              tagKey,
              SELLER_TAG_KEY,
              ...(otherApps.length > 0 ? [DEFAULT_APP_TAG_KEY] : []),
            ],
          },
          ...(otherApps.length > 0 && {
            StringEqualsIfExists: { [`aws:RequestTag/${DEFAULT_APP_TAG_KEY}`]: [...otherApps] },
          }),
        },
      }),
    );
    // After a connection: the TikTok shop ids the token covers as tags (the webhook receiver finds
    // the shop by them), and the receiver's deauthorized mark removed; no other tag key.
    role.addToPrincipalPolicy(shopIdTagging([tokenSecrets], tagPresent(tagKey)));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:UntagResource'],
        resources: [tokenSecrets],
        conditions: {
          ...tagPresent(tagKey),
          'ForAllValues:StringEquals': { 'aws:TagKeys': [SHOP_STATE_TAG.deauthorized] },
        },
      }),
    );
    // Finding the seller's other shops by tag; ListSecrets has no resource-level permission.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
    );
    Validations.of(role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(tokenSecrets)}]`,
        reason:
          'A newly authorized shop gets its token secret at run time, under a name not known at deploy time: access is granted under the token name prefix; reads of values and writes need the discovery tag, creating or tagging allows only the discovery and seller tag keys.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          "ListSecrets supports no resource-level permission, so IAM requires resource '*'; the callback lists secret metadata (names and tags, no value) to find a seller already connected under another shop name.",
      },
    );
  }
}
