import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  OversizedAnswerError,
  TransientError,
  UnexpectedResponseError,
} from '../../../lambda/shared/errors.js';
import {
  retryAfterMs,
  sendToTikTok,
  TIKTOK_RETRY,
  type TikTokAnswer,
  type TikTokRequest,
} from '../../../lambda/shared/tiktok-http.js';
import { LocalHttpServer, type RequestHandler } from '../../local/endpoints/http.js';

const WHAT = 'GET /api/test';
const SAY = {
  redirect: (status: number) => `redirect ${status} refused`,
  oversized: (maxBytes: number) => `more than ${maxBytes} bytes`,
};

let server: LocalHttpServer;
/** Every path the local host was asked for, in order. */
let asked: string[];
let handle: RequestHandler;

beforeEach(async () => {
  asked = [];
  handle = async (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0}');
  };
  server = new LocalHttpServer(async (req, res) => {
    asked.push(req.url ?? '');
    await handle(req, res);
  });
  await server.listen();
});

afterEach(async () => {
  await server.close();
});

function send(overrides: Partial<TikTokRequest> = {}): Promise<TikTokAnswer> {
  return sendToTikTok({
    fetch: globalThis.fetch,
    url: `${server.url}/start?app_secret=SECRET_IN_QUERY`,
    timeoutMs: 2_000,
    maxBytes: 1_000,
    what: WHAT,
    say: SAY,
    ...overrides,
  });
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

/** Writes `chunk` until `total` bytes are out or the client goes away; answers the bytes sent. */
async function stream(res: ServerResponse, chunk: Buffer, total: number): Promise<number> {
  let sent = 0;
  while (sent < total && !res.destroyed) {
    sent += chunk.byteLength;
    if (!res.write(chunk)) {
      await new Promise((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
  }
  if (!res.destroyed) res.end();
  return sent;
}

describe('Function: sendToTikTok', () => {
  it('answers the status, the headers and the whole text', async () => {
    handle = async (_req, res) => {
      res.writeHead(429, { 'retry-after': '3' }).end('{"code":36009002}');
    };

    const answer = await send();

    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBe('3');
    expect(answer.text).toBe('{"code":36009002}');
  });

  it('refuses a redirect without following it or quoting where it points', async () => {
    // Prepare
    handle = async (req, res) => {
      if (req.url?.startsWith('/start')) {
        res.writeHead(302, { location: `${server.url}/elsewhere?app_secret=SECRET_IN_QUERY` });
        res.end();
        return;
      }
      res.writeHead(200).end('{"code":0}');
    };

    // Act
    const error = await failureOf(send());

    // Assess
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toBe('redirect 302 refused');
    expect(asked).toEqual(['/start?app_secret=SECRET_IN_QUERY']);
  });

  it('bounds the whole exchange in time, even while the host sends a byte now and then', async () => {
    // Prepare: headers at once, then a byte every 50 ms for 3 s
    handle = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 60 && !res.destroyed; i++) {
        res.write(' ');
        await server.wait(50);
      }
      res.end('{"code":0}');
    };
    const started = Date.now();

    // Act
    const error = await failureOf(send({ timeoutMs: 300 }));

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toBe(`TikTok did not answer ${WHAT} within 300 ms`);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('reports a dropped connection as a transient network error', async () => {
    handle = async (req) => {
      req.socket.destroy();
    };

    const error = await failureOf(send());

    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toBe(`could not reach TikTok for ${WHAT} (network error)`);
  });

  it('refuses an answer whose Content-Length is over the cap without waiting for its body', async () => {
    // Prepare: a length announced over the cap, a few bytes, then nothing until the client leaves
    handle = async (_req, res) => {
      res.writeHead(200, { 'content-length': '5000' });
      res.write('{"code":0');
      await server.wait(5_000);
    };

    // Act: only the announced length can tell within the timeout
    const error = await failureOf(send({ timeoutMs: 2_000 }));

    // Assess
    expect(error).toBeInstanceOf(OversizedAnswerError);
    expect(error.message).toBe('more than 1000 bytes');
  });

  it('stops reading an endless answer at the cap and closes the connection', async () => {
    // Prepare: no length announced; up to 64 MiB, unless the client goes away first
    let sent: Promise<number> = Promise.resolve(0);
    handle = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      sent = stream(res, Buffer.alloc(16_384, 0x20), 64 * 1024 * 1024);
      await sent;
    };

    // Act
    const error = await failureOf(send({ timeoutMs: 10_000 }));

    // Assess
    expect(error).toBeInstanceOf(OversizedAnswerError);
    expect(error.message).toBe('more than 1000 bytes');
    expect(await sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('reads an answer of exactly the cap whole', async () => {
    handle = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      await stream(res, Buffer.alloc(100, 0x61), 1_000);
    };

    const answer = await send();

    expect(answer.text).toBe('a'.repeat(1_000));
  });
});

describe('Function: retryAfterMs', () => {
  it.each([
    ['7', 7_000],
    ['0', 0],
    [null, 0],
    ['soon', 0],
    ['-5', 0],
    ['Wed, 21 Oct 2026 07:28:00 GMT', 0],
  ])('reads Retry-After %j as %i ms', (header, expected) => {
    expect(retryAfterMs(header)).toBe(expected);
  });

  it('waits at most the policy cap whatever the host asks', () => {
    expect(retryAfterMs('3600')).toBe(TIKTOK_RETRY.maxRetryAfterMs);
    expect(TIKTOK_RETRY.maxRetryAfterMs).toBe(10_000);
  });

  it('takes a cap of its own', () => {
    expect(retryAfterMs('20', 30_000)).toBe(20_000);
    expect(retryAfterMs('20', 5_000)).toBe(5_000);
  });
});
