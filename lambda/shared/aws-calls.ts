/**
 * One AWS call, bounded: retried on throttling, 5xx and network errors while another attempt can
 * end before the run's deadline, aborted with the run's signal, named on failure.
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';
import { AWS_REQUEST_TIMEOUT_MS, STORE_RETRY } from './budget.js';
import { SecretStoreError, TransientError } from './errors.js';
import { type Clock, retry, systemClock } from './timing.js';

export interface AwsCallOptions {
  readonly clock?: Clock;
  /** Epoch ms by which every call is over: no attempt starts that could not end by then. */
  readonly deadline?: () => number;
  /** Aborts every call in flight; the handler aborts it at the deadline. */
  readonly signal?: AbortSignal;
}

/** The AWS error name a refused call carries, e.g. ConditionalCheckFailedException. */
export function awsNameOf(error: unknown): string | undefined {
  return error instanceof SecretStoreError ? error.awsName : undefined;
}

export class AwsCalls {
  readonly clock: Clock;
  /** How failures name the service: `DynamoDB`, `Secrets Manager`. */
  readonly #service: string;
  readonly #deadline: () => number;
  readonly #signal: AbortSignal | undefined;
  /** Every call goes out with the run's signal, so that none outlives the run's deadline. */
  readonly sendOptions: { abortSignal?: AbortSignal };

  constructor(service: string, options: AwsCallOptions) {
    this.#service = service;
    this.clock = options.clock ?? systemClock;
    this.#deadline = options.deadline ?? (() => Number.POSITIVE_INFINITY);
    this.#signal = options.signal;
    this.sendOptions = options.signal === undefined ? {} : { abortSignal: options.signal };
  }

  /**
   * Runs `call` under the store's retry policy. A refusal that a retry cannot fix (a failed
   * condition, a missing table, access denied) becomes a SecretStoreError naming the AWS error;
   * what outlasted the retries becomes a TransientError.
   */
  async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await retry(call, {
        clock: this.clock,
        isRetryable: isRetryableAwsError,
        ...STORE_RETRY,
        deadline: this.#deadline() - AWS_REQUEST_TIMEOUT_MS,
      });
    } catch (error) {
      if (this.#signal?.aborted === true) {
        throw new TransientError(
          `${this.#service} ${operation} did not finish before the run's deadline`,
          {
            cause: error,
          },
        );
      }
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      const text = `${this.#service} ${operation} failed: ${name}: ${message}`;
      if (isRetryableAwsError(error)) throw new TransientError(text, { cause: error });
      throw new SecretStoreError(text, { cause: error, awsName: name });
    }
  }

  /** Whether another attempt could still end before the deadline (for partial batch answers). */
  timeLeft(): boolean {
    return this.clock.now() < this.#deadline() - AWS_REQUEST_TIMEOUT_MS;
  }
}

function isRetryableAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const sdkError = error as SdkError;
  return isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError);
}
