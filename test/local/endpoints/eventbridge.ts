import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AwsError,
  type AwsFault,
  faultError,
  type JsonObject,
  readAwsJsonRequest,
  sendAwsError,
  sendAwsResult,
  validationError,
} from './aws-json.js';
import { LocalHttpServer } from './http.js';

/**
 * A local EventBridge for PutEvents, reached by the real `@aws-sdk/client-eventbridge` through
 * `endpoint: url` or `AWS_ENDPOINT_URL_EVENTBRIDGE=url`. It records what was published and
 * can fail whole calls or single entries, the two ways PutEvents reports trouble.
 */

/** PutEvents accepts at most this many entries per call. */
const MAX_ENTRIES = 10;

export interface LocalEventBridgeOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Fixed delay added to every call. Default 0. */
  latencyMs?: number;
}

export interface RecordedEvent {
  EventId: string;
  Source: string;
  DetailType: string;
  /** Parsed from the JSON string the entry carried. */
  Detail: unknown;
  EventBusName: string;
  Time?: Date;
  Resources: string[];
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export async function startLocalEventBridge(
  options: LocalEventBridgeOptions = {},
): Promise<LocalEventBridge> {
  const endpoint = new LocalEventBridge(options);
  await endpoint.listen(options.port);
  return endpoint;
}

export class LocalEventBridge {
  /** Fixed delay added to every call, in ms. */
  latencyMs: number;

  readonly #http = new LocalHttpServer((req, res) => this.#handle(req, res));
  #events: RecordedEvent[] = [];
  #callFaults: AwsFault[] = [];
  #entryFaults: string[] = [];
  #callCount = 0;
  #hangs = 0;

  constructor(options: LocalEventBridgeOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
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

  /** Events accepted so far, in order. Failed entries are not here. */
  get events(): readonly RecordedEvent[] {
    return this.#events;
  }

  /** PutEvents calls received, failed ones included. */
  get callCount(): number {
    return this.#callCount;
  }

  /** The next `count` PutEvents calls fail as a whole. */
  failNext(count = 1, fault: AwsFault = 'InternalException'): void {
    for (let i = 0; i < count; i++) this.#callFaults.push(fault);
  }

  /** The next `count` PutEvents calls are never answered, until the client gives up. */
  hangNext(count = 1): void {
    this.#hangs += count;
  }

  /** The next `count` entries fail inside an otherwise successful call (FailedEntryCount > 0). */
  failEntries(count = 1, errorCode = 'InternalFailure'): void {
    for (let i = 0; i < count; i++) this.#entryFaults.push(errorCode);
  }

  /** Forgets events, faults and the call count. */
  reset(): void {
    this.#events = [];
    this.#callFaults = [];
    this.#entryFaults = [];
    this.#callCount = 0;
    this.#hangs = 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#callCount++;
    try {
      const { operation, input } = await readAwsJsonRequest(req, 'AWSEvents');
      await this.#http.wait(this.latencyMs);
      const fault = this.#callFaults.shift();
      if (fault === 'DropConnection') {
        res.destroy();
        return;
      }
      if (fault) throw faultError(fault);
      if (this.#hangs > 0) {
        this.#hangs--;
        await new Promise<void>((resolve) => res.once('close', resolve));
        return;
      }
      if (operation !== 'PutEvents') {
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation} is not supported by the local EventBridge`,
        );
      }
      sendAwsResult(res, this.#putEvents(input));
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      sendAwsError(res, error);
    }
  }

  #putEvents(input: JsonObject): JsonObject {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
      throw validationError(
        'entries',
        `Member must have length less than or equal to ${MAX_ENTRIES} and greater than or equal to 1`,
      );
    }
    const results = entries.map((entry) => this.#putEntry((entry ?? {}) as JsonObject));
    return {
      FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length,
      Entries: results,
    };
  }

  #putEntry(entry: JsonObject): EntryResult {
    const injected = this.#entryFaults.shift();
    if (injected) return { ErrorCode: injected, ErrorMessage: `Injected ${injected}` };
    const { Source, DetailType, Detail, EventBusName, Time, Resources } = entry;
    if (
      typeof Source !== 'string' ||
      typeof DetailType !== 'string' ||
      typeof Detail !== 'string'
    ) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameters Source, DetailType and Detail are required.',
      };
    }
    const detail = parseDetail(Detail);
    if (detail === undefined) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    const event: RecordedEvent = {
      EventId: randomUUID(),
      Source,
      DetailType,
      Detail: detail,
      EventBusName: typeof EventBusName === 'string' ? EventBusName : 'default',
      // The SDK sends Time as epoch seconds.
      Time: typeof Time === 'number' ? new Date(Time * 1000) : undefined,
      Resources: Array.isArray(Resources) ? Resources.map(String) : [],
    };
    this.#events.push(event);
    return { EventId: event.EventId };
  }
}

/** EventBridge wants Detail to be a JSON object; anything else is MalformedDetail. */
function parseDetail(detail: string): JsonObject | undefined {
  try {
    const parsed: unknown = JSON.parse(detail);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}
