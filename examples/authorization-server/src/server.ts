import { createAuthorizationServer, type ClientIdMetadataDocumentOptions } from '../../../src/server/index.js';
import { me } from './api.js';
import { decide } from './consent.js';
import { devicePage } from './device.js';
import type { DemoEnv } from './env.js';
import { handleMcp } from './mcp.js';
import { consentPage, errorPage } from './pages.js';
import { buildStore } from './store.js';

/** The demo has no icon; answering "nothing here" keeps a 404 out of every page load's log. */
const noIcon = () => new Response(null, { status: 204, headers: { 'Cache-Control': 'public, max-age=86400' } });

/**
 * Tests only (CIMD_TEST_ORIGIN): documents of one https origin come from a
 * local server. The client id keeps its public https URL, so every rule
 * about it still applies; only where the bytes come from changes.
 */
const documentFetch: ClientIdMetadataDocumentOptions<DemoEnv>['fetch'] = (url, init, env) => {
  const [from, to] = (env.CIMD_TEST_ORIGIN ?? '').split('=');
  return fetch(from && to && url.startsWith(`${from}/`) ? `${to}${url.slice(from.length)}` : url, init);
};

/**
 * The demo authorization server: everything OAuth comes from
 * oauth-vault/server; what is left here is the demo's UI (the consent page
 * and its form, the device page), its configuration, and its API routes
 * (/api/me for the SPA, /mcp for MCP clients).
 */
export const server = createAuthorizationServer<DemoEnv>({
  store: buildStore,
  scopes: ['profile', 'email', 'notes'],
  authorize: (_request, authorization) => consentPage(authorization),
  errorPage: (description, status) => errorPage(description, status),
  protect: [
    // The SPA's API: its tokens carry no audience (it sends no resource).
    { path: '/api/me', requireAudience: false, handler: (_request, _env, auth) => me(auth) },
    // MCP clients send resource=<this URL>: tokens for /mcp are good for nothing else. They are
    // JWT access tokens (RFC 9068, verified here without a storage read; the JWKS is published).
    {
      path: '/mcp',
      name: 'oauth-vault demo MCP server',
      scopesSupported: ['profile', 'notes'],
      accessTokenFormat: 'jwt',
      handler: (request, env, auth) => handleMcp(request, env, auth),
    },
  ],
  fallback: async (request, env, context) => {
    const { pathname } = new URL(request.url);
    if (pathname === '/authorize' && request.method === 'POST') return decide(request, context);
    if (pathname === '/device' && (request.method === 'GET' || request.method === 'POST')) return devicePage(request, context);
    if (pathname === '/favicon.ico' && (request.method === 'GET' || request.method === 'HEAD')) return noIcon();
    // Only reads go to the static assets: handing them a request whose body
    // they leave half read would break the connection's next request.
    if (env.ASSETS && (request.method === 'GET' || request.method === 'HEAD')) return env.ASSETS.fetch(request);
    return Response.json({ error: 'not_found' }, { status: 404 });
  },
  // DPoP (RFC 9449): a client that sends proofs gets tokens bound to its key (the SPA's DPoP toggle).
  dpop: true,
  registration: { rateLimit: { max: 100, windowSeconds: 60 } },
  clientIdMetadataDocuments: { fetch: documentFetch },
  // RFC 9126: clients may push their authorization requests (required for none; a client may ask to be held to it).
  pushedAuthorizationRequests: true,
  // RFC 8628: TVs and CLIs sign in through the code the demo's /device page takes.
  deviceAuthorization: { verificationUri: '/device' },
  // RFC 7523: clients registered with jwks / jwks_uri (or metadata documents with them) authenticate with signed assertions.
  clientAssertions: { fetch: documentFetch },
  hooks: {
    // One line per endpoint outcome in the `wrangler dev` output; never a token or a user id.
    onEvent: (event) => console.log(`[oauth] ${event.endpoint} ${event.method} ${event.path} -> ${event.status} ${event.outcome}${event.clientId ? ` client=${event.clientId}` : ''} ${event.durationMs}ms`),
    onError: (error) => console.error('[oauth] unexpected error', error instanceof Error ? error.name : typeof error),
  },
});
