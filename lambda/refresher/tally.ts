// What a run has found so far: one result per shop in the given order, each passed on (logged,
// its events sent) once, and what the metrics need of the tokens in effect.
import type { Outbox } from './outbox.js';
import type { ShopReport, ShopResult, TokensInEffect } from './reports.js';
import { authorizationExpiring } from './token-policy.js';

/**
 * Each shop's result, in the order the shops were given, passed to `onResult` as soon as it is
 * known; its events go to the outbox. Token documents are not kept, so memory grows with the
 * fleet only by a result per shop.
 */
export class Tally implements TokensInEffect {
  readonly outbox: Outbox;
  authorizationExpiring = 0;
  /** Epoch seconds. */
  soonestAccessExpiry: number | undefined;
  readonly #results: (ShopResult | undefined)[];
  readonly #onResult: (result: ShopResult) => void;
  readonly #now: number;
  #closed = false;

  constructor(shops: number, onResult: (result: ShopResult) => void, outbox: Outbox, now: number) {
    this.#results = new Array(shops).fill(undefined);
    this.#onResult = onResult;
    this.outbox = outbox;
    this.#now = now;
  }

  /** Once closed, late reports of work that went on past the deadline are dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  has(index: number): boolean {
    return this.#results[index] !== undefined;
  }

  add(index: number, { result, inEffect, events }: ShopReport): void {
    if (this.#closed || this.has(index)) return;
    this.#results[index] = result;
    this.#onResult(result);
    this.outbox.add(events);
    if (inEffect !== undefined) {
      const expiry = inEffect.data.access_token_expire_in;
      this.soonestAccessExpiry = Math.min(this.soonestAccessExpiry ?? expiry, expiry);
      if (authorizationExpiring(inEffect, this.#now)) this.authorizationExpiring++;
    }
  }

  close(): void {
    this.#closed = true;
  }

  /** Every shop's result; complete once the run has reported the shops it could not finish. */
  results(): ShopResult[] {
    return this.#results.filter((result) => result !== undefined);
  }
}
