/**
 * A Lambda function URL on this machine: HTTP requests become the events a function URL sends
 * (body base64, header names in lower case) and the handler's result becomes the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { LocalHttpServer } from '../local/endpoints/http.js';

export type FunctionUrlHandler = (
  event: LambdaFunctionURLEvent,
  context: Context,
) => Promise<LambdaFunctionURLResult>;

/** The event a function URL sends for this request. */
export function functionUrlEvent(
  method: string,
  path: string,
  headers: Readonly<Record<string, string>>,
  body: Buffer,
): LambdaFunctionURLEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'local',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'local' },
      requestId: crypto.randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

/** Serves `handler` at a local URL, `timeoutMs` being the function's timeout. */
export async function serveFunctionUrl(
  handler: FunctionUrlHandler,
  timeoutMs = 10_000,
): Promise<LocalHttpServer> {
  const server = new LocalHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers = Object.fromEntries(
      Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])),
    );
    const started = Date.now();
    const result = await handler(
      functionUrlEvent(req.method ?? 'GET', url.pathname, headers, Buffer.concat(chunks)),
      {
        functionName: 'local',
        awsRequestId: crypto.randomUUID(),
        getRemainingTimeInMillis: () => Math.max(0, started + timeoutMs - Date.now()),
      } as unknown as Context,
    );
    const answer = typeof result === 'string' ? { statusCode: 200, body: result } : result;
    res.writeHead(answer.statusCode ?? 200, answer.headers as Record<string, string> | undefined);
    res.end(answer.body ?? '');
  });
  await server.listen();
  return server;
}
