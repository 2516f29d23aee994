import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

export interface FetchServer {
  url: string;
  stop: () => Promise<void>;
}

/** Turns a Node request into a fetch Request (body streamed, as a Worker sees it). */
function toRequest(incoming: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const hasBody = incoming.method !== 'GET' && incoming.method !== 'HEAD';
  return new Request(new URL(incoming.url ?? '/', origin), {
    method: incoming.method ?? 'GET',
    headers,
    ...(hasBody && { body: Readable.toWeb(incoming) as ReadableStream<Uint8Array>, duplex: 'half' }),
  } as RequestInit);
}

async function send(response: Response, outgoing: ServerResponse): Promise<void> {
  outgoing.statusCode = response.status;
  response.headers.forEach((value, name) => outgoing.setHeader(name, value));
  outgoing.end(Buffer.from(await response.arrayBuffer()));
}

/** Serves a fetch handler over real HTTP on a free 127.0.0.1 port (as `origin` when given, for the Host the handler sees). */
export async function serveFetch(handler: (request: Request) => Promise<Response> | Response): Promise<FetchServer> {
  let origin = '';
  const server = createServer((incoming, outgoing) => {
    Promise.resolve()
      .then(() => handler(toRequest(incoming, origin)))
      .then((response) => send(response, outgoing))
      .catch((error: unknown) => {
        outgoing.statusCode = 599;
        outgoing.end(String(error));
      });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: origin,
    stop: () =>
      new Promise((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}
