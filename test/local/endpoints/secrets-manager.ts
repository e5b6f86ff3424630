import { randomInt, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AwsError,
  type AwsFault,
  faultError,
  type JsonObject,
  OneShots,
  optionalArray,
  optionalNumber,
  optionalString,
  readAwsJsonRequest,
  requiredString,
  sendAwsError,
  sendAwsResult,
  validationError,
} from './aws-json.js';
import { LocalHttpServer } from './http.js';

/**
 * A local Secrets Manager that the real `@aws-sdk/client-secrets-manager` talks to over HTTP
 * (`endpoint: url` or `AWS_ENDPOINT_URL_SECRETS_MANAGER=url`). It keeps versions and staging
 * labels the way the service does, including the compare-and-swap of UpdateSecretVersionStage
 * and the shared write quota, so code that is right here is right against AWS.
 */

const ARN_PREFIX = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';
const ARN_SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
/** Secrets Manager removes deprecated (unlabelled) versions beyond about this many. */
const MAX_VERSIONS = 100;
const MAX_PAGE_SIZE = 100;
/** BatchGetSecretValue reads at most 20 secrets per call, by id list or by filter page. */
const MAX_BATCH_SIZE = 20;
const MAX_SECRET_BYTES = 65_536;
/** PutSecretValue, UpdateSecretVersionStage and UpdateSecret share one regional quota. */
const WRITE_OPERATIONS = new Set(['PutSecretValue', 'UpdateSecretVersionStage', 'UpdateSecret']);

export interface LocalSecretsManagerOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Fixed delay added to every call, so a benchmark sees each round trip. Default 0. */
  latencyMs?: number;
  /** Writes per second across all secrets; excess calls answer ThrottlingException. Default: none. */
  writeQuotaPerSecond?: number;
}

export interface SecretsManagerCall {
  operation: string;
  /** Arrival time, epoch ms. */
  at: number;
  /** The SecretId (Name for CreateSecret) as sent: never a value. */
  secretId?: string;
  /** HTTP status answered: absent while in flight, 0 when the connection was dropped. */
  status?: number;
  /** AWS error type, when the call failed. */
  error?: string;
  /** BatchGetSecretValue: the secrets it answered, values and per-secret errors together. */
  secrets?: number;
}

export interface SecretVersionView {
  versionId: string;
  secretString: string;
  stages: string[];
  /** Epoch ms. */
  createdAt: number;
}

export interface SeededSecret {
  arn: string;
  name: string;
  versionId: string;
}

/** Answers sent a byte at a time (see dripNext). */
interface Drip {
  readonly operation: string;
  readonly secretId?: string;
  readonly byteEveryMs: number;
  count: number;
}

interface Version {
  id: string;
  secretString: string;
  stages: Set<string>;
  createdAt: number;
}

interface Secret {
  arn: string;
  name: string;
  description?: string;
  /** As given to CreateSecret; absent: the aws/secretsmanager key. */
  kmsKeyId?: string;
  tags: Map<string, string>;
  /** In creation order, which pruning relies on. */
  versions: Map<string, Version>;
  createdAt: number;
  lastChangedAt: number;
}

export async function startLocalSecretsManager(
  options: LocalSecretsManagerOptions = {},
): Promise<LocalSecretsManager> {
  const endpoint = new LocalSecretsManager(options);
  await endpoint.listen(options.port);
  return endpoint;
}

export class LocalSecretsManager {
  /** Fixed delay added to every call, in ms. */
  latencyMs: number;
  /**
   * How far the endpoint's clock is from this machine's, in ms: its answers' Date header, which
   * the SDK takes to correct its own clock (a machine whose clock is hours off). Default 0.
   */
  clockOffsetMs = 0;
  writeQuotaPerSecond: number | undefined;

  readonly #initialLatencyMs: number;
  readonly #http = new LocalHttpServer((req, res) => this.#handle(req, res));
  readonly #secrets = new Map<string, Secret>();
  readonly #faults = new OneShots<AwsFault>();
  readonly #delays = new OneShots<number>();
  readonly #hangs = new OneShots<'before' | 'after'>();
  #drips: Drip[] = [];
  #calls: SecretsManagerCall[] = [];
  #callCounts = new Map<string, number>();
  #recentWrites: number[] = [];
  #throttledWrites = 0;

  constructor(options: LocalSecretsManagerOptions = {}) {
    this.#initialLatencyMs = options.latencyMs ?? 0;
    this.latencyMs = this.#initialLatencyMs;
    this.writeQuotaPerSecond = options.writeQuotaPerSecond;
  }

  get url(): string {
    return this.#http.url;
  }

  listen(port?: number): Promise<void> {
    return this.#http.listen(port);
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  /** The next `count` calls of `operation` fail with `fault` instead of running. */
  failNext(operation: string, count = 1, fault: AwsFault = 'ThrottlingException'): void {
    this.#faults.add(operation, count, fault);
  }

  /** The next `count` calls of `operation` wait `ms` longer before they run. */
  delayNext(operation: string, count: number, ms: number): void {
    this.#delays.add(operation, count, ms);
  }

  /**
   * The next `count` calls of `operation` are never answered: the connection stays open until
   * the client gives up. With `afterApplying`, each call takes effect first (a write reaches the
   * store, its answer never reaches the caller).
   */
  hangNext(operation: string, count = 1, options: { afterApplying?: boolean } = {}): void {
    this.#hangs.add(operation, count, options.afterApplying === true ? 'after' : 'before');
  }

  /**
   * The next `count` calls of `operation` (on `secretId` only, when given) run, and their answer
   * is sent a byte every `byteEveryMs`: never silent long enough for an idle timeout, however
   * long the whole answer takes. Stops when the client goes away.
   */
  dripNext(
    operation: string,
    count: number,
    options: { byteEveryMs: number; secretId?: string },
  ): void {
    this.#drips.push({ operation, count, ...options });
  }

  /** Every call received, oldest first. */
  get calls(): readonly SecretsManagerCall[] {
    return this.#calls;
  }

  /**
   * Calls received per operation (failed ones included, as AWS bills and throttles them), so a
   * benchmark can report calls per shop without keeping every call.
   */
  get callCounts(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.#callCounts);
  }

  /** Writes refused by the write quota (not those failed by `failNext`). */
  get throttledWrites(): number {
    return this.#throttledWrites;
  }

  /** All versions still kept, oldest first, including deprecated ones. */
  versions(secretId: string): SecretVersionView[] {
    return [...this.#find(secretId).versions.values()].map((version) => ({
      versionId: version.id,
      secretString: version.secretString,
      stages: [...version.stages],
      createdAt: version.createdAt,
    }));
  }

  /** The AWSCURRENT value, or undefined for a secret that has none. */
  current(secretId: string): string | undefined {
    return holderOf(this.#find(secretId), CURRENT)?.secretString;
  }

  /** Creates the secret, or adds an AWSCURRENT version to it, without going through HTTP. */
  seed(name: string, secretString: string, tags: Record<string, string> = {}): SeededSecret {
    const secret = this.#secrets.get(name) ?? this.#createSecretRecord(name, undefined, []);
    for (const [key, value] of Object.entries(tags)) secret.tags.set(key, value);
    const version = this.#putVersion(secret, secretString, randomUUID(), [CURRENT]);
    return { arn: secret.arn, name: secret.name, versionId: version.id };
  }

  /** Forgets faults, delays, recorded calls and quota counters; secrets stay. */
  reset(): void {
    this.#faults.clear();
    this.#delays.clear();
    this.#hangs.clear();
    this.#drips = [];
    this.#calls = [];
    this.#callCounts.clear();
    this.#recentWrites = [];
    this.#throttledWrites = 0;
    this.latencyMs = this.#initialLatencyMs;
    this.clockOffsetMs = 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const call: SecretsManagerCall = {
      operation: target.replace(/^secretsmanager\./, ''),
      at: Date.now(),
    };
    this.#calls.push(call);
    this.#callCounts.set(call.operation, (this.#callCounts.get(call.operation) ?? 0) + 1);
    if (this.clockOffsetMs !== 0) {
      res.setHeader('Date', new Date(Date.now() + this.clockOffsetMs).toUTCString());
    }
    try {
      const { operation, input } = await readAwsJsonRequest(req, 'secretsmanager');
      call.secretId = optionalString(input, 'SecretId') ?? optionalString(input, 'Name');
      await this.#http.wait(this.latencyMs + (this.#delays.take(operation) ?? 0));
      const fault = this.#faults.take(operation);
      if (fault === 'DropConnection') {
        call.status = 0;
        res.destroy();
        return;
      }
      if (fault) throw faultError(fault);
      const hang = this.#hangs.take(operation);
      if (hang !== undefined) {
        await this.#hang(
          res,
          call,
          hang === 'after' ? () => this.#dispatch(operation, input) : undefined,
        );
        return;
      }
      if (WRITE_OPERATIONS.has(operation) && !this.#admitWrite()) {
        this.#throttledWrites++;
        throw new AwsError('ThrottlingException', 'Rate exceeded');
      }
      const result = this.#dispatch(operation, input);
      if (operation === 'BatchGetSecretValue') call.secrets = batchSize(result);
      const drip = this.#takeDrip(operation, call.secretId);
      if (drip !== undefined) {
        await this.#drip(res, call, result, drip.byteEveryMs);
        return;
      }
      sendAwsResult(res, result);
      call.status = 200;
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      call.status = error.status;
      call.error = error.type;
      sendAwsError(res, error);
    }
  }

  /** Holds a call open without an answer until the client or the endpoint closes it. */
  async #hang(res: ServerResponse, call: SecretsManagerCall, apply?: () => unknown): Promise<void> {
    apply?.();
    await new Promise<void>((resolve) => res.once('close', resolve));
    call.status = 0;
  }

  #takeDrip(operation: string, secretId: string | undefined): Drip | undefined {
    const drip = this.#drips.find(
      (candidate) =>
        candidate.count > 0 &&
        candidate.operation === operation &&
        (candidate.secretId === undefined || candidate.secretId === secretId),
    );
    if (drip !== undefined) drip.count--;
    return drip;
  }

  /** Sends `result` as sendAwsResult would, one byte at a time; status 0 when the client left. */
  async #drip(
    res: ServerResponse,
    call: SecretsManagerCall,
    result: JsonObject,
    byteEveryMs: number,
  ): Promise<void> {
    const body = Buffer.from(JSON.stringify(result));
    res.writeHead(200, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': String(body.length),
      'x-amzn-RequestId': randomUUID(),
    });
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    for (let i = 0; i < body.length && !gone; i++) {
      res.write(body.subarray(i, i + 1));
      await this.#http.wait(byteEveryMs);
    }
    call.status = gone ? 0 : 200;
    if (!gone) res.end();
  }

  /** A sliding one-second window over admitted writes. */
  #admitWrite(): boolean {
    if (this.writeQuotaPerSecond === undefined) return true;
    const now = performance.now();
    this.#recentWrites = this.#recentWrites.filter((at) => now - at < 1000);
    if (this.#recentWrites.length >= this.writeQuotaPerSecond) return false;
    this.#recentWrites.push(now);
    return true;
  }

  #dispatch(operation: string, input: JsonObject): JsonObject {
    switch (operation) {
      case 'CreateSecret':
        return this.#createSecret(input);
      case 'GetSecretValue':
        return this.#getSecretValue(input);
      case 'PutSecretValue':
        return this.#putSecretValue(input);
      case 'UpdateSecret':
        return this.#updateSecret(input);
      case 'UpdateSecretVersionStage':
        return this.#updateSecretVersionStage(input);
      case 'DescribeSecret':
        return this.#describeSecret(input);
      case 'ListSecrets':
        return this.#listSecrets(input);
      case 'BatchGetSecretValue':
        return this.#batchGetSecretValue(input);
      case 'TagResource':
        return this.#tagResource(input);
      case 'UntagResource':
        return this.#untagResource(input);
      case 'ListSecretVersionIds':
        return this.#listSecretVersionIds(input);
      default:
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by the local Secrets Manager`,
        );
    }
  }

  #createSecret(input: JsonObject): JsonObject {
    const name = requiredString(input, 'Name');
    const value = optionalString(input, 'SecretString');
    const token = requestToken(input);
    if (this.#secrets.has(name)) {
      throw new AwsError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const secret = this.#createSecretRecord(
      name,
      optionalString(input, 'Description'),
      readTags(input),
    );
    const kmsKeyId = optionalString(input, 'KmsKeyId');
    if (kmsKeyId !== undefined) secret.kmsKeyId = kmsKeyId;
    const version =
      value === undefined ? undefined : this.#putVersion(secret, value, token, [CURRENT]);
    return { ARN: secret.arn, Name: secret.name, VersionId: version?.id };
  }

  #getSecretValue(input: JsonObject): JsonObject {
    const secret = this.#find(requiredString(input, 'SecretId'));
    const versionId = optionalString(input, 'VersionId');
    const stage = optionalString(input, 'VersionStage');
    const version =
      versionId === undefined ? holderOf(secret, stage ?? CURRENT) : secret.versions.get(versionId);
    if (!version || (stage !== undefined && !version.stages.has(stage))) {
      const wanted =
        versionId === undefined ? `staging label: ${stage ?? CURRENT}` : `VersionId: ${versionId}`;
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for ${wanted}`,
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.secretString,
      VersionStages: [...version.stages],
      CreatedDate: version.createdAt / 1000,
    };
  }

  #putSecretValue(input: JsonObject): JsonObject {
    const secret = this.#find(requiredString(input, 'SecretId'));
    const value = optionalString(input, 'SecretString');
    if (value === undefined) {
      throw new AwsError(
        'InvalidRequestException',
        'You must provide either SecretString or SecretBinary.',
      );
    }
    const stages = readStages(input) ?? [CURRENT];
    // As AWS does: the first version of a secret becomes AWSCURRENT whatever the stages asked.
    const first = secret.versions.size === 0 && !stages.includes(CURRENT);
    const version = this.#putVersion(
      secret,
      value,
      requestToken(input),
      first ? [...stages, CURRENT] : stages,
    );
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      VersionStages: [...version.stages],
    };
  }

  #updateSecret(input: JsonObject): JsonObject {
    const secret = this.#find(requiredString(input, 'SecretId'));
    const value = optionalString(input, 'SecretString');
    const token = requestToken(input);
    const description = optionalString(input, 'Description');
    if (description !== undefined) secret.description = description;
    const version =
      value === undefined ? undefined : this.#putVersion(secret, value, token, [CURRENT]);
    secret.lastChangedAt = Date.now();
    return { ARN: secret.arn, Name: secret.name, VersionId: version?.id };
  }

  /**
   * Moves or removes one label. Moving a label that sits on another version requires
   * RemoveFromVersionId to name that version: a compare-and-swap that fails when someone else
   * moved the label first.
   */
  #updateSecretVersionStage(input: JsonObject): JsonObject {
    const secret = this.#find(requiredString(input, 'SecretId'));
    const stage = requiredString(input, 'VersionStage');
    const moveTo = optionalString(input, 'MoveToVersionId');
    const removeFrom = optionalString(input, 'RemoveFromVersionId');
    const holder = holderOf(secret, stage);
    const target = moveTo === undefined ? undefined : findVersion(secret, moveTo);
    if (removeFrom !== undefined) findVersion(secret, removeFrom);

    if (target) {
      if (removeFrom === undefined && holder && holder !== target) {
        throw new AwsError(
          'InvalidParameterException',
          `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      if (removeFrom !== undefined && holder?.id !== removeFrom) {
        throw new AwsError(
          'InvalidParameterException',
          `When you move staging label ${stage}, RemoveFromVersionId must be set to the version that currently has the label (${holder?.id ?? 'none'}), not ${removeFrom}.`,
        );
      }
      moveLabel(secret, stage, target);
    } else {
      if (removeFrom === undefined) {
        throw new AwsError(
          'InvalidParameterException',
          'You must specify MoveToVersionId, RemoveFromVersionId, or both.',
        );
      }
      if (holder?.id !== removeFrom) {
        throw new AwsError(
          'InvalidParameterException',
          `Staging label ${stage} is not attached to version ${removeFrom}.`,
        );
      }
      // Every secret with a value keeps AWSCURRENT somewhere: it can be moved, not removed.
      if (stage === CURRENT) {
        throw new AwsError(
          'InvalidParameterException',
          `You can't remove the staging label ${CURRENT} without moving it to another version.`,
        );
      }
      holder.stages.delete(stage);
    }
    this.#touch(secret);
    return { ARN: secret.arn, Name: secret.name };
  }

  #describeSecret(input: JsonObject): JsonObject {
    const secret = this.#find(requiredString(input, 'SecretId'));
    return { ...summary(secret), VersionIdsToStages: labelledVersions(secret) };
  }

  #listSecrets(input: JsonObject): JsonObject {
    // Secrets scheduled for deletion do not exist here, so the flag changes nothing.
    optionalBoolean(input, 'IncludePlannedDeletion');
    const { page, nextToken } = this.#filteredPage(input, MAX_PAGE_SIZE);
    return {
      SecretList: page.map((secret) => ({
        ...summary(secret),
        SecretVersionsToStages: labelledVersions(secret),
      })),
      NextToken: nextToken,
    };
  }

  /**
   * The AWSCURRENT value of up to 20 secrets, named in SecretIdList or found by Filters (then
   * paged like ListSecrets). A secret that cannot be read is reported in Errors, not thrown.
   */
  #batchGetSecretValue(input: JsonObject): JsonObject {
    const ids = optionalArray(input, 'SecretIdList');
    const filters = optionalArray(input, 'Filters');
    if ((ids === undefined) === (filters === undefined)) {
      throw new AwsError(
        'InvalidParameterException',
        'You must include Filters or SecretIdList, but not both.',
      );
    }
    if (ids === undefined) {
      const { page, nextToken } = this.#filteredPage(input, MAX_BATCH_SIZE);
      return { ...this.#currentValues(page.map((secret) => secret.name)), NextToken: nextToken };
    }
    if (input.MaxResults !== undefined || input.NextToken !== undefined) {
      throw new AwsError(
        'InvalidParameterException',
        'MaxResults and NextToken can be used only with Filters.',
      );
    }
    if (ids.length < 1 || ids.length > MAX_BATCH_SIZE || !ids.every(isNonEmptyString)) {
      throw validationError(
        'secretIdList',
        `Member must have length between 1 and ${MAX_BATCH_SIZE}`,
      );
    }
    return this.#currentValues(ids as string[]);
  }

  #currentValues(secretIds: readonly string[]): JsonObject {
    const values: JsonObject[] = [];
    const errors: JsonObject[] = [];
    for (const secretId of secretIds) {
      try {
        values.push(this.#getSecretValue({ SecretId: secretId }));
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        errors.push({ SecretId: secretId, ErrorCode: error.type, Message: error.message });
      }
    }
    return { SecretValues: values, Errors: errors };
  }

  /** Secrets matching Filters, one page of at most `maxPageSize` from NextToken on. */
  #filteredPage(
    input: JsonObject,
    maxPageSize: number,
  ): { page: Secret[]; nextToken: string | undefined } {
    const filters = (optionalArray(input, 'Filters') ?? []).map(parseFilter);
    const pageSize = optionalNumber(input, 'MaxResults') ?? maxPageSize;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize) {
      throw validationError('maxResults', `Member must have value between 1 and ${maxPageSize}`);
    }
    const start = decodeNextToken(optionalString(input, 'NextToken'));
    const matching = [...this.#secrets.values()].filter((secret) =>
      filters.every((f) => f(secret)),
    );
    const end = start + pageSize;
    return {
      page: matching.slice(start, end),
      nextToken: end < matching.length ? encodeNextToken(end) : undefined,
    };
  }

  /** Labelled versions only (IncludeDeprecated is not modelled), each with its creation time. */
  #listSecretVersionIds(input: JsonObject): JsonObject {
    const secret = this.#find(requiredString(input, 'SecretId'));
    return {
      ARN: secret.arn,
      Name: secret.name,
      Versions: [...secret.versions.values()]
        .filter((version) => version.stages.size > 0)
        .map((version) => ({
          VersionId: version.id,
          VersionStages: [...version.stages],
          CreatedDate: version.createdAt / 1000,
        })),
    };
  }

  #tagResource(input: JsonObject): JsonObject {
    const secret = this.#find(requiredString(input, 'SecretId'));
    for (const [key, value] of readTags(input)) secret.tags.set(key, value);
    return {};
  }

  #untagResource(input: JsonObject): JsonObject {
    const secret = this.#find(requiredString(input, 'SecretId'));
    const keys = input.TagKeys;
    if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) {
      throw new AwsError('InvalidParameterException', 'TagKeys must be a list of strings.');
    }
    for (const key of keys) secret.tags.delete(key);
    return {};
  }

  /** By name, full ARN, or partial ARN (without the `-` and six random characters). */
  #find(secretId: string): Secret {
    for (const secret of this.#secrets.values()) {
      if (
        secret.name === secretId ||
        secret.arn === secretId ||
        secret.arn.slice(0, -7) === secretId
      ) {
        return secret;
      }
    }
    throw new AwsError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
    );
  }

  #createSecretRecord(
    name: string,
    description: string | undefined,
    tags: [string, string][],
  ): Secret {
    let suffix = '';
    for (let i = 0; i < 6; i++)
      suffix += ARN_SUFFIX_CHARS.charAt(randomInt(ARN_SUFFIX_CHARS.length));
    const now = Date.now();
    const secret: Secret = {
      arn: `${ARN_PREFIX}${name}-${suffix}`,
      name,
      description,
      tags: new Map(tags),
      versions: new Map(),
      createdAt: now,
      lastChangedAt: now,
    };
    this.#secrets.set(name, secret);
    return secret;
  }

  /** Adds a version, or returns the existing one when the same token brings the same value. */
  #putVersion(secret: Secret, secretString: string, token: string, stages: string[]): Version {
    if (Buffer.byteLength(secretString) > MAX_SECRET_BYTES) {
      throw validationError(
        'secretString',
        `Member must have length less than or equal to ${MAX_SECRET_BYTES}`,
      );
    }
    const existing = secret.versions.get(token);
    if (existing) {
      if (existing.secretString === secretString) return existing;
      throw new AwsError(
        'ResourceExistsException',
        `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${secret.arn}.`,
      );
    }
    const version: Version = { id: token, secretString, stages: new Set(), createdAt: Date.now() };
    secret.versions.set(token, version);
    for (const stage of stages) moveLabel(secret, stage, version);
    this.#touch(secret);
    return version;
  }

  #touch(secret: Secret): void {
    secret.lastChangedAt = Date.now();
    for (const version of secret.versions.values()) {
      if (secret.versions.size <= MAX_VERSIONS) return;
      if (version.stages.size === 0) secret.versions.delete(version.id);
    }
  }
}

function holderOf(secret: Secret, stage: string): Version | undefined {
  for (const version of secret.versions.values()) {
    if (version.stages.has(stage)) return version;
  }
  return undefined;
}

function findVersion(secret: Secret, versionId: string): Version {
  const version = secret.versions.get(versionId);
  if (!version) {
    throw new AwsError(
      'ResourceNotFoundException',
      `Secrets Manager can't find the specified secret version: ${versionId}`,
    );
  }
  return version;
}

/** A label sits on one version at a time; AWSCURRENT leaves AWSPREVIOUS where it was. */
function moveLabel(secret: Secret, stage: string, to: Version): void {
  const from = holderOf(secret, stage);
  if (from === to) return;
  from?.stages.delete(stage);
  to.stages.add(stage);
  if (stage === CURRENT && from) moveLabel(secret, PREVIOUS, from);
}

function summary(secret: Secret): JsonObject {
  return {
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    KmsKeyId: secret.kmsKeyId,
    Tags: [...secret.tags].map(([Key, Value]) => ({ Key, Value })),
    CreatedDate: secret.createdAt / 1000,
    LastChangedDate: secret.lastChangedAt / 1000,
  };
}

/** Deprecated versions (no label) are left out, as DescribeSecret and ListSecrets do. */
function labelledVersions(secret: Secret): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const version of secret.versions.values()) {
    if (version.stages.size > 0) result[version.id] = [...version.stages];
  }
  return result;
}

/** The SDK fills ClientRequestToken with a UUID; AWS rejects tokens outside 32–64 characters. */
function requestToken(input: JsonObject): string {
  const token = optionalString(input, 'ClientRequestToken') ?? randomUUID();
  if (token.length < 32 || token.length > 64) {
    throw validationError('clientRequestToken', 'Member must have length between 32 and 64');
  }
  return token;
}

function readStages(input: JsonObject): string[] | undefined {
  const stages = optionalArray(input, 'VersionStages');
  if (stages === undefined) return undefined;
  if (stages.length < 1 || stages.length > 20 || !stages.every(isNonEmptyString)) {
    throw validationError('versionStages', 'Member must have length between 1 and 20');
  }
  return stages as string[];
}

function readTags(input: JsonObject): [string, string][] {
  return (optionalArray(input, 'Tags') ?? []).map((tag) => {
    const { Key, Value } = (tag ?? {}) as JsonObject;
    if (!isNonEmptyString(Key) || typeof Value !== 'string') {
      throw validationError('tags', 'Each tag needs a Key and a Value');
    }
    return [Key, Value];
  });
}

const FILTER_FIELDS = new Map<string, (secret: Secret) => string[]>([
  ['name', (secret) => [secret.name]],
  ['description', (secret) => (secret.description === undefined ? [] : [secret.description])],
  ['tag-key', (secret) => [...secret.tags.keys()]],
  ['tag-value', (secret) => [...secret.tags.values()]],
  [
    'all',
    (secret) => [
      secret.name,
      secret.description ?? '',
      ...secret.tags.keys(),
      ...secret.tags.values(),
    ],
  ],
]);

/** Values within one filter are alternatives, each a case-sensitive prefix; filters all apply. */
function parseFilter(raw: unknown): (secret: Secret) => boolean {
  const { Key, Values } = (raw ?? {}) as JsonObject;
  const field = typeof Key === 'string' ? FILTER_FIELDS.get(Key) : undefined;
  if (!field) {
    throw new AwsError(
      'InvalidParameterException',
      `Filter key ${String(Key)} is not supported by the local Secrets Manager`,
    );
  }
  const values = Array.isArray(Values) ? Values.filter(isNonEmptyString) : [];
  return (secret) => field(secret).some((text) => values.some((value) => text.startsWith(value)));
}

function encodeNextToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodeNextToken(token: string | undefined): number {
  if (token === undefined) return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!match?.[1])
    throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
  return Number(match[1]);
}

function optionalBoolean(input: JsonObject, name: string): boolean | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw new AwsError('SerializationException', `Expected a boolean for ${name}`);
  }
  return value;
}

function batchSize(result: JsonObject): number {
  const { SecretValues, Errors } = result;
  return (
    (Array.isArray(SecretValues) ? SecretValues.length : 0) +
    (Array.isArray(Errors) ? Errors.length : 0)
  );
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}
