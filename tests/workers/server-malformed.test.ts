// Malformed requests to every endpoint of oauth-vault/server (in workerd, on
// KV + Durable Object): always the RFC error JSON with 400 or 401, never a 500.
import { describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { ISSUER, handleOf, testServer } from '../server/test-app.js';
import { createStorage } from './oauth-storage.js';

const storage = await createStorage('kv+durable-object', Date.now);
const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: storage.adapter, singleUseAdapter: storage.singleUseAdapter! });
const server = testServer(store);
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** Responses to requests that carried an Authorization header: only those may challenge (RFC 6749 §5.2). */
const sentAuthorization = new WeakSet<Response>();

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const request = new Request(`${ISSUER}${path}`, init);
  const response = await server.fetch(request);
  if (request.headers.has('Authorization')) sentAuthorization.add(response);
  return response;
}
const post = (path: string, body: string | Record<string, string>, headers: Record<string, string> = FORM) =>
  send(path, { method: 'POST', headers, body: typeof body === 'string' ? body : new URLSearchParams(body).toString() });
const basic = (id: string, secret: string) => ({ ...FORM, Authorization: `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}` });

async function expectError(response: Response, status: number, error: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('Content-Type')).toContain('application/json');
  const body = (await response.json()) as { error: string; error_description?: string };
  expect(body.error).toBe(error);
  // A Basic challenge only where the client tried Basic: a browser answers it with a password prompt.
  if (status === 401) expect(response.headers.get('WWW-Authenticate')).toBe(sentAuthorization.has(response) ? `Basic realm="${ISSUER}"` : null);
  expect(response.headers.get('Cache-Control')).toBe('no-store');
}

async function registerConfidential(): Promise<{ clientId: string; clientSecret: string }> {
  const response = await post(
    '/register',
    JSON.stringify({ redirect_uris: ['https://client.test/cb'], token_endpoint_auth_method: 'client_secret_basic' }),
    { 'Content-Type': 'application/json' },
  );
  expect(response.status).toBe(201);
  const body = (await response.json()) as { client_id: string; client_secret: string };
  return { clientId: body.client_id, clientSecret: body.client_secret };
}

describe('oauth-vault/server: malformed requests', () => {
  const oneMegabyte = `grant_type=authorization_code&code=${'a'.repeat(1024 * 1024)}`;

  test('/token', async () => {
    const { clientId, clientSecret } = await registerConfidential();
    const auth = basic(clientId, clientSecret);
    await expectError(await post('/token', JSON.stringify({ grant_type: 'refresh_token' }), { ...auth, 'Content-Type': 'application/json' }), 400, 'invalid_request');
    await expectError(await post('/token', {}, auth), 400, 'invalid_request');
    await expectError(await post('/token', { grant_type: 'authorization_code' }, auth), 400, 'invalid_request');
    await expectError(await post('/token', 'grant_type=refresh_token&grant_type=refresh_token&refresh_token=x', auth), 400, 'invalid_request');
    await expectError(await post('/token', oneMegabyte, auth), 400, 'invalid_request');
    await expectError(await post('/token', { grant_type: 'password', username: 'a', password: 'b' }, auth), 400, 'unsupported_grant_type');
    // Supported, but this client did not register for it.
    await expectError(await post('/token', { grant_type: 'client_credentials' }, auth), 400, 'unauthorized_client');
    await expectError(await post('/token', { grant_type: 'refresh_token', refresh_token: 'x' }, basic(clientId, 'wrong-secret')), 401, 'invalid_client');
    await expectError(await post('/token', { grant_type: 'refresh_token', refresh_token: 'x' }, basic('no-such-client', 'x')), 401, 'invalid_client');
    await expectError(await post('/token', { grant_type: 'refresh_token', refresh_token: 'x' }, { ...FORM, Authorization: 'Basic !!!' }), 401, 'invalid_client');
    await expectError(await post('/token', { grant_type: 'refresh_token', refresh_token: 'x' }), 401, 'invalid_client');
    await expectError(
      await post('/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: clientId, client_secret: clientSecret }, auth),
      400,
      'invalid_request',
    );
    await expectError(await post('/token', { grant_type: 'refresh_token', refresh_token: 'not-a-token' }, auth), 400, 'invalid_grant');
    await expectError(await post('/token', { grant_type: 'refresh_token', refresh_token: 'x', scope: 'admin' }, auth), 400, 'invalid_scope');
    await expectError(await post('/token', { grant_type: 'refresh_token', refresh_token: 'x', resource: 'https://elsewhere.test/api' }, auth), 400, 'invalid_target');
    await expectError(
      await post('/token', { grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: 'https://client.test/cb' }, auth),
      400,
      'invalid_grant',
    );
    expect((await send('/token')).status).toBe(405);
  });

  test('/revoke and /introspect', async () => {
    const { clientId, clientSecret } = await registerConfidential();
    const auth = basic(clientId, clientSecret);
    for (const path of ['/revoke', '/introspect']) {
      await expectError(await post(path, JSON.stringify({ token: 'x' }), { ...auth, 'Content-Type': 'application/json' }), 400, 'invalid_request');
      await expectError(await post(path, {}, auth), 400, 'invalid_request');
      await expectError(await post(path, 'token=a&token=b', auth), 400, 'invalid_request');
      await expectError(await post(path, `token=${'t'.repeat(1024 * 1024)}`, auth), 400, 'invalid_request');
      await expectError(await post(path, { token: 'x' }, basic(clientId, 'wrong')), 401, 'invalid_client');
    }
    // Introspection needs an authenticated confidential client; revocation of an unknown token is a success.
    await expectError(await post('/introspect', { token: 'x', client_id: clientId }), 401, 'invalid_client');
    expect((await post('/revoke', { token: 'unknown-token' }, auth)).status).toBe(200);
    expect(await (await post('/introspect', { token: 'unknown-token' }, auth)).json()).toEqual({ active: false });
  });

  test('/introspect answers only for the requesting client\'s own tokens', async () => {
    const owner = await registerConfidential();
    const other = await registerConfidential();
    const { code } = await store.createAuthorizationCode({ clientId: owner.clientId, userId: 'carol', redirectUri: 'https://client.test/cb' });
    const tokens = await store.exchangeAuthorizationCode({ code, clientId: owner.clientId, clientSecret: owner.clientSecret, redirectUri: 'https://client.test/cb' });
    const ask = (client: { clientId: string; clientSecret: string }) =>
      post('/introspect', { token: tokens.accessToken }, basic(client.clientId, client.clientSecret)).then((r) => r.json());
    expect(await ask(owner)).toMatchObject({ active: true, sub: 'carol', client_id: owner.clientId });
    expect(await ask(other)).toEqual({ active: false });
  });

  test('/register', async () => {
    const json = { 'Content-Type': 'application/json' };
    await expectError(await post('/register', 'redirect_uris=https://x.test/cb'), 400, 'invalid_request');
    await expectError(await post('/register', '{not json', json), 400, 'invalid_request');
    await expectError(await post('/register', '[]', json), 400, 'invalid_client_metadata');
    await expectError(await post('/register', JSON.stringify({}), json), 400, 'invalid_redirect_uri');
    await expectError(await post('/register', JSON.stringify({ redirect_uris: ['http://evil.test/cb'] }), json), 400, 'invalid_redirect_uri');
    await expectError(await post('/register', JSON.stringify({ redirect_uris: ['https://x.test/cb#frag'] }), json), 400, 'invalid_redirect_uri');
    await expectError(await post('/register', JSON.stringify({ redirect_uris: ['not a uri'] }), json), 400, 'invalid_redirect_uri');
    await expectError(await post('/register', JSON.stringify({ redirect_uris: [42] }), json), 400, 'invalid_redirect_uri');
    await expectError(
      await post('/register', JSON.stringify({ redirect_uris: ['https://x.test/cb'], token_endpoint_auth_method: 'private_key_jwt' }), json),
      400,
      'invalid_client_metadata',
    );
    await expectError(await post('/register', JSON.stringify({ redirect_uris: ['https://x.test/cb'], scope: 42 }), json), 400, 'invalid_client_metadata');
    await expectError(await post('/register', JSON.stringify({ redirect_uris: ['https://x.test/cb'], scope: 'profile admin' }), json), 400, 'invalid_client_metadata');
    await expectError(await post('/register', JSON.stringify({ redirect_uris: ['https://x.test/cb'], grant_types: ['password'] }), json), 400, 'invalid_client_metadata');
    await expectError(
      await post('/register', JSON.stringify({ redirect_uris: ['https://x.test/cb'], grant_types: ['client_credentials'], token_endpoint_auth_method: 'none' }), json),
      400,
      'invalid_client_metadata',
    );
    await expectError(await post('/register', JSON.stringify({ redirect_uris: ['https://x.test/'.padEnd(1024 * 1024, 'a')] }), json), 400, 'invalid_request');
  });

  test('protected routes: every malformed Authorization header is a 401 Bearer challenge', async () => {
    for (const authorization of [undefined, 'Bearer', 'Bearer not-a-token', 'Basic abc', `Bearer ${'a'.repeat(100_000)}`, 'Bearer a b']) {
      for (const path of ['/api/me', '/mcp']) {
        const response = await send(path, authorization ? { headers: { Authorization: authorization } } : {});
        expect(response.status, `${path} ${authorization?.slice(0, 20)}`).toBe(401);
        expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer /);
      }
    }
  });

  test('/authorize never redirects to an unverified URI and answers 400 for bad requests', async () => {
    const { clientId } = await registerConfidential();
    const cases = [
      '/authorize',
      '/authorize?client_id=unknown&redirect_uri=https://client.test/cb',
      `/authorize?client_id=${clientId}&redirect_uri=https://attacker.test/cb&response_type=code`,
      `/authorize?client_id=${clientId}&client_id=${clientId}`,
      `/authorize?client_id=${'x'.repeat(5000)}`,
      // A metadata document URL while documents are off is just an unknown client.
      '/authorize?client_id=https%3A%2F%2Fclient.test%2Fclient.json&redirect_uri=https://client.test/cb',
    ];
    for (const path of cases) {
      const response = await send(path);
      expect(response.status, path).toBe(400);
      expect(response.headers.get('Location')).toBeNull();
    }
    // Known client and redirect URI: errors go back to the client with state and iss (RFC 6749 §4.1.2.1, RFC 9207).
    const base = `/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent('https://client.test/cb')}&state=xyz`;
    const pkce = '&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256';
    for (const [query, error] of [
      ['&response_type=token', 'unsupported_response_type'],
      ['&response_type=code', 'invalid_request'],
      ['&response_type=code&code_challenge=abc&code_challenge_method=plain', 'invalid_request'],
      [`&response_type=code${pkce}&scope=admin`, 'invalid_scope'],
      [`&response_type=code${pkce}&resource=https%3A%2F%2Felsewhere.test%2F`, 'invalid_target'],
      [`&response_type=code${pkce}&resource=not-a-uri`, 'invalid_target'],
    ] as const) {
      const response = await send(base + query);
      expect(response.status, query).toBe(302);
      const location = new URL(response.headers.get('Location')!);
      expect(location.origin + location.pathname).toBe('https://client.test/cb');
      expect(location.searchParams.get('error'), query).toBe(error);
      expect(location.searchParams.get('state')).toBe('xyz');
      expect(location.searchParams.get('iss')).toBe(ISSUER);
    }
  });

  test('the app\'s consent POST: a forged, missing or used handle never redirects; a huge body is refused', async () => {
    for (const body of ['handle=forged&user=a', '', `user=${'a'.repeat(1024 * 1024)}`, 'handle=a&handle=b']) {
      const response = await post('/consent', body);
      expect(response.status).toBe(400);
      expect(response.headers.get('Location')).toBeNull();
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    }
  });

  test('a consent submitted four times at once issues one code', async () => {
    const response = await post('/register', JSON.stringify({ redirect_uris: ['https://client.test/cb'], token_endpoint_auth_method: 'none' }), {
      'Content-Type': 'application/json',
    });
    const { client_id } = (await response.json()) as { client_id: string };
    const page = await send(
      `/authorize?response_type=code&client_id=${client_id}&redirect_uri=${encodeURIComponent('https://client.test/cb')}` +
        '&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256',
    );
    const handle = await handleOf(page);
    const answers = await Promise.all(['alice', 'mallory', 'bob', 'eve'].map((user) => post('/consent', { handle, user })));
    const codes = answers.filter((answer) => answer.status === 302 && new URL(answer.headers.get('Location')!).searchParams.has('code'));
    expect(codes).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 400)).toHaveLength(3);
  });

  test('unknown paths and methods', async () => {
    expect((await send('/nope')).status).toBe(404);
    expect((await send('/register')).status).toBe(405);
    expect((await post('/.well-known/oauth-authorization-server', {})).status).toBe(405);
    // Other methods on the authorization endpoint go to the app (its consent form may post there).
    expect((await post('/authorize', {})).status).toBe(404);
  });
});
