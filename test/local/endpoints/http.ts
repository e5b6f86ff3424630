import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * A node:http server bound to 127.0.0.1 that closes without leaving anything behind: open
 * keep-alive sockets are cut and pending delays are cancelled, so a test run never hangs on a
 * local endpoint.
 */
export class LocalHttpServer {
  readonly #server: Server;
  readonly #closing = new AbortController();
  #url: string | undefined;

  constructor(handler: RequestHandler) {
    this.#server = createServer((req, res) => {
      handler(req, res).catch((error: unknown) => this.#fail(res, error));
    });
  }

  /** `http://127.0.0.1:PORT` once listening. */
  get url(): string {
    if (this.#url === undefined) throw new Error('local endpoint is not listening');
    return this.#url;
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    this.#url = `http://127.0.0.1:${address.port}`;
  }

  /** Waits `ms`, or rejects as soon as the server closes so that no timer outlives it. */
  async wait(ms: number): Promise<void> {
    if (ms > 0) await sleep(ms, undefined, { signal: this.#closing.signal });
  }

  /** Safe to call twice: tests close in `afterEach` even when a test already closed. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    const closed = new Promise<void>((resolve, reject) => {
      this.#server.close((error) => (error ? reject(error) : resolve()));
    });
    this.#server.closeAllConnections();
    await closed;
  }

  #fail(res: ServerResponse, error: unknown): void {
    // A wait cut short by close() is expected; the answer has nowhere to go anyway.
    if (this.#closing.signal.aborted || res.headersSent) {
      res.destroy();
      return;
    }
    // Anything else is a bug in the local endpoint: make it loud rather than a hung request.
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`local endpoint bug: ${message}`);
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
