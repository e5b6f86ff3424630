import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AWS_REQUEST_TIMEOUT_MS } from '../../lambda/shared/budget.js';
import {
  MalformedSecretError,
  SecretStoreError,
  TransientError,
} from '../../lambda/shared/errors.js';
import {
  KEPT_LABEL,
  SecretsManagerTokenStore,
  versionIdFor,
} from '../../lambda/shared/secrets-store.js';
import { FakeClock } from '../support/fake-clock.js';

const SHOP = 'tiktok-shop/tokens/shop-a';
const sm = mockClient(SecretsManagerClient);

/** Retries and pacing cost no real time. */
const instantClock = () => FakeClock.instant(1_700_000_000_000);

function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });
}

function invalidParameter(): Error {
  return Object.assign(new Error('label is not attached to RemoveFromVersionId'), {
    name: 'InvalidParameterException',
    $metadata: { httpStatusCode: 400 },
  });
}

function store(clock = instantClock()) {
  return new SecretsManagerTokenStore({
    client: new SecretsManagerClient({ region: 'us-east-1' }),
    writesPerSecond: 50,
    clock,
  });
}

describe('Class: SecretsManagerTokenStore', () => {
  beforeEach(() => {
    sm.reset();
  });

  describe('Method: read', () => {
    beforeEach(() => {
      // No answer kept by an earlier run, unless a test says otherwise.
      sm.on(GetSecretValueCommand, { VersionStage: KEPT_LABEL }).rejects(
        new ResourceNotFoundException({ message: 'no such label', $metadata: {} }),
      );
    });

    it('returns the current version and no pending one when AWSPENDING is absent', async () => {
      sm.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({
        VersionId: 'v1',
        SecretString: '{"a":1}',
      });
      sm.on(GetSecretValueCommand, { VersionStage: 'AWSPENDING' }).rejects(
        new ResourceNotFoundException({ message: 'no such label', $metadata: {} }),
      );

      const stored = await store().read(SHOP);

      expect(stored).toEqual({ current: { versionId: 'v1', raw: '{"a":1}' } });
    });

    it('returns a pending version that differs from the current one', async () => {
      sm.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({
        VersionId: 'v1',
        SecretString: 'old',
      });
      sm.on(GetSecretValueCommand, { VersionStage: 'AWSPENDING' }).resolves({
        VersionId: 'v2',
        SecretString: 'new',
      });

      const stored = await store().read(SHOP);

      expect(stored.pending).toEqual({ versionId: 'v2', raw: 'new' });
    });

    it('returns the version under the kept label with when it was written, in the same round trip', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({
        VersionId: 'v1',
        SecretString: 'current',
      });
      sm.on(GetSecretValueCommand, { VersionStage: 'AWSPENDING' }).rejects(
        new ResourceNotFoundException({ message: 'no such label', $metadata: {} }),
      );
      sm.on(GetSecretValueCommand, { VersionStage: KEPT_LABEL }).resolves({
        VersionId: 'v2',
        SecretString: 'KEPT',
        CreatedDate: new Date(1_700_000_000_000),
      });

      // Act
      const stored = await store().read(SHOP);

      // Assess
      expect(stored).toEqual({
        current: { versionId: 'v1', raw: 'current' },
        kept: { versionId: 'v2', raw: 'KEPT', createdAt: 1_700_000_000_000 },
      });
      expect(
        sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.VersionStage),
      ).toEqual(['AWSCURRENT', 'AWSPENDING', KEPT_LABEL]);
    });

    it('ignores AWSPENDING and the kept label when they sit on the current version', async () => {
      sm.on(GetSecretValueCommand).resolves({ VersionId: 'v1', SecretString: 'same' });

      const stored = await store().read(SHOP);

      expect(stored).toEqual({ current: { versionId: 'v1', raw: 'same' } });
    });

    it('reports a missing or empty secret as a store error that says how to fill it', async () => {
      sm.on(GetSecretValueCommand).rejects(
        new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret.",
          $metadata: {},
        }),
      );

      await expect(store().read(SHOP)).rejects.toThrow(SecretStoreError);
      await expect(store().read(SHOP)).rejects.toThrow(
        `secret ${SHOP} does not exist or holds no token yet (store the seller's first token: npm run authorize)`,
      );
    });

    it('reports a binary secret as malformed', async () => {
      sm.on(GetSecretValueCommand).resolves({ VersionId: 'v1', SecretBinary: new Uint8Array([1]) });

      await expect(store().read(SHOP)).rejects.toThrow(MalformedSecretError);
    });

    it('retries throttled reads and gives up as a transient error', async () => {
      const clock = instantClock();
      sm.on(GetSecretValueCommand).rejects(throttling());

      await expect(store(clock).read(SHOP)).rejects.toThrow(TransientError);
      expect(sm.commandCalls(GetSecretValueCommand).length).toBeGreaterThan(2);
    });
  });

  describe('Method: keep', () => {
    it('writes the value under its own label only, with a version id fixed by the value', async () => {
      sm.on(PutSecretValueCommand).resolves({});

      const versionId = await store().keep(SHOP, 'KEPT');

      expect(versionId).toBe(versionIdFor(SHOP, 'KEPT'));
      expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
        SecretId: SHOP,
        SecretString: 'KEPT',
        ClientRequestToken: versionId,
        VersionStages: [KEPT_LABEL],
      });
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
    });

    it('retries a throttled put with the same client request token', async () => {
      sm.on(PutSecretValueCommand).rejectsOnce(throttling()).resolves({});

      await store().keep(SHOP, 'KEPT');

      const tokens = sm
        .commandCalls(PutSecretValueCommand)
        .map((call) => call.args[0].input.ClientRequestToken);
      expect(tokens).toEqual([versionIdFor(SHOP, 'KEPT'), versionIdFor(SHOP, 'KEPT')]);
    });
  });

  describe('Method: replace', () => {
    it('writes the value as AWSPENDING with a version id fixed by the value, then moves AWSCURRENT onto it', async () => {
      sm.on(PutSecretValueCommand).resolves({});
      sm.on(UpdateSecretVersionStageCommand).resolves({});

      const outcome = await store().replace(SHOP, 'NEW', 'v1');

      const versionId = versionIdFor(SHOP, 'NEW');
      expect(outcome).toEqual({ stored: true, versionId });
      expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
        SecretId: SHOP,
        SecretString: 'NEW',
        ClientRequestToken: versionId,
        VersionStages: ['AWSPENDING'],
      });
      expect(sm.commandCalls(UpdateSecretVersionStageCommand)[0]?.args[0].input).toEqual({
        SecretId: SHOP,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: versionId,
        RemoveFromVersionId: 'v1',
      });
    });

    it('retries a throttled put with the same client request token', async () => {
      sm.on(PutSecretValueCommand).rejectsOnce(throttling()).rejectsOnce(throttling()).resolves({});
      sm.on(UpdateSecretVersionStageCommand).resolves({});

      const outcome = await store().replace(SHOP, 'NEW', 'v1');

      expect(outcome.stored).toBe(true);
      const tokens = sm
        .commandCalls(PutSecretValueCommand)
        .map((call) => call.args[0].input.ClientRequestToken);
      expect(tokens).toHaveLength(3);
      expect(new Set(tokens).size).toBe(1);
    });

    it('keeps the other writer’s token when AWSCURRENT moved meanwhile, and unlabels its own version', async () => {
      const ours = versionIdFor(SHOP, 'NEW');
      sm.on(PutSecretValueCommand).resolves({});
      sm.on(UpdateSecretVersionStageCommand, { VersionStage: 'AWSCURRENT' }).rejects(
        invalidParameter(),
      );
      sm.on(UpdateSecretVersionStageCommand, { VersionStage: 'AWSPENDING' }).resolves({});
      sm.on(DescribeSecretCommand).resolves({
        VersionIdsToStages: { v1: ['AWSPREVIOUS'], theirs: ['AWSCURRENT'], [ours]: ['AWSPENDING'] },
      });

      const outcome = await store().replace(SHOP, 'NEW', 'v1');

      expect(outcome).toEqual({ stored: false, currentVersionId: 'theirs' });
      expect(
        sm.commandCalls(UpdateSecretVersionStageCommand, { VersionStage: 'AWSPENDING' })[0]?.args[0]
          .input,
      ).toEqual({
        SecretId: SHOP,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: ours,
      });
    });

    it('counts a refused move as stored when an earlier attempt already made the version current', async () => {
      const ours = versionIdFor(SHOP, 'NEW');
      sm.on(PutSecretValueCommand).resolves({});
      sm.on(UpdateSecretVersionStageCommand).rejects(invalidParameter());
      sm.on(DescribeSecretCommand).resolves({
        VersionIdsToStages: { v1: ['AWSPREVIOUS'], [ours]: ['AWSCURRENT'] },
      });

      const outcome = await store().replace(SHOP, 'NEW', 'v1');

      expect(outcome).toEqual({ stored: true, versionId: ours });
    });

    it('raises a refused move when AWSCURRENT is still where it was (e.g. access denied)', async () => {
      sm.on(PutSecretValueCommand).resolves({});
      sm.on(UpdateSecretVersionStageCommand).rejects(
        Object.assign(new Error('not authorized'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        }),
      );
      sm.on(DescribeSecretCommand).resolves({ VersionIdsToStages: { v1: ['AWSCURRENT'] } });

      await expect(store().replace(SHOP, 'NEW', 'v1')).rejects.toThrow(
        /UpdateSecretVersionStage failed: AccessDeniedException/,
      );
    });

    it('starts no attempt that could not end by the deadline', async () => {
      // Prepare: room for one attempt's request timeout and a second of waits
      const clock = instantClock();
      const deadline = clock.now() + AWS_REQUEST_TIMEOUT_MS + 1_000;
      const limited = new SecretsManagerTokenStore({
        client: new SecretsManagerClient({ region: 'us-east-1' }),
        writesPerSecond: 1_000,
        clock,
        deadline: () => deadline,
      });
      const starts: number[] = [];
      sm.on(PutSecretValueCommand).callsFake(() => {
        starts.push(clock.now());
        throw throttling();
      });

      // Act
      const error = await limited
        .replace(SHOP, 'NEW', 'v1')
        .then(() => new Error('stored'))
        .catch((e: unknown) => e);

      // Assess: retried, each attempt started with a request timeout's time left (pacing aside)
      expect(error).toBeInstanceOf(TransientError);
      expect(starts.length).toBeGreaterThan(1);
      expect(Math.max(...starts)).toBeLessThan(deadline - AWS_REQUEST_TIMEOUT_MS + 5);
    });

    it("sends every call with the run's signal, and reports an aborted one as out of time", async () => {
      // Prepare: the handler aborts the signal at the run's deadline, here while a put hangs
      const run = new AbortController();
      const bounded = new SecretsManagerTokenStore({
        client: new SecretsManagerClient({ region: 'us-east-1' }),
        writesPerSecond: 50,
        clock: instantClock(),
        signal: run.signal,
      });
      sm.on(PutSecretValueCommand).callsFake(() => {
        run.abort();
        throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      });

      // Act
      const error = await bounded
        .replace(SHOP, 'NEW', 'v1')
        .then(() => new Error('stored'))
        .catch((e: unknown) => e as Error);

      // Assess
      // The call's signal is the run's combined with the attempt's own bound: the run aborts it.
      const [put] = sm.send.getCalls();
      const sent = (put?.args as unknown[] | undefined)?.[1] as { abortSignal?: AbortSignal };
      expect(sent.abortSignal?.aborted).toBe(true);
      expect(sent.abortSignal?.reason).toBe(run.signal.reason);
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(1);
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toBe(
        "Secrets Manager PutSecretValue did not finish before the run's deadline",
      );
    });

    it('paces writes to the configured rate', async () => {
      const clock = instantClock();
      sm.on(PutSecretValueCommand).resolves({});
      sm.on(UpdateSecretVersionStageCommand).resolves({});
      const paced = new SecretsManagerTokenStore({
        client: new SecretsManagerClient({ region: 'us-east-1' }),
        writesPerSecond: 10,
        clock,
      });
      const start = clock.now();

      await Promise.all(['a', 'b', 'c'].map((value) => paced.replace(SHOP, value, 'v0')));

      // Six writes at 10 per second: the last one starts half a second (of fake time) after the first.
      expect(clock.now() - start).toBeGreaterThanOrEqual(500);
    });
  });

  describe('Method: readAppCredentials', () => {
    it('says when the credentials secret holds no value yet', async () => {
      sm.on(GetSecretValueCommand).rejects(
        new ResourceNotFoundException({
          message: "can't find the secret value for AWSCURRENT",
          $metadata: {},
        }),
      );

      await expect(store().readAppCredentials('creds')).rejects.toThrow(
        'app credentials: secret creds does not exist or holds no value yet; put the app\'s {"app_key","app_secret"} in it',
      );
    });

    it('reports access denied with the AWS error', async () => {
      sm.on(GetSecretValueCommand).rejects(
        Object.assign(new Error('not authorized'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        }),
      );

      await expect(store().readAppCredentials('creds')).rejects.toThrow(
        'Secrets Manager GetSecretValue failed: AccessDeniedException: not authorized',
      );
    });

    it('returns the app key and secret', async () => {
      sm.on(GetSecretValueCommand).resolves({
        VersionId: 'v1',
        SecretString: '{"app_key":"k","app_secret":"s"}',
      });

      await expect(store().readAppCredentials('creds')).resolves.toEqual({
        app_key: 'k',
        app_secret: 's',
      });
    });

    it('names the missing field without quoting the secret', async () => {
      sm.on(GetSecretValueCommand).resolves({
        VersionId: 'v1',
        SecretString: '{"app_key":"k-value"}',
      });

      const error = await store()
        .readAppCredentials('creds')
        .catch((e: unknown) => e as Error);

      expect(error).toBeInstanceOf(MalformedSecretError);
      expect(error.message).toContain('app_secret: missing');
      expect(error.message).not.toContain('k-value');
    });
  });
});
