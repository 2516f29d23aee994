// Mutation-testing kills for the grants of src/oauth/grants (mutation/REPORT.md): what the authorization
// code, refresh, client credentials and device grants promise at their edges (audit trail, expiry,
// retries, key rotation, resources), beyond the shared OAuthStore suite.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { ConflictError, InvalidGrantError, InvalidTargetError } from '../../src/errors.js';
import { authorizationCodeGrant } from '../../src/oauth/grants/authorization-code.js';
import { DEVICE_CODE_GRANT, MAX_USER_CODE_ATTEMPTS } from '../../src/oauth/grants/device-code.js';
import type { GrantHandler, GrantTools } from '../../src/oauth/grants/handler.js';
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

  test('a code without its redirect_uri: past its grant\'s end, or with a wrong verifier where the request left redirect_uri out, is just invalid_grant', async () => {
    const s = await oauthSetup({ grantLifetimeSeconds: 120, codeTtlSeconds: 600 });
    const late = await s.issueCode();
    s.clock.advance(120_000);
    await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code: late.code, codeVerifier: late.verifier })).rejects.toBeInstanceOf(InvalidGrantError);
    const { verifier, challenge } = await pkcePair();
    const { code } = await s.store.createAuthorizationCode({ clientId: s.creds.clientId, userId: 'u', redirectUri: REDIRECT, redirectUriExplicit: false, codeChallenge: challenge });
    await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code, codeVerifier: (await pkcePair()).verifier })).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await s.store.exchangeAuthorizationCode({ ...s.creds, code, codeVerifier: verifier })).toMatchObject({ tokenType: 'Bearer' });
  });

  test('narrowing resources at the exchange: a subset is granted, anything else is invalid_target, another client\'s code invalid_grant; nothing burnt', async () => {
    const s = await oauthSetup({ resources: [API_A, API_B] });
    const { code, verifier } = await s.issueCode({ resources: [API_A, API_B] });
    const exchange = (resources: string[], creds = s.creds) => s.store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier, resources });
    const other = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    await expect(exchange([API_A], { clientId: other.client.clientId, clientSecret: other.clientSecret! })).rejects.toBeInstanceOf(InvalidGrantError);
    // Another client's code is refused as a grant before its resources are looked at.
    await expect(exchange(['https://api.example/c'], { clientId: other.client.clientId, clientSecret: other.clientSecret! })).rejects.toBeInstanceOf(InvalidGrantError);
    const refused = await exchange(['https://api.example/c']).catch((thrown: unknown) => thrown);
    expect(refused).toBeInstanceOf(InvalidTargetError);
    expect((refused as Error).message).toContain('not part of the grant');
    const tokens = await exchange([API_B]);
    expect(tokens.resources).toEqual([API_B]);
    expect(await s.store.validateAccessToken(tokens.accessToken, { resource: API_B })).not.toBeNull();
    expect(await s.store.validateAccessToken(tokens.accessToken, { resource: API_A })).toBeNull();
    // A code whose grant has ended is refused as a grant, resources or not.
    const ended = await oauthSetup({ resources: [API_A], grantLifetimeSeconds: 60, codeTtlSeconds: 600 });
    const late = await ended.issueCode({ resources: [API_A] });
    ended.clock.advance(60_000);
    await expect(ended.store.exchangeAuthorizationCode({ ...ended.creds, code: late.code, redirectUri: REDIRECT, codeVerifier: late.verifier, resources: [API_A] })).rejects.toBeInstanceOf(InvalidGrantError);
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
    const refreshed = await s.store.refreshAccessToken({ ...s.creds, refreshToken: tokens.refreshToken! }).catch((thrown: unknown) => thrown);
    expect(refreshed).toBeInstanceOf(ConflictError);
    expect((refreshed as Error).message).toContain('contended');
    expect(counter.batches).toBe(4);
    // A plain (unbound) rotation writes no key record.
    expect(await entries(s.adapter, 'refresh-key/')).toEqual([]);
  });
});

const JKT = 'A'.repeat(43);
const OTHER_JKT = 'B'.repeat(43);

describe('refresh: edges', () => {
  test('malformed or unbound use of a bound token is invalid_grant; a bound token rotates only with its key, and its successor is bound too', async () => {
    const s = await oauthSetup({}, { type: 'public' });
    await expect(s.store.refreshAccessToken({ clientId: s.creds.clientId, refreshToken: 'ovr_nothing.here' })).rejects.toBeInstanceOf(InvalidGrantError);
    const first = await s.authorize({ dpopJkt: JKT });
    expect(first.refreshToken).toMatch(/^ovb_/);
    const refresh = (refreshToken: string, dpopJkt?: string) => s.store.refreshAccessToken({ clientId: s.creds.clientId, refreshToken, ...(dpopJkt && { dpopJkt }) });
    await expect(refresh(first.refreshToken!)).rejects.toBeInstanceOf(InvalidGrantError);
    await expect(refresh(first.refreshToken!, OTHER_JKT)).rejects.toBeInstanceOf(InvalidGrantError);
    const second = await refresh(first.refreshToken!, JKT);
    expect(second).toMatchObject({ tokenType: 'DPoP', refreshToken: expect.stringMatching(/^ovb_/) });
    const keys = await entries(s.adapter, 'refresh-key/');
    expect(keys).toHaveLength(2); // the presented token's and its successor's
    expect(keys.every((entry) => entry.expiresAt !== undefined && entry.expiresAt <= s.clock.now() + 30 * 86_400_000)).toBe(true);
    await expect(refresh(second.refreshToken!, OTHER_JKT)).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await refresh(second.refreshToken!, JKT)).toMatchObject({ tokenType: 'DPoP' });
    await expect(s.store.refreshAccessToken({ clientId: s.creds.clientId, refreshToken: second.refreshToken!, dpopJkt: 'short' })).rejects.toMatchObject({ field: 'dpopJkt' });
    await expect(s.store.refreshAccessToken({ clientId: s.creds.clientId, refreshToken: second.refreshToken!, resources: 'x' as never })).rejects.toMatchObject({ field: 'resources' });
  });

  test('narrowing at refresh: within the grant only (scope, resources), for its own client only; nothing changes on refusal', async () => {
    const s = await oauthSetup({ resources: [API_A, API_B] });
    const first = await s.authorize({ scope: ['read', 'write'], resources: [API_A, API_B] });
    const refresh = (extra: { scope?: string[]; resources?: string[] }, creds: { clientId: string; clientSecret?: string } = s.creds) =>
      s.store.refreshAccessToken({ ...creds, refreshToken: first.refreshToken!, ...extra });
    const scopeError = await refresh({ scope: ['admin'] }).catch((thrown: unknown) => thrown);
    expect(scopeError).toMatchObject({ oauthError: 'invalid_scope', message: expect.stringContaining('exceeds the grant') });
    const targetError = await refresh({ resources: ['https://api.example/c'] }).catch((thrown: unknown) => thrown);
    expect(targetError).toBeInstanceOf(InvalidTargetError);
    expect((targetError as Error).message).toContain('not part of the grant');
    const other = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    await expect(refresh({ scope: ['read'] }, { clientId: other.client.clientId, clientSecret: other.clientSecret! })).rejects.toBeInstanceOf(InvalidGrantError);
    await expect(refresh({ scope: ['admin'] }, { clientId: other.client.clientId, clientSecret: other.clientSecret! })).rejects.toBeInstanceOf(InvalidGrantError);
    const narrowed = await refresh({ scope: ['read'], resources: [API_A] });
    expect(narrowed).toMatchObject({ scope: ['read'], resources: [API_A] });
    expect(await s.store.validateAccessToken(narrowed.accessToken)).toMatchObject({ scope: ['read'], resources: [API_A] });
    // A grant without resources cannot be narrowed to one.
    const plain = await s.authorize();
    await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: plain.refreshToken!, resources: [API_A] })).rejects.toBeInstanceOf(InvalidTargetError);
  });

  test('rotateRefreshTokens off: a confidential client keeps its refresh token, which slides; a public client still rotates', async () => {
    const s = await oauthSetup({ rotateRefreshTokens: false, refreshTokenIdleSeconds: 100 });
    const first = await s.authorize();
    s.clock.advance(60_000);
    const again = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
    expect(again.refreshToken).toBe(first.refreshToken);
    expect(again.refreshTokenExpiresIn).toBe(100);
    s.clock.advance(90_000); // past the first idle end, within the slid one
    expect(await s.store.introspect(first.refreshToken!)).toMatchObject({ active: true, iat: Math.floor(s.clock.now() / 1000) - 90 });
    const events = (await auditOf(s.store, { clientId: s.creds.clientId })).filter((event) => event.grantId === first.grantId).map((event) => event.type);
    expect(events.filter((type) => type === 'refresh_token_issued')).toHaveLength(1); // at the exchange only
    expect(events.filter((type) => type === 'refresh_token_used')).toHaveLength(1);
    expect(events.filter((type) => type === 'access_token_issued')).toHaveLength(2);
    expect((await s.store.stats()).activeRefreshTokens).toBe(1); // no successor written beside it
    expect((await entries(s.adapter, 'rotated/'))).toEqual([]);
    s.clock.advance(100_000);
    expect(await s.store.introspect(first.refreshToken!)).toEqual({ active: false });

    const pub = await oauthSetup({ rotateRefreshTokens: false }, { type: 'public' });
    const pubFirst = await pub.authorize();
    const pubNext = await pub.store.refreshAccessToken({ clientId: pub.creds.clientId, refreshToken: pubFirst.refreshToken! });
    expect(pubNext.refreshToken).not.toBe(pubFirst.refreshToken);
  });

  test('a successor lives for the idle time from its rotation and says when it was issued; a rotated marker goes with it', async () => {
    const s = await oauthSetup({ refreshTokenIdleSeconds: 100 });
    const first = await s.authorize();
    s.clock.advance(50_000);
    const second = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
    expect(await s.store.introspect(second.refreshToken!)).toMatchObject({ active: true, iat: Math.floor(s.clock.now() / 1000) });
    s.clock.advance(60_000);
    const third = await s.store.refreshAccessToken({ ...s.creds, refreshToken: second.refreshToken! });
    expect(await entries(s.adapter, 'refresh-key/')).toEqual([]); // an unbound rotation writes no key record
    s.clock.advance(60_000);
    const fourth = await s.store.refreshAccessToken({ ...s.creds, refreshToken: third.refreshToken! });
    // The first token's marker has expired (100 s after its rotation): presenting it now is an unknown token, not reuse.
    await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! })).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await s.store.validateAccessToken(fourth.accessToken)).not.toBeNull();
    // The third's marker is live: reuse, which revokes, audited with its reason and the refresh token.
    await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: third.refreshToken! })).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await s.store.validateAccessToken(fourth.accessToken)).toBeNull();
    const events = await auditOf(s.store, { clientId: s.creds.clientId });
    expect(events.find((event) => event.type === 'security_violation')).toMatchObject({ grantId: first.grantId, details: { reason: 'refresh_token_reuse' }, userLookupId: expect.any(String) });
    expect(events.filter((event) => event.type === 'refresh_token_revoked')).toHaveLength(1);
    // And an idle successor ends.
    const other = await s.authorize();
    const next = await s.store.refreshAccessToken({ ...s.creds, refreshToken: other.refreshToken! });
    s.clock.advance(100_000);
    expect(await s.store.introspect(next.refreshToken!)).toEqual({ active: false });
  });

  test('tokens never outlive the grant: access and refresh expiry are cut at its end', async () => {
    const s = await oauthSetup({ grantLifetimeSeconds: 1800, accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 86_400 });
    const first = await s.authorize();
    expect(first.expiresIn).toBe(1800);
    s.clock.advance(100_000);
    const second = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
    expect(second.expiresIn).toBe(1700);
    expect(second.refreshTokenExpiresIn).toBe(1700);
  });
});

describe('refresh grace: edges', () => {
  const graceSetup = (maxUses = 3, extra: OAuthStorePolicy = {}, client = {}) => oauthSetup({ refreshGrace: { windowSeconds: 30, maxUses }, resources: [API_A, API_B], ...extra }, client);

  test('a retry gets the same answer with the rotation\'s expiry; first and last use audited; past the limit it is reuse', async () => {
    const s = await graceSetup(3);
    const first = await s.authorize({ resources: [API_A, API_B] });
    const rotated = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
    s.clock.advance(5000);
    const retries = [];
    for (let index = 0; index < 3; index++) retries.push(await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! }));
    for (const retry of retries) {
      expect(retry).toMatchObject({ accessToken: rotated.accessToken, refreshToken: rotated.refreshToken, tokenType: 'Bearer', resources: [API_A, API_B] });
      expect(retry.expiresIn).toBe(rotated.expiresIn - 5);
      expect(retry.refreshTokenExpiresIn).toBe(rotated.refreshTokenExpiresIn! - 5);
    }
    const graceEvents = (await auditOf(s.store, { type: 'refresh_token_used' })).filter((event) => event.details.grace === true);
    expect(graceEvents.map((event) => event.details.graceUses).sort()).toEqual([1, 3]);
    expect(graceEvents[0]).toMatchObject({ clientId: s.creds.clientId, grantId: first.grantId });
    await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! })).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await s.store.validateAccessToken(rotated.accessToken)).toBeNull();
  });

  test('counting a grace use keeps the rotated marker\'s expiry: long after, the old token is unknown, not reuse', async () => {
    const s = await oauthSetup({ refreshGrace: { windowSeconds: 30, maxUses: 5 }, refreshTokenIdleSeconds: 100 });
    const first = await s.authorize();
    s.clock.advance(10_000);
    const second = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
    s.clock.advance(5000);
    expect((await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! })).refreshToken).toBe(second.refreshToken);
    s.clock.advance(55_000);
    const third = await s.store.refreshAccessToken({ ...s.creds, refreshToken: second.refreshToken! });
    expect(await entries(s.adapter, 'refresh-key/')).toEqual([]); // an unbound rotation writes no key record
    s.clock.advance(60_000);
    const fourth = await s.store.refreshAccessToken({ ...s.creds, refreshToken: third.refreshToken! });
    s.clock.advance(10_000); // 130 s after the first rotation: its marker (100 s) is gone
    await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! })).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await s.store.validateAccessToken(fourth.accessToken)).not.toBeNull();
  });

  test('a retry asking another scope is refused, naming the rule; once the successor was rotated too, a retry is reuse', async () => {
    const s = await graceSetup(5);
    const first = await s.authorize({ scope: ['read', 'write'] });
    const rotated = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
    const refused = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken!, scope: ['read'] }).catch((thrown: unknown) => thrown);
    expect(refused).toMatchObject({ oauthError: 'invalid_scope', message: expect.stringContaining('scope of the original request') });
    await s.store.refreshAccessToken({ ...s.creds, refreshToken: rotated.refreshToken! });
    await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! })).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await auditOf(s.store, { type: 'security_violation' })).toHaveLength(1);
  });

  test('a bound public client\'s retry: same DPoP answer with the key, refused without it', async () => {
    const s = await graceSetup(5, {}, { type: 'public' });
    const first = await s.authorize({ dpopJkt: JKT });
    const refresh = (dpopJkt?: string) => s.store.refreshAccessToken({ clientId: s.creds.clientId, refreshToken: first.refreshToken!, ...(dpopJkt && { dpopJkt }) });
    const rotated = await refresh(JKT);
    const retry = await refresh(JKT);
    expect(retry).toMatchObject({ tokenType: 'DPoP', accessToken: rotated.accessToken, refreshToken: rotated.refreshToken });
    await expect(refresh(OTHER_JKT)).rejects.toBeInstanceOf(InvalidGrantError);
  });

  test('retries through two stores at once (two isolates): every one gets the same successor, each use counted once', async () => {
    const clock = createTestClock();
    const adapter = memoryAdapter({ now: clock.now });
    const keyring = await Keyring.fromSecret(generateSecret());
    const open = () => new OAuthStore({ keyring, adapter, now: clock.now, refreshGrace: { windowSeconds: 30, maxUses: 100 } });
    const [a, b] = [open(), open()];
    const { client, clientSecret } = await a.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    const creds = { clientId: client.clientId, clientSecret: clientSecret! };
    const { verifier, challenge } = await pkcePair();
    const { code } = await a.createAuthorizationCode({ clientId: creds.clientId, userId: 'u', redirectUri: REDIRECT, codeChallenge: challenge });
    const first = await a.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
    const rotated = await a.refreshAccessToken({ ...creds, refreshToken: first.refreshToken! });
    const retries = await Promise.all(Array.from({ length: 8 }, (_, index) => (index % 2 ? a : b).refreshAccessToken({ ...creds, refreshToken: first.refreshToken! })));
    expect(new Set(retries.map((retry) => retry.refreshToken))).toEqual(new Set([rotated.refreshToken]));
    const uses = (await a.queryAudit({ type: 'refresh_token_used', limit: 100 })).events.map((event) => event.details.graceUses).filter((use) => use !== undefined);
    expect(uses).toEqual([1]);
  });
});

describe('device flow: edges', () => {
  const deviceSetup = (client: Record<string, unknown> = {}, policy: OAuthStorePolicy = {}) =>
    oauthSetup({ resources: [API_A, API_B], ...policy }, { grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'], scope: ['tv', 'radio'], ...client });

  async function started(s: Awaited<ReturnType<typeof deviceSetup>>, extra: Record<string, unknown> = {}) {
    const result = await s.store.createDeviceAuthorization({ ...s.creds, ...extra });
    const poll = (more: Record<string, unknown> = {}) => s.store.requestToken({ grantType: DEVICE_CODE_GRANT, ...s.creds, deviceCode: result.deviceCode, ...more } as never);
    return { ...result, poll };
  }

  test('starting: bad params are named, the client must be allowed the grant, the start is audited with its scope count', async () => {
    const s = await deviceSetup();
    await expect(s.store.createDeviceAuthorization(undefined as never)).rejects.toMatchObject({ field: 'params' });
    await expect(s.store.createDeviceAuthorization({ ...s.creds, extra: 1 } as never)).rejects.toMatchObject({ field: 'params.extra' });
    await expect(s.store.createDeviceAuthorization({ ...s.creds, resources: 'x' } as never)).rejects.toMatchObject({ field: 'resources' });
    const web = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    const refused = await s.store.createDeviceAuthorization({ clientId: web.client.clientId, clientSecret: web.clientSecret! }).catch((thrown: unknown) => thrown);
    expect(refused).toMatchObject({ oauthError: 'unauthorized_client', message: expect.stringContaining('device_code') });
    const flow = await started(s, { scope: ['tv', 'radio'] });
    const [event] = await auditOf(s.store, { type: 'device_authorization_created' });
    expect(event).toMatchObject({ clientId: s.creds.clientId, grantId: expect.any(String), details: { scope: 2 } });
    expect(await s.store.getDeviceAuthorization(flow.userCode)).toStrictEqual({ clientId: s.creds.clientId, scope: ['tv', 'radio'], expiresAt: s.clock.now() + 600_000, decided: false });
  });

  test('user codes use the whole alphabet; a typed code may vary in case, spaces and dashes, nothing else', async () => {
    const s = await deviceSetup();
    const codes = await Promise.all(Array.from({ length: 40 }, async () => (await s.store.createDeviceAuthorization(s.creds)).userCode));
    expect(codes.join('')).toMatch(/[VWXZ]/); // the alphabet's last letters appear too
    const code = codes[0]!;
    expect(await s.store.getDeviceAuthorization(` ${code.toLowerCase().replace('-', ' - ')} `)).not.toBeNull();
    for (const bad of [code.slice(0, 8), `${code}B`, `${code.slice(0, 8)}A`]) {
      await expect(s.store.getDeviceAuthorization(bad)).rejects.toMatchObject({ field: 'userCode', message: expect.stringContaining('not a user code') });
    }
    await expect(s.store.getDeviceAuthorization('B'.repeat(33))).rejects.toMatchObject({ field: 'userCode', message: expect.stringContaining('at most 32') });
    await expect(s.store.getDeviceAuthorization(code, { attemptKey: 'x'.repeat(257) })).rejects.toMatchObject({ field: 'attemptKey' });
  });

  test('wrong codes are limited per caller: concurrent ones all count; the window is fixed from the first failure, then it resets', async () => {
    const s = await deviceSetup();
    const target = await started(s);
    const wrong = 'BCDF-GHJK';
    await Promise.all(Array.from({ length: MAX_USER_CODE_ATTEMPTS }, () => s.store.getDeviceAuthorization(wrong, { attemptKey: 'caller-1' })));
    const blocked = await s.store.getDeviceAuthorization(target.userCode, { attemptKey: 'caller-1' }).catch((thrown: unknown) => thrown);
    expect(blocked).toMatchObject({ oauthError: 'slow_down', message: expect.stringContaining('too many') });
    // A window from the first failure: 9 now, the 10th 14 min later, free again 15 min after the first.
    const fresh = await deviceSetup();
    for (let index = 0; index < MAX_USER_CODE_ATTEMPTS - 1; index++) await fresh.store.getDeviceAuthorization(wrong, { attemptKey: 'caller-2' });
    fresh.clock.advance(14 * 60_000);
    const flow = await started(fresh); // a device code lives 10 min: started now, it outlasts the window
    await fresh.store.getDeviceAuthorization(wrong, { attemptKey: 'caller-2' });
    await expect(fresh.store.getDeviceAuthorization(flow.userCode, { attemptKey: 'caller-2' })).rejects.toMatchObject({ oauthError: 'slow_down' });
    fresh.clock.advance(60_000);
    expect(await fresh.store.getDeviceAuthorization(flow.userCode, { attemptKey: 'caller-2' })).not.toBeNull();
  });

  test('deciding: params named, once only, audited (approval names the user); the approved scope and props reach the token', async () => {
    const s = await deviceSetup();
    const flow = await started(s, { scope: ['tv', 'radio'], resources: [API_A] });
    expect(await s.store.getDeviceAuthorization(flow.userCode)).toMatchObject({ resources: [API_A] });
    await expect(s.store.approveDeviceAuthorization(flow.userCode, undefined as never)).rejects.toMatchObject({ field: 'params' });
    await expect(s.store.approveDeviceAuthorization(flow.userCode, { userId: 'viewer', extra: 1 } as never)).rejects.toMatchObject({ field: 'params.extra' });
    await expect(s.store.approveDeviceAuthorization(flow.userCode, { userId: 'viewer', scope: 'tv' as never })).rejects.toMatchObject({ field: 'scope' });
    await expect(s.store.approveDeviceAuthorization(flow.userCode, { userId: 'viewer', props: () => 1 } as never)).rejects.toMatchObject({ field: 'props' });
    await expect(s.store.approveDeviceAuthorization('BCDF-GHJK', { userId: 'viewer' })).rejects.toMatchObject({ field: 'userCode', message: expect.stringContaining('unknown or expired') });
    await s.store.approveDeviceAuthorization(flow.userCode, { userId: 'viewer', scope: ['tv'], props: { room: 'den' }, attemptKey: 'ip-1' });
    await expect(s.store.approveDeviceAuthorization(flow.userCode, { userId: 'other' })).rejects.toMatchObject({ field: 'userCode', message: expect.stringContaining('already decided') });
    await expect(s.store.denyDeviceAuthorization(flow.userCode)).rejects.toMatchObject({ field: 'userCode' });
    const [approved] = await auditOf(s.store, { type: 'device_authorization_approved' });
    expect(approved).toMatchObject({ clientId: s.creds.clientId, userLookupId: expect.any(String) });
    s.clock.advance(5000);
    const tokens = await flow.poll();
    expect(tokens).toMatchObject({ scope: ['tv'], resources: [API_A], tokenType: 'Bearer', expiresIn: 3600, refreshToken: expect.stringMatching(/^ovr_/), refreshTokenExpiresIn: 30 * 86_400 });
    expect(await s.store.validateAccessToken(tokens.accessToken)).toMatchObject({ userId: 'viewer', scope: ['tv'], props: { room: 'den' }, resources: [API_A] });
    const issued = (await auditOf(s.store, { type: 'access_token_issued' })).find((event) => event.grantId === tokens.grantId);
    expect(issued).toMatchObject({ clientId: s.creds.clientId, userLookupId: expect.any(String), details: { grantType: DEVICE_CODE_GRANT } });
    expect(await auditOf(s.store, { type: 'refresh_token_issued' })).toHaveLength(1);
    // A revocation of the device grant takes its refresh token along (the grant went live with one).
    await s.store.revokeGrant(tokens.grantId);
    expect(await auditOf(s.store, { type: 'refresh_token_revoked' })).toHaveLength(1);

    const denied = await started(s);
    await s.store.denyDeviceAuthorization(denied.userCode);
    const [deniedEvent] = await auditOf(s.store, { type: 'device_authorization_denied' });
    expect(deniedEvent).toMatchObject({ clientId: s.creds.clientId });
    expect(deniedEvent!.userLookupId).toBeUndefined();
    s.clock.advance(5000);
    expect(await denied.poll().catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: 'access_denied', message: expect.stringContaining('denied') });
  });

  test('polling: pending, slow_down exactly within the interval, wrong device code or client refused, expired_token for a day, then invalid_grant', async () => {
    const s = await deviceSetup();
    const flow = await started(s);
    await expect(s.store.requestToken({ grantType: DEVICE_CODE_GRANT, ...s.creds, deviceCode: 'ovd_bad.code' } as never)).rejects.toBeInstanceOf(InvalidGrantError);
    await expect(s.store.requestToken({ grantType: DEVICE_CODE_GRANT, ...s.creds, deviceCode: 5 } as never)).rejects.toMatchObject({ field: 'deviceCode' });
    await expect(flow.poll({ dpopJkt: 'bad' })).rejects.toMatchObject({ field: 'dpopJkt' });
    const forged = flow.deviceCode.replace(/\.(.)/, (_, first: string) => `.${first === 'A' ? 'B' : 'A'}`);
    await expect(s.store.requestToken({ grantType: DEVICE_CODE_GRANT, ...s.creds, deviceCode: forged } as never)).rejects.toBeInstanceOf(InvalidGrantError);
    expect(await flow.poll().catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: 'authorization_pending', message: expect.stringContaining('not decided') });
    s.clock.advance(4999);
    expect(await flow.poll().catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: 'slow_down', message: expect.stringContaining('interval') });
    s.clock.advance(5000);
    await expect(flow.poll()).rejects.toMatchObject({ oauthError: 'authorization_pending' });
    const other = await s.store.registerClient({ type: 'public', grantTypes: [DEVICE_CODE_GRANT] });
    await expect(s.store.requestToken({ grantType: DEVICE_CODE_GRANT, clientId: other.client.clientId, deviceCode: flow.deviceCode } as never)).rejects.toBeInstanceOf(InvalidGrantError);
    s.clock.advance(600_000);
    expect(await flow.poll().catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: 'expired_token', message: expect.stringContaining('expired') });
    s.clock.advance(23 * 3600_000);
    await expect(flow.poll()).rejects.toMatchObject({ oauthError: 'expired_token' });
    s.clock.advance(3600_000);
    await expect(flow.poll()).rejects.toBeInstanceOf(InvalidGrantError);
  });

  test('concurrent polls of an approved code: one gets the tokens, the others invalid_grant; a DPoP device (public) gets bound tokens', async () => {
    const s = await deviceSetup({ type: 'public' });
    const flow = await started(s);
    await s.store.approveDeviceAuthorization(flow.userCode, { userId: 'viewer' });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => flow.poll({ dpopJkt: JKT })));
    const ok = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    expect(ok).toHaveLength(1);
    expect(errors.every((error) => error instanceof InvalidGrantError)).toBe(true);
    expect(ok[0]).toMatchObject({ tokenType: 'DPoP', refreshToken: expect.stringMatching(/^ovb_/) });
    expect(await s.store.validateAccessToken(ok[0]!.accessToken)).toBeNull();
    expect(await s.store.validateAccessToken(ok[0]!.accessToken, { dpopJkt: JKT })).toMatchObject({ userId: 'viewer' });
    // A confidential device with a key: the access token is bound, the refresh token is not (it authenticates instead).
    const c = await deviceSetup();
    const cflow = await started(c);
    await c.store.approveDeviceAuthorization(cflow.userCode, { userId: 'viewer' });
    expect(await cflow.poll({ dpopJkt: JKT })).toMatchObject({ tokenType: 'DPoP', refreshToken: expect.stringMatching(/^ovr_/) });
    // Without refresh_token: only an access token, audited as such.
    const a = await deviceSetup({ grantTypes: [DEVICE_CODE_GRANT] });
    const aflow = await started(a);
    await a.store.approveDeviceAuthorization(aflow.userCode, { userId: 'viewer' });
    const only = await aflow.poll();
    expect(only.refreshToken).toBeUndefined();
    expect(only.expiresIn).toBe(3600);
    expect(await auditOf(a.store, { type: 'refresh_token_issued' })).toEqual([]);
    expect((await auditOf(a.store, { type: 'access_token_issued' })).filter((event) => event.grantId === only.grantId)).toHaveLength(1);
  });

  test('a device authorization started before a key rotation is found, approved and polled after it; one started after is found too', async () => {
    const clock = createTestClock();
    const adapter = memoryAdapter({ now: clock.now });
    const oldKey = { id: 'old', secret: generateSecret() };
    const before = new OAuthStore({ keyring: await Keyring.fromSecret([oldKey]), adapter, now: clock.now });
    const after = new OAuthStore({ keyring: await Keyring.fromSecret([{ id: 'new', secret: generateSecret() }, oldKey]), adapter, now: clock.now });
    const { client } = await before.registerClient({ type: 'public', grantTypes: [DEVICE_CODE_GRANT] });
    const old = await before.createDeviceAuthorization({ clientId: client.clientId });
    expect(await after.getDeviceAuthorization(old.userCode)).toMatchObject({ clientId: client.clientId });
    const fresh = await after.createDeviceAuthorization({ clientId: client.clientId });
    expect(await after.getDeviceAuthorization(fresh.userCode)).toMatchObject({ clientId: client.clientId });
    await after.approveDeviceAuthorization(old.userCode, { userId: 'viewer' });
    expect(await after.getDeviceAuthorization(old.userCode)).toMatchObject({ decided: true });
  });
});

/** A grant handler that hands its request's `options` to `tools.issueGrant` as they are: to test issueGrant itself. */
const passThrough: GrantHandler<{ options: Record<string, unknown> }> = {
  type: 'urn:test:pass-through',
  parameters: ['options'],
  parse: (params) => ({ options: (params.options ?? {}) as Record<string, unknown> }),
  issue: (tools, client, { options }) => tools.issueGrant({ client, userId: 'person-1', scope: ['read'], ...options } as never),
};

const confidentialOnly: GrantHandler<{ options: Record<string, unknown> }> = { ...passThrough, type: 'urn:test:confidential-only', publicClients: false };

test('a handler for confidential clients refuses a public one, naming the grant type', async () => {
  const s = await oauthSetup({ grants: [confidentialOnly] }, { type: 'public', grantTypes: ['urn:test:confidential-only'] });
  const error = await s.store.requestToken({ grantType: 'urn:test:confidential-only', clientId: s.creds.clientId } as never).catch((thrown: unknown) => thrown);
  expect(error).toMatchObject({ oauthError: 'unauthorized_client', message: expect.stringContaining('public clients may not use the urn:test:confidential-only grant') });
});

describe('issueGrant (the tools of a grant handler): edges', () => {
  async function toolSetup(client: Record<string, unknown> = {}, policy: OAuthStorePolicy = {}) {
    const s = await oauthSetup({ grants: [passThrough], resources: [API_A, API_B], ...policy }, { grantTypes: ['urn:test:pass-through', 'refresh_token'], ...client });
    const issue = (options: Record<string, unknown> = {}) => s.store.requestToken({ grantType: 'urn:test:pass-through', ...s.creds, options } as never);
    return { ...s, issue };
  }

  test('its options are checked and named', async () => {
    const s = await toolSetup();
    await expect(s.issue({ userId: '' })).rejects.toMatchObject({ field: 'userId' });
    await expect(s.issue({ scope: 'read' })).rejects.toMatchObject({ field: 'scope' });
    await expect(s.issue({ props: () => 1 })).rejects.toMatchObject({ field: 'props' });
    await expect(s.issue({ dpopJkt: 'bad' })).rejects.toMatchObject({ field: 'dpopJkt' });
  });

  test('defaults: no resources, no refresh token, a grant that lives as long as its access token; audited with the user and the grant type', async () => {
    const s = await toolSetup({}, { accessTokenTtlSeconds: 600 });
    const tokens = await s.issue();
    expect('resources' in tokens).toBe(false);
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 600, scope: ['read'] });
    expect(tokens.refreshToken).toBeUndefined();
    const [event] = (await auditOf(s.store, { type: 'access_token_issued' })).filter((found) => found.grantId === tokens.grantId);
    expect(event).toMatchObject({ clientId: s.creds.clientId, userLookupId: expect.any(String), details: { grantType: 'urn:test:pass-through' } });
    expect(await auditOf(s.store, { type: 'refresh_token_issued' })).toEqual([]);
    s.clock.advance(600_000);
    expect(await s.store.validateAccessToken(tokens.accessToken)).toBeNull();
    expect((await s.store.listGrants('person-1')).grants).toEqual([]);
  });

  test('options: resources (deduplicated), a refresh token only when asked and allowed, a lifetime that cuts the token, a DPoP key', async () => {
    const s = await toolSetup({}, { accessTokenTtlSeconds: 3600 });
    expect(await s.issue({ resources: [API_A, API_A] })).toMatchObject({ resources: [API_A] });
    const withRefresh = await s.issue({ refreshToken: true });
    expect(withRefresh).toMatchObject({ refreshToken: expect.stringMatching(/^ovr_/), refreshTokenExpiresIn: 30 * 86_400 });
    expect(await auditOf(s.store, { type: 'refresh_token_issued' })).toHaveLength(1);
    expect((await auditOf(s.store, { type: 'access_token_issued' })).filter((event) => event.grantId === withRefresh.grantId)).toHaveLength(1);
    await s.store.revokeGrant(withRefresh.grantId);
    expect(await auditOf(s.store, { type: 'refresh_token_revoked' })).toHaveLength(1); // the grant went live with a refresh token
    expect((await s.issue({ refreshToken: 'yes' })).refreshToken).toBeUndefined();
    const short = await s.issue({ lifetimeSeconds: 120 });
    expect(short.expiresIn).toBe(120);
    s.clock.advance(120_000);
    expect(await s.store.validateAccessToken(short.accessToken)).toBeNull();
    expect(await s.issue({ dpopJkt: JKT })).toMatchObject({ tokenType: 'DPoP' });
    const noRefresh = await toolSetup({ grantTypes: ['urn:test:pass-through'] });
    expect((await noRefresh.issue({ refreshToken: true })).refreshToken).toBeUndefined();
    const pub = await toolSetup({ type: 'public' });
    expect((await pub.issue({ refreshToken: true, dpopJkt: JKT })).refreshToken).toMatch(/^ovb_/);
    expect((await s.issue({ refreshToken: true, dpopJkt: JKT })).refreshToken).toMatch(/^ovr_/);
  });

  test('the built-in handlers refuse tools an OAuthStore did not make', () => {
    expect(() => authorizationCodeGrant.issue({} as GrantTools, {} as never, {} as never)).toThrow(TypeError);
    expect(() => authorizationCodeGrant.issue({} as GrantTools, {} as never, {} as never)).toThrow('not made by an OAuthStore');
  });

  test('scope and resource limits say what was exceeded', async () => {
    const s = await toolSetup({ resources: [API_A] });
    expect(await s.store.requestToken({ grantType: 'client_credentials', ...s.creds, scope: ['admin'] } as never).catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: expect.any(String) });
    const cc = await oauthSetup({ resources: [API_A, API_B] }, { grantTypes: ['client_credentials'], resources: [API_A] });
    expect(await cc.store.issueClientCredentials({ ...cc.creds, scope: ['admin'] }).catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: 'invalid_scope', message: expect.stringContaining("client's allowed scope") });
    expect(await cc.store.issueClientCredentials({ ...cc.creds, resources: [API_B] }).catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: 'invalid_target', message: expect.stringContaining('may get tokens for') });
    await expect(cc.store.issueClientCredentials({ ...cc.creds, dpopJkt: 'bad' })).rejects.toMatchObject({ field: 'dpopJkt' });
    const tokens = await cc.store.issueClientCredentials({ ...cc.creds, dpopJkt: JKT });
    expect(tokens.tokenType).toBe('DPoP');
    const [event] = (await auditOf(cc.store, { type: 'access_token_issued' })).filter((found) => found.grantId === tokens.grantId);
    expect(event!.userLookupId).toBeUndefined(); // the client acts for itself: no user
    expect((await entries(cc.adapter, 'user-grant/'))).toEqual([]);
    // A grant issued at once goes live in the same batch, until its end (here its access token's).
    expect(await entries(cc.adapter, 'grant-live/')).toEqual([expect.objectContaining({ expiresAt: cc.clock.now() + 3_600_000 })]);
  });

  test('requestToken: params named; an unknown grant type or a client not allowed it: each says so', async () => {
    const s = await toolSetup();
    await expect(s.store.requestToken(undefined as never)).rejects.toMatchObject({ field: 'params' });
    expect(await s.store.requestToken({ grantType: 'urn:nope', ...s.creds } as never).catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: 'unsupported_grant_type', message: expect.stringContaining('not supported') });
    expect(await s.store.requestToken({ grantType: 'client_credentials', ...s.creds } as never).catch((thrown: unknown) => thrown)).toMatchObject({ oauthError: 'unauthorized_client', message: expect.stringContaining('client_credentials') });
  });
});

describe('grant records: what lives how long', () => {
  test('index entries, activation and refresh records expire with the grant (user index: plus the audit retention); an unbound refresh token has no key record', async () => {
    const s = await oauthSetup({ grantLifetimeSeconds: 7200, refreshTokenIdleSeconds: 3600, auditRetentionSeconds: 86_400 });
    const now = s.clock.now();
    const tokens = await s.authorize();
    const end = now + 7_200_000;
    expect(await entries(s.adapter, 'client-grant/')).toEqual([expect.objectContaining({ expiresAt: end })]);
    // (A code grant's activation is written by the redemption without an expiry: cleanup removes it with the grant.)
    expect(await entries(s.adapter, 'user-grant/')).toEqual([expect.objectContaining({ expiresAt: end + 86_400_000 })]);
    expect(await entries(s.adapter, 'refresh/')).toEqual([expect.objectContaining({ expiresAt: now + 3_600_000 })]);
    expect(await entries(s.adapter, 'refresh-key/')).toEqual([]);
    expect(await s.store.introspect(tokens.refreshToken!)).toMatchObject({ iat: Math.floor(now / 1000) });
    // Revoked: listed for JWT validators from now until an access token of it could have expired.
    await s.store.revokeGrant(tokens.grantId);
    expect(await s.store.listRevocations()).toEqual([{ id: tokens.grantId, revokedAt: now, expiresAt: now + 3_600_000 }]);
    // A bound refresh token's key record lives as long as the token.
    const pub = await oauthSetup({ refreshTokenIdleSeconds: 3600 }, { type: 'public' });
    await pub.authorize({ dpopJkt: JKT });
    expect(await entries(pub.adapter, 'refresh-key/')).toEqual([expect.objectContaining({ expiresAt: pub.clock.now() + 3_600_000 })]);
    // Any refused grant says the same thing, whatever the reason.
    const refused = await s.store.refreshAccessToken({ ...s.creds, refreshToken: tokens.refreshToken! }).catch((thrown: unknown) => thrown);
    expect((refused as Error).message).toBe('the grant is invalid, expired, revoked or already used');
  });
});
