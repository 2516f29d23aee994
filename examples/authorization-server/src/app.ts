import { finishAuthorization, startAuthorization } from './authorize.js';
import { introspect, me, register, revoke } from './endpoints.js';
import type { DemoEnv } from './env.js';
import { toOAuthError } from './errors.js';
import { OAuthHttpError, errorResponse, json, withClientChallenge } from './http.js';
import { serverMetadata } from './metadata.js';
import { getStore } from './store.js';
import { token } from './token.js';

type Handler = (request: Request, env: DemoEnv, issuer: string) => Promise<Response>;

const withStore =
  (handler: (request: Request, store: Awaited<ReturnType<typeof getStore>>, issuer: string) => Promise<Response>): Handler =>
  async (request, env, issuer) =>
    handler(request, await getStore(env), issuer);

/** The demo has no icon; answering "nothing here" keeps a 404 out of every page load's log. */
const noIcon: Handler = async () => new Response(null, { status: 204, headers: { 'Cache-Control': 'public, max-age=86400' } });

const routes: Record<string, Partial<Record<string, Handler>>> = {
  '/favicon.ico': { GET: noIcon, HEAD: noIcon },
  '/.well-known/oauth-authorization-server': { GET: async (_request, _env, issuer) => json(serverMetadata(issuer), 200, { 'Cache-Control': 'public, max-age=300', Pragma: '' }) },
  '/authorize': { GET: withStore(startAuthorization), POST: withStore(finishAuthorization) },
  '/token': { POST: withStore(token) },
  '/revoke': { POST: withStore(revoke) },
  '/introspect': { POST: withStore(introspect) },
  '/register': { POST: withStore(register) },
  '/api/me': { GET: withStore(me) },
};

/**
 * The demo authorization server. Every route answers errors in the RFC
 * shape; anything unknown falls through to the static SPA assets.
 */
export async function handleRequest(request: Request, env: DemoEnv): Promise<Response> {
  const url = new URL(request.url);
  const route = routes[url.pathname];
  if (!route) {
    // Only reads go to the static assets: handing them a request whose body
    // they leave half read would break the connection's next request.
    if (env.ASSETS && (request.method === 'GET' || request.method === 'HEAD')) return env.ASSETS.fetch(request);
    return json({ error: 'not_found' }, 404);
  }
  const handler = route[request.method];
  if (!handler) {
    return json({ error: 'invalid_request', error_description: 'method not allowed' }, 405, { Allow: Object.keys(route).join(', ') });
  }
  if (!env.VAULT_SECRET) {
    return errorResponse(new OAuthHttpError('server_error', 'VAULT_SECRET is not configured (see README)', 500));
  }
  try {
    return await handler(request, env, url.origin);
  } catch (error) {
    return errorResponse(withClientChallenge(toOAuthError(error), request));
  }
}
