import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './http.js';

/**
 * The AWS JSON 1.1 protocol as the JS SDK v3 speaks it: `POST /`, the operation in
 * `X-Amz-Target: <prefix>.<Operation>`, a JSON body, and errors named both in the
 * `x-amzn-ErrorType` header and in the body's `__type` (the SDK reads either).
 * Signatures are not checked: any SigV4 header is accepted.
 */

export type JsonObject = Record<string, unknown>;

/** An error answered on the wire with its AWS type name and HTTP status. */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * A forced failure. Named faults carry the status and message AWS sends: throttling is HTTP 400
 * (the SDK recognises it by name), server errors are HTTP 500. `DropConnection` destroys the
 * socket without an answer, as a network failure would.
 */
export type AwsFault =
  | 'ThrottlingException'
  | 'InternalServiceError'
  | 'InternalException'
  | 'DropConnection'
  | { type: string; status?: number; message?: string };

export function faultError(fault: Exclude<AwsFault, 'DropConnection'>): AwsError {
  switch (fault) {
    case 'ThrottlingException':
      return new AwsError('ThrottlingException', 'Rate exceeded');
    case 'InternalServiceError':
      return new AwsError('InternalServiceError', 'An error occurred on the server side.', 500);
    case 'InternalException':
      return new AwsError('InternalException', 'An internal error occurred.', 500);
    default:
      return new AwsError(fault.type, fault.message ?? `Injected ${fault.type}`, fault.status);
  }
}

/** Per-key queues of one-shot items (faults, delays), each consumed by the call it hits. */
export class OneShots<T> {
  readonly #queues = new Map<string, T[]>();

  add(key: string, count: number, item: T): void {
    const queue = this.#queues.get(key) ?? [];
    for (let i = 0; i < count; i++) queue.push(item);
    this.#queues.set(key, queue);
  }

  take(key: string): T | undefined {
    return this.#queues.get(key)?.shift();
  }

  clear(): void {
    this.#queues.clear();
  }
}

export interface AwsJsonRequest {
  operation: string;
  input: JsonObject;
}

/** Reads one request; throws the AwsError AWS would answer for a malformed one. */
export async function readAwsJsonRequest(
  req: IncomingMessage,
  targetPrefix: string,
): Promise<AwsJsonRequest> {
  const body = await readBody(req);
  const target = req.headers['x-amz-target'];
  const operation =
    req.method === 'POST' && typeof target === 'string' && target.startsWith(`${targetPrefix}.`)
      ? target.slice(targetPrefix.length + 1)
      : undefined;
  if (!operation) {
    throw new AwsError('UnknownOperationException', `Unknown operation ${String(target)}`);
  }
  let input: unknown;
  try {
    input = body === '' ? {} : JSON.parse(body);
  } catch {
    throw new AwsError(
      'SerializationException',
      'Start of structure or map found where not expected.',
    );
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AwsError(
      'SerializationException',
      'Start of structure or map found where not expected.',
    );
  }
  return { operation, input: input as JsonObject };
}

const JSON_11 = 'application/x-amz-json-1.1';

export function sendAwsResult(res: ServerResponse, result: JsonObject): void {
  res
    .writeHead(200, { 'Content-Type': JSON_11, 'x-amzn-RequestId': randomUUID() })
    .end(JSON.stringify(result));
}

export function sendAwsError(res: ServerResponse, error: AwsError): void {
  res
    .writeHead(error.status, {
      'Content-Type': JSON_11,
      'x-amzn-RequestId': randomUUID(),
      'x-amzn-ErrorType': error.type,
    })
    .end(JSON.stringify({ __type: error.type, message: error.message }));
}

/** AWS's wording for a request that fails the model's constraints. */
export function validationError(member: string, constraint: string): AwsError {
  return new AwsError(
    'ValidationException',
    `1 validation error detected: Value at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

export function requiredString(input: JsonObject, name: string): string {
  const value = optionalString(input, name);
  if (value === undefined || value === '') {
    const member = name.charAt(0).toLowerCase() + name.slice(1);
    throw validationError(member, 'Member must not be null');
  }
  return value;
}

export function optionalString(input: JsonObject, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AwsError('SerializationException', `Expected a string for ${name}`);
  }
  return value;
}

export function optionalArray(input: JsonObject, name: string): unknown[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    throw new AwsError('SerializationException', `Expected a list for ${name}`);
  }
  return value;
}

export function optionalNumber(input: JsonObject, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') {
    throw new AwsError('SerializationException', `Expected a number for ${name}`);
  }
  return value;
}
