// Policy building blocks for secrets, shared by the constructs that grant on them.
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';

/** The ARN to grant on; a partial ARN (imported by name) gets the random suffix wildcarded, as CDK does. */
export function arnForPolicies(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/**
 * The ARN of the secrets whose names match `namePattern` in the scope's account and region.
 * Without a trailing `*`, end the pattern with `-??????`: Secrets Manager appends six random
 * characters to every secret's name in its ARN.
 */
export function secretArnPattern(scope: IConstruct, namePattern: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    resourceName: namePattern,
  });
}

/** Distinct keys of the given secrets (created secrets carry their construct's key). */
export function secretKeys(secrets: readonly secretsmanager.ISecret[]): kms.IKey[] {
  return [...new Set(secrets.flatMap((secret) => secret.encryptionKey ?? []))];
}

/**
 * Key use limited to Secrets Manager calls, written into the grantee's own policy: it then
 * works for imported keys too (whose policy trusts the account), and does not let a token
 * reader decrypt the queues or logs under the same key.
 */
export function grantKeyThroughSecretsManager(
  scope: IConstruct,
  grantee: iam.IGrantable,
  key: kms.IKey,
  actions: string[],
): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions,
    resourceArns: [key.keyArn],
    conditions: {
      StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(scope).region}.amazonaws.com` },
    },
  });
}

/** Only secrets that carry the tag key (whatever its value). */
export function tagPresent(tagKey: string): Record<string, Record<string, string>> {
  return { Null: { [`aws:ResourceTag/${tagKey}`]: 'false' } };
}

/** How cdk-nag spells an ARN built from pseudo parameters in its findings. */
export function nagArn(arn: string): string {
  return arn.replace(/\$\{Token\[AWS\.(\w+)\.\d+\]\}/g, '<AWS::$1>');
}
