/**
 * Every failure the refresher reports is one of these. `errorType` is what the summary, the
 * metrics and the events carry. What a shop's failure does to the invocation:
 * - `retryable`: a later attempt may succeed. The invocation fails, so that Lambda retries it.
 * - `failsInvocation` but not `retryable`: a retry cannot fix it, yet it must not wait for
 *   someone to read a metric (TikTok's answer kept but not current, a shop bound to an app the
 *   deployment does not know). The invocation fails, its message names these shops as needing a
 *   person, and the function's error alarm and on-failure destination take over.
 * - neither: reported in the summary, the log, the metrics, an event and the alarms on them;
 *   the invocation succeeds (a seller who must authorize again, a malformed token secret).
 * Messages never contain a token, a secret or a URL.
 */
export abstract class RefresherError extends Error {
  /** The class's own name, as Lambda reports a thrown error: summaries and logs say the same. */
  readonly errorType: string;
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.errorType = new.target.name;
  }

  /** Whether a shop failing with it fails the invocation: every retryable failure, and a few others. */
  get failsInvocation(): boolean {
    return this.retryable;
  }
}

/**
 * Environment variables missing or invalid (names every one of them), or a shop bound to an
 * app the deployment does not know (names the shop). Only a person can fix it.
 */
export class ConfigurationError extends RefresherError {
  override get failsInvocation(): boolean {
    return true;
  }
}

/** The invocation event is not one the handler accepts; nothing was called. */
export class InvalidEventError extends RefresherError {}

/** A stored secret does not hold what it must (a token document, or the app credentials). */
export class MalformedSecretError extends RefresherError {}

/** A failure TikTok's answer decided; carries TikTok's code when the answer had one. */
export abstract class TikTokAnswerError extends RefresherError {
  constructor(
    message: string,
    readonly tiktokCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** TikTok refuses the refresh token or auth code: only the seller authorizing again helps. */
export class ReauthorizationRequiredError extends TikTokAnswerError {}

/** TikTok answered something that is not a usable token (not JSON, wrong shape, unknown code). */
export class UnexpectedResponseError extends TikTokAnswerError {}

/**
 * TikTok's answer was longer than the client reads (a real one is about 1 KB). Reading stopped
 * at the cap, so whatever it held is lost: if it carried a new refresh token, the shop may be
 * locked out. It fails the run, since a retry may get a normal answer.
 */
export class OversizedAnswerError extends TikTokAnswerError {
  override readonly retryable = true;
}

/**
 * TikTok answered code 0 with a refresh token, but the answer was not made current: it is kept
 * as a version of the shop's secret under its own label (see `KEPT_LABEL`), and the message says
 * which version and why. Until a person makes it current or removes its label, the refresher
 * does not call TikTok for the shop again (presenting the replaced refresh token could make
 * TikTok revoke the kept one). It fails the invocation, but a retry cannot help: a person must act.
 */
export class TokenNotCurrentError extends RefresherError {
  override get failsInvocation(): boolean {
    return true;
  }

  constructor(
    message: string,
    /** Where the answer is: the secret's version id and label. */
    readonly kept: { readonly versionId: string; readonly label: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * TikTok answered a refresh with a token of another seller (`open_id` differs from the stored
 * one). Kept, never made current: readers would act on another seller's shop.
 */
export class SellerChangedError extends TokenNotCurrentError {}

/**
 * TikTok issued a new access token, made current, whose refresh token has already expired: the
 * seller must authorize again before that access token expires. A retry cannot help.
 */
export class RefreshTokenExpiredError extends RefresherError {}

/**
 * TikTok told the product (a webhook notification) that the seller revoked the app for this shop,
 * and the shop has not been connected again since. Its tokens no longer work, so neither the
 * refresher nor a reader calls TikTok with them: the seller must authorize the app again.
 */
export class ShopDeauthorizedError extends RefresherError {
  constructor(
    message: string,
    /** The shop's token secret, as configured or named. */
    readonly shop: string,
    /** When TikTok sent the deauthorization (ISO 8601). */
    readonly deauthorizedAt: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Secrets Manager refused a call for a reason a retry does not fix (not found, access denied). */
export class SecretStoreError extends RefresherError {
  /** The AWS error name, e.g. ResourceNotFoundException. */
  readonly awsName: string | undefined;

  constructor(message: string, options?: { cause?: unknown; awsName?: string }) {
    super(message, options);
    this.awsName = options?.awsName;
  }
}

/** Network, timeout, HTTP 5xx/429 or AWS throttling that outlasted the retries. */
export class TransientError extends RefresherError {
  override readonly retryable = true;
  /** How long the remote asked to be left alone (Retry-After, capped); 0 when it did not say. */
  readonly retryAfterMs: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options?.retryAfterMs ?? 0;
  }
}

/**
 * TikTok issued a new token and it could not be stored. The most serious failure: if TikTok
 * rotated the refresh token, the shop is locked out until this is fixed, so it is always loud.
 */
export class TokenNotStoredError extends RefresherError {
  override readonly retryable = true;
}

/** Too little time was left in the invocation to refresh and also store the result. */
export class DeadlineExceededError extends RefresherError {
  override readonly retryable = true;
}

/**
 * Thrown by the handler after a run in which some shop's failure fails the invocation (see
 * RefresherError): retryable when a retry may fix one of them, not when each needs a person.
 */
export class RefreshIncompleteError extends RefresherError {
  override readonly retryable: boolean = false;

  constructor(message: string, options: { retryable: boolean }) {
    super(message);
    this.retryable = options.retryable;
  }
}

/**
 * The credentials of more than one app could not be used; the message names each app's secret
 * and its problem. One app's problem is thrown as it is (SecretStoreError, MalformedSecretError).
 */
export class AppCredentialsError extends RefresherError {}

/** Anything not foreseen (a bug). Its message names only the original error's class. */
export class InternalError extends RefresherError {}

/** A command-line or request argument is missing or invalid; nothing was called. */
export class UsageError extends RefresherError {}

/**
 * The first few of a list that a message would echo (`a, b, c and 99,997 more`), each item cut
 * to `maxItemLength`: what a person typed or how many shops there are never makes a message long.
 */
export function listSome(items: readonly string[], shown = 5, maxItemLength = 80): string {
  const named = items
    .slice(0, shown)
    .map((item) => (item.length > maxItemLength ? `${item.slice(0, maxItemLength)}…` : item));
  const more = items.length - named.length;
  return more > 0
    ? `${named.join(', ')} and ${more.toLocaleString('en-US')} more`
    : named.join(', ');
}

/** The part of any error that may be reported: type and message, never a stack or a cause. */
export function describeError(error: unknown): {
  errorType: string;
  message: string;
  tiktokCode?: number;
} {
  if (error instanceof RefresherError) {
    const tiktokCode = error instanceof TikTokAnswerError ? error.tiktokCode : undefined;
    return {
      errorType: error.errorType,
      message: error.message,
      ...(tiktokCode === undefined ? {} : { tiktokCode }),
    };
  }
  return describeError(toInternalError(error));
}

/**
 * Wraps an unforeseen error. Its message could hold anything (JSON.parse, for one, quotes its
 * input), so only its class is reported; the original stays reachable as `cause` in memory.
 */
export function toInternalError(error: unknown): RefresherError {
  if (error instanceof RefresherError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new InternalError(`unexpected ${name} inside the refresher (a bug)`, { cause: error });
}

/**
 * A failed Powertools read, as SecretStoreError. Powertools wraps the SDK's error; its name
 * (ResourceNotFoundException, AccessDeniedException…) and message are what a person needs, and
 * neither holds the secret's value.
 */
export function secretReadError(secretId: string, error: unknown): SecretStoreError {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const { name, message } = cause instanceof Error ? cause : new Error(String(cause));
  return new SecretStoreError(`could not read secret ${secretId}: ${name}: ${message}`, {
    cause: error,
    awsName: name,
  });
}
