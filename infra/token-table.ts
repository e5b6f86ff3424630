// The DynamoDB token table (TokenStoreKind.DYNAMODB) and every grant on it: the refresher's, the
// consent callback's, and a reader's on exactly one shop's item.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import {
  ENV,
  SELLER_ATTRIBUTE,
  SELLER_INDEX_NAME,
  TOKEN_STORE,
} from '../lambda/shared/contract.js';
import { TokenStoreKind } from './token-refresher-props.js';

/**
 * The table, for TokenStoreKind.DYNAMODB: partition key `shop`, on demand, point-in-time
 * recovery, kept when the stack goes (it holds every seller's authorization), encrypted with
 * `key` when the construct has one. The `seller` index (keys only) finds a seller's other shops
 * at onboarding.
 */
export function createTokenTable(
  scope: Construct,
  store: TokenStoreKind,
  key: kms.IKey | undefined,
): dynamodb.Table | undefined {
  if (store !== TokenStoreKind.DYNAMODB) return undefined;
  const table = new dynamodb.Table(scope, 'TokenTable', {
    partitionKey: { name: 'shop', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.RETAIN,
    ...(key === undefined
      ? { encryption: dynamodb.TableEncryption.AWS_MANAGED }
      : { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: key }),
  });
  table.addGlobalSecondaryIndex({
    indexName: SELLER_INDEX_NAME,
    partitionKey: { name: SELLER_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.KEYS_ONLY,
  });
  return table;
}

/** The environment that points a function at the table. */
export function tokenTableEnvironment(table: dynamodb.ITable): Record<string, string> {
  return { [ENV.tokenStore]: TOKEN_STORE.dynamodb, [ENV.tokenTableName]: table.tableName };
}

/** What the refresher does: Scan the survey, batch and single reads, conditional updates. */
const REFRESHER_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:Scan',
  'dynamodb:UpdateItem',
];
/** What onboarding does: read and conditionally update the shop's item, Query the seller index. */
const CALLBACK_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

/** The refresher reads every item and writes them, never deletes one. */
export function grantTableRefresher(table: dynamodb.ITable, grantee: iam.IGrantable): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: REFRESHER_ACTIONS,
    resourceArns: [table.tableArn],
  });
  grantTableKey(table, grantee, true);
  return grant;
}

/** The callback reads and writes shops' items and looks sellers up in the seller index. */
export function grantTableOnboarding(table: dynamodb.ITable, grantee: iam.IGrantable): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: CALLBACK_ACTIONS,
    resourceArns: [table.tableArn],
  }).combine(
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${table.tableArn}/index/${SELLER_INDEX_NAME}`],
    }),
  );
  grantTableKey(table, grantee, true);
  return grant;
}

/**
 * GetItem on the items whose partition key is one of `shops` and no other (IAM's
 * `dynamodb:LeadingKeys`); every item when `shops` is undefined.
 */
export function grantTableRead(
  table: dynamodb.ITable,
  grantee: iam.IGrantable,
  shops: readonly string[] | undefined,
): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:GetItem'],
    resourceArns: [table.tableArn],
    ...(shops === undefined
      ? {}
      : { conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [...shops] } } }),
  });
  grantTableKey(table, grantee, false);
  return grant;
}

/**
 * Use of the table's customer-managed key through DynamoDB only, in the grantee's own policy (as
 * for secrets): decrypting reads, and for writers the data keys that encrypt new items.
 */
function grantTableKey(table: dynamodb.ITable, grantee: iam.IGrantable, writes: boolean): void {
  const key = table.encryptionKey;
  if (key === undefined) return;
  iam.Grant.addToPrincipal({
    grantee,
    actions: writes ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
    resourceArns: [key.keyArn],
    conditions: {
      StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(table).region}.amazonaws.com` },
    },
  });
}
