// The one way an AWS call is made (Secrets Manager, DynamoDB): each attempt bounded in total time,
// retried while a retry can help and time allows, then reported as TransientError or SecretStoreError.
import { createHash } from 'node:crypto';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';
import { AWS_REQUEST_TIMEOUT_MS, STORE_RETRY } from './budget.js';
import { RefresherError, SecretStoreError, TransientError } from './errors.js';
import { redact } from './redact.js';
import { type Clock, retry, systemClock } from './timing.js';

export interface AwsCallOptions {
  readonly clock?: Clock;
  /** Epoch ms by which every call is over: no attempt starts that could not end by then. */
  readonly deadline?: () => number;
  /** Aborts every call in flight; a call it cut short is reported as out of time. */
  readonly signal?: AbortSignal;
  /** @default STORE_RETRY */
  readonly retry?: {
    readonly maxAttempts: number;
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
  };
  /**
   * The longest one attempt may take in all, from sending to the answer's last byte (the SDK's
   * requestTimeout only bounds the silence between bytes: an answer sent a byte at a time would
   * last as long as it pleases).
   * @default AWS_REQUEST_TIMEOUT_MS
   */
  readonly attemptMs?: number;
  /**
   * How long before the deadline the last attempt starts; 0 where the deadline already keeps a
   * margin for the answer. @default attemptMs
   */
  readonly lastStartMarginMs?: number;
}

/** What a call sends its command with: aborted by the run's signal or the attempt's bound. */
export interface SendOptions {
  readonly abortSignal: AbortSignal;
}

/** The AWS error name a refused call carries, e.g. ConditionalCheckFailedException. */
export function awsNameOf(error: unknown): string | undefined {
  return error instanceof SecretStoreError ? error.awsName : undefined;
}

/** One service's calls under one retry policy, deadline and abort signal. */
export class AwsCalls {
  readonly clock: Clock;
  /** How failures name the service: `DynamoDB`, `Secrets Manager`. */
  readonly #service: string;
  readonly #attemptMs: number;
  readonly #lastStart: () => number;
  readonly #signal: AbortSignal | undefined;
  readonly #retry: NonNullable<AwsCallOptions['retry']>;

  constructor(service: string, options: AwsCallOptions) {
    this.#service = service;
    this.clock = options.clock ?? systemClock;
    const deadline = options.deadline ?? (() => Number.POSITIVE_INFINITY);
    this.#attemptMs = options.attemptMs ?? AWS_REQUEST_TIMEOUT_MS;
    const margin = options.lastStartMarginMs ?? this.#attemptMs;
    this.#lastStart = () => deadline() - margin;
    this.#signal = options.signal;
    this.#retry = options.retry ?? STORE_RETRY;
  }

  /**
   * Runs `call`, retrying throttling, 5xx, network errors and attempts that ran out of time; each
   * attempt ends within `attemptMs` whatever the answer does (a `call` that ignores its signal is
   * left behind). `pace` is awaited before each attempt, outside its bound (a write's turn at the
   * paced rate). A refusal that a retry cannot fix (a failed condition, access denied) becomes a
   * SecretStoreError naming the AWS error; what outlasted the retries a TransientError. A
   * RefresherError thrown by `call` itself passes as it is; AWS's message is quoted redacted (it
   * never holds a value), with `about` (the secret or item the call is about) named after it.
   */
  async run<T>(
    operation: string,
    call: (send: SendOptions) => Promise<T>,
    about?: string,
    pace?: () => Promise<void>,
  ): Promise<T> {
    const on = about === undefined ? '' : ` (${about})`;
    const what = `${this.#service} ${operation}${on}`;
    const attempt = async (): Promise<T> => {
      await pace?.();
      return attemptWithin(call, this.#attemptMs, what, this.#signal);
    };
    try {
      return await retry(attempt, {
        clock: this.clock,
        isRetryable: (error) => error instanceof TransientError || isRetryableAwsError(error),
        ...this.#retry,
        deadline: this.#lastStart(),
        what: `call ${what}`,
      });
    } catch (error) {
      if (error instanceof RefresherError) throw error;
      if (this.#signal?.aborted === true) {
        throw new TransientError(
          `${this.#service} ${operation} did not finish before the run's deadline`,
          { cause: error },
        );
      }
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      const text = `${this.#service} ${operation} failed: ${name}: ${redact(message, [])}${on}`;
      if (isRetryableAwsError(error)) throw new TransientError(text, { cause: error });
      throw new SecretStoreError(text, { cause: error, awsName: name });
    }
  }

  /** Whether another attempt could still end before the deadline (for partial batch answers). */
  timeLeft(): boolean {
    return this.clock.now() < this.#lastStart();
  }
}

/**
 * Secrets Manager's answers about the request itself: another attempt gets the same answer. The
 * SDK marks any error on which it corrected its clock (a machine's clock hours off) as transient,
 * which would retry a secret that does not exist, or a compare-and-swap that was refused, and
 * then report them as passing failures.
 */
const DEFINITE_ANSWERS: ReadonlySet<string> = new Set([
  'ResourceNotFoundException',
  'ResourceExistsException',
  'InvalidParameterException',
  'InvalidRequestException',
]);

/**
 * One attempt, over after `timeoutMs` in all: its signal aborts the request, and the attempt
 * answers then even if `call` does not heed the signal. A timeout is a TransientError.
 */
async function attemptWithin<T>(
  call: (send: SendOptions) => Promise<T>,
  timeoutMs: number,
  what: string,
  runSignal: AbortSignal | undefined,
): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const abortSignal = runSignal === undefined ? timeout : AbortSignal.any([runSignal, timeout]);
  let stop = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(abortSignal.reason);
    abortSignal.addEventListener('abort', stop, { once: true });
  });
  try {
    return await Promise.race([call({ abortSignal }), aborted]);
  } catch (error) {
    if (timeout.aborted && runSignal?.aborted !== true) {
      throw new TransientError(`${what} did not answer within ${timeoutMs} ms`, { cause: error });
    }
    throw error;
  } finally {
    abortSignal.removeEventListener('abort', stop);
  }
}

export function isRetryableAwsError(error: unknown): boolean {
  if (!(error instanceof Error) || DEFINITE_ANSWERS.has(error.name)) return false;
  const sdkError = error as SdkError;
  return isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError);
}

/**
 * A UUID-shaped id (Secrets Manager's ClientRequestToken) fixed by `parts`, hashed joined by NUL:
 * the same write, retried, names the same version.
 */
export function uuidFromSha256(...parts: readonly string[]): string {
  const hex = createHash('sha256').update(parts.join('\0')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
