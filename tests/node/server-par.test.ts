// Pushed authorization requests (RFC 9126) through oauth-vault/server: the
// metadata, /par with client authentication, /authorize taking a request_uri
// once (50 concurrent uses over real HTTP on the memory adapter, with the
// negative control on a storage that only claims atomicity), expiry, another
// client's request_uri, and servers or clients that require pushing.
import { afterEach, describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { pkcePair, racyAdapterClaimingAtomicity } from '../oauth/oauth-store-helpers.js';
import { handleOf, testServer, type TestServerOptions } from '../server/test-app.js';
import { serveFetch, type FetchServer } from '../support/serve-fetch.js';

const ORIGIN = 'https://as.example.test';
const REDIRECT = 'https://client.example.test/cb';
const CONTENDERS = 50;
let running: FetchServer | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function setup(overrides: TestServerOptions = { pushedAuthorizationRequests: true }, adapters?: { inner: StorageAdapter; serving: StorageAdapter }) {
  let clock = Date.now();
  const now = () => clock;
  const keyring = await Keyring.fromSecret(generateSecret());
  const inner = adapters?.inner ?? memoryAdapter();
  const store = new OAuthStore({ keyring, adapter: adapters?.serving ?? inner, now });
  const setupStore = new OAuthStore({ keyring, adapter: inner, now });
  const server = testServer(store, overrides);
  const confidential = await setupStore.registerClient({ type: 'confidential', redirectUris: [REDIRECT], name: 'Pusher' });
  const other = await setupStore.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
  const basic = (id: string, secret: string) => `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;
  const push = async (body: Record<string, string>, clientId = confidential.client.clientId, secret = confidential.clientSecret!) =>
    server.fetch(
      new Request(`${ORIGIN}/par`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basic(clientId, secret) },
        body: new URLSearchParams(body),
      }),
    );
  const pushed = async (extra: Record<string, string> = {}) => {
    const { verifier, challenge } = await pkcePair();
    const response = await push({ response_type: 'code', redirect_uri: REDIRECT, scope: 'profile', state: 'pushed-state', code_challenge: challenge, code_challenge_method: 'S256', ...extra });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { request_uri: string; expires_in: number };
    return { ...body, verifier };
  };
  return {
    server,
    store,
    confidential,
    other,
    basic,
    push,
    pushed,
    advance: (ms: number) => (clock += ms),
    authorizeUrl: (query: Record<string, string>) => `${ORIGIN}/authorize?${new URLSearchParams(query)}`,
  };
}

const metadataOf = async (server: ReturnType<typeof testServer>) =>
  (await (await server.fetch(new Request(`${ORIGIN}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;

describe('oauth-vault/server: pushed authorization requests (RFC 9126)', () => {
  test('the metadata names /par only when it is on, and says whether pushing is required', async () => {
    const off = await setup({});
    expect(await metadataOf(off.server)).not.toHaveProperty('pushed_authorization_request_endpoint');
    expect(await metadataOf(off.server)).not.toHaveProperty('require_pushed_authorization_requests');
    expect((await off.push({ response_type: 'code' })).status).toBe(404);
    const on = await setup();
    expect(await metadataOf(on.server)).toMatchObject({ pushed_authorization_request_endpoint: `${ORIGIN}/par`, require_pushed_authorization_requests: false });
    const required = await setup({ pushedAuthorizationRequests: { required: true, path: '/as/par' } });
    expect(await metadataOf(required.server)).toMatchObject({ pushed_authorization_request_endpoint: `${ORIGIN}/as/par`, require_pushed_authorization_requests: true });
  });

  test('push, then /authorize with request_uri: only the pushed parameters count, and the code goes to the pushed redirect URI with its state', async () => {
    const t = await setup();
    const { request_uri, expires_in, verifier } = await t.pushed();
    expect(request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(expires_in).toBe(60);
    // A scope on the URL is ignored (§4): the pushed one is shown.
    const page = await t.server.fetch(new Request(t.authorizeUrl({ client_id: t.confidential.client.clientId, request_uri, scope: 'email notes' })));
    expect(page.status).toBe(200);
    expect(page.headers.get('X-Scope')).toBe('profile');
    const handle = await handleOf(page);
    const consent = await t.server.fetch(
      new Request(`${ORIGIN}/consent`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ handle }) }),
    );
    const back = new URL(consent.headers.get('Location')!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('pushed-state');
    const token = await t.server.fetch(
      new Request(`${ORIGIN}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: t.basic(t.confidential.client.clientId, t.confidential.clientSecret!) },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier }),
      }),
    );
    expect(token.status).toBe(200);
    expect(((await token.json()) as { scope: string }).scope).toBe('profile');
  });

  test('/par authenticates the client as /token does and checks the request now', async () => {
    const t = await setup();
    const { challenge } = await pkcePair();
    const valid = { response_type: 'code', redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: 'S256' };
    const wrongSecret = await t.push(valid, t.confidential.client.clientId, 'not-the-secret');
    expect(wrongSecret.status).toBe(401);
    expect(((await wrongSecret.json()) as { error: string }).error).toBe('invalid_client');
    const answers = await Promise.all([
      t.push({ ...valid, redirect_uri: 'https://elsewhere.example.test/cb' }),
      t.push({ ...valid, code_challenge_method: 'plain' }),
      t.push({ ...valid, request_uri: 'urn:ietf:params:oauth:request_uri:x' }),
      t.push({ ...valid, scope: 'admin' }),
    ]);
    const errors = await Promise.all(answers.map(async (answer) => [answer.status, ((await answer.json()) as { error: string }).error]));
    expect(errors).toEqual([
      [400, 'invalid_request'],
      [400, 'invalid_request'],
      [400, 'invalid_request'],
      [400, 'invalid_scope'],
    ]);
    // A public client pushes with its client_id alone.
    const { client } = await t.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const publicPush = await t.server.fetch(
      new Request(`${ORIGIN}/par`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...valid, client_id: client.clientId }) }),
    );
    expect(publicPush.status).toBe(201);
  });

  test(`${CONTENDERS} concurrent uses of one request_uri over real HTTP: exactly one consent page, the rest refused`, async () => {
    const t = await setup();
    running = await serveFetch((request) => t.server.fetch(request));
    for (let round = 0; round < 3; round++) {
      const { request_uri } = await t.pushed();
      const url = `${running.url}/authorize?${new URLSearchParams({ client_id: t.confidential.client.clientId, request_uri })}`;
      const responses = await Promise.all(Array.from({ length: CONTENDERS }, () => fetch(url)));
      await Promise.all(responses.map((response) => response.arrayBuffer()));
      expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
      expect(responses.filter((response) => response.status === 400)).toHaveLength(CONTENDERS - 1);
    }
  });

  test(`negative control: on a storage whose compare-and-set only claims atomicity, ${CONTENDERS} concurrent uses of one request_uri let more than one through`, async () => {
    const inner = memoryAdapter();
    const t = await setup({ pushedAuthorizationRequests: true }, { inner, serving: racyAdapterClaimingAtomicity(inner, CONTENDERS) });
    const pushedRequest = await t.pushed();
    const url = t.authorizeUrl({ client_id: t.confidential.client.clientId, request_uri: pushedRequest.request_uri });
    const responses = await Promise.all(Array.from({ length: CONTENDERS }, () => t.server.fetch(new Request(url))));
    const accepted = responses.filter((response) => response.status === 200).length;
    console.log(`negative control: ${accepted} of ${CONTENDERS} uses of one request_uri accepted`);
    expect(accepted).toBeGreaterThan(1);
  });

  test('an expired request_uri, a used one and another client\'s are refused on a page, never redirected', async () => {
    const t = await setup({ pushedAuthorizationRequests: { lifetimeSeconds: 30 } });
    const expiring = await t.pushed();
    expect(expiring.expires_in).toBe(30);
    t.advance(31_000);
    const expired = await t.server.fetch(new Request(t.authorizeUrl({ client_id: t.confidential.client.clientId, request_uri: expiring.request_uri })));
    expect(expired.status).toBe(400);
    expect(expired.headers.get('Location')).toBeNull();
    expect(await expired.text()).toContain('request_uri');

    const stolen = await t.pushed();
    const wrongClient = await t.server.fetch(new Request(t.authorizeUrl({ client_id: t.other.client.clientId, request_uri: stolen.request_uri })));
    expect(wrongClient.status).toBe(400);
    expect(wrongClient.headers.get('Location')).toBeNull();

    const once = await t.pushed();
    const first = await t.server.fetch(new Request(t.authorizeUrl({ client_id: t.confidential.client.clientId, request_uri: once.request_uri })));
    expect(first.status).toBe(200);
    const second = await t.server.fetch(new Request(t.authorizeUrl({ client_id: t.confidential.client.clientId, request_uri: once.request_uri })));
    expect(second.status).toBe(400);
    const unknown = await t.server.fetch(new Request(t.authorizeUrl({ client_id: t.confidential.client.clientId, request_uri: 'urn:ietf:params:oauth:request_uri:nonsense' })));
    expect(unknown.status).toBe(400);
  });

  test('autoApprove applies to a pushed request too: straight back to the pushed redirect URI with a code and the pushed state', async () => {
    const seen: string[] = [];
    const t = await setup({
      pushedAuthorizationRequests: true,
      autoApprove: (_request, authorization) => {
        seen.push(`${authorization.client.clientId} ${authorization.scope.join(',')}`);
        return { userId: 'carol' };
      },
    });
    const { request_uri } = await t.pushed();
    const answer = await t.server.fetch(new Request(t.authorizeUrl({ client_id: t.confidential.client.clientId, request_uri })));
    expect(answer.status).toBe(302);
    const back = new URL(answer.headers.get('Location')!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('pushed-state');
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(seen).toEqual([`${t.confidential.client.clientId} profile`]);
  });

  test('a server that requires pushing refuses a plain /authorize (back to the client with invalid_request); pushed requests still work', async () => {
    const t = await setup({ pushedAuthorizationRequests: { required: true } });
    const { challenge } = await pkcePair();
    const plain = await t.server.fetch(
      new Request(t.authorizeUrl({ client_id: t.confidential.client.clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256', state: 's1' })),
    );
    expect(plain.status).toBe(302);
    const back = new URL(plain.headers.get('Location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('state')).toBe('s1');
    expect(back.searchParams.get('code')).toBeNull();
    const { request_uri } = await t.pushed();
    expect((await t.server.fetch(new Request(t.authorizeUrl({ client_id: t.confidential.client.clientId, request_uri })))).status).toBe(200);
  });

  test('per client: registered with require_pushed_authorization_requests (at /register, or by the app in its metadata), only that client must push', async () => {
    const t = await setup();
    const register = await t.server.fetch(
      new Request(`${ORIGIN}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', require_pushed_authorization_requests: true }),
      }),
    );
    expect(register.status).toBe(201);
    const registered = (await register.json()) as { client_id: string; require_pushed_authorization_requests: boolean };
    expect(registered.require_pushed_authorization_requests).toBe(true);
    const byApp = await t.store.registerClient({ type: 'public', redirectUris: [REDIRECT], metadata: { requirePushedAuthorizationRequests: true } });
    const free = await t.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const { challenge } = await pkcePair();
    const plain = (clientId: string) =>
      t.server.fetch(new Request(t.authorizeUrl({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' })));
    for (const clientId of [registered.client_id, byApp.client.clientId]) {
      const refused = await plain(clientId);
      expect(refused.status).toBe(302);
      expect(new URL(refused.headers.get('Location')!).searchParams.get('error')).toBe('invalid_request');
    }
    expect((await plain(free.client.clientId)).status).toBe(200);
    // Without a /par endpoint a client cannot ask for it.
    const off = await setup({});
    const refusedRegistration = await off.server.fetch(
      new Request(`${ORIGIN}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', require_pushed_authorization_requests: true }),
      }),
    );
    expect(refusedRegistration.status).toBe(400);
    expect(((await refusedRegistration.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });
});
