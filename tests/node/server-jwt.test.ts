// JWT access tokens (RFC 9068) of oauth-vault/server: verified from outside
// the library with jose against the served JWKS; opaque tokens kept for the
// other routes; key rotation with an overlap; revocation of a token and of
// its grant honoured by the guard within the documented delay; no storage
// read per token; the JWKS advertised only when enabled; no private key
// material in plaintext at rest.
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import { describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import type { ProtectedResourceOptions } from '../../src/server/index.js';
import { dumpAdapter, findPlaintext } from '../conformance/plaintext-scan.js';
import { interceptAdapter } from '../oauth/oauth-store-helpers.js';
import { ISSUER, testServer, type TestServerOptions } from '../server/test-app.js';
import { REDIRECT, callResource, signIn, tokenCall } from '../server/token-flows.js';

const MCP = `${ISSUER}/mcp`;

/** /mcp takes JWT access tokens, /api/me opaque ones. */
const JWT_PROTECT: ProtectedResourceOptions<unknown, unknown>[] = [
  { path: '/api/me', requireAudience: false, handler: (_request, _env, auth) => Response.json({ sub: auth.userId, props: auth.props }) },
  {
    path: '/mcp',
    accessTokenFormat: 'jwt',
    scopes: ['notes'],
    handler: (_request, _env, auth) =>
      Response.json({ sub: auth.userId, client_id: auth.clientId, scope: auth.scope, resource: auth.resource, grantId: auth.grantId, grantType: auth.grantType, props: auth.props ?? null }),
  },
];

async function setup(overrides: TestServerOptions = {}, storeOptions: { accessTokenTtlSeconds?: number; signingKeyRotationSeconds?: number; signingKeyOverlapSeconds?: number } = {}) {
  const clock = createTestClock();
  let reads = 0;
  const inner = memoryAdapter({ now: clock.now });
  // Counts every read of storage, to show a JWT is validated without one.
  const adapter: StorageAdapter = interceptAdapter(inner, {
    get: (key) => ((reads += 1), inner.get(key)),
    list: (options) => ((reads += 1), inner.list(options)),
    ...(inner.batch && { batch: (operations) => ((reads += 1), inner.batch!(operations)) }),
  });
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter, now: clock.now, ...storeOptions });
  const server = testServer(store, { now: clock.now, protect: JWT_PROTECT, ...overrides });
  const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
  const jwks = async () => (await (await server.fetch(new Request(`${ISSUER}/.well-known/jwks.json`))).json()) as JSONWebKeySet;
  return { clock, store, server, inner, client, jwks, reads: () => reads };
}

describe('oauth-vault/server: JWT access tokens (RFC 9068)', () => {
  test('a token for a JWT resource is a JWT that jose verifies against the served JWKS, with the RFC 9068 claims', async () => {
    const s = await setup();
    const { response, body } = await signIn(s.server, s.client.clientId, { scope: 'notes profile', resource: MCP });
    expect(response.status).toBe(200);
    expect(body.token_type).toBe('Bearer');
    const jwksResponse = await s.server.fetch(new Request(`${ISSUER}/.well-known/jwks.json`));
    expect(jwksResponse.headers.get('Cache-Control')).toBe('public, max-age=300');
    const jwks = (await jwksResponse.json()) as JSONWebKeySet;
    // Public keys only.
    for (const key of jwks.keys) expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      audience: MCP,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date(s.clock.now()),
    });
    expect(protectedHeader.kid).toBe(jwks.keys[0]!.kid);
    expect(payload).toMatchObject({ iss: ISSUER, sub: 'alice', aud: MCP, client_id: s.client.clientId, scope: 'notes profile' });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.cnf).toBeUndefined();
    expect(Object.keys(payload)).not.toContain('props');
    // The guard takes it; auth.props is not carried in a JWT.
    const call = await callResource(s.server, '/mcp', body.access_token);
    expect(call.status).toBe(200);
    expect(await call.json()).toMatchObject({ sub: 'alice', client_id: s.client.clientId, scope: ['notes', 'profile'], resource: MCP, grantType: 'authorization_code', props: null });
    // Refreshing gives a new JWT (another jti), still verifiable.
    const refreshed = await tokenCall(s.server, { grant_type: 'refresh_token', refresh_token: body.refresh_token!, client_id: s.client.clientId });
    expect(refreshed.response.status).toBe(200);
    const again = await jwtVerify(refreshed.body.access_token, createLocalJWKSet(await s.jwks()), { issuer: ISSUER, audience: MCP, currentDate: new Date(s.clock.now()) });
    expect(again.payload.jti).not.toBe(payload.jti);
  });

  test('other resources keep opaque tokens; a JWT for /mcp is refused at /api/me and vice versa', async () => {
    const s = await setup();
    const opaque = await signIn(s.server, s.client.clientId, { scope: 'profile' });
    expect(opaque.body.access_token.split('.')).toHaveLength(2);
    expect(await (await callResource(s.server, '/api/me', opaque.body.access_token)).json()).toEqual({ sub: 'alice', props: { plan: 'pro' } });
    expect((await callResource(s.server, '/mcp', opaque.body.access_token)).status).toBe(401);
    const jwt = await signIn(s.server, s.client.clientId, { scope: 'notes', resource: MCP });
    expect((await callResource(s.server, '/api/me', jwt.body.access_token)).status).toBe(401);
  });

  test('validating a JWT reads no storage for the token (after the JWKS and revocation list are cached)', async () => {
    const s = await setup();
    const { body } = await signIn(s.server, s.client.clientId, { scope: 'notes', resource: MCP });
    expect((await callResource(s.server, '/mcp', body.access_token)).status).toBe(200);
    const before = s.reads();
    for (let i = 0; i < 5; i++) expect((await callResource(s.server, '/mcp', body.access_token)).status).toBe(200);
    expect(s.reads()).toBe(before);
    // A forged or altered token is refused, still without a read.
    const [header, payload, signature] = body.access_token.split('.');
    const forged = `${header}.${btoa(JSON.stringify({ ...JSON.parse(atob(payload!.replace(/-/g, '+').replace(/_/g, '/'))), sub: 'mallory' })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}.${signature}`;
    expect((await callResource(s.server, '/mcp', forged)).status).toBe(401);
    expect(s.reads()).toBe(before);
  });

  test('revocation: /revoke of the JWT and of its grant; this isolate refuses at once, another within revocationCacheSeconds (10 s)', async () => {
    const s = await setup();
    // A second server on the same store: another isolate, with its own caches.
    const other = testServer(s.store, { now: s.clock.now, protect: JWT_PROTECT });
    const revoke = (token: string, clientId = s.client.clientId) =>
      s.server.fetch(new Request(`${ISSUER}/revoke`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_id: clientId }) }));

    const single = await signIn(s.server, s.client.clientId, { scope: 'notes', resource: MCP });
    const sibling = await tokenCall(s.server, { grant_type: 'refresh_token', refresh_token: single.body.refresh_token!, client_id: s.client.clientId });
    expect((await callResource(other, '/mcp', single.body.access_token)).status).toBe(200);
    // Another client cannot revoke it (200, nothing changes: RFC 7009 §2.2).
    const { client: stranger } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
    expect((await revoke(single.body.access_token, stranger.clientId)).status).toBe(200);
    expect((await callResource(s.server, '/mcp', single.body.access_token)).status).toBe(200);

    expect((await revoke(single.body.access_token)).status).toBe(200);
    expect((await callResource(s.server, '/mcp', single.body.access_token)).status).toBe(401);
    // The other isolate still has its copy of the list for up to 10 s...
    s.clock.advance(9_000);
    expect((await callResource(other, '/mcp', single.body.access_token)).status).toBe(200);
    s.clock.advance(1_001);
    expect((await callResource(other, '/mcp', single.body.access_token)).status).toBe(401);
    // ...and only that token is revoked: its sibling (same grant, refreshed) still works.
    expect((await callResource(other, '/mcp', sibling.body.access_token)).status).toBe(200);

    // Revoking the refresh token revokes the grant: every JWT of it is refused.
    expect((await revoke(sibling.body.refresh_token!)).status).toBe(200);
    expect((await callResource(s.server, '/mcp', sibling.body.access_token)).status).toBe(401);
    s.clock.advance(10_001);
    expect((await callResource(other, '/mcp', sibling.body.access_token)).status).toBe(401);

    // A grant revoked through the store (an admin's revokeGrant) too.
    const third = await signIn(s.server, s.client.clientId, { scope: 'notes', resource: MCP });
    expect((await callResource(s.server, '/mcp', third.body.access_token)).status).toBe(200);
    const grantId = ((await (await callResource(s.server, '/mcp', third.body.access_token)).json()) as { grantId: string }).grantId;
    expect(await s.store.revokeGrant(grantId)).toBe(true);
    s.clock.advance(10_001);
    expect((await callResource(s.server, '/mcp', third.body.access_token)).status).toBe(401);
  });

  test('key rotation: a token from the previous key verifies during the overlap, and not once its key is gone', async () => {
    // Keys sign for 3600 s, stay published for 600 s more; tokens live 600 s.
    const s = await setup({}, { accessTokenTtlSeconds: 600, signingKeyRotationSeconds: 3600, signingKeyOverlapSeconds: 600 });
    await s.jwks(); // the first key is made (and published) now
    s.clock.advance(3_300_000); // 3300 s into the first key's life: the token lives until 3900 s
    const old = await signIn(s.server, s.client.clientId, { scope: 'notes', resource: MCP });
    const oldKid = decodeProtectedHeader(old.body.access_token).kid;
    const external = createLocalJWKSet(await s.jwks());

    s.clock.advance(400_000); // 3700 s: past the first key's signing time
    const fresh = await signIn(s.server, s.client.clientId, { scope: 'notes', resource: MCP });
    const newKid = decodeProtectedHeader(fresh.body.access_token).kid;
    expect(newKid).not.toBe(oldKid);
    const published = (await s.jwks()).keys.map((key) => key.kid);
    expect(published).toEqual(expect.arrayContaining([oldKid, newKid]));
    // Both verify, here and from outside.
    for (const token of [old.body.access_token, fresh.body.access_token]) {
      expect((await callResource(s.server, '/mcp', token)).status).toBe(200);
      await jwtVerify(token, createLocalJWKSet(await s.jwks()), { issuer: ISSUER, audience: MCP, currentDate: new Date(s.clock.now()) });
    }
    // A verifier that cached the JWKS before the rotation does not know the new key.
    await expect(jwtVerify(fresh.body.access_token, external, { currentDate: new Date(s.clock.now()) })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);

    s.clock.advance(501_000); // 4201 s: the first key's overlap (until 4200 s) is over
    expect((await s.jwks()).keys.map((key) => key.kid)).toEqual([newKid]);
    expect((await callResource(s.server, '/mcp', old.body.access_token)).status).toBe(401);
    // Refused for want of its key, not only for its age: even at a time it was valid, the JWKS no longer verifies it.
    await expect(
      jwtVerify(old.body.access_token, createLocalJWKSet(await s.jwks()), { currentDate: new Date(s.clock.now() - 600_000) }),
    ).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect((await callResource(s.server, '/mcp', fresh.body.access_token)).status).toBe(200);
  });

  test('introspection (RFC 7662) of a JWT access token: active with its claims, inactive once revoked', async () => {
    const s = await setup();
    const { client, clientSecret } = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], grantTypes: ['client_credentials'] });
    const credentials = { client_id: client.clientId, client_secret: clientSecret! };
    const issued = await tokenCall(s.server, { grant_type: 'client_credentials', resource: MCP, ...credentials });
    expect(issued.body.access_token.split('.')).toHaveLength(3);
    const introspect = async () =>
      (await (await s.server.fetch(new Request(`${ISSUER}/introspect`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: issued.body.access_token, ...credentials }) }))).json()) as Record<string, unknown>;
    expect(await introspect()).toMatchObject({ active: true, client_id: client.clientId, sub: client.clientId, aud: MCP, token_type: 'Bearer' });
    await s.server.fetch(new Request(`${ISSUER}/revoke`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: issued.body.access_token, ...credentials }) }));
    expect(await introspect()).toEqual({ active: false });
  });

  test('metadata advertises jwks_uri only when a route takes JWTs; the JWKS is served only then', async () => {
    const on = await setup();
    const metadata = (await (await on.server.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;
    expect(metadata.jwks_uri).toBe(`${ISSUER}/.well-known/jwks.json`);
    expect(metadata.dpop_signing_alg_values_supported).toBeUndefined();
    const off = testServer(on.store);
    const plain = (await (await off.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;
    expect(plain.jwks_uri).toBeUndefined();
    expect((await off.fetch(new Request(`${ISSUER}/.well-known/jwks.json`))).status).toBe(404);
    expect(() => testServer(on.store, { protect: [{ path: '/x', accessTokenFormat: 'paseto' as 'jwt', handler: () => new Response() }] })).toThrow(/options\.protect\[0\]\.accessTokenFormat/);
    expect(() => testServer(on.store, { protect: JWT_PROTECT, jwtAccessTokens: { signingAlgorithm: 'HS256' as 'ES256' } })).toThrow(/options\.jwtAccessTokens\.signingAlgorithm/);
  });

  test('RS256 signing on request; the private keys are never in plaintext at rest', async () => {
    const s = await setup({ jwtAccessTokens: { signingAlgorithm: 'RS256' } });
    const { body } = await signIn(s.server, s.client.clientId, { scope: 'notes', resource: MCP });
    expect(decodeProtectedHeader(body.access_token).alg).toBe('RS256');
    await jwtVerify(body.access_token, createLocalJWKSet(await s.jwks()), { issuer: ISSUER, audience: MCP, algorithms: ['RS256'], currentDate: new Date(s.clock.now()) });
    await s.store.signingKey('ES256');
    const dump = await dumpAdapter(s.inner);
    expect(dump.some((entry) => entry.key.includes('signing-key'))).toBe(true);
    const text = dump.map((entry) => new TextDecoder().decode(entry.value)).join('\n');
    // No JWK member of a private key, and not even the public members: the whole key record is sealed.
    for (const marker of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"', 'PRIVATE KEY', '"kty"']) expect(text).not.toContain(marker);
    const publicMembers = (await s.jwks()).keys.flatMap((key) => [key.x, key.y, key.n].filter((value): value is string => typeof value === 'string').map((value) => value.slice(0, 40)));
    expect(publicMembers.length).toBeGreaterThan(0);
    expect(findPlaintext(dump, publicMembers)).toEqual([]);
  });
});
