// The one way a Secrets Manager call is made: retried while a retry can help and time allows,
// then reported as TransientError or SecretStoreError naming the operation and the secret.
import { createHash } from 'node:crypto';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';
import { RefresherError, SecretStoreError, TransientError } from './errors.js';
import { redact } from './redact.js';
import { type Clock, retry } from './timing.js';

export interface SecretsManagerCallOptions {
  readonly clock: Clock;
  /** The secret the call is about, named in its error; absent for a call on none (ListSecrets). */
  readonly secretId?: string;
  /** Epoch ms after which no attempt starts. */
  readonly deadline: number;
  readonly retry: {
    readonly maxAttempts: number;
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
  };
  /** The run's own abort: a call it cut short is reported as out of time, not as AWS's error. */
  readonly signal?: AbortSignal;
}

/**
 * Runs `call`, retrying throttling, 5xx, network errors and timeouts. A RefresherError thrown by
 * `call` itself passes as it is; AWS's message is quoted bounded (it never holds a value).
 */
export async function callSecretsManager<T>(
  operation: string,
  call: () => Promise<T>,
  options: SecretsManagerCallOptions,
): Promise<T> {
  try {
    return await retry(call, {
      clock: options.clock,
      isRetryable: isRetryableAwsError,
      ...options.retry,
      deadline: options.deadline,
    });
  } catch (error) {
    if (error instanceof RefresherError) throw error;
    if (options.signal?.aborted === true) {
      throw new TransientError(
        `Secrets Manager ${operation} did not finish before the run's deadline`,
        { cause: error },
      );
    }
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    const on = options.secretId === undefined ? '' : ` (secret ${options.secretId})`;
    const text = `Secrets Manager ${operation} failed: ${name}: ${redact(message, [])}${on}`;
    if (isRetryableAwsError(error)) throw new TransientError(text, { cause: error });
    throw new SecretStoreError(text, { cause: error, awsName: name });
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
