// What a run's outcome does to the invocation: the error the handler throws once everything is
// reported, so that Lambda's retries, the on-failure destination and the error alarm take over.
import { ENV } from '../shared/contract.js';
import {
  AppCredentialsError,
  ConfigurationError,
  DeadlineExceededError,
  listSome,
  type RefresherError,
  RefreshIncompleteError,
  TransientError,
  toInternalError,
} from '../shared/errors.js';
import type { AppCredentials } from '../shared/token.js';
import type { RunSummary, ShopResult } from './reports.js';
import type { RunRequest } from './run-request.js';

/** Failures one thrown message names per kind; the summary and the log lines have them all. */
const FAILURES_NAMED = 5;
const MAX_FAILURE_LENGTH = 400;

/**
 * Reads each app's credentials from its own secret and remembers how each read went, so that
 * the invocation can fail once the run is over. It reads whenever asked: the run asks for each
 * app once (see runCredentials, the one memo of app credentials).
 */
export class AppCredentialReads {
  readonly #secretIds: ReadonlyMap<string, string>;
  readonly #read: (secretId: string) => Promise<AppCredentials>;
  readonly #reads: { readonly app: string; readonly read: Promise<AppCredentials> }[] = [];
  /** Reads started before the run knew its shops' apps, not yet asked for. */
  readonly #early = new Map<string, Promise<AppCredentials>>();

  constructor(
    secretIds: ReadonlyMap<string, string>,
    read: (secretId: string) => Promise<AppCredentials>,
  ) {
    this.#secretIds = secretIds;
    this.#read = read;
  }

  /**
   * Starts reading the credentials of apps the run expects to ask for, beside its first reads of
   * its shops: the run asks once it knows its shops' apps. A read nobody asks for fails nothing.
   */
  readonly start = (apps: Iterable<string>): void => {
    for (const app of apps) {
      const secretId = this.#secretIds.get(app);
      if (secretId === undefined || this.#early.has(app)) continue;
      const read = this.#read(secretId);
      read.catch(() => {});
      this.#early.set(app, read);
    }
  };

  /** Reads the app's credentials. */
  readonly get = (app: string): Promise<AppCredentials> => {
    const secretId = this.#secretIds.get(app);
    const early = this.#early.get(app);
    this.#early.delete(app);
    const read =
      secretId === undefined
        ? Promise.reject(
            new ConfigurationError(
              `app "${app}" has no credentials secret (${ENV.appCredentialsSecretId} is not set)`,
            ),
          )
        : (early ?? this.#read(secretId)).catch((error: unknown) => {
            throw namingApp(app, secretId, error);
          });
    // Whoever needs them reports a failure; `failure` raises it once the run is over.
    read.catch(() => {});
    this.#reads.push({ app, read });
    return read;
  };

  /**
   * The error the invocation fails with when credentials that were read cannot be used: one
   * app's problem as it is (a deployment with one app fails exactly as before there were
   * several), several apps' in one AppCredentialsError naming each app's secret.
   */
  async failure(): Promise<RefresherError | undefined> {
    const failures: { app: string; error: RefresherError }[] = [];
    for (const { app, read } of this.#reads) {
      await read.catch((error: unknown) => failures.push({ app, error: toInternalError(error) }));
    }
    const [first] = failures;
    if (first === undefined || failures.length === 1) return first?.error;
    return new AppCredentialsError(
      `the credentials of ${failures.length} apps cannot be used, so their due shops were not refreshed: ${listSome(
        failures.map(({ app, error }) => `app "${app}" (${error.errorType}: ${error.message})`),
        FAILURES_NAMED,
        MAX_FAILURE_LENGTH,
      )}`,
    );
  }
}

/**
 * A read of app credentials that ran out of time, saying whose credentials and where: the store's
 * own message names the call, which alone does not tell an operator which app's shops wait. Other
 * failures already name the secret and say what to put in it.
 */
function namingApp(app: string, secretId: string, error: unknown): unknown {
  if (!(error instanceof TransientError || error instanceof DeadlineExceededError)) return error;
  const ErrorClass = error instanceof TransientError ? TransientError : DeadlineExceededError;
  return new ErrorClass(
    `the credentials of app "${app}" (secret ${secretId}) could not be read: ${error.message}`,
    { cause: error },
  );
}

/**
 * The error the invocation fails with when a shop's failure fails it (see RefresherError), or
 * undefined: retryable when a retry may fix one of them, not when each needs a person. The
 * message is all a person sees in the console: it says which shops may succeed on retry and
 * which need a person, with the first few of each and the count.
 */
export function incompleteRunError(
  summary: RunSummary,
  request: Pick<RunRequest, 'chained'> = {},
): RefreshIncompleteError | undefined {
  const failed = summary.shops.filter(
    (shop) => shop.outcome === 'failed' && !(request.chained === true && isLeftForLackOfTime(shop)),
  );
  const failing = failed.filter((shop) => shop.failsInvocation === true);
  if (failing.length === 0) return undefined;
  const retryable = failing.filter((shop) => shop.retryable === true);
  const needPerson = failing.filter((shop) => shop.retryable !== true);
  const others = failed.filter((shop) => shop.failsInvocation !== true);
  const of = `of ${summary.shops.length} shops`;
  const parts: string[] = [];
  if (retryable.length > 0) {
    parts.push(
      `${retryable.length} ${of} failed and may succeed on retry: ${describeFailures(retryable)}`,
    );
  }
  if (needPerson.length > 0) {
    parts.push(
      `${needPerson.length} ${of} failed and need a person, a retry will not help: ${describeFailures(needPerson)}`,
    );
  }
  if (others.length > 0) {
    parts.push(`also failed, a retry will not help: ${describeFailures(others)}`);
  }
  return new RefreshIncompleteError(parts.join('; '), { retryable: retryable.length > 0 });
}

/**
 * A shop whose refresh the deadline kept from starting (ShopResult.deferred): nothing was lost,
 * the next invocation starts it again. A refresh cut at TikTok or while storing fails the
 * invocation, chained or not.
 */
function isLeftForLackOfTime(shop: ShopResult): boolean {
  return shop.deferred === true;
}

/** What a chained invocation returns: small enough for the state machine (256 KB a state). */
export interface ChainedRunResult {
  readonly trigger: RunSummary['trigger'];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly counts: RunSummary['counts'];
  /** Shops left for lack of time: the state machine invokes the function again while any are. */
  readonly shopsLeft: number;
  /**
   * What would have failed an invocation on its own (the same error, not thrown: the shops left
   * go on first); the state machine fails the run with it once none are left. Null when none.
   */
  readonly failure: ChainedFailure | null;
}

export interface ChainedFailure {
  readonly errorType: string;
  readonly message: string;
  readonly retryable: boolean;
}

export function chainedResult(
  { trigger, force, dryRun, counts, shops }: RunSummary,
  failure: RefresherError | undefined,
): ChainedRunResult {
  const shopsLeft = shops.filter(
    (shop) => shop.outcome === 'failed' && isLeftForLackOfTime(shop),
  ).length;
  return {
    trigger,
    force,
    dryRun,
    counts,
    shopsLeft,
    failure:
      failure === undefined
        ? null
        : { errorType: failure.errorType, message: failure.message, retryable: failure.retryable },
  };
}

/**
 * Shops a returned summary lists at most: 1,000 lines are about 200 KB, far below Lambda's 6 MB
 * response limit, which a summary of every shop passes at about 35,000 shops. The log has a line
 * for every shop.
 */
export const SUMMARY_SHOPS_LISTED = 1000;

/** Which shops a cut summary keeps first: what a person must see before what went well. */
const LISTING_ORDER: readonly ShopResult['outcome'][] = [
  'failed',
  'superseded',
  'refreshed',
  'skipped',
];

/** The summary a run returns: every shop up to SUMMARY_SHOPS_LISTED, else failures first. */
export function boundedSummary(summary: RunSummary): RunSummary & { shopsNotListed?: number } {
  if (summary.shops.length <= SUMMARY_SHOPS_LISTED) return summary;
  const listed = new Set<ShopResult>();
  for (const outcome of LISTING_ORDER) {
    for (const shop of summary.shops) {
      if (listed.size === SUMMARY_SHOPS_LISTED) break;
      if (shop.outcome === outcome) listed.add(shop);
    }
  }
  return {
    ...summary,
    shops: summary.shops.filter((shop) => listed.has(shop)),
    shopsNotListed: summary.shops.length - listed.size,
  };
}

function describeFailures(shops: readonly ShopResult[]): string {
  return listSome(
    shops.map((shop) => `${shop.shop} (${shop.errorType}: ${shop.message})`),
    FAILURES_NAMED,
    MAX_FAILURE_LENGTH,
  );
}
