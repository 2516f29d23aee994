import type { OAuthStore } from '../../src/index.js';
import { createAuthorizationServer, type AuthorizationServer } from '../../src/server/index.js';

/**
 * Our side of the HTTP-level cycle: `oauth-vault/server` itself, configured
 * like the provider in theirs.ts for one Worker that is both authorization
 * server and resource: the user is already signed in and has consented, so
 * the app approves at once (`autoApprove`: the code is issued without a
 * page or a session, as the provider's app calls its `completeAuthorization`
 * straight from its handler); `/api` is the protected resource (a token
 * without an audience is accepted, as the provider's is).
 */
const servers = new WeakMap<OAuthStore, AuthorizationServer>();

export function ourServer(store: OAuthStore): AuthorizationServer {
  let server = servers.get(store);
  if (!server) {
    server = createAuthorizationServer({
      store,
      issuer: 'https://as.bench.test',
      scopes: ['read'],
      autoApprove: (request) => ({ userId: new URL(request.url).searchParams.get('user') ?? 'user' }),
      authorize: () => new Response('the bench user is always signed in', { status: 500 }),
      protect: [{ path: '/api', requireAudience: false, handler: (_request, _env, auth) => Response.json({ sub: auth.userId }) }],
    });
    servers.set(store, server);
  }
  return server;
}
