import type { OAuthStore } from '../../src/index.js';
import { createAuthorizationServer, type AuthorizationServer } from '../../src/server/index.js';

/**
 * Our side of the HTTP-level cycle: `oauth-vault/server` itself, configured
 * like the provider in theirs.ts for one Worker that is both authorization
 * server and resource: `/authorize` is the app's page, and the user is
 * already signed in, so it completes the request at once; `/api` is the
 * protected resource (a token without an audience is accepted, as the
 * provider's is).
 */
const servers = new WeakMap<OAuthStore, AuthorizationServer>();

export function ourServer(store: OAuthStore): AuthorizationServer {
  let server = servers.get(store);
  if (!server) {
    server = createAuthorizationServer({
      store,
      issuer: 'https://as.bench.test',
      scopes: ['read'],
      authorize: (request, authorization, _env, context) =>
        context.completeAuthorization(authorization.handle, { userId: new URL(request.url).searchParams.get('user') ?? 'user' }),
      protect: [{ path: '/api', requireAudience: false, handler: (_request, _env, auth) => Response.json({ sub: auth.userId }) }],
    });
    servers.set(store, server);
  }
  return server;
}
