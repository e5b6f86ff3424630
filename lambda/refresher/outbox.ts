// The run's events on their way to the bus: batched as they come, a few calls at a time, and
// counted, so the run can say how many were not published and why.
import { describeError } from '../shared/errors.js';
import type { EventPublisher, RefresherEvent } from '../shared/event-publisher.js';
import { type Clock, settleBy } from '../shared/timing.js';

/** PutEvents takes at most 10 entries a call. */
export const EVENT_BATCH = 10;

/**
 * Sends the run's events as they come, ten to a call and a few calls at a time, so that they
 * neither pile up in memory nor all go out at the end of the run.
 */
export class Outbox {
  #total = 0;
  #delivered = 0;
  readonly #reasons = new Set<string>();
  readonly #publisher: EventPublisher;
  readonly #callsAtOnce: number;
  #queue: RefresherEvent[] = [];
  #inFlight = 0;
  #flushing = false;
  #changed: () => void = () => {};

  constructor(publisher: EventPublisher, callsAtOnce: number) {
    this.#publisher = publisher;
    this.#callsAtOnce = callsAtOnce;
  }

  add(events: readonly RefresherEvent[]): void {
    this.#queue.push(...events);
    this.#total += events.length;
    this.#send();
  }

  /** Sends what is left; resolves once every event was delivered or failed. */
  async #flush(): Promise<void> {
    this.#flushing = true;
    this.#send();
    while (this.#queue.length > 0 || this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#changed = resolve;
      });
    }
  }

  /**
   * Sends what is left, waiting no later than `deadline`: how many events were not published
   * and why (a call's failure, or the deadline).
   */
  async flushBy(
    deadline: number,
    clock: Clock,
  ): Promise<{ unpublished: number; reasons: string[] }> {
    const flushed = await settleBy(
      this.#flush().then(() => true),
      deadline,
      clock,
    );
    const late = flushed === undefined ? ["not published before the invocation's deadline"] : [];
    return { unpublished: this.#total - this.#delivered, reasons: [...this.#reasons, ...late] };
  }

  #send(): void {
    while (
      this.#inFlight < this.#callsAtOnce &&
      (this.#queue.length >= EVENT_BATCH || (this.#flushing && this.#queue.length > 0))
    ) {
      const batch = this.#queue.splice(0, EVENT_BATCH);
      this.#inFlight++;
      this.#publisher
        .publish(batch)
        .then(
          (result) => {
            this.#delivered += batch.length - result.failed;
            for (const reason of result.reasons) this.#reasons.add(reason);
          },
          (error: unknown) => this.#reasons.add(describeError(error).errorType),
        )
        .finally(() => {
          this.#inFlight--;
          this.#send();
          this.#changed();
        });
    }
  }
}
