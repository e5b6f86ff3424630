import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TikTokShopTokenRefresher } from './token-refresher';

export const STACK_NAME = 'TikTokShopTokenRefresher';

export interface TikTokShopTokenRefresherStackProps extends StackProps {
  /** Shops to create token secrets for. */
  readonly shops: string[];
  /**
   * Also refresh secrets found by tag under the token name prefix.
   * @default false
   */
  readonly discoverByTag?: boolean;
  /**
   * E-mail address that receives the alarms.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
}

/** The deployable product: the refresher with its defaults, and the outputs an operator needs. */
export class TikTokShopTokenRefresherStack extends Stack {
  public readonly refresher: TikTokShopTokenRefresher;

  constructor(scope: Construct, id: string, props: TikTokShopTokenRefresherStackProps) {
    const { shops, discoverByTag, alarmEmail, ...stackProps } = props;
    super(scope, id, {
      description: 'Keeps TikTok Shop OAuth tokens fresh in AWS Secrets Manager',
      ...stackProps,
    });
    this.refresher = new TikTokShopTokenRefresher(this, 'Refresher', {
      shops,
      discoverTokenSecretsByTag: discoverByTag,
      alarmEmail,
    });

    const { appCredentialsSecret, tokenSecrets, alarmTopic } = this.refresher;
    new CfnOutput(this, 'AppCredentialsSecretName', {
      description: 'Put {"app_key","app_secret"} here',
      value: this.refresher.appCredentialsSecretId,
    });
    new CfnOutput(this, 'AppCredentialsSecretArn', { value: appCredentialsSecret.secretArn });
    if (tokenSecrets.length > 0) {
      new CfnOutput(this, 'TokenSecretNames', {
        description: "Shop token secrets, comma-separated: put each shop's first token here",
        value: this.refresher.tokenSecretIds.join(','),
      });
      new CfnOutput(this, 'TokenSecretArns', {
        value: tokenSecrets.map((secret) => secret.secretArn).join(','),
      });
    }
    new CfnOutput(this, 'FunctionName', {
      description:
        "Invoke by hand: aws lambda invoke --function-name <this> --payload '{}' out.json",
      value: this.refresher.function.functionName,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarmTopic.topicArn });
  }
}
