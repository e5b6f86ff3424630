// The one way an AWS call is made (Secrets Manager, DynamoDB): retried while a retry can help and
// time allows, aborted with the run's signal, then reported as TransientError or SecretStoreError.
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
   * How long before the deadline the last attempt starts: one attempt's longest time.
   * @default AWS_REQUEST_TIMEOUT_MS
   */
  readonly attemptMs?: number;
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
  readonly #lastStart: () => number;
  readonly #signal: AbortSignal | undefined;
  readonly #retry: NonNullable<AwsCallOptions['retry']>;
  /** Every call goes out with the run's signal, so that none outlives the run's deadline. */
  readonly sendOptions: { abortSignal?: AbortSignal };

  constructor(service: string, options: AwsCallOptions) {
    this.#service = service;
    this.clock = options.clock ?? systemClock;
    const deadline = options.deadline ?? (() => Number.POSITIVE_INFINITY);
    const attemptMs = options.attemptMs ?? AWS_REQUEST_TIMEOUT_MS;
    this.#lastStart = () => deadline() - attemptMs;
    this.#signal = options.signal;
    this.#retry = options.retry ?? STORE_RETRY;
    this.sendOptions = options.signal === undefined ? {} : { abortSignal: options.signal };
  }

  /**
   * Runs `call`, retrying throttling, 5xx, network errors and timeouts. A refusal that a retry
   * cannot fix (a failed condition, access denied) becomes a SecretStoreError naming the AWS
   * error; what outlasted the retries a TransientError. A RefresherError thrown by `call` itself
   * passes as it is; AWS's message is quoted redacted (it never holds a value), with `about`
   * (the secret or item the call is about) named after it.
   */
  async run<T>(operation: string, call: () => Promise<T>, about?: string): Promise<T> {
    try {
      return await retry(call, {
        clock: this.clock,
        isRetryable: isRetryableAwsError,
        ...this.#retry,
        deadline: this.#lastStart(),
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
      const on = about === undefined ? '' : ` (${about})`;
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

export function isRetryableAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
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
