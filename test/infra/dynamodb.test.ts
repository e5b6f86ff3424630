import type { PolicyValidationPluginReport, Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { TikTokShopConsentCallback } from '../../infra/consent-callback.js';
import { TikTokShopExampleReader } from '../../infra/example-reader.js';
import { TokenStoreKind } from '../../infra/refresher-props.js';
import { SELLER_INDEX_NAME } from '../../lambda/shared/contract.js';
import { synthesizeProduct, synthesizeVariant } from './variants.js';

/** The construct on the table with a customer-managed key, a reader of one shop and the callback. */
function onTable() {
  return synthesizeVariant(
    (scope) => ({
      tokenStore: TokenStoreKind.DYNAMODB,
      shops: ['shop-a'],
      encryptionKey: new kms.Key(scope, 'Key', { enableKeyRotation: true }),
    }),
    (scope, refresher) => {
      const reader = new iam.Role(scope, 'ReaderRole', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      });
      refresher.grantReadToken(reader, 'acme-uk');
      new TikTokShopExampleReader(scope, 'ExampleReader', { refresher, shop: 'shop-a' });
      new TikTokShopConsentCallback(scope, 'ConsentCallback', { refresher });
    },
  );
}

/** The policy statements of the role whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): unknown[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) =>
      (policy.Properties.Roles as { Ref: string }[]).some((role) =>
        role.Ref.startsWith(rolePrefix),
      ),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as unknown[]);
}

const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] };

describe('Construct: TikTokShopTokenRefresher with tokenStore DYNAMODB', () => {
  const { template, stack } = onTable();

  it('creates one on-demand table keyed by shop, under the key, with recovery, kept on delete', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'shop', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
        GlobalSecondaryIndexes: [
          {
            IndexName: SELLER_INDEX_NAME,
            KeySchema: [{ AttributeName: 'seller', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      },
    });
  });

  it('creates no token secret and tells the functions the table', () => {
    const secrets = template.findResources('AWS::SecretsManager::Secret');
    expect(Object.keys(secrets).filter((id) => id.includes('TokenSecret'))).toEqual([]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Refreshes TikTok Shop OAuth tokens stored in Secrets Manager',
      Environment: {
        Variables: Match.objectLike({
          TOKEN_STORE: 'dynamodb',
          TOKEN_TABLE_NAME: { Ref: Match.stringLikeRegexp('^RefresherTokenTable') },
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TOKEN_TABLE_NAME: { Ref: Match.stringLikeRegexp('^RefresherTokenTable') },
          SHOP_NAME: 'shop-a',
        }),
      },
    });
  });

  it('lets the refresher survey, read and conditionally update items, and nothing more', () => {
    const statements = statementsOf(template, 'RefresherRole');
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          Action: [
            'dynamodb:BatchGetItem',
            'dynamodb:GetItem',
            'dynamodb:Scan',
            'dynamodb:UpdateItem',
          ],
          Effect: 'Allow',
          Resource: expect.objectContaining({
            'Fn::GetAtt': [expect.stringMatching(/^RefresherTokenTable/), 'Arn'],
          }),
        },
        {
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Effect: 'Allow',
          Resource: expect.objectContaining({
            'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'],
          }),
          Condition: throughDynamoDbValue(),
        },
      ]),
    );
    const dynamoActions = statements.flatMap((statement) => {
      const action = (statement as { Action: string | string[] }).Action;
      return (Array.isArray(action) ? action : [action]).filter((a) => a.startsWith('dynamodb:'));
    });
    expect(dynamoActions.sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
    ]);
  });

  it("gives a reader's grant exactly one shop's item", () => {
    const statements = statementsOf(template, 'ReaderRole');
    expect(statements).toEqual([
      {
        Action: 'dynamodb:GetItem',
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['acme-uk'] } },
        Effect: 'Allow',
        Resource: expect.objectContaining({
          'Fn::GetAtt': [expect.stringMatching(/^RefresherTokenTable/), 'Arn'],
        }),
      },
      {
        Action: 'kms:Decrypt',
        Condition: throughDynamoDbValue(),
        Effect: 'Allow',
        Resource: expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] }),
      },
    ]);
  });

  it('lets the callback read and write items and query the seller index, no token secret', () => {
    const statements = statementsOf(template, 'ConsentCallbackRole');
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          Effect: 'Allow',
          Resource: expect.objectContaining({
            'Fn::GetAtt': [expect.stringMatching(/^RefresherTokenTable/), 'Arn'],
          }),
        },
        {
          Action: 'dynamodb:Query',
          Effect: 'Allow',
          Resource: {
            'Fn::Join': [
              '',
              [
                expect.objectContaining({
                  'Fn::GetAtt': [expect.stringMatching(/^RefresherTokenTable/), 'Arn'],
                }),
                `/index/${SELLER_INDEX_NAME}`,
              ],
            ],
          },
        },
      ]),
    );
    const secretActions = JSON.stringify(statements);
    expect(secretActions).not.toContain('secretsmanager:CreateSecret');
    expect(secretActions).not.toContain('secretsmanager:ListSecrets');
    expect(secretActions).not.toContain('secretsmanager:PutSecretValue');
  });

  it('refuses a grant on a shop name that could widen the condition', () => {
    const { refresher, stack: other } = synthesizeVariant({ tokenStore: TokenStoreKind.DYNAMODB });
    const role = new iam.Role(other, 'Other', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    expect(() => refresher.grantReadToken(role, 'shop-*')).toThrow(/invalid shop name "shop-\*"/);
  });

  it('refuses webhooks with the token table, whose shops have no secret tags to mark', () => {
    expect(() =>
      synthesizeVariant({ tokenStore: TokenStoreKind.DYNAMODB, webhooks: true }),
    ).toThrow(/webhooks are not supported with tokenStore DYNAMODB/);
    expect(() =>
      synthesizeVariant({ tokenStore: TokenStoreKind.DYNAMODB, webhooks: false }),
    ).not.toThrow();
  });

  it('refuses adopted or discovered token secrets beside the table', () => {
    expect(() =>
      synthesizeVariant({ tokenStore: TokenStoreKind.DYNAMODB, discoverTokenSecretsByTag: true }),
    ).toThrow(/existingTokenSecrets and discoverTokenSecretsByTag do not apply/);
  });

  it('finds nothing unacknowledged with cdk-nag', () => {
    const report: PolicyValidationPluginReport = new AwsSolutionsChecks().validateScope(
      stack as IConstruct,
    );
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

describe('Stack: -c store=dynamodb', () => {
  it('puts the tokens in the table, with the callback, and outputs its name', () => {
    const { template, stack } = synthesizeProduct({
      shops: ['shop-a'],
      consentCallback: true,
      tokenStore: TokenStoreKind.DYNAMODB,
    });
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasOutput('TokenTableName', {});
    expect(new AwsSolutionsChecks().validateScope(stack as Stack).violations).toEqual([]);
  });
});

function throughDynamoDbValue() {
  return {
    StringEquals: {
      'kms:ViaService': {
        'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
      },
    },
  };
}
