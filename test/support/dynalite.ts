/**
 * A real, independent DynamoDB for tests: dynalite (npm), in memory, on 127.0.0.1 at a free port,
 * spoken to by the real `@aws-sdk/client-dynamodb` over HTTP.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { SELLER_ATTRIBUTE, SELLER_INDEX_NAME } from '../../lambda/shared/contract.js';

type Dynalite = (options: { createTableMs?: number; deleteTableMs?: number }) => Server;
// dynalite ships no type declarations; this is the one function the tests call.
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
/** BatchWriteItem's limit. */
const ITEMS_PER_WRITE = 25;

export interface LocalDynamoDb {
  /** `http://127.0.0.1:PORT`, for `endpoint` or AWS_ENDPOINT_URL_DYNAMODB. */
  readonly url: string;
  /** A client of this endpoint; the caller destroys it. */
  client(options?: { maxAttempts?: number }): DynamoDBClient;
  /**
   * A table shaped as the construct makes the token table: partition key `shop`, on demand, and
   * the `seller` index onboarding looks a seller's other shops up in.
   */
  createTokenTable(tableName: string): Promise<void>;
  /** Writes the items, 25 a BatchWriteItem and 8 calls at a time, until none is left unprocessed. */
  putItems(tableName: string, items: readonly Record<string, AttributeValue>[]): Promise<void>;
  close(): Promise<void>;
}

export async function startDynalite(): Promise<LocalDynamoDb> {
  // Tables are ACTIVE at once: tests do not wait for CREATING to pass.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = (options: { maxAttempts?: number } = {}) =>
    new DynamoDBClient({
      endpoint: url,
      region: 'us-east-1',
      credentials,
      maxAttempts: options.maxAttempts ?? 1,
    });
  let closed = false;
  return {
    url,
    client,
    async createTokenTable(tableName) {
      const admin = client();
      try {
        await admin.send(
          new CreateTableCommand({
            TableName: tableName,
            AttributeDefinitions: [
              { AttributeName: 'shop', AttributeType: 'S' },
              { AttributeName: SELLER_ATTRIBUTE, AttributeType: 'S' },
            ],
            KeySchema: [{ AttributeName: 'shop', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
            GlobalSecondaryIndexes: [
              {
                IndexName: SELLER_INDEX_NAME,
                KeySchema: [{ AttributeName: SELLER_ATTRIBUTE, KeyType: 'HASH' }],
                Projection: { ProjectionType: 'KEYS_ONLY' },
              },
            ],
          }),
        );
      } finally {
        admin.destroy();
      }
    },
    async putItems(tableName, items) {
      const writer = client({ maxAttempts: 5 });
      let next = 0;
      try {
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            for (let start = next; start < items.length; start = next) {
              next += ITEMS_PER_WRITE;
              let request = items
                .slice(start, start + ITEMS_PER_WRITE)
                .map((Item) => ({ PutRequest: { Item } }));
              while (request.length > 0) {
                const answer = await writer.send(
                  new BatchWriteItemCommand({ RequestItems: { [tableName]: request } }),
                );
                request = (answer.UnprocessedItems?.[tableName] ?? []) as typeof request;
              }
            }
          }),
        );
      } finally {
        writer.destroy();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
