// The one way a Secrets Manager call is made: retried while a retry can help and time allows,
// then reported as TransientError or SecretStoreError naming the operation and the secret.
import { createHash } from 'node:crypto';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';
import { AWS_REQUEST_TIMEOUT_MS } from './budget.js';
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
  /**
   * The longest one attempt may take in all, from sending to the answer's last byte. The SDK's
   * requestTimeout only bounds the silence between bytes: an answer sent a byte at a time would
   * last as long as it pleases. @default AWS_REQUEST_TIMEOUT_MS
   */
  readonly attemptTimeoutMs?: number;
  /** Awaited before each attempt, outside its time bound: a write's turn at the paced rate. */
  readonly pace?: () => Promise<void>;
}

/** What `call` sends its command with: aborted by the run's signal or the attempt's bound. */
export interface SendOptions {
  readonly abortSignal: AbortSignal;
}

/**
 * Runs `call`, retrying throttling, 5xx, network errors and timeouts; each attempt ends within
 * `attemptTimeoutMs` whatever the answer does (a `call` that ignores its signal is left behind).
 * A RefresherError thrown by `call` itself passes as it is; AWS's message is quoted bounded (it
 * never holds a value).
 */
export async function callSecretsManager<T>(
  operation: string,
  call: (send: SendOptions) => Promise<T>,
  options: SecretsManagerCallOptions,
): Promise<T> {
  const on = options.secretId === undefined ? '' : ` (secret ${options.secretId})`;
  const timeoutMs = options.attemptTimeoutMs ?? AWS_REQUEST_TIMEOUT_MS;
  const what = `Secrets Manager ${operation}${on}`;
  try {
    const attempt = async (): Promise<T> => {
      await options.pace?.();
      return attemptWithin(call, timeoutMs, what, options.signal);
    };
    return await retry(attempt, {
      clock: options.clock,
      isRetryable: (error) => error instanceof TransientError || isRetryableAwsError(error),
      ...options.retry,
      deadline: options.deadline,
      what: `call ${what}`,
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
