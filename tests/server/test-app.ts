// A small app on oauth-vault/server for the library's tests: a consent page
// that shows the handle, a POST /consent that completes or denies, and two
// protected routes (one audience-bound, one not). Runs in Node and workerd.
import type { OAuthStore } from '../../src/index.js';
import { createAuthorizationServer, readForm, type AuthorizationServer, type AuthorizationServerOptions } from '../../src/server/index.js';

export const ISSUER = 'https://as.example.test';
export const SCOPES = ['profile', 'email', 'notes'];

export type TestServerOptions = Partial<AuthorizationServerOptions<unknown, unknown>>;

export function testServer(store: OAuthStore | (() => Promise<OAuthStore>), overrides: TestServerOptions = {}): AuthorizationServer {
  return createAuthorizationServer({
    store,
    scopes: SCOPES,
    registration: { rateLimit: false },
    authorize: (_request, authorization) =>
      new Response(`<form method="post" action="/consent"><input name="handle" value="${authorization.handle}"></form>`, {
        headers: { 'Content-Type': 'text/html', 'X-Client': authorization.client.clientId, 'X-Scope': authorization.scope.join(' '), 'X-Resources': authorization.resources.join(' ') },
      }),
    fallback: async (request, _env, context) => {
      const url = new URL(request.url);
      if (url.pathname !== '/consent' || request.method !== 'POST') return new Response('not found', { status: 404 });
      const form = await readForm(request);
      const handle = form.get('handle') ?? '';
      if (form.get('decision') === 'deny') return context.denyAuthorization(handle);
      const scope = form.get('scope');
      return context.completeAuthorization(handle, {
        userId: form.get('user') ?? 'alice',
        ...(scope !== null && { scope: scope.split(' ').filter(Boolean) }),
        props: { plan: 'pro' },
      });
    },
    protect: [
      {
        path: '/api/me',
        requireAudience: false,
        handler: (_request, _env, auth) => Response.json({ sub: auth.userId, client_id: auth.clientId, scope: auth.scope.join(' '), props: auth.props }),
      },
      {
        path: '/mcp',
        scopes: ['notes'],
        name: 'Notes',
        handler: (_request, _env, auth) => Response.json({ sub: auth.userId, resource: auth.resource, resources: auth.resources }),
      },
    ],
    ...overrides,
  });
}

/** The handle on a consent page of {@link testServer}. */
export async function handleOf(page: Response): Promise<string> {
  const match = /name="handle" value="([^"]+)"/.exec(await page.text());
  if (!match) throw new Error(`no handle on the page (status ${page.status})`);
  return match[1]!;
}
