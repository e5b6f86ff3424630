// Publishing the product's events to EventBridge, ten to a call, each call bounded in all.
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AWS_REQUEST_TIMEOUT_MS } from './budget.js';
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
  readonly #timeoutMs: number;

  /**
   * `signal` aborts every call in flight: the handler aborts it when reporting must end.
   * `timeoutMs` bounds each PutEvents call in all, the SDK's retries included: the SDK's own
   * requestTimeout only bounds the silence between bytes. @default AWS_REQUEST_TIMEOUT_MS
   */
  constructor(options: {
    client: EventBridgeClient;
    busName: string;
    signal?: AbortSignal;
    timeoutMs?: number;
  }) {
    this.#client = options.client;
    this.#busName = options.busName;
    this.#signal = options.signal;
    this.#timeoutMs = options.timeoutMs ?? AWS_REQUEST_TIMEOUT_MS;
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
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const abortSignal =
      this.#signal === undefined ? timeout : AbortSignal.any([this.#signal, timeout]);
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
        { abortSignal },
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
          : timeout.aborted
            ? `PutEvents did not answer within ${this.#timeoutMs} ms`
            : error instanceof Error
              ? `${error.name}: ${error.message}`
              : String(error);
      return { failed: batch.length, reasons: [reason] };
    }
  }
}
