// The app's controls over oauth-vault/server: the registration policy
// (modes, redirect URI rules, client kinds, rate limit, unused clients), the
// hooks (veto and shape a grant, events for every outcome, unexpected
// errors), maintenance, and option checks.
import { describe, expect, test } from 'vitest';
import { InvalidRequestError, Keyring, OAuthStore, generateSecret, timingSafeEqual } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { createAuthorizationServer, type ServerEvent } from '../../src/server/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';
import { ISSUER, handleOf, testServer, type TestServerOptions } from '../server/test-app.js';

const REDIRECT = 'https://client.example.test/cb';

async function setup(overrides: TestServerOptions = {}) {
  const clock = createTestClock();
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter({ now: clock.now }), now: clock.now });
  const events: ServerEvent[] = [];
  const server = testServer(store, { now: clock.now, hooks: { onEvent: (event) => void events.push(event) }, ...overrides });
  const send = (path: string, init: RequestInit = {}) => server.fetch(new Request(`${ISSUER}${path}`, init));
  const register = (metadata: Record<string, unknown>, headers: Record<string, string> = {}) =>
    send('/register', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(metadata) });
  const form = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    send(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) });
  /** A full sign-in through the endpoints: returns the redirect back to the client. */
  const signIn = async (clientId: string, consent: Record<string, string> = {}, query: Record<string, string> = {}) => {
    const { verifier, challenge } = await pkcePair();
    const page = await send(`/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', state: 'st', ...query })}`);
    const back = await form('/consent', { handle: await handleOf(page), ...consent });
    return { location: new URL(back.headers.get('Location')!), verifier };
  };
  return { clock, store, server, events, send, register, form, signIn };
}

const expectError = async (response: Response, status: number, error: string) => {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: string }).error).toBe(error);
};

describe('oauth-vault/server: registration policy', () => {
  test('off: no endpoint, nothing advertised', async () => {
    const s = await setup({ registration: { mode: 'off' } });
    expect((await s.register({ redirect_uris: [REDIRECT] })).status).toBe(404);
    const metadata = (await (await s.send('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
    expect(metadata.registration_endpoint).toBeUndefined();
  });

  test('initial access token (RFC 7591 §3): none or a wrong one is 401 invalid_token, the right one registers', async () => {
    const s = await setup({ registration: { mode: 'initial-access-token', rateLimit: false, initialAccessToken: (token) => timingSafeEqual(token, 'let-me-in') } });
    const none = await s.register({ redirect_uris: [REDIRECT] });
    expect(none.headers.get('WWW-Authenticate')).toBe('Bearer');
    await expectError(none, 401, 'invalid_token');
    const wrong = await s.register({ redirect_uris: [REDIRECT] }, { Authorization: 'Bearer let-me-out' });
    expect(wrong.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    await expectError(wrong, 401, 'invalid_token');
    expect((await s.register({ redirect_uris: [REDIRECT] }, { Authorization: 'Bearer let-me-in' })).status).toBe(201);
    expect((await s.store.listClients()).clients).toHaveLength(1);
  });

  test('redirect URI schemes and hosts, public and confidential clients', async () => {
    const s = await setup({
      registration: { rateLimit: false, redirectUriSchemes: ['https'], redirectUriHosts: ['client.example.test', '*.apps.example.test'], confidentialClients: false },
    });
    await expectError(await s.register({ redirect_uris: ['http://127.0.0.1:8080/cb'], token_endpoint_auth_method: 'none' }), 400, 'invalid_redirect_uri');
    await expectError(await s.register({ redirect_uris: ['https://evil.example.test/cb'], token_endpoint_auth_method: 'none' }), 400, 'invalid_redirect_uri');
    await expectError(await s.register({ redirect_uris: ['https://apps.example.test.evil/cb'], token_endpoint_auth_method: 'none' }), 400, 'invalid_redirect_uri');
    await expectError(await s.register({ redirect_uris: [REDIRECT] }), 400, 'invalid_client_metadata'); // client_secret_basic by default
    expect((await s.register({ redirect_uris: [REDIRECT, 'https://a.apps.example.test/cb'], token_endpoint_auth_method: 'none' })).status).toBe(201);
    const publicOff = await setup({ registration: { rateLimit: false, publicClients: false } });
    await expectError(await publicOff.register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }), 400, 'invalid_client_metadata');
  });

  test('per-caller rate limit: 429 with Retry-After past the limit, per caller, and again after the window', async () => {
    const s = await setup({ registration: { rateLimit: { max: 3, windowSeconds: 60 } } });
    const from = (ip: string) => s.register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }, { 'CF-Connecting-IP': ip });
    for (let i = 0; i < 3; i++) expect((await from('203.0.113.7')).status).toBe(201);
    const limited = await from('203.0.113.7');
    expect(limited.headers.get('Retry-After')).toBe('60');
    await expectError(limited, 429, 'temporarily_unavailable');
    expect((await from('198.51.100.1')).status).toBe(201);
    s.clock.advance(60_000);
    expect((await from('203.0.113.7')).status).toBe(201);
  });

  test('maintenance deletes registered clients with no active grant past the lifetime, keeps the used ones and your own', async () => {
    const s = await setup({ registration: { rateLimit: false, unusedClientLifetimeSeconds: 3600 } });
    const idle = ((await (await s.register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' })).json()) as { client_id: string }).client_id;
    const used = ((await (await s.register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' })).json()) as { client_id: string }).client_id;
    const { client: own } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const { location, verifier } = await s.signIn(used);
    expect((await s.form('/token', { grant_type: 'authorization_code', code: location.searchParams.get('code')!, code_verifier: verifier, redirect_uri: REDIRECT, client_id: used })).status).toBe(200);

    expect((await s.server.maintain(undefined)).clientsDeleted).toBe(0); // too young
    s.clock.advance(3600_000 + 1);
    await s.server.scheduled({}, undefined);
    const maintenance = s.events.find((event) => event.endpoint === 'maintenance');
    expect(maintenance).toMatchObject({ outcome: 'ok', cleanup: { clientsDeleted: 1 } });
    expect(await s.store.getClient(idle)).toBeNull();
    expect(await s.store.getClient(used)).not.toBeNull();
    expect(await s.store.getClient(own.clientId)).not.toBeNull();
  });
});

describe('oauth-vault/server: hooks and events', () => {
  test('onGrant shapes an authorization (scope, props) or vetoes it (access_denied, nothing issued)', async () => {
    const s = await setup({
      hooks: {
        onGrant: (grant) => (grant.userId === 'banned' ? false : { scope: grant.scope.filter((item) => item !== 'email'), props: { shaped: grant.grantType } }),
      },
    });
    const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const denied = await s.signIn(client.clientId, { user: 'banned' }, { scope: 'profile' });
    expect(Object.fromEntries(denied.location.searchParams)).toMatchObject({ error: 'access_denied', state: 'st', iss: ISSUER });
    expect((await s.store.listGrants('banned')).grants).toEqual([]);

    const { location, verifier } = await s.signIn(client.clientId, { user: 'ok' }, { scope: 'profile email' });
    const tokens = (await (await s.form('/token', { grant_type: 'authorization_code', code: location.searchParams.get('code')!, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.clientId })).json()) as {
      access_token: string;
      scope: string;
    };
    expect(tokens.scope).toBe('profile');
    expect(await (await s.send('/api/me', { headers: { Authorization: `Bearer ${tokens.access_token}` } })).json()).toMatchObject({ props: { shaped: 'authorization_code' } });
  });

  test('onGrant for client credentials: veto is unauthorized_client, a narrower scope is issued', async () => {
    const s = await setup({ hooks: { onGrant: (grant) => (grant.client.name === 'blocked' ? false : { scope: ['notes'] }) } });
    const make = (name: string) => s.store.registerClient({ type: 'confidential', name, grantTypes: ['client_credentials'], scope: ['notes', 'profile'] });
    const ok = await make('worker');
    const answer = await s.form('/token', { grant_type: 'client_credentials', scope: 'notes profile', client_id: ok.client.clientId, client_secret: ok.clientSecret! });
    expect(((await answer.json()) as { scope: string }).scope).toBe('notes');
    const blocked = await make('blocked');
    await expectError(await s.form('/token', { grant_type: 'client_credentials', client_id: blocked.client.clientId, client_secret: blocked.clientSecret! }), 400, 'unauthorized_client');
  });

  test('the app\'s decision is checked before the session is used: a scope beyond the request is refused and the handle still works', async () => {
    const s = await setup();
    const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const { challenge } = await pkcePair();
    const page = await s.send(`/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', scope: 'profile' })}`);
    const handle = await handleOf(page);
    const context = s.server.context(new Request(`${ISSUER}/consent`), undefined);
    await expect(context.completeAuthorization(handle, { userId: 'u', scope: ['profile', 'email'] })).rejects.toMatchObject({ field: 'scope' });
    await expect(context.completeAuthorization(handle, { userId: 'u', props: 'x'.repeat(20_000) })).rejects.toMatchObject({ field: 'props' });
    expect(await context.getAuthorization(handle)).toMatchObject({ handle, scope: ['profile'], client: { clientId: client.clientId, metadataDocument: false } });
    const done = await context.completeAuthorization(handle, { userId: 'u' });
    expect(new URL(done.headers.get('Location')!).searchParams.get('code')).toMatch(/^ovc_/);
    await expect(context.completeAuthorization(handle, { userId: 'u' })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(context.denyAuthorization(handle)).rejects.toMatchObject({ field: 'handle' });
    expect(await context.getAuthorization(handle)).toBeNull();
  });

  test('every endpoint outcome is an event; no event holds a token, code or secret', async () => {
    const s = await setup();
    const registered = (await (await s.register({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_post' })).json()) as { client_id: string; client_secret: string };
    const { location, verifier } = await s.signIn(registered.client_id);
    const code = location.searchParams.get('code')!;
    const tokens = (await (await s.form('/token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: registered.client_id, client_secret: registered.client_secret })).json()) as {
      access_token: string;
      refresh_token: string;
    };
    await s.send('/api/me', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    await s.send('/mcp');
    await s.form('/introspect', { token: tokens.access_token, client_id: registered.client_id, client_secret: registered.client_secret });
    await s.form('/revoke', { token: tokens.refresh_token, client_id: registered.client_id, client_secret: registered.client_secret });
    await s.form('/token', { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: registered.client_id, client_secret: registered.client_secret });
    await s.send('/.well-known/oauth-authorization-server');
    const summary = s.events.map((event) => `${event.endpoint} ${event.outcome} ${event.status}`);
    expect(summary).toEqual([
      'register ok 201',
      'authorize ok 200',
      'authorization ok 302',
      'token ok 200',
      'resource ok 200',
      'resource no_token 401',
      'introspect ok 200',
      'revoke ok 200',
      'token invalid_grant 400',
      'metadata ok 200',
    ]);
    expect(s.events.find((event) => event.endpoint === 'token')).toMatchObject({ clientId: registered.client_id, grantType: 'authorization_code', method: 'POST', path: '/token' });
    const text = JSON.stringify(s.events);
    for (const secret of [tokens.access_token, tokens.refresh_token, code, registered.client_secret, verifier]) expect(text).not.toContain(secret);
  });

  test('an unexpected error is a 500 server_error without details, reported to onError; a broken store build is retried', async () => {
    const errors: unknown[] = [];
    let builds = 0;
    const server = createAuthorizationServer({
      store: async () => {
        builds++;
        throw new Error('secret detail: VAULT_SECRET=abc');
      },
      authorize: () => new Response('never'),
      hooks: { onError: (error) => void errors.push(error) },
    });
    for (let i = 0; i < 2; i++) {
      const response = await server.fetch(new Request(`${ISSUER}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=x&client_id=c' }));
      expect(response.status).toBe(500);
      const body = await response.text();
      expect(body).toContain('server_error');
      expect(body).not.toContain('secret detail');
    }
    expect(builds).toBe(2);
    expect(errors).toHaveLength(2);
    // Metadata needs no store.
    expect((await server.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).status).toBe(200);
  });
});

describe('oauth-vault/server: autoApprove (no page, no session)', () => {
  const authorizeQuery = async (clientId: string, query: Record<string, string> = {}) => {
    const { verifier, challenge } = await pkcePair();
    return { verifier, query: new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256', state: 'st', ...query }) };
  };

  test('a decision issues the code at once: back to the client with code, state and iss; the code redeems for the decided user and scope', async () => {
    const seen: unknown[] = [];
    const s = await setup({
      autoApprove: (_request, authorization) => {
        seen.push(authorization);
        return { userId: 'returning-user', scope: ['profile'], props: { fast: true } };
      },
      authorize: () => {
        throw new Error('the page must not be shown');
      },
    });
    const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT], name: 'App' });
    const { verifier, query } = await authorizeQuery(client.clientId, { scope: 'profile email', resource: 'https://as.example.test/mcp' });
    const back = await s.send(`/authorize?${query}`);
    expect(back.status).toBe(302);
    const location = new URL(back.headers.get('Location')!);
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ state: 'st', iss: ISSUER, code: expect.stringMatching(/^ovc_/) });
    expect(seen).toEqual([
      { client: { clientId: client.clientId, name: 'App', type: 'public', metadataDocument: false }, redirectUri: REDIRECT, scope: ['profile', 'email'], resources: ['https://as.example.test/mcp'] },
    ]);
    const tokens = (await (await s.form('/token', { grant_type: 'authorization_code', code: location.searchParams.get('code')!, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.clientId })).json()) as { access_token: string; scope: string };
    expect(tokens.scope).toBe('profile');
    expect(await s.store.validateAccessToken(tokens.access_token)).toMatchObject({ userId: 'returning-user', scope: ['profile'], props: { fast: true } });
    expect(s.events.find((event) => event.endpoint === 'authorize')).toMatchObject({ outcome: 'ok', status: 302, clientId: client.clientId });
  });

  test('null goes on to the page and its single-use session', async () => {
    const s = await setup({ autoApprove: () => null });
    const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const { location } = await s.signIn(client.clientId);
    expect(location.searchParams.get('code')).toMatch(/^ovc_/);
  });

  test('onGrant still decides: a veto goes back as access_denied and nothing is issued', async () => {
    const s = await setup({ autoApprove: () => ({ userId: 'banned' }), hooks: { onGrant: (grant) => (grant.userId === 'banned' ? false : undefined) } });
    const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const { query } = await authorizeQuery(client.clientId);
    const location = new URL((await s.send(`/authorize?${query}`)).headers.get('Location')!);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: 'access_denied', state: 'st', iss: ISSUER });
    expect((await s.store.listGrants('banned')).grants).toEqual([]);
  });

  test('a decision beyond the request is refused with the field named and no code issued', async () => {
    const s = await setup({ autoApprove: () => ({ userId: 'u', scope: ['profile', 'notes'] }) });
    const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const { query } = await authorizeQuery(client.clientId, { scope: 'profile' });
    const answer = await s.send(`/authorize?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('Location')).toBeNull();
    expect(await answer.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('scope') });
    expect((await s.store.listGrants('u')).grants).toEqual([]);
  });

  test('the option must be a function', async () => {
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter() });
    expect(() => createAuthorizationServer({ store, authorize: () => new Response(), autoApprove: 'yes' as never })).toThrow(expect.objectContaining({ field: 'options.autoApprove' }));
  });
});

describe('oauth-vault/server: options', () => {
  test('bad options are refused at construction, naming the option', async () => {
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter() });
    const authorize = () => new Response('');
    for (const [options, field] of [
      [{ authorize }, 'options.store'],
      [{ store }, 'options.authorize'],
      [{ store, authorize, issuer: 'not a url' }, 'options.issuer'],
      [{ store, authorize, issuer: 'https://as.example/?q=1' }, 'options.issuer'],
      [{ store, authorize, paths: { token: 'token' } }, 'options.paths.token'],
      [{ store, authorize, paths: { token: '/authorize' } }, 'options.paths'],
      [{ store, authorize, protect: [{ path: '/token', handler: authorize }] }, 'options.protect'],
      [{ store, authorize, protect: [{ path: '/', handler: authorize }] }, 'options.protect[0].path'],
      [{ store, authorize, registration: { mode: 'closed' } }, 'options.registration.mode'],
      [{ store, authorize, registration: { mode: 'initial-access-token' } }, 'options.registration.initialAccessToken'],
      [{ store, authorize, scopes: ['a b'] }, 'options.scopes'],
      [{ store, authorize, clientIdMetadataDocuments: { maxBytes: 10 } }, 'options.clientIdMetadataDocuments.maxBytes'],
    ] as const) {
      expect(() => createAuthorizationServer(options as never), field).toThrow(expect.objectContaining({ field }));
    }
  });

  test('an issuer with a path: metadata at the path-inserted well-known URL (RFC 8414 §3.1), endpoints on its origin; the OpenID path when asked', async () => {
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter() });
    const server = testServer(store, { issuer: 'https://as.example.test/tenant-1', openidConfiguration: true, paths: { token: '/tenant-1/token' } });
    const metadata = (await (await server.fetch(new Request('https://as.example.test/.well-known/oauth-authorization-server/tenant-1'))).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ issuer: 'https://as.example.test/tenant-1', token_endpoint: 'https://as.example.test/tenant-1/token' });
    expect((await server.fetch(new Request('https://as.example.test/.well-known/openid-configuration/tenant-1'))).status).toBe(200);
    expect((await server.fetch(new Request('https://as.example.test/tenant-1/.well-known/openid-configuration'))).status).toBe(200);
    expect((await server.fetch(new Request('https://as.example.test/.well-known/oauth-authorization-server'))).status).toBe(404);
  });
});
