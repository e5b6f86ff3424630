import { Duration, Names } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DETAIL_TYPE, EVENT_SOURCE, SHOP_TOKEN_SECRET_ID } from '../lambda/shared/contract.js';
import { createAppFunction } from './lambda-function.js';
import type { TikTokShopTokenRefresher } from './token-refresher.js';

export interface TikTokShopExampleReaderProps {
  /** The refresher that keeps the shop's token fresh and announces each new one on its bus. */
  readonly refresher: TikTokShopTokenRefresher;

  /**
   * Shop whose token the example reads: one of the refresher's `shops`, or, when the refresher
   * discovers secrets by tag, a shop onboarded at run time.
   */
  readonly shop: string;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The pattern for a Lambda function of another team that uses a shop's token
 * (lambda/example-reader.ts): read access to that one token secret, granted by the refresher,
 * and a rule that invokes it on the refresher's `Token Refreshed` event for that shop, so that
 * it drops its cached token at once instead of when the cache ages out.
 */
export class TikTokShopExampleReader extends Construct {
  /** The example function (invoke it by hand with `{}`: it answers the token's expiry, never the token). */
  public readonly function: lambda.IFunction;
  /** Name of the token secret the function reads, as the refresher's events name the shop. */
  public readonly tokenSecretName: string;
  /** The rule that invokes the function when the shop's token was refreshed. */
  public readonly tokenRefreshedRule: events.Rule;

  constructor(scope: Construct, id: string, props: TikTokShopExampleReaderProps) {
    super(scope, id);
    const { refresher, shop } = props;
    this.tokenSecretName = refresher.tokenSecretName(shop);

    const { fn } = createAppFunction(this, {
      bundle: 'example-reader',
      roleDescription: `TikTok Shop example reader: reads the token of shop ${shop}`,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logEncryptionKey: refresher.encryptionKey,
      // In the refresher's VPC, if it has one: the calls to TikTok leave from its Elastic IP.
      placement: refresher.vpcPlacement,
      description: `Example: reads the TikTok Shop token of shop ${shop}, as other teams' functions do`,
      // As for the refresher: init (SDK client, TLS) is CPU-bound, and CPU grows with memory.
      memorySize: 256,
      // A real reader calls the TikTok Shop API here, with a 10-second timeout of its own.
      timeout: Duration.seconds(30),
      environment: {
        [SHOP_TOKEN_SECRET_ID]: this.tokenSecretName,
        POWERTOOLS_SERVICE_NAME: Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }),
      },
    });
    this.function = fn;
    refresher.grantReadToken(fn, shop);

    // No dead-letter queue: a lost event costs at most one cache age (60 s) of the previous
    // token, which stays valid for days after a refresh.
    this.tokenRefreshedRule = new events.Rule(this, 'TokenRefreshedRule', {
      eventBus: refresher.eventBus,
      description: `Tells the example reader that the token of shop ${shop} was refreshed`,
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [DETAIL_TYPE.tokenRefreshed],
        detail: { shop: [this.tokenSecretName] },
      },
      targets: [new targets.LambdaFunction(fn)],
    });
  }
}
