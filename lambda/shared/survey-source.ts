// What a store tells a run about its shops without reading every token: pages of shops with the
// state of their versions, and the current tokens of many shops in one call.
import type { StoredVersion } from './secrets-store.js';

/** A shop as a store lists it: never a basis for writing, only for deciding what to read. */
export interface SurveyedShop {
  /** The shop's name: its secret's name (Secrets Manager), its key (DynamoDB). */
  readonly name: string;
  /** The secret's ARN, where the store has one. */
  readonly arn?: string;
  /** The app the store binds the shop to, where it keeps one apart from tags. */
  readonly app?: string;
  /** The shop's tags, as Secrets Manager lists them (the app tag among them). */
  readonly tags?: readonly { readonly Key?: string; readonly Value?: string }[];
  /** The version that is current as listed; undefined for a shop without a token. */
  readonly currentVersionId: string | undefined;
  /** The current version itself, where the listing carries it (then no batch read is needed). */
  readonly current?: StoredVersion;
  /** A version other than the current one is pending (an interrupted write). */
  readonly hasPending: boolean;
  /** A version other than the current one holds a kept answer. */
  readonly hasKept: boolean;
}

/**
 * The listing side of a TokenStore. A listing may lag behind writes (Secrets Manager's ListSecrets
 * by minutes), so a run uses it to skip reads, never to write: a shop whose listing shows a
 * pending or kept version, or whose batch-read current version is not the listed one, is read in
 * full (`TokenStore.read`), and every write stays compare-and-swap on such a read.
 */
export interface SurveySource {
  /** Every shop the store finds by itself, a page at a time (none for a store that finds none). */
  pages(): AsyncIterable<readonly SurveyedShop[]>;
  /** The shops configured by id (name or ARN), a page at a time; an unknown one is left out. */
  named(ids: readonly string[]): AsyncIterable<readonly SurveyedShop[]>;
  /**
   * The current versions of the shops `ids` names, by shop name, many to a call. A shop that
   * could not be read this way is left out: the run reads it in full, which reports why.
   */
  readCurrent(ids: readonly string[]): Promise<ReadonlyMap<string, StoredVersion>>;
}
