// The resource-server guard of oauth-vault/server: the exact RFC 6750 /
// RFC 9728 answers for a missing token, a wrong audience, an expired or
// revoked token and an insufficient scope, the protected-resource metadata,
// the user hook, and CORS for browser clients.
import { describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';
import { ISSUER, testServer, type TestServerOptions } from '../server/test-app.js';

const REDIRECT = 'https://client.example.test/cb';
const MCP = `${ISSUER}/mcp`;
const MCP_METADATA = `${ISSUER}/.well-known/oauth-protected-resource/mcp`;

async function setup(overrides: TestServerOptions = {}) {
  const clock = createTestClock();
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter({ now: clock.now }), now: clock.now });
  const server = testServer(store, { now: clock.now, ...overrides });
  const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
  /** Tokens for `scope` and `resources`, through the store (the guard is what is under test). */
  const tokens = async (scope: string[], resources?: string[], userId = 'alice') => {
    const { verifier, challenge } = await pkcePair();
    const { code } = await store.createAuthorizationCode({
      clientId: client.clientId,
      userId,
      redirectUri: REDIRECT,
      scope,
      codeChallenge: challenge,
      ...(resources && { resources }),
      props: { team: 'blue' },
    });
    return store.exchangeAuthorizationCode({ clientId: client.clientId, code, redirectUri: REDIRECT, codeVerifier: verifier });
  };
  const call = (path: string, authorization?: string, init: RequestInit = {}) =>
    server.fetch(new Request(`${ISSUER}${path}`, { ...init, headers: { ...(authorization !== undefined && { Authorization: authorization }), ...init.headers } }));
  return { clock, store, server, client, tokens, call };
}

describe('oauth-vault/server: the resource-server guard', () => {
  test('no token: 401 with a bare Bearer challenge naming scope and resource_metadata (RFC 6750 §3.1, RFC 9728 §5.1)', async () => {
    const s = await setup();
    for (const authorization of [undefined, 'Basic YTpi', 'Bearer']) {
      const response = await s.call('/mcp', authorization);
      expect(response.status).toBe(401);
      expect(response.headers.get('WWW-Authenticate')).toBe(`Bearer scope="notes", resource_metadata="${MCP_METADATA}"`);
      expect(await response.text()).toBe('');
    }
    // A route without required scopes names the server's scopes_supported.
    const me = await s.call('/api/me');
    expect(me.headers.get('WWW-Authenticate')).toBe(`Bearer scope="profile email notes", resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/api/me"`);
  });

  test('wrong audience, no audience where one is required, unknown, expired, revoked: 401 invalid_token', async () => {
    const s = await setup();
    const challenge = `Bearer error="invalid_token", error_description="the access token is invalid, expired or revoked", scope="notes", resource_metadata="${MCP_METADATA}"`;
    const expectInvalid = async (token: string) => {
      const response = await s.call('/mcp', `Bearer ${token}`);
      expect(response.status).toBe(401);
      expect(response.headers.get('WWW-Authenticate')).toBe(challenge);
      expect(await response.json()).toEqual({ error: 'invalid_token', error_description: 'the access token is invalid, expired or revoked' });
    };
    const good = await s.tokens(['notes'], [MCP]);
    expect((await s.call('/mcp', `Bearer ${good.accessToken}`)).status).toBe(200);

    await expectInvalid((await s.tokens(['notes'], ['https://other.example.test/mcp'])).accessToken); // another audience
    await expectInvalid((await s.tokens(['notes'])).accessToken); // no audience: MCP requires one
    await expectInvalid(`ova_${'A'.repeat(22)}.${'B'.repeat(43)}`); // well-formed, unknown
    await expectInvalid('not-a-token');

    const revoked = await s.tokens(['notes'], [MCP]);
    await s.store.revokeToken({ token: revoked.refreshToken!, clientId: s.client.clientId });
    await expectInvalid(revoked.accessToken);

    const expiring = await s.tokens(['notes'], [MCP]);
    s.clock.advance(3600 * 1000 + 1);
    await expectInvalid(expiring.accessToken);
  });

  test('a valid token without the route\'s scope: 403 insufficient_scope naming the scope (step-up)', async () => {
    const s = await setup();
    const { accessToken } = await s.tokens(['profile'], [MCP]);
    const response = await s.call('/mcp', `Bearer ${accessToken}`);
    expect(response.status).toBe(403);
    expect(response.headers.get('WWW-Authenticate')).toBe(
      `Bearer error="insufficient_scope", error_description="the access token lacks a scope this request needs", scope="notes", resource_metadata="${MCP_METADATA}"`,
    );
    expect(((await response.json()) as { error: string }).error).toBe('insufficient_scope');
  });

  test('inside a route: hasScope and insufficientScope for per-operation step-up; the route gets user, scopes, props and resource', async () => {
    const s = await setup({
      protect: [
        {
          path: '/notes',
          requireAudience: false,
          handler: (request, _env, auth) =>
            request.method === 'POST' && !auth.hasScope('notes:write')
              ? auth.insufficientScope(['notes', 'notes:write'])
              : Response.json({ user: auth.userId, scope: auth.scope, props: auth.props, resource: auth.resource, grantType: auth.grantType }),
        },
      ],
    });
    const { accessToken } = await s.tokens(['notes']);
    const read = await s.call('/notes', `Bearer ${accessToken}`);
    expect(await read.json()).toEqual({ user: 'alice', scope: ['notes'], props: { team: 'blue' }, resource: `${ISSUER}/notes`, grantType: 'authorization_code' });
    const write = await s.call('/notes', `Bearer ${accessToken}`, { method: 'POST' });
    expect(write.status).toBe(403);
    expect(write.headers.get('WWW-Authenticate')).toContain('scope="notes notes:write"');
    // Everything under the route's path is protected too.
    expect((await s.call('/notes/42')).status).toBe(401);
  });

  test('the user hook maps the subject for the route; null refuses the token (a deleted user)', async () => {
    const s = await setup();
    const server = testServer(s.store, {
      hooks: { user: async (info) => (info.userId === 'mallory' ? null : { name: info.userId.toUpperCase() }) },
      protect: [{ path: '/who', requireAudience: false, handler: (_request, _env, auth) => Response.json(auth.user) }],
    });
    const alice = await s.tokens(['profile'], undefined, 'alice');
    const mallory = await s.tokens(['profile'], undefined, 'mallory');
    const ask = (token: string) => server.fetch(new Request(`${ISSUER}/who`, { headers: { Authorization: `Bearer ${token}` } }));
    expect(await (await ask(alice.accessToken)).json()).toEqual({ name: 'ALICE' });
    expect((await ask(mallory.accessToken)).status).toBe(401);
  });

  test('protected-resource metadata (RFC 9728): path-inserted per route, the bare path for the first; CORS for browsers', async () => {
    const s = await setup();
    const mcp = await s.call('/.well-known/oauth-protected-resource/mcp');
    expect(mcp.status).toBe(200);
    expect(mcp.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(await mcp.json()).toEqual({
      resource: MCP,
      authorization_servers: [ISSUER],
      bearer_methods_supported: ['header'],
      scopes_supported: ['profile', 'email', 'notes'],
      resource_name: 'Notes',
    });
    expect(await (await s.call('/.well-known/oauth-protected-resource/api/me')).json()).toMatchObject({ resource: `${ISSUER}/api/me` });
    expect(await (await s.call('/.well-known/oauth-protected-resource')).json()).toMatchObject({ resource: `${ISSUER}/api/me` });
    expect((await s.call('/.well-known/oauth-protected-resource/nothing')).status).toBe(404);

    const preflight = await s.call('/mcp', undefined, { method: 'OPTIONS', headers: { Origin: 'https://inspector.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type, mcp-protocol-version' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Headers')).toBe('authorization, content-type, mcp-protocol-version');
    const refused = await s.call('/mcp', undefined, { headers: { Origin: 'https://inspector.example' } });
    expect(refused.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(refused.headers.get('Access-Control-Expose-Headers')).toContain('WWW-Authenticate');
  });

  test('a token for the server\'s own audience-free route is refused by an audience-bound one, and a bound token by the other route', async () => {
    const s = await setup();
    const bound = await s.tokens(['notes'], [MCP]);
    expect((await s.call('/api/me', `Bearer ${bound.accessToken}`)).status).toBe(401);
    const free = await s.tokens(['notes']);
    expect((await s.call('/api/me', `Bearer ${free.accessToken}`)).status).toBe(200);
  });
});
