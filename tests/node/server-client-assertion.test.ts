// private_key_jwt client authentication (RFC 7523) through oauth-vault/server:
// registration with jwks / jwks_uri, assertions at /token, /revoke,
// /introspect, /par and /device_authorization, keys fetched from a jwks_uri
// served on 127.0.0.1 (with a refetch on a new kid), every refusal as
// invalid_client (wrong aud, expired, too long-lived, unknown key, no jti,
// iss ≠ sub, a secret client), the metadata, and one assertion replayed 50
// ways at once over real HTTP: one accepted (negative control: a storage
// that only claims atomicity lets several through).
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { InvalidRequestError, Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import type { ClientAssertionOptions } from '../../src/server/index.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { pkcePair, racyAdapterClaimingAtomicity } from '../oauth/oauth-store-helpers.js';
import { testServer, type TestServerOptions } from '../server/test-app.js';
import { serveFetch, type FetchServer } from '../support/serve-fetch.js';

const ORIGIN = 'https://as.example.test';
const KEYS_ORIGIN = 'https://keys.example.test';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const REDIRECT = 'https://client.example.test/cb';
const CONTENDERS = 50;

let running: FetchServer | undefined;
let keysServer: FetchServer | undefined;
afterEach(async () => {
  await running?.stop();
  await keysServer?.stop();
  running = undefined;
  keysServer = undefined;
});

interface KeyPair {
  privateKey: CryptoKey;
  jwk: JWK;
}
let key: KeyPair;
let otherKey: KeyPair;
async function newKey(kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}
beforeAll(async () => {
  key = await newKey('k1');
  otherKey = await newKey('k2');
});

async function setup(overrides: TestServerOptions = {}, adapters?: { inner: StorageAdapter; serving: StorageAdapter }, assertions: ClientAssertionOptions = {}) {
  let clock = Date.now();
  const now = () => clock;
  const keyring = await Keyring.fromSecret(generateSecret());
  const inner = adapters?.inner ?? memoryAdapter();
  const store = new OAuthStore({ keyring, adapter: adapters?.serving ?? inner, now });
  const keySets = new Map<string, { keys: JWK[] }>();
  const keyFetches: string[] = [];
  keysServer = await serveFetch((request) => {
    const found = keySets.get(new URL(request.url).pathname);
    return found ? Response.json(found, { headers: { 'Cache-Control': 'max-age=600' } }) : new Response('not found', { status: 404 });
  });
  // The public origin of key sets and metadata documents is served from 127.0.0.1; nothing else is reachable.
  const localFetch = (url: string, init: RequestInit) => {
    keyFetches.push(url);
    if (!url.startsWith(`${KEYS_ORIGIN}/`)) return Promise.reject(new TypeError('no network in tests'));
    return fetch(`${keysServer!.url}${url.slice(KEYS_ORIGIN.length)}`, init);
  };
  const server = testServer(store, {
    now,
    pushedAuthorizationRequests: true,
    deviceAuthorization: { verificationUri: '/device' },
    clientAssertions: { fetch: localFetch, ...assertions },
    clientIdMetadataDocuments: { fetch: localFetch },
    ...overrides,
  });
  const register = async (body: Record<string, unknown>) => {
    const response = await server.fetch(new Request(`${ORIGIN}/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const registered = await register({
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [key.jwk] },
    grant_types: ['client_credentials', 'authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
    redirect_uris: [REDIRECT],
    scope: 'profile notes',
  });
  const clientId = registered.body.client_id as string;
  const assertion = (claims: { iss?: string; sub?: string; aud?: string | string[]; exp?: number; iat?: number; jti?: string | null } = {}, signer: KeyPair = key, alg = 'ES256') => {
    const nowSeconds = Math.floor(clock / 1000);
    const jwt = new SignJWT({})
      .setProtectedHeader({ alg, kid: signer.jwk.kid! })
      .setIssuer(claims.iss ?? clientId)
      .setSubject(claims.sub ?? clientId)
      .setAudience(claims.aud ?? ORIGIN)
      .setIssuedAt(claims.iat ?? nowSeconds)
      .setExpirationTime(claims.exp ?? nowSeconds + 60);
    if (claims.jti !== null) jwt.setJti(claims.jti ?? crypto.randomUUID());
    return jwt.sign(signer.privateKey);
  };
  const post = (path: string, body: Record<string, string>) =>
    server.fetch(new Request(`${ORIGIN}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) }));
  const clientCredentials = async (jwt: string, id?: string) => {
    const response = await post('/token', { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt, ...(id !== undefined && { client_id: id }) });
    return { status: response.status, body: (await response.json()) as { access_token?: string; error?: string } };
  };
  return { server, store, registered, register, clientId, assertion, post, clientCredentials, keySets, keyFetches, advance: (ms: number) => (clock += ms), now };
}

const metadataOf = async (server: ReturnType<typeof testServer>) =>
  (await (await server.fetch(new Request(`${ORIGIN}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;

describe('oauth-vault/server: private_key_jwt client authentication (RFC 7523)', () => {
  test('the metadata offers private_key_jwt and its algorithms only when it is on', async () => {
    const on = await setup();
    const metadata = await metadataOf(on.server);
    expect(metadata.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toEqual(['ES256', 'RS256', 'PS256', 'EdDSA']);
    expect(metadata.revocation_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(metadata.introspection_endpoint_auth_methods_supported).toContain('private_key_jwt');
    const off = await setup({ clientAssertions: undefined });
    const plain = await metadataOf(off.server);
    expect(plain.token_endpoint_auth_methods_supported).not.toContain('private_key_jwt');
    expect(plain).not.toHaveProperty('token_endpoint_auth_signing_alg_values_supported');
    // Nor does registration accept it, nor /token an assertion.
    expect(off.registered.status).toBe(400);
    expect(off.registered.body.error).toBe('invalid_client_metadata');
  });

  test('registration: keys instead of a secret, echoed back; bad keys are refused naming what is wrong', async () => {
    const t = await setup();
    expect(t.registered.status).toBe(201);
    expect(t.registered.body).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.jwk] } });
    expect(t.registered.body).not.toHaveProperty('client_secret');
    const withPrivate = await t.register({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...key.jwk, d: 'secret-part' }] }, redirect_uris: [REDIRECT] });
    expect(withPrivate.status).toBe(400);
    expect(withPrivate.body.error_description).toContain('jwks.keys[0]');
    const both = await t.register({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.jwk] }, jwks_uri: `${KEYS_ORIGIN}/a`, redirect_uris: [REDIRECT] });
    expect(both.status).toBe(400);
    const none = await t.register({ token_endpoint_auth_method: 'private_key_jwt', redirect_uris: [REDIRECT] });
    expect(none.status).toBe(400);
    const httpUri = await t.register({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://keys.example.test/jwks', redirect_uris: [REDIRECT] });
    expect(httpUri.body.error_description).toContain('jwksUri');
    // The store itself: keys only for confidential clients, typed errors naming the field.
    await expect(t.store.registerClient({ type: 'public', redirectUris: [REDIRECT], jwks: { keys: [key.jwk as Record<string, unknown>] } })).rejects.toMatchObject({
      name: 'InvalidRequestError',
      field: 'jwks',
    });
    await expect(t.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], jwks: { keys: [{ kty: 'oct', k: 'x' }] } })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  test('a valid assertion authenticates at /token, /revoke, /introspect, /par and /device_authorization', async () => {
    const t = await setup();
    const tokens = await t.clientCredentials(await t.assertion(), t.clientId);
    expect(tokens.status).toBe(200);
    // Also addressed to the token endpoint's URL (RFC 7523 §3), and without client_id (the subject names the client).
    expect((await t.clientCredentials(await t.assertion({ aud: `${ORIGIN}/token` }))).status).toBe(200);
    const introspected = await t.post('/introspect', { token: tokens.body.access_token!, client_assertion_type: ASSERTION_TYPE, client_assertion: await t.assertion() });
    expect(await introspected.json()).toMatchObject({ active: true, client_id: t.clientId });
    const revoked = await t.post('/revoke', { token: tokens.body.access_token!, client_assertion_type: ASSERTION_TYPE, client_assertion: await t.assertion() });
    expect(revoked.status).toBe(200);
    const { challenge } = await pkcePair();
    const pushed = await t.post('/par', {
      response_type: 'code',
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await t.assertion({ aud: `${ORIGIN}/par` }),
    });
    expect(pushed.status).toBe(201);
    const device = await t.post('/device_authorization', { client_assertion_type: ASSERTION_TYPE, client_assertion: await t.assertion() });
    expect(device.status).toBe(200);
  });

  test('refusals are invalid_client: wrong aud, expired, too long-lived, unknown key, no jti, iss ≠ sub, another client_id, a secret alongside, a secret client', async () => {
    const t = await setup();
    const nowSeconds = Math.floor(t.now() / 1000);
    const refused = [
      await t.clientCredentials(await t.assertion({ aud: 'https://other.example.test' })),
      await t.clientCredentials(await t.assertion({ exp: nowSeconds - 120, iat: nowSeconds - 180 })),
      await t.clientCredentials(await t.assertion({ exp: nowSeconds + 3600 })),
      await t.clientCredentials(await t.assertion({}, otherKey)),
      await t.clientCredentials(await t.assertion({ jti: null })),
      await t.clientCredentials(await t.assertion({ iss: 'someone-else' })),
      await t.clientCredentials(await t.assertion(), 'another-client'),
      await t.clientCredentials('not.a.jwt'),
    ];
    expect(refused.map((answer) => [answer.status, answer.body.error])).toEqual(Array(refused.length).fill([401, 'invalid_client']));
    // An assertion whose lifetime is fine but which the clock has passed.
    const soon = await t.assertion({ exp: nowSeconds + 30 });
    t.advance(61_000);
    expect((await t.clientCredentials(soon)).body.error).toBe('invalid_client');
    // A client with a secret cannot switch to assertions, and a key client has no secret to use.
    const secretClient = await t.store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'] });
    const forSecretClient = await t.assertion({ iss: secretClient.client.clientId, sub: secretClient.client.clientId });
    expect((await t.clientCredentials(forSecretClient)).body.error).toBe('invalid_client');
    const withSecret = await t.post('/token', { grant_type: 'client_credentials', client_id: t.clientId, client_secret: 'anything' });
    expect(((await withSecret.json()) as { error: string }).error).toBe('invalid_client');
  });

  test('jwks_uri: the key set is fetched with the metadata documents\' rules, cached, and fetched again for a new kid', async () => {
    const t = await setup();
    t.keySets.set('/client/jwks.json', { keys: [key.jwk] });
    const registered = await t.register({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${KEYS_ORIGIN}/client/jwks.json`, grant_types: ['client_credentials'] });
    expect(registered.status).toBe(201);
    const id = registered.body.client_id as string;
    const sign = (signer: KeyPair) => t.assertion({ iss: id, sub: id }, signer);
    expect((await t.clientCredentials(await sign(key))).status).toBe(200);
    expect((await t.clientCredentials(await sign(key))).status).toBe(200);
    expect(t.keyFetches).toHaveLength(1);
    // The client rotates in a new key: an assertion with its kid makes the server fetch again (at most once a minute).
    t.keySets.set('/client/jwks.json', { keys: [key.jwk, otherKey.jwk] });
    t.advance(61_000);
    expect((await t.clientCredentials(await sign(otherKey))).status).toBe(200);
    expect(t.keyFetches).toHaveLength(2);
    // A jwks_uri that is not a public https URL is never fetched.
    const local = await t.store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'], jwksUri: 'https://keys.localhost/jwks.json' });
    expect((await t.clientCredentials(await t.assertion({ iss: local.client.clientId, sub: local.client.clientId }))).body.error).toBe('invalid_client');
    expect(t.keyFetches).toHaveLength(2);
  });

  test('a Client ID Metadata Document with private_key_jwt: its jwks authenticate it at /par, and the pushed request reaches the consent page', async () => {
    const t = await setup();
    const documentUrl = `${KEYS_ORIGIN}/cimd/client.json`;
    t.keySets.set('/cimd/client.json', {
      client_id: documentUrl,
      client_name: 'Keyed app',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.jwk] },
    } as unknown as { keys: JWK[] });
    const { challenge } = await pkcePair();
    const push = async (signer: KeyPair) =>
      t.post('/par', {
        client_id: documentUrl,
        response_type: 'code',
        redirect_uri: REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: await t.assertion({ iss: documentUrl, sub: documentUrl }, signer),
      });
    expect((await push(otherKey)).status).toBe(401);
    const pushed = await push(key);
    expect(pushed.status).toBe(201);
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    const page = await t.server.fetch(new Request(`${ORIGIN}/authorize?${new URLSearchParams({ client_id: documentUrl, request_uri })}`));
    expect(page.status).toBe(200);
    expect(page.headers.get('X-Client')).toBe(documentUrl);
    // Without a valid assertion the document client cannot authenticate: it is confidential now.
    const bare = await t.post('/token', { grant_type: 'authorization_code', code: 'x', client_id: documentUrl });
    expect(bare.status).toBe(401);
  });

  test(`one assertion presented ${CONTENDERS} times at once over real HTTP: exactly one is accepted (jti single use)`, async () => {
    const t = await setup();
    running = await serveFetch((request) => t.server.fetch(request));
    // Over HTTP the issuer is the origin the server is reached at.
    const jwt = await t.assertion({ aud: running.url });
    const responses = await Promise.all(
      Array.from({ length: CONTENDERS }, () =>
        fetch(`${running!.url}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }),
        }),
      ),
    );
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as { error?: string }[];
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    expect(bodies.filter((body) => body.error === 'invalid_client')).toHaveLength(CONTENDERS - 1);
    // And later, too.
    const again = await fetch(`${running.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }),
    });
    expect(again.status).toBe(401);
  });

  test(`negative control: on a storage whose compare-and-set only claims atomicity, one assertion presented ${CONTENDERS} times is accepted more than once`, async () => {
    const inner = memoryAdapter();
    const t = await setup({}, { inner, serving: racyAdapterClaimingAtomicity(inner, CONTENDERS) });
    const jwt = await t.assertion();
    const answers = await Promise.all(Array.from({ length: CONTENDERS }, () => t.clientCredentials(jwt)));
    const accepted = answers.filter((answer) => answer.status === 200).length;
    console.log(`negative control: ${accepted} of ${CONTENDERS} presentations of one assertion accepted`);
    expect(accepted).toBeGreaterThan(1);
  });
});
