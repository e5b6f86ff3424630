import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DETAIL_TYPE, EVENT_SOURCE } from '../../lambda/shared/contract.js';
import { EventBridgePublisher, type RefresherEvent } from '../../lambda/shared/event-publisher.js';

const eventBridge = mockClient(EventBridgeClient);

function publisher(busName = 'shop-events'): EventBridgePublisher {
  return new EventBridgePublisher({
    client: new EventBridgeClient({ region: 'eu-west-1' }),
    busName,
  });
}

function events(count: number): RefresherEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    detailType: DETAIL_TYPE.tokenRefreshed,
    detail: { shop: `shop-${i + 1}`, accessTokenExpiresAt: '2030-01-01T00:00:00.000Z' },
  }));
}

/** Every entry sent, in the order the batches were sent. */
function sentEntries(): PutEventsRequestEntry[] {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => (call.args[0].input as PutEventsCommandInput).Entries ?? []);
}

function shopsSent(): string[] {
  return sentEntries().map((entry) => (JSON.parse(entry.Detail ?? '{}') as { shop: string }).shop);
}

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
}

describe('Class: EventBridgePublisher', () => {
  beforeEach(() => {
    eventBridge.reset();
  });

  describe('Method: publish', () => {
    it('sends each event to the bus with the refresher as source and the detail as JSON', async () => {
      // Prepare
      eventBridge
        .on(PutEventsCommand)
        .resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
      const event: RefresherEvent = {
        detailType: DETAIL_TYPE.reauthorizationRequired,
        detail: { shop: 'shop-a', errorType: 'ReauthorizationRequiredError', tiktokCode: 36004005 },
      };

      // Act
      const result = await publisher('shop-events').publish([event]);

      // Assess
      expect(result).toEqual({ failed: 0, reasons: [] });
      expect(sentEntries()).toEqual([
        {
          EventBusName: 'shop-events',
          Source: EVENT_SOURCE,
          DetailType: 'Reauthorization Required',
          Detail:
            '{"shop":"shop-a","errorType":"ReauthorizationRequiredError","tiktokCode":36004005}',
        },
      ]);
    });

    it("sends every call with the run's signal, and says so when the deadline cut it", async () => {
      // Prepare: the handler aborts the signal when reporting must end
      const deadline = new AbortController();
      const bounded = new EventBridgePublisher({
        client: new EventBridgeClient({ region: 'eu-west-1' }),
        busName: 'shop-events',
        signal: deadline.signal,
      });
      eventBridge.on(PutEventsCommand).callsFake(() => {
        deadline.abort();
        throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      });

      // Act
      const result = await bounded.publish(events(3));

      // Assess
      // The call's signal is the run's combined with the call's own bound: the run aborts it.
      const [call] = eventBridge.send.getCalls();
      const sent = (call?.args as unknown[] | undefined)?.[1] as { abortSignal?: AbortSignal };
      expect(sent.abortSignal?.aborted).toBe(true);
      expect(sent.abortSignal?.reason).toBe(deadline.signal.reason);
      expect(result).toEqual({
        failed: 3,
        reasons: ["not published before the invocation's deadline"],
      });
    });

    it('ends a call whose answer never finishes after timeoutMs in all, and says so', async () => {
      // Prepare: the SDK's requestTimeout only bounds the silence between bytes
      const bounded = new EventBridgePublisher({
        client: new EventBridgeClient({ region: 'eu-west-1' }),
        busName: 'shop-events',
        timeoutMs: 50,
      });
      // An answer that never ends, until the call's signal aborts it (as the SDK's handler does).
      eventBridge.on(PutEventsCommand).callsFake(
        () =>
          new Promise((_, reject) => {
            const sent = (eventBridge.send.lastCall?.args as unknown[] | undefined)?.[1] as {
              abortSignal?: AbortSignal;
            };
            sent.abortSignal?.addEventListener('abort', () =>
              reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })),
            );
          }),
      );

      // Act
      const started = Date.now();
      const result = await bounded.publish(events(2));

      // Assess
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(result).toEqual({ failed: 2, reasons: ['PutEvents did not answer within 50 ms'] });
    });

    it('makes no call when there is nothing to publish', async () => {
      const result = await publisher().publish([]);

      expect(result).toEqual({ failed: 0, reasons: [] });
      expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    });

    it('sends at most 10 entries per PutEvents call', async () => {
      // Prepare
      eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });

      // Act
      const result = await publisher().publish(events(23));

      // Assess
      const batchSizes = eventBridge
        .commandCalls(PutEventsCommand)
        .map((call) => call.args[0].input.Entries?.length);
      expect(batchSizes).toEqual([10, 10, 3]);
      expect(shopsSent()).toEqual(events(23).map((event) => event.detail.shop));
      expect(result).toEqual({ failed: 0, reasons: [] });
    });

    it('sends exactly 10 events in one call', async () => {
      eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });

      await publisher().publish(events(10));

      expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
      expect(sentEntries()).toHaveLength(10);
    });

    it('counts failed entries and gives their reasons once each', async () => {
      // Prepare: the second batch has two entries refused
      eventBridge
        .on(PutEventsCommand)
        .resolvesOnce({ FailedEntryCount: 0, Entries: Array.from({ length: 10 }, () => ({})) })
        .resolvesOnce({
          FailedEntryCount: 3,
          Entries: [
            { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' },
            { EventId: 'ok' },
            { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' },
            { ErrorCode: 'MalformedDetail' },
          ],
        });

      // Act
      const result = await publisher().publish(events(14));

      // Assess
      expect(result).toEqual({
        failed: 3,
        reasons: ['InternalFailure: try again', 'MalformedDetail: '],
      });
    });

    it('counts a whole batch as failed when the call fails, with the reason', async () => {
      // Prepare: first batch delivered, second rejected outright
      eventBridge
        .on(PutEventsCommand)
        .resolvesOnce({ FailedEntryCount: 0, Entries: [] })
        .rejectsOnce(throttled());

      // Act
      const result = await publisher().publish(events(15));

      // Assess
      expect(result).toEqual({ failed: 5, reasons: ['ThrottlingException: Rate exceeded'] });
    });

    it('adds up failures of every kind across batches', async () => {
      eventBridge
        .on(PutEventsCommand)
        .rejectsOnce(throttled())
        .resolvesOnce({
          FailedEntryCount: 1,
          Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }],
        })
        .rejectsOnce(throttled());

      const result = await publisher().publish(events(25));

      expect(result).toEqual({
        failed: 10 + 1 + 5,
        reasons: ['ThrottlingException: Rate exceeded', 'InternalFailure: oops'],
      });
    });

    it('reports a rejection that is not an Error', async () => {
      eventBridge.on(PutEventsCommand).callsFake(() => Promise.reject('socket hang up'));

      const result = await publisher().publish(events(2));

      expect(result).toEqual({ failed: 2, reasons: ['socket hang up'] });
    });

    it('treats an answer without counts as delivered', async () => {
      eventBridge.on(PutEventsCommand).resolves({});

      await expect(publisher().publish(events(3))).resolves.toEqual({ failed: 0, reasons: [] });
    });
  });
});
