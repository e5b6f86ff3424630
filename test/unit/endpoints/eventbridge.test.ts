import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LocalEventBridge, startLocalEventBridge } from '../../local/endpoints/eventbridge.js';

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };

function entry(n: number): PutEventsRequestEntry {
  return {
    Source: 'tiktok-shop.token-refresher',
    DetailType: 'Token Refreshed',
    Detail: JSON.stringify({ shop: `shop-${n}` }),
  };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('LocalEventBridge', () => {
  let endpoint: LocalEventBridge;
  let client: EventBridgeClient;

  beforeEach(async () => {
    endpoint = await startLocalEventBridge();
    client = new EventBridgeClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
    });
  });

  afterEach(async () => {
    client.destroy();
    await endpoint.close();
  });

  describe('PutEvents', () => {
    it('records each entry with its Detail parsed and answers an EventId per entry', async () => {
      // Prepare
      const time = new Date('2025-01-02T03:04:05Z');

      // Act
      const answer = await client.send(
        new PutEventsCommand({
          Entries: [
            { ...entry(1), EventBusName: 'ops', Time: time, Resources: ['arn:secret'] },
            entry(2),
          ],
        }),
      );

      // Assess
      expect(answer.FailedEntryCount).toBe(0);
      expect(endpoint.events).toEqual([
        {
          EventId: answer.Entries?.[0]?.EventId,
          Source: 'tiktok-shop.token-refresher',
          DetailType: 'Token Refreshed',
          Detail: { shop: 'shop-1' },
          EventBusName: 'ops',
          Time: time,
          Resources: ['arn:secret'],
        },
        expect.objectContaining({ Detail: { shop: 'shop-2' }, EventBusName: 'default' }),
      ]);
    });

    it('rejects more than 10 entries with ValidationException, as AWS does', async () => {
      // Act
      const error = await failure(
        client.send(
          new PutEventsCommand({ Entries: Array.from({ length: 11 }, (_, i) => entry(i)) }),
        ),
      );

      // Assess
      expect(error.name).toBe('ValidationException');
      expect(endpoint.events).toEqual([]);
    });

    it('answers MalformedDetail for a Detail that is not a JSON object', async () => {
      // Act
      const answer = await client.send(
        new PutEventsCommand({ Entries: [{ ...entry(1), Detail: 'not json' }, entry(2)] }),
      );

      // Assess
      expect(answer.FailedEntryCount).toBe(1);
      expect(answer.Entries?.[0]).toMatchObject({ ErrorCode: 'MalformedDetail' });
      expect(endpoint.events).toHaveLength(1);
    });

    it('is reached through AWS_ENDPOINT_URL_EVENTBRIDGE', async () => {
      // Prepare
      vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', endpoint.url);
      const fromEnv = new EventBridgeClient({ region: 'us-east-1', credentials });

      // Act
      await fromEnv.send(new PutEventsCommand({ Entries: [entry(1)] }));
      fromEnv.destroy();

      // Assess
      expect(endpoint.events).toHaveLength(1);
    });
  });

  describe('fault injection', () => {
    it('holds a hung call open until the client gives up, then accepts again', async () => {
      // Prepare
      endpoint.hangNext(1);

      // Act
      const error = await failure(
        client.send(new PutEventsCommand({ Entries: [entry(1)] }), {
          abortSignal: AbortSignal.timeout(100),
        }),
      );
      const next = await client.send(new PutEventsCommand({ Entries: [entry(2)] }));

      // Assess
      expect(error.name).toBe('AbortError');
      expect(next.FailedEntryCount).toBe(0);
      expect(endpoint.events.map((event) => event.Detail)).toEqual([{ shop: 'shop-2' }]);
    });

    it('fails whole calls with failNext, then accepts again', async () => {
      // Prepare
      endpoint.failNext(1);

      // Act
      const error = await failure(client.send(new PutEventsCommand({ Entries: [entry(1)] })));
      await client.send(new PutEventsCommand({ Entries: [entry(2)] }));

      // Assess
      expect(error.name).toBe('InternalException');
      expect(endpoint.events.map((e) => e.Detail)).toEqual([{ shop: 'shop-2' }]);
      expect(endpoint.callCount).toBe(2);
    });

    it('drops the connection when asked', async () => {
      // Prepare
      endpoint.failNext(1, 'DropConnection');

      // Act
      const error = await failure(client.send(new PutEventsCommand({ Entries: [entry(1)] })));

      // Assess
      expect(error).toMatchObject({ code: 'ECONNRESET' });
      expect(endpoint.events).toEqual([]);
    });

    it('fails single entries with failEntries and counts them in FailedEntryCount', async () => {
      // Prepare
      endpoint.failEntries(2, 'ThrottlingException');

      // Act
      const answer = await client.send(
        new PutEventsCommand({ Entries: [entry(1), entry(2), entry(3)] }),
      );

      // Assess
      expect(answer.FailedEntryCount).toBe(2);
      expect(answer.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
        'ThrottlingException',
        'ThrottlingException',
        'ok',
      ]);
      expect(endpoint.events.map((e) => e.Detail)).toEqual([{ shop: 'shop-3' }]);
    });

    it('adds latencyMs to every call', async () => {
      // Prepare
      endpoint.latencyMs = 40;
      const started = performance.now();

      // Act
      await client.send(new PutEventsCommand({ Entries: [entry(1)] }));

      // Assess
      expect(performance.now() - started).toBeGreaterThanOrEqual(38);
    });

    it('forgets events and faults on reset', async () => {
      // Prepare
      await client.send(new PutEventsCommand({ Entries: [entry(1)] }));
      endpoint.failNext(1);

      // Act
      endpoint.reset();
      await client.send(new PutEventsCommand({ Entries: [entry(2)] }));

      // Assess
      expect(endpoint.events).toHaveLength(1);
      expect(endpoint.callCount).toBe(1);
    });
  });
});
