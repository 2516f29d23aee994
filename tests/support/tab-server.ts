import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * A static server on 127.0.0.1 (port 0) for the multi-tab tests: serves the
 * bundled test page and a fake token endpoint that rotates refresh tokens and
 * counts every refresh call, so the count is shared by all tabs.
 */
export interface TabServer {
  readonly origin: string;
  /** Refresh calls received, valid or not. */
  readonly refreshCalls: number;
  /** Refresh calls that presented a refresh token that was already rotated away. */
  readonly reusedRefreshTokens: number;
  /** Resets the endpoint: `rt-0` becomes the one valid refresh token. */
  reset(): void;
  close(): Promise<void>;
}

const pageEntry = fileURLToPath(new URL('./tab-page.ts', import.meta.url));

export async function startTabServer(refreshDelayMs = 150): Promise<TabServer> {
  const bundle = await build({ entryPoints: [pageEntry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
  const script = bundle.outputFiles[0]!.text;
  const html = '<!doctype html><meta charset="utf-8"><title>tab</title><script type="module" src="/tab.js"></script>';
  const state = { calls: 0, reused: 0, valid: 'rt-0', issued: 0 };

  const server: Server = createServer((request, response) => {
    if (request.url === '/tab.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else if (request.url === '/refresh' && request.method === 'POST') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        state.calls++;
        // A real rotating server: only the current refresh token works, once.
        const valid = body === state.valid;
        if (!valid) state.reused++;
        else state.valid = `rt-${++state.issued}`;
        const n = state.issued;
        setTimeout(() => {
          if (!valid) response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
          else {
            response
              .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
              .end(JSON.stringify({ access_token: `at-${n}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${n}` }));
          }
        }, refreshDelayMs);
      });
    } else {
      response.writeHead(200, { 'content-type': 'text/html' }).end(html);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get refreshCalls() {
      return state.calls;
    },
    get reusedRefreshTokens() {
      return state.reused;
    },
    reset() {
      Object.assign(state, { calls: 0, reused: 0, valid: 'rt-0', issued: 0 });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
