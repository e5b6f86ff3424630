import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type LocalSecretsManager,
  startLocalSecretsManager,
} from '../../local/endpoints/secrets-manager.js';

const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const tokenA = 'aaaaaaaa-0000-4000-8000-000000000001';

function clientFor(endpoint: LocalSecretsManager, maxAttempts = 1): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint: endpoint.url,
    region: 'us-east-1',
    credentials,
    maxAttempts,
  });
}

/** The error a promise rejects with, so a test can assert on its name and message. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('LocalSecretsManager', () => {
  let endpoint: LocalSecretsManager;
  let client: SecretsManagerClient;

  beforeEach(async () => {
    endpoint = await startLocalSecretsManager();
    client = clientFor(endpoint);
  });

  afterEach(async () => {
    client.destroy();
    await endpoint.close();
  });

  describe('CreateSecret', () => {
    it('returns an ARN with a six-character suffix and makes the value AWSCURRENT', async () => {
      // Act
      const created = await client.send(
        new CreateSecretCommand({ Name: 'shop/a', SecretString: 'v1', ClientRequestToken: tokenA }),
      );

      // Assess
      expect(created.ARN).toMatch(
        /^arn:aws:secretsmanager:us-east-1:123456789012:secret:shop\/a-[A-Za-z0-9]{6}$/,
      );
      expect(created.VersionId).toBe(tokenA);
      expect(endpoint.versions('shop/a')).toEqual([
        expect.objectContaining({ versionId: tokenA, secretString: 'v1', stages: ['AWSCURRENT'] }),
      ]);
    });

    it('keeps the customer-managed key it was given and names it in DescribeSecret', async () => {
      const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

      await client.send(
        new CreateSecretCommand({ Name: 'shop/k', SecretString: 'v1', KmsKeyId: keyArn }),
      );
      const described = await client.send(new DescribeSecretCommand({ SecretId: 'shop/k' }));

      expect(described.KmsKeyId).toBe(keyArn);
    });

    it('refuses a name that exists with ResourceExistsException', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');

      // Act
      const error = await failure(
        client.send(new CreateSecretCommand({ Name: 'shop/a', SecretString: 'v2' })),
      );

      // Assess
      expect(error.name).toBe('ResourceExistsException');
      expect(endpoint.current('shop/a')).toBe('v1');
    });
  });

  describe('GetSecretValue', () => {
    it('finds a secret by name, full ARN and partial ARN', async () => {
      // Prepare
      const { arn } = endpoint.seed('shop/a', 'v1');

      // Act
      const answers = await Promise.all(
        ['shop/a', arn, arn.slice(0, -7)].map((SecretId) =>
          client.send(new GetSecretValueCommand({ SecretId })),
        ),
      );

      // Assess
      for (const answer of answers) {
        expect(answer).toMatchObject({
          ARN: arn,
          Name: 'shop/a',
          SecretString: 'v1',
          VersionStages: ['AWSCURRENT'],
        });
        expect(answer.CreatedDate).toBeInstanceOf(Date);
      }
    });

    it('answers ResourceNotFoundException for an unknown secret and for a stage no version has', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');

      // Act
      const unknown = await failure(client.send(new GetSecretValueCommand({ SecretId: 'shop/b' })));
      const noPending = await failure(
        client.send(new GetSecretValueCommand({ SecretId: 'shop/a', VersionStage: 'AWSPENDING' })),
      );

      // Assess
      expect(unknown.name).toBe('ResourceNotFoundException');
      expect(noPending.name).toBe('ResourceNotFoundException');
      expect(noPending.message).toContain('AWSPENDING');
    });

    it('returns an older version by VersionId', async () => {
      // Prepare
      const first = endpoint.seed('shop/a', 'v1');
      endpoint.seed('shop/a', 'v2');

      // Act
      const old = await client.send(
        new GetSecretValueCommand({ SecretId: 'shop/a', VersionId: first.versionId }),
      );

      // Assess
      expect(old).toMatchObject({ SecretString: 'v1', VersionStages: ['AWSPREVIOUS'] });
    });
  });

  describe('PutSecretValue', () => {
    it('keeps AWSPREVIOUS on the version AWSCURRENT left', async () => {
      // Prepare
      const first = endpoint.seed('shop/a', 'v1');

      // Act
      const put = await client.send(
        new PutSecretValueCommand({ SecretId: 'shop/a', SecretString: 'v2' }),
      );
      await client.send(new PutSecretValueCommand({ SecretId: 'shop/a', SecretString: 'v3' }));

      // Assess
      expect(put.VersionStages).toEqual(['AWSCURRENT']);
      expect(endpoint.versions('shop/a').map((v) => [v.secretString, v.stages])).toEqual([
        ['v1', []],
        ['v2', ['AWSPREVIOUS']],
        ['v3', ['AWSCURRENT']],
      ]);
      expect(endpoint.versions('shop/a')[0]?.versionId).toBe(first.versionId);
      expect(endpoint.current('shop/a')).toBe('v3');
    });

    it('stores an AWSPENDING value without making it current', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');

      // Act
      await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'v2',
          VersionStages: ['AWSPENDING'],
        }),
      );

      // Assess
      expect(endpoint.current('shop/a')).toBe('v1');
      const pending = await client.send(
        new GetSecretValueCommand({ SecretId: 'shop/a', VersionStage: 'AWSPENDING' }),
      );
      expect(pending.SecretString).toBe('v2');
    });

    it('makes the first version of an empty secret AWSCURRENT even when AWSPENDING was asked, as AWS does', async () => {
      // Prepare: a secret created without a value, as CloudFormation creates it
      await client.send(new CreateSecretCommand({ Name: 'shop/empty' }));

      // Act
      const put = await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/empty',
          SecretString: 'v1',
          VersionStages: ['AWSPENDING'],
        }),
      );

      // Assess
      expect(put.VersionStages?.sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
      expect(endpoint.current('shop/empty')).toBe('v1');
    });

    it('treats a repeated ClientRequestToken with the same value as a no-op', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      const put = () =>
        client.send(
          new PutSecretValueCommand({
            SecretId: 'shop/a',
            SecretString: 'v2',
            ClientRequestToken: tokenA,
          }),
        );
      await put();

      // Act
      const again = await put();

      // Assess
      expect(again).toMatchObject({ VersionId: tokenA, VersionStages: ['AWSCURRENT'] });
      expect(endpoint.versions('shop/a')).toHaveLength(2);
    });

    it('refuses a repeated ClientRequestToken with another value with ResourceExistsException', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'v2',
          ClientRequestToken: tokenA,
        }),
      );

      // Act
      const error = await failure(
        client.send(
          new PutSecretValueCommand({
            SecretId: 'shop/a',
            SecretString: 'other',
            ClientRequestToken: tokenA,
          }),
        ),
      );

      // Assess
      expect(error.name).toBe('ResourceExistsException');
      expect(endpoint.current('shop/a')).toBe('v2');
    });

    it('refuses a ClientRequestToken shorter than 32 characters, as AWS does', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');

      // Act
      const error = await failure(
        client.send(
          new PutSecretValueCommand({
            SecretId: 'shop/a',
            SecretString: 'v2',
            ClientRequestToken: 'short',
          }),
        ),
      );

      // Assess
      expect(error.name).toBe('ValidationException');
    });

    it('refuses a SecretString over 65,536 bytes with the ValidationException AWS answers', async () => {
      // Prepare: 65,538 bytes in 32,769 characters
      endpoint.seed('shop/a', 'v1');

      // Act
      const error = await failure(
        client.send(
          new PutSecretValueCommand({ SecretId: 'shop/a', SecretString: 'é'.repeat(32_769) }),
        ),
      );

      // Assess
      expect(error.name).toBe('ValidationException');
      expect(error.message).toBe(
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536",
      );
      expect(endpoint.versions('shop/a')).toHaveLength(1);
    });

    it('stores a value of exactly 65,536 bytes', async () => {
      endpoint.seed('shop/a', 'v1');

      await client.send(
        new PutSecretValueCommand({ SecretId: 'shop/a', SecretString: 'x'.repeat(65_536) }),
      );

      expect(endpoint.current('shop/a')).toHaveLength(65_536);
    });

    it('stores a value under a label of its own, leaving AWSCURRENT and AWSPENDING alone', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');

      // Act
      await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'kept',
          VersionStages: ['TIKTOK_ANSWER_KEPT'],
        }),
      );

      // Assess
      expect(endpoint.current('shop/a')).toBe('v1');
      expect(endpoint.versions('shop/a').map((version) => version.stages)).toEqual([
        ['AWSCURRENT'],
        ['TIKTOK_ANSWER_KEPT'],
      ]);
      const pending = await failure(
        client.send(new GetSecretValueCommand({ SecretId: 'shop/a', VersionStage: 'AWSPENDING' })),
      );
      expect(pending.name).toBe('ResourceNotFoundException');
    });

    it('drops the oldest deprecated versions beyond 100', () => {
      // Act
      for (let i = 1; i <= 105; i++) endpoint.seed('shop/a', `v${i}`);

      // Assess
      const versions = endpoint.versions('shop/a');
      expect(versions).toHaveLength(100);
      expect(versions[0]?.secretString).toBe('v6');
      expect(versions.at(-1)).toMatchObject({ secretString: 'v105', stages: ['AWSCURRENT'] });
    });
  });

  describe('UpdateSecretVersionStage', () => {
    it('promotes AWSPENDING when RemoveFromVersionId names the current version', async () => {
      // Prepare
      const first = endpoint.seed('shop/a', 'v1');
      const pending = await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'v2',
          VersionStages: ['AWSPENDING'],
        }),
      );

      // Act
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'shop/a',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: pending.VersionId,
          RemoveFromVersionId: first.versionId,
        }),
      );

      // Assess
      expect(endpoint.versions('shop/a').map((v) => v.stages)).toEqual([
        ['AWSPREVIOUS'],
        ['AWSPENDING', 'AWSCURRENT'],
      ]);
      expect(endpoint.current('shop/a')).toBe('v2');
    });

    it('fails the compare-and-swap when AWSCURRENT has moved off RemoveFromVersionId', async () => {
      // Prepare: a second writer made v2 current after we read v1.
      const first = endpoint.seed('shop/a', 'v1');
      endpoint.seed('shop/a', 'v2');
      const ours = await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'v3',
          VersionStages: ['AWSPENDING'],
        }),
      );

      // Act
      const error = await failure(
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: 'shop/a',
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: ours.VersionId,
            RemoveFromVersionId: first.versionId,
          }),
        ),
      );

      // Assess
      expect(error.name).toBe('InvalidParameterException');
      expect(error.message).toContain('RemoveFromVersionId');
      expect(endpoint.current('shop/a')).toBe('v2');
    });

    it('fails when RemoveFromVersionId is missing and the label sits on another version', async () => {
      // Prepare
      const current = endpoint.seed('shop/a', 'v1');
      const pending = await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'v2',
          VersionStages: ['AWSPENDING'],
        }),
      );

      // Act
      const error = await failure(
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: 'shop/a',
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: pending.VersionId,
          }),
        ),
      );

      // Assess
      expect(error.name).toBe('InvalidParameterException');
      expect(error.message).toBe(
        `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${current.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    });

    it('moves AWSPREVIOUS when rolling AWSCURRENT back to the previous version', async () => {
      // Prepare
      const first = endpoint.seed('shop/a', 'v1');
      const second = endpoint.seed('shop/a', 'v2');

      // Act
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'shop/a',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: first.versionId,
          RemoveFromVersionId: second.versionId,
        }),
      );

      // Assess
      expect(endpoint.versions('shop/a').map((v) => [v.secretString, v.stages])).toEqual([
        ['v1', ['AWSCURRENT']],
        ['v2', ['AWSPREVIOUS']],
      ]);
    });

    it('removes a label when no MoveToVersionId is given', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      const pending = await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'v2',
          VersionStages: ['AWSPENDING'],
        }),
      );

      // Act
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'shop/a',
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: pending.VersionId,
        }),
      );

      // Assess
      expect(endpoint.versions('shop/a').map((v) => v.stages)).toEqual([['AWSCURRENT'], []]);
    });

    it('answers ResourceNotFoundException for an unknown version', async () => {
      // Prepare
      const current = endpoint.seed('shop/a', 'v1');

      // Act
      const error = await failure(
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: 'shop/a',
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: 'ffffffff-0000-4000-8000-000000000000',
            RemoveFromVersionId: current.versionId,
          }),
        ),
      );

      // Assess
      expect(error.name).toBe('ResourceNotFoundException');
    });
  });

  describe('UpdateSecret', () => {
    it('adds an AWSCURRENT version and updates the description', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');

      // Act
      await client.send(
        new UpdateSecretCommand({ SecretId: 'shop/a', SecretString: 'v2', Description: 'd' }),
      );

      // Assess
      const described = await client.send(new DescribeSecretCommand({ SecretId: 'shop/a' }));
      expect(described.Description).toBe('d');
      expect(endpoint.current('shop/a')).toBe('v2');
    });
  });

  describe('DescribeSecret', () => {
    it('returns tags and the labelled versions only', async () => {
      // Prepare
      const first = endpoint.seed('shop/a', 'v1', { 'tiktok-shop-token': 'shop-a' });
      const second = endpoint.seed('shop/a', 'v2');
      const third = endpoint.seed('shop/a', 'v3');

      // Act
      const described = await client.send(new DescribeSecretCommand({ SecretId: 'shop/a' }));

      // Assess
      expect(described.Tags).toEqual([{ Key: 'tiktok-shop-token', Value: 'shop-a' }]);
      expect(described.VersionIdsToStages).toEqual({
        [second.versionId]: ['AWSPREVIOUS'],
        [third.versionId]: ['AWSCURRENT'],
      });
      expect(described.VersionIdsToStages).not.toHaveProperty(first.versionId);
    });
  });

  describe('ListSecrets', () => {
    it('filters by tag key and pages with NextToken', async () => {
      // Prepare
      for (let i = 0; i < 5; i++)
        endpoint.seed(`shop/${i}`, 'v', { 'tiktok-shop-token': String(i) });
      endpoint.seed('other', 'v', { team: 'x' });
      const Filters = [{ Key: 'tag-key' as const, Values: ['tiktok-shop-token'] }];

      // Act
      const names: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const page = await client.send(
          new ListSecretsCommand({ Filters, MaxResults: 2, NextToken }),
        );
        names.push(...(page.SecretList ?? []).map((s) => s.Name ?? ''));
        NextToken = page.NextToken;
        pages++;
      } while (NextToken);

      // Assess
      expect(names).toEqual(['shop/0', 'shop/1', 'shop/2', 'shop/3', 'shop/4']);
      expect(pages).toBe(3);
    });

    it('filters by name prefix and reports the labelled versions', async () => {
      // Prepare
      const a = endpoint.seed('shop/a', 'v1');
      endpoint.seed('other/b', 'v1');

      // Act
      const listed = await client.send(
        new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['shop/'] }] }),
      );

      // Assess
      expect(listed.SecretList).toEqual([
        expect.objectContaining({
          Name: 'shop/a',
          SecretVersionsToStages: { [a.versionId]: ['AWSCURRENT'] },
        }),
      ]);
      expect(listed.NextToken).toBeUndefined();
    });

    it('accepts IncludePlannedDeletion and lists each secret with its version-to-stage map', async () => {
      // Prepare
      const first = endpoint.seed('shop/a', 'v1');
      const pending = await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'v2',
          VersionStages: ['TIKTOK_ANSWER_KEPT'],
        }),
      );

      // Act
      const listed = await client.send(
        new ListSecretsCommand({ IncludePlannedDeletion: false, MaxResults: 100 }),
      );

      // Assess
      expect(listed.SecretList?.[0]?.SecretVersionsToStages).toEqual({
        [first.versionId]: ['AWSCURRENT'],
        [pending.VersionId ?? '']: ['TIKTOK_ANSWER_KEPT'],
      });
    });

    it('refuses a NextToken it did not issue', async () => {
      // Act
      const error = await failure(client.send(new ListSecretsCommand({ NextToken: 'bogus' })));

      // Assess
      expect(error.name).toBe('InvalidNextTokenException');
    });
  });

  describe('BatchGetSecretValue', () => {
    it('answers the AWSCURRENT value of each listed secret and reports the missing ones in Errors', async () => {
      // Prepare
      const a = endpoint.seed('shop/a', 'a1');
      endpoint.seed('shop/a', 'a2');
      await client.send(
        new PutSecretValueCommand({
          SecretId: 'shop/a',
          SecretString: 'a3',
          VersionStages: ['AWSPENDING'],
        }),
      );
      const b = endpoint.seed('shop/b', 'b1');

      // Act
      const answer = await client.send(
        new BatchGetSecretValueCommand({ SecretIdList: ['shop/a', b.arn, 'shop/missing'] }),
      );

      // Assess
      expect(answer.SecretValues?.map((v) => [v.Name, v.SecretString, v.VersionStages])).toEqual([
        ['shop/a', 'a2', ['AWSCURRENT']],
        ['shop/b', 'b1', ['AWSCURRENT']],
      ]);
      expect(answer.SecretValues?.[0]).toMatchObject({ ARN: a.arn });
      expect(answer.SecretValues?.[0]?.CreatedDate).toBeInstanceOf(Date);
      expect(answer.Errors).toEqual([
        expect.objectContaining({
          SecretId: 'shop/missing',
          ErrorCode: 'ResourceNotFoundException',
        }),
      ]);
      expect(answer.NextToken).toBeUndefined();
    });

    it('reports a secret created without a value in Errors', async () => {
      // Prepare
      await client.send(new CreateSecretCommand({ Name: 'shop/empty' }));

      // Act
      const answer = await client.send(
        new BatchGetSecretValueCommand({ SecretIdList: ['shop/empty'] }),
      );

      // Assess
      expect(answer.SecretValues).toEqual([]);
      expect(answer.Errors?.map((e) => [e.SecretId, e.ErrorCode])).toEqual([
        ['shop/empty', 'ResourceNotFoundException'],
      ]);
    });

    it('pages through the secrets a filter finds, at most MaxResults a call', async () => {
      // Prepare
      for (let i = 0; i < 5; i++) endpoint.seed(`shop/${i}`, `v${i}`, { 'tiktok-shop-token': '' });
      endpoint.seed('other', 'x');
      const Filters = [{ Key: 'tag-key' as const, Values: ['tiktok-shop-token'] }];

      // Act
      const values: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const page = await client.send(
          new BatchGetSecretValueCommand({ Filters, MaxResults: 2, NextToken }),
        );
        values.push(...(page.SecretValues ?? []).map((v) => v.SecretString ?? ''));
        NextToken = page.NextToken;
        pages++;
      } while (NextToken);

      // Assess
      expect(values).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
      expect(pages).toBe(3);
    });

    it.each([
      ['neither ids nor filters', {}, 'InvalidParameterException'],
      [
        'both ids and filters',
        { SecretIdList: ['a'], Filters: [{ Key: 'name' as const, Values: ['a'] }] },
        'InvalidParameterException',
      ],
      ['MaxResults with ids', { SecretIdList: ['a'], MaxResults: 5 }, 'InvalidParameterException'],
      [
        '21 ids',
        { SecretIdList: Array.from({ length: 21 }, (_, i) => `s${i}`) },
        'ValidationException',
      ],
      [
        'MaxResults 21',
        { Filters: [{ Key: 'name' as const, Values: ['a'] }], MaxResults: 21 },
        'ValidationException',
      ],
    ])('refuses %s', async (_, input, errorName) => {
      // Act
      const error = await failure(client.send(new BatchGetSecretValueCommand(input)));

      // Assess
      expect(error.name).toBe(errorName);
    });

    it('counts each call once, with the number of secrets it answered', async () => {
      // Prepare
      endpoint.seed('shop/a', 'a1');
      endpoint.seed('shop/b', 'b1');

      // Act
      await client.send(new BatchGetSecretValueCommand({ SecretIdList: ['shop/a', 'shop/b'] }));
      await client.send(new GetSecretValueCommand({ SecretId: 'shop/a' }));

      // Assess
      expect(endpoint.callCounts).toEqual({ BatchGetSecretValue: 1, GetSecretValue: 1 });
      expect(endpoint.calls[0]).toMatchObject({ operation: 'BatchGetSecretValue', secrets: 2 });
      expect(JSON.stringify(endpoint.calls)).not.toContain('a1');
    });
  });

  describe('TagResource', () => {
    it('adds tags that a tag-key filter then finds', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');

      // Act
      await client.send(
        new TagResourceCommand({ SecretId: 'shop/a', Tags: [{ Key: 'k', Value: 'v' }] }),
      );

      // Assess
      const listed = await client.send(
        new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: ['k'] }] }),
      );
      expect(listed.SecretList?.map((s) => s.Name)).toEqual(['shop/a']);
    });
  });

  describe('wire protocol', () => {
    const post = (target: string, body: string) =>
      fetch(endpoint.url, {
        method: 'POST',
        headers: { 'X-Amz-Target': target, 'Content-Type': 'application/x-amz-json-1.1' },
        body,
      });

    it('answers UnknownOperationException in both the header and __type', async () => {
      // Act
      const response = await post('secretsmanager.Frobnicate', '{}');

      // Assess
      expect(response.status).toBe(400);
      expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
      expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
    });

    it('answers SerializationException to a body that is not JSON', async () => {
      // Act
      const response = await post('secretsmanager.GetSecretValue', '{not json');

      // Assess
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ __type: 'SerializationException' });
    });

    it('is reached through AWS_ENDPOINT_URL_SECRETS_MANAGER', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', endpoint.url);
      const fromEnv = new SecretsManagerClient({ region: 'us-east-1', credentials });

      // Act
      const answer = await fromEnv.send(new GetSecretValueCommand({ SecretId: 'shop/a' }));
      fromEnv.destroy();

      // Assess
      expect(answer.SecretString).toBe('v1');
    });
  });

  describe('fault injection', () => {
    it('fails the next calls with ThrottlingException, which the SDK names', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      endpoint.failNext('GetSecretValue', 2);
      const get = () => client.send(new GetSecretValueCommand({ SecretId: 'shop/a' }));

      // Act
      const errors = [await failure(get()), await failure(get())];
      const third = await get();

      // Assess
      expect(errors.map((e) => e.name)).toEqual(['ThrottlingException', 'ThrottlingException']);
      expect(errors[0]?.message).toBe('Rate exceeded');
      expect(third.SecretString).toBe('v1');
    });

    it('answers InternalServiceError with HTTP 500, which the SDK retries', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      endpoint.failNext('GetSecretValue', 1, 'InternalServiceError');
      const retrying = clientFor(endpoint, 2);

      // Act
      const answer = await retrying.send(new GetSecretValueCommand({ SecretId: 'shop/a' }));
      retrying.destroy();

      // Assess
      expect(answer.SecretString).toBe('v1');
      expect(endpoint.calls.map((c) => [c.status, c.error])).toEqual([
        [500, 'InternalServiceError'],
        [200, undefined],
      ]);
    });

    it('drops the connection without an answer', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      endpoint.failNext('PutSecretValue', 1, 'DropConnection');

      // Act
      const error = await failure(
        client.send(new PutSecretValueCommand({ SecretId: 'shop/a', SecretString: 'v2' })),
      );

      // Assess
      expect(error).toMatchObject({ code: 'ECONNRESET' });
      expect(endpoint.current('shop/a')).toBe('v1');
      expect(endpoint.calls[0]?.status).toBe(0);
    });

    it.each([
      [false, 'v1'],
      [true, 'v2'],
    ])(
      'holds a hung call open until the client gives up (applied first: %s)',
      async (afterApplying, current) => {
        // Prepare
        endpoint.seed('shop/a', 'v1');
        endpoint.hangNext('PutSecretValue', 1, { afterApplying });

        // Act
        const error = await failure(
          client.send(new PutSecretValueCommand({ SecretId: 'shop/a', SecretString: 'v2' }), {
            abortSignal: AbortSignal.timeout(100),
          }),
        );
        await vi.waitFor(() => expect(endpoint.calls[0]?.status).toBe(0));
        const next = await client.send(new GetSecretValueCommand({ SecretId: 'shop/a' }));

        // Assess
        expect(error.name).toBe('AbortError');
        expect(endpoint.current('shop/a')).toBe(current);
        expect(next.SecretString).toBe(current);
      },
    );

    it('delays the next calls and adds latencyMs to every call', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      endpoint.latencyMs = 20;
      endpoint.delayNext('GetSecretValue', 1, 60);
      const timed = async () => {
        const started = performance.now();
        await client.send(new GetSecretValueCommand({ SecretId: 'shop/a' }));
        return performance.now() - started;
      };

      // Act
      const delayed = await timed();
      const normal = await timed();

      // Assess
      expect(delayed).toBeGreaterThanOrEqual(75);
      expect(normal).toBeGreaterThanOrEqual(18);
      expect(normal).toBeLessThan(75);
    });
  });

  describe('write quota', () => {
    it('throttles writes beyond writeQuotaPerSecond and counts them, leaving reads alone', async () => {
      // Prepare
      endpoint.writeQuotaPerSecond = 3;
      endpoint.seed('shop/a', 'v0');

      // Act
      const puts = await Promise.allSettled(
        [1, 2, 3, 4, 5].map((i) =>
          client.send(new PutSecretValueCommand({ SecretId: 'shop/a', SecretString: `v${i}` })),
        ),
      );
      const read = await client.send(new GetSecretValueCommand({ SecretId: 'shop/a' }));

      // Assess
      const rejected = puts.filter((p) => p.status === 'rejected');
      expect(rejected).toHaveLength(2);
      expect(rejected.map((p) => (p.reason as Error).name)).toEqual([
        'ThrottlingException',
        'ThrottlingException',
      ]);
      expect(endpoint.throttledWrites).toBe(2);
      expect(read.SecretString).toBeDefined();
    });
  });

  describe('inspection', () => {
    it('records calls with the SecretId but never the value', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');

      // Act
      await client.send(
        new PutSecretValueCommand({ SecretId: 'shop/a', SecretString: 'TOP-SECRET' }),
      );

      // Assess
      expect(endpoint.calls).toEqual([
        expect.objectContaining({ operation: 'PutSecretValue', secretId: 'shop/a', status: 200 }),
      ]);
      expect(JSON.stringify(endpoint.calls)).not.toContain('TOP-SECRET');
    });

    it('forgets faults and calls on reset but keeps the secrets', async () => {
      // Prepare
      endpoint.seed('shop/a', 'v1');
      endpoint.failNext('GetSecretValue', 1);
      await failure(client.send(new GetSecretValueCommand({ SecretId: 'shop/a' })));
      endpoint.failNext('GetSecretValue', 1);

      // Act
      endpoint.reset();
      const answer = await client.send(new GetSecretValueCommand({ SecretId: 'shop/a' }));

      // Assess
      expect(answer.SecretString).toBe('v1');
      expect(endpoint.calls).toHaveLength(1);
      expect(endpoint.callCounts).toEqual({ GetSecretValue: 1 });
    });
  });
});
