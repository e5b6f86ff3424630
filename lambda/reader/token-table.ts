// Reading a shop's token from the DynamoDB token table, through Powertools Parameters' cache (the
// one the secrets provider uses): only the current token's text leaves the table.
import { BaseProvider } from '@aws-lambda-powertools/parameters/base';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV } from '../shared/contract.js';
import { SecretStoreError } from '../shared/errors.js';

/**
 * A Powertools provider of one attribute path, `current.token`, of the item whose `shop` is the
 * name asked for: the same `get(name, { maxAge, forceFetch })` and cache as SecretsProvider.
 * Powertools' own DynamoDBProvider would read the whole `current` map and needs
 * `@aws-sdk/util-dynamodb`; this one needs neither. Reads are eventually consistent (half the
 * cost): a token a refresh replaced is still valid, and the cache is a minute anyway.
 */
export class TokenTableProvider extends BaseProvider {
  readonly tableName: string;
  declare protected client: DynamoDBClient;

  constructor(options: { readonly tableName: string; readonly awsSdkV3Client?: DynamoDBClient }) {
    super({
      awsSdkV3ClientPrototype: DynamoDBClient as new (config?: unknown) => DynamoDBClient,
      ...(options.awsSdkV3Client === undefined ? {} : { awsSdkV3Client: options.awsSdkV3Client }),
    });
    this.tableName = options.tableName;
  }

  protected async _get(shop: string): Promise<string | undefined> {
    const answer = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { shop: { S: shop } },
        ProjectionExpression: '#current.#token',
        ExpressionAttributeNames: { '#current': 'current', '#token': 'token' },
      }),
    );
    return answer.Item?.current?.M?.token?.S;
  }

  protected async _getMultiple(): Promise<undefined> {
    throw new TypeError('TokenTableProvider reads one shop at a time');
  }
}

const providers = new Map<string, TokenTableProvider>();

/** The table a read goes to: the option, else TOKEN_TABLE_NAME; undefined: a secret. */
export function tokenTableOf(options: {
  readonly tableName?: string;
  readonly tableProvider?: TokenTableProvider;
}): string | undefined {
  return (
    options.tableProvider?.tableName ??
    options.tableName ??
    (process.env[ENV.tokenTableName] || undefined)
  );
}

/** The token text of `shop`'s item, from the cache when fresh enough. */
export async function readTableToken(
  tableName: string,
  shop: string,
  options: {
    readonly maxAge: number;
    readonly forceFetch: boolean;
    readonly tableProvider?: TokenTableProvider;
  },
): Promise<unknown> {
  let provider = options.tableProvider ?? providers.get(tableName);
  if (provider === undefined) {
    provider = new TokenTableProvider({ tableName });
    providers.set(tableName, provider);
  }
  try {
    return await provider.get(shop, { maxAge: options.maxAge, forceFetch: options.forceFetch });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const { name, message } = cause instanceof Error ? cause : new Error(String(cause));
    throw new SecretStoreError(
      `could not read shop ${shop} from token table ${tableName}: ${name}: ${message}`,
      { cause: error, awsName: name },
    );
  }
}
