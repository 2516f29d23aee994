// Mutation-testing kills for the grants of src/oauth/grants (mutation/REPORT.md): what the authorization
// code, refresh, client credentials and device grants promise at their edges (audit trail, expiry,
// retries, key rotation, resources), beyond the shared OAuthStore suite.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { ConflictError, InvalidGrantError, InvalidTargetError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import type { OAuthStorePolicy } from '../../src/oauth/types.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';
import { oauthSetup, REDIRECT } from '../oauth/mutation-setup.js';

const API_A = 'https://api.example/a';
const API_B = 'https://api.example/b';

const auditOf = async (store: OAuthStore, params: Parameters<OAuthStore['queryAudit']>[0] = {}) => (await store.queryAudit({ limit: 100, ...params })).events;

/** Entries of one adapter under a prefix, with their physical expiry. */
async function entries(adapter: StorageAdapter, prefix: string) {
  const { keys } = await adapter.list({ prefix, limit: 1000 });
  return Promise.all(keys.map(async (key) => ({ key, expiresAt: (await adapter.get(key))?.expiresAt })));
}

/** An adapter whose batches that create `grant-live/` (a redemption) or delete `refresh/` (a rotation) fail without saying which condition. */
function undecided(adapter: StorageAdapter, counter: { batches: number }): StorageAdapter {
  return {
    ...adapter,
    batch: async (operations) => {
      if (operations.some((operation) => (operation.type === 'put' && operation.key.startsWith('grant-live/') && operation.condition) || (operation.type === 'delete' && operation.key.startsWith('refresh/')))) {
        counter.batches++;
        return { ok: false, entries: [] };
      }
      return adapter.batch!(operations);
    },
  };
}

describe('authorization code: edges', () => {
  test('createAuthorizationCode: bad params are named; the code_issued event counts the scope; ttlSeconds sets the redemption window', async () => {
    const s = await oauthSetup();
    await expect(s.store.createAuthorizationCode(undefined as never)).rejects.toMatchObject({ field: 'params' });
    await expect(s.store.createAuthorizationCode({ clientId: s.creds.clientId, userId: 'u', redirectUri: REDIRECT, extra: 1 } as never)).rejects.toMatchObject({ field: 'params.extra' });
    const { challenge, verifier } = await pkcePair();
    const now = s.clock.now();
    const issued = await s.store.createAuthorizationCode({ clientId: s.creds.clientId, userId: 'u', redirectUri: REDIRECT, scope: ['read', 'write'], codeChallenge: challenge, ttlSeconds: 5 });
    expect(issued.expiresAt).toBe(now + 5000);
    const [event] = await auditOf(s.store, { type: 'code_issued' });
    expect(event).toMatchObject({ grantId: issued.grantId, details: { scope: 2 } });
    s.clock.advance(5000);
    await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code: issued.code, redirectUri: REDIRECT, codeVerifier: verifier })).rejects.toBeInstanceOf(InvalidGrantError);
    // The default window is the policy's.
    const later = await s.issueCode();
    expect(later.expiresAt).toBe(s.clock.now() + 60_000);
  });

  test('a code binding lives exactly as long as its grant (so a late replay is still recognized)', async () => {
    const s = await oauthSetup({ grantLifetimeSeconds: 7200 });
    const { grantId } = await s.issueCode();
    const bindings = await entries(s.adapter, `code/${grantId}/`);
    expect(bindings).toHaveLength(1);
    expect(bindings[0]!.expiresAt).toBe(s.clock.now() + 7_200_000);
  });

  test('a malformed code is invalid_grant; an omitted redirect_uri is named when the request had one, for the right client only', async () => {
    const s = await oauthSetup();
    await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code: 'ovc_nothing.here', redirectUri: REDIRECT })).rejects.toBeInstanceOf(InvalidGrantError);
    const { code, verifier } = await s.issueCode();
    const error = await s.store.exchangeAuthorizationCode({ ...s.creds, code, codeVerifier: verifier }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ field: 'redirectUri', message: expect.stringContaining('required') });
    const other = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    await expect(s.store.exchangeAuthorizationCode({ clientId: other.client.clientId, clientSecret: other.clientSecret!, code, codeVerifier: verifier })).rejects.toBeInstanceOf(InvalidGrantError);
    // Nothing was burnt.
    expect(await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier })).toMatchObject({ tokenType: 'Bearer' });
    await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier, resources: 'x' as never })).rejects.toMatchObject({ field: 'resources' });
  });

  test('narrowing resources at the exchange: a subset is granted, anything else is invalid_target, another client\'s code invalid_grant; nothing burnt', async () => {
    const s = await oauthSetup({ resources: [API_A, API_B] });
    const { code, verifier } = await s.issueCode({ resources: [API_A, API_B] });
    const exchange = (resources: string[], creds = s.creds) => s.store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier, resources });
    const other = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    await expect(exchange([API_A], { clientId: other.client.clientId, clientSecret: other.clientSecret! })).rejects.toBeInstanceOf(InvalidGrantError);
    const refused = await exchange(['https://api.example/c']).catch((thrown: unknown) => thrown);
    expect(refused).toBeInstanceOf(InvalidTargetError);
    expect((refused as Error).message).toContain('not part of the grant');
    const tokens = await exchange([API_B]);
    expect(tokens.resources).toEqual([API_B]);
    expect(await s.store.validateAccessToken(tokens.accessToken, { resource: API_B })).not.toBeNull();
    expect(await s.store.validateAccessToken(tokens.accessToken, { resource: API_A })).toBeNull();
    // A code without resources cannot be narrowed to any.
    const plain = await s.issueCode();
    await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code: plain.code, redirectUri: REDIRECT, codeVerifier: plain.verifier, resources: [API_A] })).rejects.toBeInstanceOf(InvalidTargetError);
  });

  test('a client without refresh_token: no refresh token, and the trail says code_used + access_token_issued only', async () => {
    const s = await oauthSetup({}, { grantTypes: ['authorization_code'] });
    const tokens = await s.authorize();
    expect(tokens.refreshToken).toBeUndefined();
    const types = (await auditOf(s.store, { clientId: s.creds.clientId })).filter((event) => event.grantId === tokens.grantId).map((event) => event.type);
    expect(types.sort()).toEqual(['access_token_issued', 'code_issued', 'code_used']);
  });

  test('the refresh token\'s lifetime is the idle time, cut at the grant\'s end', async () => {
    const idle = await oauthSetup({ refreshTokenIdleSeconds: 3600, grantLifetimeSeconds: 86_400 });
    expect((await idle.authorize()).refreshTokenExpiresIn).toBe(3600);
    const short = await oauthSetup({ refreshTokenIdleSeconds: 86_400, grantLifetimeSeconds: 7200 });
    expect((await short.authorize()).refreshTokenExpiresIn).toBe(7200);
  });

  test('a code issued before a key rotation is redeemed after it, once', async () => {
    const clock = createTestClock();
    const adapter = memoryAdapter({ now: clock.now });
    const oldKey = { id: 'old', secret: generateSecret() };
    const before = new OAuthStore({ keyring: await Keyring.fromSecret([oldKey]), adapter, now: clock.now });
    const after = new OAuthStore({ keyring: await Keyring.fromSecret([{ id: 'new', secret: generateSecret() }, oldKey]), adapter, now: clock.now });
    const { client, clientSecret } = await before.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    const { verifier, challenge } = await pkcePair();
    const { code } = await before.createAuthorizationCode({ clientId: client.clientId, userId: 'u', redirectUri: REDIRECT, codeChallenge: challenge });
    const exchange = () => after.exchangeAuthorizationCode({ clientId: client.clientId, clientSecret: clientSecret!, code, redirectUri: REDIRECT, codeVerifier: verifier });
    const tokens = await exchange();
    expect(await after.validateAccessToken(tokens.accessToken)).toMatchObject({ userId: 'u' });
    await expect(exchange()).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await after.validateAccessToken(tokens.accessToken)).toBeNull(); // the replay revoked it
    // A wrong verifier is still refused after the rotation, without burning or revoking.
    const second = await before.createAuthorizationCode({ clientId: client.clientId, userId: 'u', redirectUri: REDIRECT, codeChallenge: challenge });
    await expect(after.exchangeAuthorizationCode({ clientId: client.clientId, clientSecret: clientSecret!, code: second.code, redirectUri: REDIRECT, codeVerifier: (await pkcePair()).verifier })).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await after.exchangeAuthorizationCode({ clientId: client.clientId, clientSecret: clientSecret!, code: second.code, redirectUri: REDIRECT, codeVerifier: verifier })).toMatchObject({ tokenType: 'Bearer' });
  });

  test('a backend that cannot say which condition failed: 4 attempts, then a retriable ConflictError (exchange and refresh)', async () => {
    const counter = { batches: 0 };
    let broken = false;
    const s = await oauthSetup({}, {}, (adapter) => {
      const failing = undecided(adapter, counter);
      return { ...adapter, batch: (operations) => (broken ? failing.batch!(operations) : adapter.batch!(operations)) };
    });
    const tokens = await s.authorize();
    const { code, verifier } = await s.issueCode();
    broken = true;
    const exchanged = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier }).catch((thrown: unknown) => thrown);
    expect(exchanged).toBeInstanceOf(ConflictError);
    expect((exchanged as Error).message).toContain('contended');
    expect(counter.batches).toBe(4);
    counter.batches = 0;
    await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: tokens.refreshToken! })).rejects.toBeInstanceOf(ConflictError);
    expect(counter.batches).toBe(4);
  });
});
