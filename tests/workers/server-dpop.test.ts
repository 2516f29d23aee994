// DPoP and JWT access tokens of oauth-vault/server inside workerd, on the
// strong Cloudflare backends: a DPoP proof replayed 50 ways concurrently is
// accepted exactly once on the Durable Object, on D1 and on KV + Durable
// Object (with a negative control that races); oauth4webapi (an independent
// client) does DPoP end to end, nonce retries included; its JWT access
// tokens verify with jose against the served JWKS; the D1 rows hold no key
// material in plaintext; revoking a JWT, or its grant, reaches the guard
// through the store's revocation list on KV + Durable Object and on D1.
import { env } from 'cloudflare:workers';
import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, exportJWK, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oauth from 'oauth4webapi';
import { describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import type { AuthorizationServer, ProtectedResourceOptions } from '../../src/server/index.js';
import { findPlaintext } from '../conformance/plaintext-scan.js';
import { switchablyRacy } from '../oauth/oauth-store-helpers.js';
import { ISSUER, handleOf, testServer } from '../server/test-app.js';
import { REDIRECT, proof, proofKey, signIn, tokenRequest } from '../server/token-flows.js';
import { createStorage, type Configuration } from './oauth-storage.js';

const MCP = `${ISSUER}/mcp`;
const PROTECT: ProtectedResourceOptions<unknown, unknown>[] = [
  { path: '/api/me', requireAudience: false, handler: (_request, _env, auth) => Response.json({ sub: auth.userId }) },
  { path: '/mcp', accessTokenFormat: 'jwt', handler: (_request, _env, auth) => Response.json({ sub: auth.userId, resource: auth.resource }) },
];

async function newServer(configuration: Configuration, racing?: { on: boolean }) {
  const storage = await createStorage(configuration, Date.now);
  const singleUse = storage.singleUseAdapter ?? storage.adapter;
  const store = new OAuthStore({
    keyring: await Keyring.fromSecret(generateSecret()),
    adapter: storage.adapter,
    ...((storage.singleUseAdapter || racing) && { singleUseAdapter: racing ? switchablyRacy(singleUse, racing) : singleUse }),
  });
  return { store, storage, server: testServer(store, { protect: PROTECT, dpop: true }) };
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

/** One proof presented 50 times at once to the guard, and another to the token endpoint: how many got through. */
async function replay50(server: AuthorizationServer, store: OAuthStore, racing = { on: false }) {
  const key = await proofKey();
  const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
  const { client: service, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], grantTypes: ['client_credentials'] });
  const signedIn = await signIn(server, client.clientId, { scope: 'notes', resource: MCP, key });
  expect(signedIn.response.status).toBe(200);
  const token = signedIn.body.access_token;
  const nonce = signedIn.nonce!;
  const guardProof = await proof(key, { htm: 'GET', htu: MCP, accessToken: token, nonce });
  const tokenProof = await proof(key, { htm: 'POST', htu: `${ISSUER}/token`, nonce });
  const fields = { grant_type: 'client_credentials', client_id: service.clientId, client_secret: clientSecret!, resource: MCP };
  racing.on = true;
  const guarded = await Promise.all(Array.from({ length: 50 }, () => server.fetch(new Request(MCP, { headers: { Authorization: `DPoP ${token}`, DPoP: guardProof } }))));
  const issued = await Promise.all(Array.from({ length: 50 }, () => tokenRequest(server, fields, tokenProof)));
  racing.on = false;
  for (const response of [...guarded, ...issued]) if (response.status !== 200) expect(await errorOf(response)).toBe('invalid_dpop_proof');
  return { guard: guarded.filter((r) => r.status === 200).length, token: issued.filter((r) => r.status === 200).length };
}

describe('oauth-vault/server in workerd: a DPoP proof replayed 50 ways concurrently', () => {
  for (const configuration of ['durable-object', 'd1', 'kv+durable-object'] as const) {
    test(`${configuration}: exactly one accepted, at the guard and at the token endpoint`, async () => {
      const { server, store } = await newServer(configuration);
      expect(await replay50(server, store)).toEqual({ guard: 1, token: 1 });
    });
  }

  test('NEGATIVE CONTROL: the Durable Object behind a racing check-then-set lets more than one through', async () => {
    const racing = { on: false };
    const { server, store } = await newServer('durable-object', racing);
    const result = await replay50(server, store, racing);
    expect(result.guard).toBeGreaterThan(1);
    expect(result.token).toBeGreaterThan(1);
  });
});

/** Plays the user on the consent page; returns the redirect back to the client. */
async function approve(server: AuthorizationServer, url: URL): Promise<URL> {
  const handle = await handleOf(await server.fetch(new Request(url)));
  const decision = await server.fetch(
    new Request(`${ISSUER}/consent`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ handle, user: 'alice' }) }),
  );
  return new URL(decision.headers.get('Location')!);
}

/** Runs an oauth4webapi call, retrying once on `use_dpop_nonce` (the DPoP handle has kept the nonce). */
async function withNonceRetry<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    return call();
  }
}

describe('oauth-vault/server in workerd with oauth4webapi: DPoP end to end, JWT access tokens', () => {
  test('D1: discovery, code + PKCE with DPoP (nonce retry), bound JWT verified with jose, protected calls, bound refresh; no key in plaintext', async () => {
    const { server, store, storage } = await newServer('d1');
    const transport = { [oauth.customFetch]: (url: string, init: RequestInit) => server.fetch(new Request(url, init)) };
    const as = await oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), { ...transport, algorithm: 'oauth2' }));
    expect(as.dpop_signing_alg_values_supported).toEqual(['ES256', 'RS256', 'PS256']);
    expect(as.jwks_uri).toBe(`${ISSUER}/.well-known/jwks.json`);
    const { client: registered } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    const client: oauth.Client = { client_id: registered.clientId, token_endpoint_auth_method: 'none' };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(client, keyPair);

    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'notes', state, resource: MCP,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    }).toString();
    const params = oauth.validateAuthResponse(as, client, await approve(server, url), state);
    const tokens = await withNonceRetry(async () =>
      oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, codeVerifier, { ...transport, DPoP, additionalParameters: { resource: MCP } })),
    );
    expect(tokens.token_type).toBe('dpop');
    // The JWT verifies from outside against the served JWKS, and names the DPoP key.
    const jwks = (await (await server.fetch(new Request(as.jwks_uri!))).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(tokens.access_token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: MCP, typ: 'at+jwt' });
    expect(payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(await exportJWK(keyPair.publicKey)) });
    expect(payload.sub).toBe('alice');

    const mcp = await withNonceRetry(() => oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL(MCP), undefined, undefined, { ...transport, DPoP }));
    expect(mcp.status).toBe(200);
    expect(await mcp.json()).toEqual({ sub: 'alice', resource: MCP });
    // The same token as a bearer token is refused.
    const bearer = await server.fetch(new Request(MCP, { headers: { Authorization: `Bearer ${tokens.access_token}` } }));
    expect(bearer.status).toBe(401);

    // The bound refresh token: with the key it works, without it it does not.
    const refreshed = await withNonceRetry(async () =>
      oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { ...transport, DPoP })),
    );
    expect(refreshed.token_type).toBe('dpop');
    expect(decodeJwt(refreshed.access_token).cnf).toEqual(payload.cnf);
    const stolen = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token!, transport);
    expect(stolen.status).toBe(400);
    expect(await errorOf(stolen)).toBe('invalid_grant');

    // Below the adapter: every D1 row of this store, searched for the signing keys' material.
    const rows = (await env.DB.prepare(`SELECT * FROM "${storage.where.d1Table}"`).all<Record<string, unknown>>()).results;
    const text = rows.map((row) => Object.values(row).map((cell) => (cell instanceof ArrayBuffer ? new TextDecoder().decode(cell) : String(cell))).join('|'));
    expect(text.some((row) => row.includes('signing-key'))).toBe(true);
    for (const marker of ['"d"', '"kty"', 'PRIVATE KEY']) expect(text.join('\n')).not.toContain(marker);
    const members = jwks.keys.flatMap((key) => [key.x!, key.y!].map((value) => value.slice(0, 40)));
    expect(findPlaintext(text, members)).toEqual([]);
  });
});

describe('oauth-vault/server in workerd: JWT access token revocation on the real backends', () => {
  for (const configuration of ['kv+durable-object', 'd1'] as const) {
    test(`${configuration}: /revoke of a JWT and of its grant reach this isolate at once and another through the store's revocation list`, async () => {
      const { server, store } = await newServer(configuration);
      // Another isolate on the same storage, re-reading the revocation list on every request.
      const other = testServer(store, { protect: PROTECT, jwtAccessTokens: { revocationCacheSeconds: 0 } });
      const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      const revoke = (token: string) =>
        server.fetch(new Request(`${ISSUER}/revoke`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_id: client.clientId }) }));
      const call = (on: AuthorizationServer, token: string) => on.fetch(new Request(MCP, { headers: { Authorization: `Bearer ${token}` } }));
      const first = (await signIn(server, client.clientId, { scope: 'notes', resource: MCP })).body;
      const second = (await signIn(server, client.clientId, { scope: 'notes', resource: MCP })).body;
      for (const on of [server, other]) for (const token of [first.access_token, second.access_token]) expect((await call(on, token)).status).toBe(200);
      expect((await revoke(first.access_token)).status).toBe(200);
      expect((await revoke(second.refresh_token!)).status).toBe(200);
      for (const on of [server, other]) for (const token of [first.access_token, second.access_token]) expect((await call(on, token)).status).toBe(401);
      const revoked = (await store.listRevocations()).map((entry) => entry.id);
      expect(revoked).toContain(decodeJwt(first.access_token).jti);
      expect(revoked).toContain(decodeJwt(second.access_token).grant_id);
    });
  }
});
