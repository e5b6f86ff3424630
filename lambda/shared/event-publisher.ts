import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from './contract.js';

export interface RefresherEvent {
  readonly detailType: string;
  /** Shop, expiry times, error type and TikTok code: never a token. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface PublishResult {
  readonly failed: number;
  readonly reasons: readonly string[];
}

export interface EventPublisher {
  /** Publishes every event; answers how many could not be delivered, and why. */
  publish(events: readonly RefresherEvent[]): Promise<PublishResult>;
}

/** PutEvents takes at most 10 entries a call. */
const BATCH = 10;

export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #busName: string;
  readonly #signal: AbortSignal | undefined;

  /** `signal` aborts every call in flight: the handler aborts it when reporting must end. */
  constructor(options: { client: EventBridgeClient; busName: string; signal?: AbortSignal }) {
    this.#client = options.client;
    this.#busName = options.busName;
    this.#signal = options.signal;
  }

  async publish(events: readonly RefresherEvent[]): Promise<PublishResult> {
    const batches: RefresherEvent[][] = [];
    for (let start = 0; start < events.length; start += BATCH) {
      batches.push(events.slice(start, start + BATCH));
    }
    const results = await Promise.all(batches.map((batch) => this.#send(batch)));
    return {
      failed: results.reduce((sum, result) => sum + result.failed, 0),
      reasons: [...new Set(results.flatMap((result) => result.reasons))],
    };
  }

  async #send(batch: readonly RefresherEvent[]): Promise<PublishResult> {
    try {
      const answer = await this.#client.send(
        new PutEventsCommand({
          Entries: batch.map((event) => ({
            EventBusName: this.#busName,
            Source: EVENT_SOURCE,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
          })),
        }),
        this.#signal === undefined ? {} : { abortSignal: this.#signal },
      );
      const reasons = (answer.Entries ?? []).flatMap((entry) =>
        entry.ErrorCode === undefined ? [] : [`${entry.ErrorCode}: ${entry.ErrorMessage ?? ''}`],
      );
      return { failed: answer.FailedEntryCount ?? 0, reasons };
    } catch (error) {
      // Whatever went wrong, the whole batch is undelivered; the caller counts and logs it.
      const reason =
        this.#signal?.aborted === true
          ? "not published before the invocation's deadline"
          : error instanceof Error
            ? `${error.name}: ${error.message}`
            : String(error);
      return { failed: batch.length, reasons: [reason] };
    }
  }
}
