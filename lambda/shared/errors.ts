/**
 * Every failure the refresher reports is one of these. `errorType` is what the summary, the
 * metrics and the events carry; `retryable` decides whether the invocation fails so that Lambda's
 * async retries and the alarms take over. Messages never contain a token, a secret or a URL.
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
}

/** Environment variables missing or invalid; names every one of them. */
export class ConfigurationError extends RefresherError {}

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

/** Thrown by the handler after a run in which some shop failed in a way a retry may fix. */
export class RefreshIncompleteError extends RefresherError {
  override readonly retryable = true;
}

/** Anything not foreseen (a bug). Its message names only the original error's class. */
export class InternalError extends RefresherError {}

/**
 * Thrown by a reader's own API call (see lambda/reader.ts) when TikTok refused the access token:
 * `withShopToken` then re-reads the secret and retries once. Its message must not hold the token.
 */
export class AccessTokenRejectedError extends RefresherError {}

/**
 * The stored access token has expired even on a fresh read: the refresher has not renewed it
 * (its alarms say why), or the seller must authorize again. Calling TikTok with it cannot work.
 */
export class ShopTokenExpiredError extends RefresherError {}

/** A command-line or request argument is missing or invalid; nothing was called. */
export class UsageError extends RefresherError {}

/** Removes every known secret value from text that came from outside (e.g. TikTok's message). */
export function redact(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) {
    if (secret.length > 0) clean = clean.split(secret).join('[redacted]');
  }
  // Nothing legitimate in an error message is this long; a long one may be an echoed payload.
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}

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
