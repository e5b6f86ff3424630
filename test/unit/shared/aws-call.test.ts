import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AwsCalls, uuidFromSha256 } from '../../../lambda/shared/aws-call.js';
import {
  DeadlineExceededError,
  MalformedSecretError,
  SecretStoreError,
  TransientError,
} from '../../../lambda/shared/errors.js';
import { versionIdFor } from '../../../lambda/shared/secrets-store.js';
import { FakeClock } from '../../support/fake-clock.js';

const RETRY = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 };

function awsError(name: string, message: string, httpStatusCode: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

/** A call that fails with `errors` in turn, then answers 'done'; counts its attempts. */
function failing(...errors: Error[]): { call: () => Promise<string>; attempts: () => number } {
  let attempts = 0;
  return {
    call: async () => {
      const error = errors[attempts++];
      if (error !== undefined) throw error;
      return 'done';
    },
    attempts: () => attempts,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('the call succeeded');
}

describe('Class: AwsCalls', () => {
  const SECRET = 'secret tiktok-shop/tokens/shop-a';
  const calls = (
    signal?: AbortSignal,
    more: { attemptMs?: number; deadline?: () => number } = {},
  ) =>
    new AwsCalls('Secrets Manager', {
      clock: FakeClock.instant(),
      retry: RETRY,
      ...(signal === undefined ? {} : { signal }),
      ...more,
    });

  it('ends an attempt whose answer never finishes after attemptMs in all, and retries it', async () => {
    // Prepare: an answer that trickles on (the SDK's idle timeout never fires), then one that comes
    const signals: AbortSignal[] = [];
    let attempts = 0;
    const call = async (send: { abortSignal: AbortSignal }): Promise<string> => {
      signals.push(send.abortSignal);
      if (++attempts === 1) return new Promise<never>(() => {});
      return 'done';
    };

    // Act
    const started = Date.now();
    const answer = await calls(undefined, { attemptMs: 50 }).run('GetSecretValue', call, SECRET);

    // Assess
    expect(answer).toBe('done');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(signals[0]?.aborted).toBe(true);
  });

  it('reports attempts that all outlast their bound as transient, naming the operation and the secret', async () => {
    // Prepare: a call that ignores its signal is left behind all the same
    const call = () => new Promise<never>(() => {});

    // Act
    const error = await failureOf(
      calls(undefined, { attemptMs: 20 }).run('GetSecretValue', call, SECRET),
    );

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toBe(
      'Secrets Manager GetSecretValue (secret tiktok-shop/tokens/shop-a) did not answer within 20 ms',
    );
  });

  it('starts no attempt once its deadline has passed', async () => {
    const work = failing();

    const error = await failureOf(
      calls(undefined, { deadline: () => 0 }).run('GetSecretValue', work.call, SECRET),
    );

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(work.attempts()).toBe(0);
  });

  it('retries throttling until the call succeeds', async () => {
    const work = failing(awsError('ThrottlingException', 'Rate exceeded', 400));

    await expect(calls().run('PutSecretValue', work.call, SECRET)).resolves.toBe('done');
    expect(work.attempts()).toBe(2);
  });

  it('reports throttling that outlasts the retries as transient, naming operation and secret', async () => {
    const throttled = () => awsError('ThrottlingException', 'Rate exceeded', 400);
    const work = failing(throttled(), throttled(), throttled());

    const error = await failureOf(calls().run('PutSecretValue', work.call, SECRET));

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toBe(
      'Secrets Manager PutSecretValue failed: ThrottlingException: Rate exceeded (secret tiktok-shop/tokens/shop-a)',
    );
    expect(work.attempts()).toBe(3);
  });

  it('fails at once on a refusal a retry cannot fix, with the AWS error name', async () => {
    const work = failing(awsError('AccessDeniedException', 'not authorized', 400));

    const error = await failureOf(calls().run('GetSecretValue', work.call, SECRET));

    expect(error).toBeInstanceOf(SecretStoreError);
    expect(error).toMatchObject({ awsName: 'AccessDeniedException' });
    expect(error.message).toBe(
      'Secrets Manager GetSecretValue failed: AccessDeniedException: not authorized (secret tiktok-shop/tokens/shop-a)',
    );
    expect(work.attempts()).toBe(1);
  });

  it("passes the caller's own failure through as it is", async () => {
    const own = new MalformedSecretError('binary data');

    const error = await failureOf(calls().run('GetSecretValue', failing(own).call, SECRET));

    expect(error).toBe(own);
  });

  it("reports a call the run's abort cut short as out of time", async () => {
    const run = new AbortController();
    run.abort();
    const work = failing(awsError('AbortError', 'Request aborted', 0));

    const error = await failureOf(
      calls(run.signal).run('UpdateSecretVersionStage', work.call, SECRET),
    );

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toBe(
      "Secrets Manager UpdateSecretVersionStage did not finish before the run's deadline",
    );
  });
});

describe('Class: AwsCalls, deadline', () => {
  const throttled = () => awsError('ThrottlingException', 'Rate exceeded', 400);

  it('starts no retry that could not end before the deadline, one attempt’s time kept back', async () => {
    // Prepare: 2 s left, and an attempt may take 2 s: no retry may start
    const clock = FakeClock.instant(0);
    const calls = new AwsCalls('DynamoDB', { clock, deadline: () => 2_000, retry: RETRY });
    const work = failing(throttled(), throttled());

    // Act
    const error = await failureOf(calls.run('GetItem', work.call));

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect(work.attempts()).toBe(1);
    expect(calls.timeLeft()).toBe(false);
  });

  it('retries up to the deadline itself when told an attempt needs no time kept back', async () => {
    // Prepare: the same 2 s left
    const clock = FakeClock.instant(0);
    const calls = new AwsCalls('Secrets Manager', {
      clock,
      deadline: () => 2_000,
      retry: RETRY,
      attemptMs: 0,
    });
    const work = failing(throttled());

    // Act & Assess
    await expect(calls.run('PutSecretValue', work.call)).resolves.toBe('done');
    expect(work.attempts()).toBe(2);
  });
});

describe('Function: uuidFromSha256', () => {
  /** The formatting both version ids used before they shared the helper. */
  function uuidOf(hash: ReturnType<typeof createHash>): string {
    const hex = hash.digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  it('gives the version id of a stored token as before, byte for byte', () => {
    const before = uuidOf(
      createHash('sha256').update('tiktok-shop/tokens/shop-a').update('\0').update('{"raw":1}'),
    );

    expect(versionIdFor('tiktok-shop/tokens/shop-a', '{"raw":1}')).toBe(before);
    expect(before).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("gives a consent link's version id as linkVersionId did, byte for byte", () => {
    const before = uuidOf(
      createHash('sha256')
        .update('consent-link\0')
        .update('tiktok-shop/tokens/shop-a')
        .update('\0')
        .update('nonce-1'),
    );

    expect(uuidFromSha256('consent-link', 'tiktok-shop/tokens/shop-a', 'nonce-1')).toBe(before);
  });

  it('tells parts apart from their concatenation', () => {
    expect(uuidFromSha256('ab', 'c')).not.toBe(uuidFromSha256('a', 'bc'));
  });
});
