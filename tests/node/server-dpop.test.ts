// DPoP (RFC 9449) at oauth-vault/server's token endpoint and guard: the RFC
// errors for each wrong part of a proof, server nonces, cnf.jkt binding of
// opaque and JWT access tokens and of public clients' refresh tokens, a
// bound token refused as Bearer, and a proof replayed 50 ways concurrently
// accepted exactly once (with a negative control that lets a race through).
import { decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import type { ProtectedResourceOptions } from '../../src/server/index.js';
import { switchablyRacy } from '../oauth/oauth-store-helpers.js';
import { ISSUER, testServer, type TestServerOptions } from '../server/test-app.js';
import { REDIRECT, authorizationCode, callResource, proof, proofKey, signIn, tokenCall, tokenRequest } from '../server/token-flows.js';

const MCP = `${ISSUER}/mcp`;
const PROTECT: ProtectedResourceOptions<unknown, unknown>[] = [
  { path: '/api/me', requireAudience: false, handler: (_request, _env, auth) => Response.json({ sub: auth.userId }) },
  { path: '/mcp', accessTokenFormat: 'jwt', handler: (_request, _env, auth) => Response.json({ sub: auth.userId }) },
];

async function setup(overrides: TestServerOptions = {}, wrap?: (adapter: StorageAdapter) => StorageAdapter) {
  const clock = createTestClock();
  const adapter = memoryAdapter({ now: clock.now });
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter, ...(wrap && { singleUseAdapter: wrap(adapter) }), now: clock.now });
  const server = testServer(store, { now: clock.now, protect: PROTECT, dpop: true, ...overrides });
  const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
  const key = await proofKey();
  const iat = () => Math.floor(clock.now() / 1000);
  return { clock, store, server, client, key, iat };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

/** Signs in with DPoP for `resource`; returns the bound tokens and the server's nonce. */
async function boundSignIn(s: Setup, resource?: string) {
  const result = await signIn(s.server, s.client.clientId, { scope: 'notes', ...(resource && { resource }), key: s.key });
  expect(result.response.status).toBe(200);
  return { tokens: result.body, nonce: result.nonce! };
}

describe('oauth-vault/server: DPoP (RFC 9449)', () => {
  test('metadata advertises the proof algorithms only when DPoP is on', async () => {
    const s = await setup();
    const metadata = (await (await s.server.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;
    expect(metadata.dpop_signing_alg_values_supported).toEqual(['ES256', 'RS256', 'PS256']);
    const resource = (await (await s.server.fetch(new Request(`${ISSUER}/.well-known/oauth-protected-resource/mcp`))).json()) as Record<string, unknown>;
    expect(resource.dpop_signing_alg_values_supported).toEqual(['ES256', 'RS256', 'PS256']);
    const off = testServer(s.store, { protect: PROTECT });
    expect(((await (await off.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>).dpop_signing_alg_values_supported).toBeUndefined();
    expect(() => testServer(s.store, { dpop: { algorithms: ['HS256'] } })).toThrow(/options\.dpop\.algorithms/);
  });

  test('token endpoint: a proof without the nonce gets use_dpop_nonce and a DPoP-Nonce; with it, DPoP-bound tokens (cnf.jkt in the JWT)', async () => {
    const s = await setup();
    const { code, verifier } = await authorizationCode(s.server, s.client.clientId, { scope: 'notes', resource: MCP });
    const fields = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: s.client.clientId, resource: MCP };
    const first = await tokenRequest(s.server, fields, await proof(s.key, { htm: 'POST', htu: `${ISSUER}/token` }));
    expect(first.status).toBe(400);
    expect(await errorOf(first)).toBe('use_dpop_nonce');
    const nonce = first.headers.get('DPoP-Nonce')!;
    expect(nonce).toMatch(/^\d+\.[\w-]+\.[\w-]+$/);
    // The code was not spent by the refused request.
    const second = await tokenRequest(s.server, fields, await proof(s.key, { htm: 'POST', htu: `${ISSUER}/token`, nonce }));
    expect(second.status).toBe(200);
    expect(second.headers.get('DPoP-Nonce')).toBe(nonce);
    const body = (await second.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe('DPoP');
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: s.key.jkt });
    expect((await callResource(s.server, '/mcp', body.access_token, s.key, nonce)).status).toBe(200);
  });

  test('token endpoint: wrong htu, wrong htm, stale iat, bad typ, a private jwk, a replayed proof: 400 invalid_dpop_proof', async () => {
    const s = await setup({ dpop: { nonce: false } });
    const { client, clientSecret } = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], grantTypes: ['client_credentials'] });
    const fields = { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret!, resource: MCP };
    const htu = `${ISSUER}/token`;
    const privateJwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const bad = [
      await proof(s.key, { htm: 'POST', htu: `${ISSUER}/other` }),
      await proof(s.key, { htm: 'GET', htu }),
      await proof(s.key, { htm: 'POST', htu, iat: s.iat() - 120 }),
      await proof(s.key, { htm: 'POST', htu, iat: s.iat() + 120 }),
      await proof(s.key, { htm: 'POST', htu, typ: 'JWT' }),
      await proof(s.key, { htm: 'POST', htu, headerJwk: privateJwk }),
      'not.a.proof',
    ];
    for (const dpop of bad) {
      const response = await tokenRequest(s.server, fields, dpop);
      expect(response.status).toBe(400);
      expect(await errorOf(response)).toBe('invalid_dpop_proof');
    }
    // The query of htu is not compared (RFC 9449 §4.3).
    const good = await proof(s.key, { htm: 'POST', htu: `${htu}?x=1` });
    expect((await tokenRequest(s.server, fields, good)).status).toBe(200);
    const replay = await tokenRequest(s.server, fields, good);
    expect(replay.status).toBe(400);
    expect(await errorOf(replay)).toBe('invalid_dpop_proof');
  });

  test('guard: a bound token with a good proof passes; as Bearer, with another key, wrong htu/htm/ath, stale iat, replay, no nonce: refused with the RFC errors', async () => {
    const s = await setup();
    for (const [path, resource] of [['/mcp', MCP], ['/api/me', undefined]] as const) {
      const { tokens, nonce } = await boundSignIn(s, resource);
      const token = tokens.access_token;
      const url = `${ISSUER}${path}`;
      const call = (headers: Record<string, string>) => s.server.fetch(new Request(url, { headers }));
      const dpop = async (fields: Partial<Parameters<typeof proof>[1]> = {}, key = s.key) =>
        call({ Authorization: `DPoP ${token}`, DPoP: await proof(key, { htm: 'GET', htu: url, accessToken: token, nonce, ...fields }) });
      const expectRefused = async (response: Response, error: string) => {
        expect(response.status).toBe(401);
        expect(await errorOf(response)).toBe(error);
        return response.headers.get('WWW-Authenticate')!;
      };

      expect((await dpop()).status).toBe(200);
      // RFC 9449 §7.1: a bound token presented as a bearer token is refused.
      const bearer = await expectRefused(await call({ Authorization: `Bearer ${token}` }), 'invalid_token');
      expect(bearer).toContain('Bearer error="invalid_token"');
      expect(bearer).toContain('DPoP algs="ES256 RS256 PS256"');
      // A valid proof of another key.
      expect(await expectRefused(await dpop({}, await proofKey()), 'invalid_token')).toMatch(/^DPoP error="invalid_token"/);
      for (const wrong of [{ htu: `${ISSUER}/elsewhere` }, { htm: 'POST' }, { ath: 'A'.repeat(43) }, { accessToken: `${token}x` }, { iat: s.iat() - 61 }]) {
        expect(await expectRefused(await dpop(wrong), 'invalid_dpop_proof')).toMatch(/^DPoP error="invalid_dpop_proof".*algs="ES256 RS256 PS256"$/);
      }
      // No proof at all with the DPoP scheme.
      await expectRefused(await call({ Authorization: `DPoP ${token}` }), 'invalid_dpop_proof');
      // Two proofs.
      const two = await proof(s.key, { htm: 'GET', htu: url, accessToken: token, nonce });
      await expectRefused(await call({ Authorization: `DPoP ${token}`, DPoP: `${two}, ${two}` }), 'invalid_dpop_proof');
      // Replay of a proof that passed once.
      const once = await proof(s.key, { htm: 'GET', htu: url, accessToken: token, nonce });
      expect((await call({ Authorization: `DPoP ${token}`, DPoP: once })).status).toBe(200);
      await expectRefused(await call({ Authorization: `DPoP ${token}`, DPoP: once }), 'invalid_dpop_proof');
      // An unbound token under the DPoP scheme, even with a good proof of some key.
      const unbound = (await signIn(s.server, s.client.clientId, { scope: 'notes', ...(resource && { resource }) })).body.access_token;
      await expectRefused(await call({ Authorization: `DPoP ${unbound}`, DPoP: await proof(s.key, { htm: 'GET', htu: url, accessToken: unbound, nonce }) }), 'invalid_token');
      expect((await call({ Authorization: `Bearer ${unbound}` })).status).toBe(200);
      // Without the nonce: RFC 9449 §9, a 401 use_dpop_nonce challenge with the nonce to use.
      const noNonce = await call({ Authorization: `DPoP ${token}`, DPoP: await proof(s.key, { htm: 'GET', htu: url, accessToken: token }) });
      expect(await expectRefused(noNonce, 'use_dpop_nonce')).toMatch(/^DPoP error="use_dpop_nonce"/);
      expect(noNonce.headers.get('DPoP-Nonce')).toBe(nonce);
    }
  });

  test('nonces expire after one to two windows (default 300 s); the new one works', async () => {
    const s = await setup();
    const { tokens, nonce } = await boundSignIn(s, MCP);
    s.clock.advance(300_000);
    const stillGood = await callResource(s.server, '/mcp', tokens.access_token, s.key, nonce, { iat: s.iat() });
    expect(stillGood.status).toBe(200);
    s.clock.advance(300_000);
    const stale = await callResource(s.server, '/mcp', tokens.access_token, s.key, nonce, { iat: s.iat() });
    expect(stale.status).toBe(401);
    expect(await errorOf(stale)).toBe('use_dpop_nonce');
    const fresh = stale.headers.get('DPoP-Nonce')!;
    expect(fresh).not.toBe(nonce);
    expect((await callResource(s.server, '/mcp', tokens.access_token, s.key, fresh, { iat: s.iat() })).status).toBe(200);
    // A made-up nonce in the right shape is refused.
    const [window, kid] = fresh.split('.');
    const forged = await callResource(s.server, '/mcp', tokens.access_token, s.key, `${window}.${kid}.${'A'.repeat(86)}`, { iat: s.iat() });
    expect(await errorOf(forged)).toBe('use_dpop_nonce');
  });

  test("a public client's bound refresh token is unusable without its key", async () => {
    const s = await setup();
    const { tokens, nonce } = await boundSignIn(s, MCP);
    const fields = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: s.client.clientId };
    const withoutKey = await tokenCall(s.server, fields);
    expect(withoutKey.response.status).toBe(400);
    expect(withoutKey.body).toMatchObject({ error: 'invalid_grant' });
    const otherKey = await tokenCall(s.server, fields, await proofKey(), nonce);
    expect(otherKey.body).toMatchObject({ error: 'invalid_grant' });
    const withKey = await tokenCall(s.server, fields, s.key, nonce);
    expect(withKey.response.status).toBe(200);
    expect(withKey.body.token_type).toBe('DPoP');
    expect(decodeJwt(withKey.body.access_token).cnf).toEqual({ jkt: s.key.jkt });
  });
});

/** One proof presented 50 times at once to the guard and to the token endpoint: how many got through. */
async function replay50(s: Setup, racing = { on: false }): Promise<{ guard: number; token: number }> {
  const { tokens, nonce } = await boundSignIn(s, MCP);
  const { client, clientSecret } = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], grantTypes: ['client_credentials'] });
  racing.on = true;
  const url = `${ISSUER}/mcp`;
  const guardProof = await proof(s.key, { htm: 'GET', htu: url, accessToken: tokens.access_token, nonce });
  const guarded = await Promise.all(
    Array.from({ length: 50 }, () => s.server.fetch(new Request(url, { headers: { Authorization: `DPoP ${tokens.access_token}`, DPoP: guardProof } }))),
  );
  const fields = { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret!, resource: MCP };
  const tokenProof = await proof(s.key, { htm: 'POST', htu: `${ISSUER}/token`, nonce });
  const issued = await Promise.all(Array.from({ length: 50 }, () => tokenRequest(s.server, fields, tokenProof)));
  for (const response of [...guarded, ...issued]) if (response.status !== 200) expect(await errorOf(response)).toBe('invalid_dpop_proof');
  return { guard: guarded.filter((r) => r.status === 200).length, token: issued.filter((r) => r.status === 200).length };
}

describe('oauth-vault/server: a DPoP proof replayed 50 ways concurrently', () => {
  test('on the memory store: exactly one accepted, at the guard and at the token endpoint', async () => {
    expect(await replay50(await setup())).toEqual({ guard: 1, token: 1 });
  });

  test('NEGATIVE CONTROL: a single-use store that races (claims atomicity, checks then sets) lets more than one through', async () => {
    const racing = { on: false };
    const result = await replay50(await setup({}, (adapter) => switchablyRacy(adapter, racing)), racing);
    expect(result.guard).toBeGreaterThan(1);
    expect(result.token).toBeGreaterThan(1);
  });
});
