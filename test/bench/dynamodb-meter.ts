/**
 * A counting proxy in front of the bench's dynalite: the function's DynamoDB calls by operation,
 * and the read and write request units they consume, as DynamoDB bills them on demand.
 */
import { Agent, createServer, type IncomingMessage, request } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

const STORAGE_OVERHEAD_BYTES = 100;

/**
 * The proxy adds `ReturnConsumedCapacity: TOTAL` to every call that takes it (the function's code
 * never asks) and sums what dynalite answers. dynalite follows AWS's rules
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
 * a Scan page is the summed size of the whole items it evaluated (not the projected attributes
 * returned), rounded up to 4 KB, one unit per 4 KB, half for an eventually consistent Scan;
 * GetItem and BatchGetItem round each item up to 4 KB on its own; UpdateItem and PutItem take
 * the larger of the item before and after, one unit per 1 KB. dynalite answers a refused
 * conditional write without capacity, where AWS still bills the existing item's size (minimum 1):
 * those are counted apart and billed by the caller.
 */
const METERED = new Set([
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
]);
const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

export interface DynamoDbCounts {
  /** Calls by operation (`Scan`, `BatchGetItem`, …), answered or not. */
  readonly calls: Readonly<Record<string, number>>;
  /** Read request units by operation. */
  readonly readUnits: Readonly<Record<string, number>>;
  /** Write request units by operation, refused conditional writes not included. */
  readonly writeUnits: Readonly<Record<string, number>>;
  /** Conditional writes DynamoDB refused: billed, but dynalite reports no capacity for them. */
  readonly refusedConditionalWrites: number;
}

export interface DynamoDbMeter {
  /** `http://127.0.0.1:PORT`: give this to the function instead of dynalite's URL. */
  readonly url: string;
  /** What went through since the last `reset` (or the start). */
  counts(): DynamoDbCounts;
  reset(): void;
  close(): Promise<void>;
}

interface Tally {
  calls: Record<string, number>;
  readUnits: Record<string, number>;
  writeUnits: Record<string, number>;
  refusedConditionalWrites: number;
}

const emptyTally = (): Tally => ({
  calls: {},
  readUnits: {},
  writeUnits: {},
  refusedConditionalWrites: 0,
});

export async function startDynamoDbMeter(upstreamUrl: string): Promise<DynamoDbMeter> {
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true });
  let tally = emptyTally();
  const server = createServer((req, res) => {
    void (async () => {
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      let body = await readAll(req);
      if (METERED.has(operation)) {
        const input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        input.ReturnConsumedCapacity ??= 'TOTAL';
        body = Buffer.from(JSON.stringify(input));
      }
      const headers = { ...req.headers, 'content-length': String(body.length) };
      const answer = await new Promise<IncomingMessage>((resolve, reject) => {
        const forwarded = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers,
            agent,
          },
          resolve,
        );
        forwarded.once('error', reject);
        forwarded.end(body);
      });
      const answered = await readAll(answer);
      tally.calls[operation] = (tally.calls[operation] ?? 0) + 1;
      if (METERED.has(operation)) record(tally, operation, answer.statusCode ?? 0, answered);
      // The answer goes back as dynalite sent it (its CRC32 header still matches): the SDK parses
      // the ConsumedCapacity it did not ask for, and the function's code ignores it.
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      res.end(answered);
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'MeterError', message: String(error) }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => structuredClone(tally),
    reset() {
      tally = emptyTally();
    },
    async close() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

function record(tally: Tally, operation: string, status: number, body: Buffer): void {
  const answer = JSON.parse(body.toString('utf8') || '{}') as {
    __type?: string;
    ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
  };
  if (status !== 200) {
    if (answer.__type?.endsWith('ConditionalCheckFailedException'))
      tally.refusedConditionalWrites++;
    return;
  }
  const consumed = [answer.ConsumedCapacity ?? []]
    .flat()
    .reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
  const units = READS.has(operation) ? tally.readUnits : tally.writeUnits;
  units[operation] = (units[operation] ?? 0) + consumed;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

// dynalite ships no type declarations; this is its item size by AWS's rules (names + values).
const { itemSize } = createRequire(import.meta.url)('dynalite/db/index.js') as {
  itemSize: (item: Record<string, AttributeValue>) => number;
};

/**
 * Storage DynamoDB bills for the table: each item's size plus 100 bytes of overhead per item
 * (https://aws.amazon.com/dynamodb/pricing/on-demand/, "Data storage"). Read past the meter.
 */
export async function storedBytes(client: DynamoDBClient, table: string): Promise<number> {
  let bytes = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    for (const item of page.Items ?? []) bytes += itemSize(item) + STORAGE_OVERHEAD_BYTES;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return bytes;
}
