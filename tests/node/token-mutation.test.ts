// Mutation-testing kills for the token code of src/oauth (mutation/REPORT.md): PKCE, token formats,
// validation, introspection, revocation, the revocation list, single use, sessions and pushed requests.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { ConflictError, InvalidGrantError, UnauthorizedClientError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { RecordStore } from '../../src/records/record-store.js';
import type { OAuthStorePolicy } from '../../src/oauth/types.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';
import { oauthSetup, REDIRECT } from '../oauth/mutation-setup.js';
import { generateSecret } from '../../src/crypto/random.js';
import { computePkceChallenge, generatePkce, verifyPkce } from '../../src/oauth/pkce.js';
import { deriveSuccessors, formatToken, isGrantId, kindOf, matchesAny, newGrantId, parseRefreshToken, parseToken } from '../../src/oauth/tokens.js';

// RFC 7636 Appendix B.
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('PKCE', () => {
  test('the S256 challenge is the RFC 7636 one; a verifier outside 43..128 unreserved characters is refused', async () => {
    expect(await computePkceChallenge(RFC_VERIFIER)).toBe(RFC_CHALLENGE);
    await expect(computePkceChallenge('x'.repeat(42))).rejects.toMatchObject({ field: 'verifier' });
    await expect(computePkceChallenge('x'.repeat(129))).rejects.toMatchObject({ field: 'verifier' });
    await expect(computePkceChallenge(`${'x'.repeat(42)}!`)).rejects.toMatchObject({ field: 'verifier' });
    expect(await computePkceChallenge('x'.repeat(128))).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('generatePkce: a fresh 43-character verifier and its S256 challenge', async () => {
    const [a, b] = await Promise.all([generatePkce(), generatePkce()]);
    expect(a.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.codeVerifier).not.toBe(b.codeVerifier);
    expect(a.codeChallenge).toBe(await computePkceChallenge(a.codeVerifier));
    expect(a.codeChallengeMethod).toBe('S256');
  });

  test('verifyPkce: S256 and plain, a wrong or missing verifier, and a verifier without a challenge (downgrade)', async () => {
    expect(await verifyPkce(RFC_CHALLENGE, 'S256', RFC_VERIFIER)).toBe(true);
    expect(await verifyPkce(RFC_CHALLENGE, undefined, RFC_VERIFIER)).toBe(true); // S256 is the default method
    expect(await verifyPkce(RFC_CHALLENGE, 'S256', `${RFC_VERIFIER.slice(0, -1)}A`)).toBe(false);
    expect(await verifyPkce(RFC_CHALLENGE, 'plain', RFC_VERIFIER)).toBe(false);
    expect(await verifyPkce(RFC_VERIFIER, 'plain', RFC_VERIFIER)).toBe(true);
    expect(await verifyPkce(RFC_VERIFIER, 'S256', RFC_VERIFIER)).toBe(false);
    expect(await verifyPkce(RFC_CHALLENGE, 'S256', undefined)).toBe(false);
    expect(await verifyPkce(undefined, undefined, RFC_VERIFIER)).toBe(false);
    expect(await verifyPkce(undefined, undefined, undefined)).toBe(true);
  });
});

describe('token formats', () => {
  const grantId = 'A'.repeat(22);
  const secret = 'b'.repeat(43);

  test('each kind has its own tag; parseToken takes only a well-formed token of that kind', () => {
    const tags = { code: 'ovc', access: 'ova', refresh: 'ovr', boundRefresh: 'ovb', session: 'ovs', pushed: 'ovp', device: 'ovd' } as const;
    for (const [kind, tag] of Object.entries(tags) as [keyof typeof tags, string][]) {
      const token = formatToken(kind, grantId, secret);
      expect(token).toBe(`${tag}_${grantId}.${secret}`);
      expect(parseToken(kind, token)).toBe(grantId);
      expect(kindOf(token)).toBe(kind === 'boundRefresh' ? 'refresh' : kind);
    }
    const access = formatToken('access', grantId, secret);
    expect(parseToken('refresh', access)).toBeNull();
    expect(parseToken('access', `x${access}`)).toBeNull();
    expect(parseToken('access', `ova_${grantId}${secret}`)).toBeNull(); // no dot
    expect(parseToken('access', `ova_${grantId}A.${secret}`)).toBeNull(); // grant id too long
    expect(parseToken('access', `ova_${grantId.slice(1)}.${secret}`)).toBeNull(); // too short
    expect(parseToken('access', `ova_${grantId}.${secret}b`)).toBeNull(); // secret too long
    expect(parseToken('access', `ova_${grantId}.${secret.slice(1)}`)).toBeNull();
    expect(parseToken('access', `ova_${grantId.slice(1)}!.${secret}`)).toBeNull(); // not base64url
    expect(parseToken('access', `ova_${grantId}.${secret.slice(1)}!`)).toBeNull();
    expect(parseToken('access', `ova_${grantId}.${secret}\n`)).toBeNull(); // anchored at the end
    expect(kindOf('something else')).toBeNull();
    // The default secret is fresh and well-formed.
    const [a, b] = [formatToken('access', grantId), formatToken('access', grantId)];
    expect(a).not.toBe(b);
    expect(parseToken('access', a)).toBe(grantId);
    expect(isGrantId(newGrantId())).toBe(true);
    expect(isGrantId(`${grantId}A`)).toBe(false);
    expect(isGrantId(`x${grantId}`.slice(0, 22).replace('x', '!'))).toBe(false);
  });

  test('parseRefreshToken tells a bound refresh token from a plain one, and refuses any other kind', () => {
    expect(parseRefreshToken(formatToken('refresh', grantId, secret))).toEqual({ grantId, bound: false });
    expect(parseRefreshToken(formatToken('boundRefresh', grantId, secret))).toEqual({ grantId, bound: true });
    expect(parseRefreshToken(formatToken('access', grantId, secret))).toBeNull();
  });

  test('matchesAny: true when the stored id is any of the candidates, wherever it is; false for none or nothing stored', () => {
    expect(matchesAny('b', ['a', 'b', 'c'])).toBe(true);
    expect(matchesAny('a', ['a', 'b'])).toBe(true);
    expect(matchesAny('c', ['a', 'b', 'c'])).toBe(true);
    expect(matchesAny('d', ['a', 'b', 'c'])).toBe(false);
    expect(matchesAny(null, ['a'])).toBe(false);
    expect(matchesAny(undefined, [''])).toBe(false);
    expect(matchesAny('', [''])).toBe(false);
  });

  test('deriveSuccessors: deterministic per token and key, different for refresh and access, and per token', async () => {
    const keyring = await Keyring.fromSecret(generateSecret());
    const token = formatToken('refresh', grantId, secret);
    const first = await deriveSuccessors(keyring, token);
    expect(await deriveSuccessors(keyring, token)).toEqual(first);
    expect(first.refresh).not.toBe(first.access);
    expect((await deriveSuccessors(keyring, formatToken('refresh', grantId, 'c'.repeat(43)))).refresh).not.toBe(first.refresh);
    expect((await deriveSuccessors(await Keyring.fromSecret(generateSecret()), token)).refresh).not.toBe(first.refresh);
  });
});

/** The same storage under a rotated keyring ([new, old]): for tokens and ids made before a key rotation. */
async function rotatedPair(policy: OAuthStorePolicy = {}) {
  const clock = createTestClock();
  const adapter = memoryAdapter({ now: clock.now });
  const oldKey = { id: 'old', secret: generateSecret() };
  const before = new OAuthStore({ keyring: await Keyring.fromSecret([oldKey]), adapter, now: clock.now, ...policy });
  const after = new OAuthStore({ keyring: await Keyring.fromSecret([{ id: 'new', secret: generateSecret() }, oldKey]), adapter, now: clock.now, ...policy });
  const { client, clientSecret } = await before.registerClient({ type: 'confidential', redirectUris: [REDIRECT], scope: ['read'] });
  const creds = { clientId: client.clientId, clientSecret: clientSecret! };
  const authorize = async (store: OAuthStore) => {
    const { verifier, challenge } = await pkcePair();
    const { code } = await store.createAuthorizationCode({ clientId: creds.clientId, userId: 'user-1', redirectUri: REDIRECT, codeChallenge: challenge });
    return store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
  };
  return { clock, adapter, before, after, creds, authorize };
}

const auditTypes = async (store: OAuthStore, params: Parameters<OAuthStore['queryAudit']>[0] = {}) =>
  (await store.queryAudit({ limit: 100, ...params })).events.map((event) => event.type);

describe('consumeOnce: edges', () => {
  test('expiresAt must be an integer in (now, now + 24 h]; the id is 1..512 characters', async () => {
    const { clock, store } = await oauthSetup();
    const now = clock.now();
    const day = 24 * 3600 * 1000;
    for (const bad of [now, now - 1, now + day + 1, now + 1.5, '1' as never, Number.NaN]) {
      await expect(store.consumeOnce('dpop-jti', `bad-${String(bad)}`, { expiresAt: bad })).rejects.toMatchObject({ field: 'expiresAt', message: expect.stringContaining('next 24 hours') });
    }
    expect(await store.consumeOnce('dpop-jti', 'edge-late', { expiresAt: now + day })).toBe(true);
    expect(await store.consumeOnce('dpop-jti', 'edge-soon', { expiresAt: now + 1 })).toBe(true);
    expect(await store.consumeOnce('dpop-jti', 'x'.repeat(512), { expiresAt: now + 1000 })).toBe(true);
    await expect(store.consumeOnce('dpop-jti', 'x'.repeat(513), { expiresAt: now + 1000 })).rejects.toMatchObject({ field: 'id' });
    await expect(store.consumeOnce('dpop-jti', '', { expiresAt: now + 1000 })).rejects.toMatchObject({ field: 'id' });
  });

  test('a use remembered under any older key counts, with three keys in the ring', async () => {
    const clock = createTestClock();
    const adapter = memoryAdapter({ now: clock.now });
    const [k1, k2, k3] = ['k1', 'k2', 'k3'].map((id) => ({ id, secret: generateSecret() }));
    const oldest = new OAuthStore({ keyring: await Keyring.fromSecret([k1!]), adapter, now: clock.now });
    const current = new OAuthStore({ keyring: await Keyring.fromSecret([k3!, k2!, k1!]), adapter, now: clock.now });
    const expiresAt = clock.now() + 60_000;
    expect(await oldest.consumeOnce('dpop-jti', 'seen-long-ago', { expiresAt })).toBe(true);
    expect(await current.consumeOnce('dpop-jti', 'seen-long-ago', { expiresAt })).toBe(false);
  });

  test('a use remembered under the key before a rotation is still a use after it', async () => {
    const { clock, before, after } = await rotatedPair();
    const expiresAt = clock.now() + 60_000;
    expect(await before.consumeOnce('dpop-jti', 'seen', { expiresAt })).toBe(true);
    expect(await after.consumeOnce('dpop-jti', 'seen', { expiresAt })).toBe(false);
    expect(await after.consumeOnce('dpop-jti', 'fresh', { expiresAt })).toBe(true);
    expect(await after.consumeOnce('dpop-jti', 'fresh', { expiresAt })).toBe(false);
  });
});

describe('revocation list: edges', () => {
  test('recordRevocation: id pattern, expiry bounds (within the access token lifetime + 1 min), already expired is a no-op', async () => {
    const { clock, store } = await oauthSetup({ accessTokenTtlSeconds: 600 });
    const now = clock.now();
    const limit = now + 600_000 + 60_000;
    await store.recordRevocation('jti-edge', limit);
    await expect(store.recordRevocation('jti-over', limit + 1)).rejects.toMatchObject({ field: 'expiresAt', message: expect.stringContaining('access token lifetime') });
    await expect(store.recordRevocation('jti-frac', now + 1.5)).rejects.toMatchObject({ field: 'expiresAt', message: expect.stringContaining('access token lifetime') });
    await expect(store.recordRevocation('jti-str', String(now + 1000) as never)).rejects.toMatchObject({ field: 'expiresAt', message: expect.stringContaining('access token lifetime') });
    await expect(store.recordRevocation('!jti', now + 1000)).rejects.toMatchObject({ field: 'id' });
    await expect(store.recordRevocation('jti!', now + 1000)).rejects.toMatchObject({ field: 'id' });
    await store.recordRevocation('jti-now', now);
    await store.recordRevocation('jti-past', now - 1);
    await store.recordRevocation('jti-soon', now + 1);
    expect(await store.listRevocations()).toEqual(expect.arrayContaining([
      { id: 'jti-edge', revokedAt: now, expiresAt: limit },
      { id: 'jti-soon', revokedAt: now, expiresAt: now + 1 },
    ]));
    expect((await store.listRevocations()).map((entry) => entry.id).sort()).toEqual(['jti-edge', 'jti-soon']);
  });

  test('listRevocations skips an entry it cannot open and one that expired while the backend still lists it', async () => {
    const clock = createTestClock();
    const held = memoryAdapter(); // real time: keeps entries the store's clock has expired
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: held, now: clock.now });
    await store.recordRevocation('short', clock.now() + 1000);
    await store.recordRevocation('long', clock.now() + 3_000_000);
    await held.put('revocation/garbage', new TextEncoder().encode('not sealed') as Uint8Array<ArrayBuffer>);
    clock.advance(2000);
    expect((await store.listRevocations()).map((entry) => entry.id)).toEqual(['long']);
  });
});

describe('revokeToken: edges', () => {
  test('bad input names the field; the hint is checked but never needed', async () => {
    const s = await oauthSetup();
    const tokens = await s.authorize();
    await expect(s.store.revokeToken(undefined as never)).rejects.toMatchObject({ field: 'params' });
    await expect(s.store.revokeToken({ ...s.creds, token: tokens.accessToken, extra: 1 } as never)).rejects.toMatchObject({ field: 'params.extra' });
    const badHint = await s.store.revokeToken({ ...s.creds, token: tokens.accessToken, tokenTypeHint: 'id_token' as never }).catch((error: unknown) => error);
    expect(badHint).toMatchObject({ field: 'tokenTypeHint', message: expect.stringContaining('"access_token" or "refresh_token"') });
    expect(await s.store.validateAccessToken(tokens.accessToken)).not.toBeNull();
    // A wrong hint still revokes the right token.
    await s.store.revokeToken({ ...s.creds, token: tokens.accessToken, tokenTypeHint: 'refresh_token' });
    expect(await s.store.validateAccessToken(tokens.accessToken)).toBeNull();
    await s.store.revokeToken({ ...s.creds, token: tokens.refreshToken!, tokenTypeHint: 'access_token' });
    expect(await s.store.introspect(tokens.refreshToken!)).toEqual({ active: false });
  });

  test('audited: an access token as access_token_revoked, a refresh token with its grant; another client is refused and nothing is audited', async () => {
    const s = await oauthSetup();
    const tokens = await s.authorize();
    const other = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    const error = await s.store.revokeToken({ clientId: other.client.clientId, clientSecret: other.clientSecret!, token: tokens.accessToken }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UnauthorizedClientError);
    expect((error as Error).message).toContain('another client');
    expect(await s.store.validateAccessToken(tokens.accessToken)).not.toBeNull();
    await s.store.revokeToken({ ...s.creds, token: tokens.accessToken });
    const revokedAccess = (await s.store.queryAudit({ type: 'access_token_revoked' })).events;
    expect(revokedAccess).toHaveLength(1);
    expect(revokedAccess[0]).toMatchObject({ clientId: s.creds.clientId, grantId: tokens.grantId, details: { reason: 'revoked_by_client' } });
    expect(await auditTypes(s.store, { type: 'refresh_token_revoked' })).toEqual([]);
    // The grant lives on: its refresh token still works.
    const next = await s.store.refreshAccessToken({ ...s.creds, refreshToken: tokens.refreshToken! });
    await s.store.revokeToken({ ...s.creds, token: next.refreshToken! });
    expect(await auditTypes(s.store, { type: 'refresh_token_revoked' })).toEqual(['refresh_token_revoked']);
    expect(await auditTypes(s.store, { type: 'access_token_revoked' })).toHaveLength(2);
    expect(await s.store.validateAccessToken(next.accessToken)).toBeNull();
    expect(await s.store.listRevocations()).toEqual([expect.objectContaining({ id: tokens.grantId })]);
    // Revoking again, or a made-up token of the grant: success, nothing more audited.
    await s.store.revokeToken({ ...s.creds, token: next.refreshToken! });
    await s.store.revokeToken({ ...s.creds, token: `ova_${tokens.grantId}.${'z'.repeat(43)}` });
    expect(await auditTypes(s.store, { type: 'access_token_revoked' })).toHaveLength(2);
  });

  test('revoking an already rotated refresh token is a no-op: the grant and its current tokens live on', async () => {
    const s = await oauthSetup();
    const first = await s.authorize();
    const second = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
    await s.store.revokeToken({ ...s.creds, token: first.refreshToken! });
    expect(await s.store.validateAccessToken(second.accessToken)).not.toBeNull();
    expect(await s.store.introspect(second.refreshToken!)).toMatchObject({ active: true });
    expect(await auditTypes(s.store, { type: 'refresh_token_revoked' })).toEqual([]);
  });

  test('tokens issued before a key rotation are revoked after it', async () => {
    const r = await rotatedPair();
    const tokens = await r.authorize(r.before);
    const more = await r.authorize(r.before);
    await r.after.revokeToken({ ...r.creds, token: tokens.accessToken });
    expect(await r.after.validateAccessToken(tokens.accessToken)).toBeNull();
    await r.after.revokeToken({ ...r.creds, token: more.refreshToken! });
    expect(await r.after.validateAccessToken(more.accessToken)).toBeNull();
    expect(await r.after.introspect(more.refreshToken!)).toEqual({ active: false });
  });
});

describe('grant revocation: edges', () => {
  test('revokeGrant: an unknown grant is false; an unredeemed code grant is revoked without a token event; concurrent calls: one true', async () => {
    const s = await oauthSetup();
    expect(await s.store.revokeGrant('A'.repeat(22))).toBe(false);
    const { grantId, code, verifier } = await s.issueCode();
    const before = await auditTypes(s.store);
    expect(await s.store.revokeGrant(grantId)).toBe(true);
    expect(await auditTypes(s.store)).toEqual(before); // no token of it had been issued: nothing to audit
    expect(await s.store.revokeGrant(grantId)).toBe(false);
    await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier })).rejects.toBeInstanceOf(InvalidGrantError);

    const tokens = await s.authorize();
    const results = await Promise.all(Array.from({ length: 8 }, () => s.store.revokeGrant(tokens.grantId)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const events = (await s.store.queryAudit({ type: 'access_token_revoked' })).events;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ grantId: tokens.grantId, userLookupId: expect.any(String), details: { reason: expect.any(String) } });
    expect(await auditTypes(s.store, { type: 'refresh_token_revoked' })).toHaveLength(1);
  });

  test('deleting a client leaves a grant a forged index entry names alone, and does not count it', async () => {
    const s = await oauthSetup();
    const tokens = await s.authorize();
    const other = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
    await new RecordStore({ adapter: s.adapter, keyring: s.keyring, now: s.clock.now }).collection('client-grant').put(`${other.client.clientId}/~${tokens.grantId}`, {});
    expect(await s.store.deleteClient(other.client.clientId)).toBe(true);
    expect(await s.store.validateAccessToken(tokens.accessToken)).not.toBeNull();
    const [deleted] = (await s.store.queryAudit({ type: 'client_deleted' })).events;
    expect(deleted).toMatchObject({ clientId: other.client.clientId, details: { grantsRevoked: 0 } });
  });

  test('a revocation that keeps failing gives up after 32 attempts with a retriable ConflictError', async () => {
    let revocationBatches = 0;
    const s = await oauthSetup({}, {}, (adapter) => ({
      ...adapter,
      batch: async (operations) => {
        const revoking = operations.findIndex((operation) => operation.type === 'put' && operation.key.startsWith('grant-revoked/'));
        if (revoking > 0 || (revoking === 0 && operations.length > 1 && operations[1]!.type === 'put')) {
          revocationBatches++;
          return { ok: false, failed: operations.length - 1, entries: [] }; // the grant changed meanwhile, every time
        }
        return adapter.batch!(operations);
      },
    }));
    const tokens = await s.authorize();
    const error = await s.store.revokeGrant(tokens.grantId).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain('changing concurrently');
    expect(revocationBatches).toBe(32);
  });

  test('a replayed code revokes with the refresh token in the trail and the user named', async () => {
    const s = await oauthSetup();
    const { code, verifier } = await s.issueCode();
    const exchange = () => s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
    await exchange();
    await expect(exchange()).rejects.toBeInstanceOf(InvalidGrantError);
    const events = (await s.store.queryAudit({ limit: 100 })).events;
    const violation = events.find((event) => event.type === 'security_violation');
    expect(violation).toMatchObject({ details: { reason: 'code_replay' }, userLookupId: expect.any(String) });
    expect(events.filter((event) => event.type === 'refresh_token_revoked')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'access_token_revoked')).toHaveLength(1);
  });
});

describe('authorization sessions: edges', () => {
  async function sessionSetup() {
    const s = await oauthSetup();
    const { challenge, verifier } = await pkcePair();
    const create = (extra: Record<string, unknown> = {}) => s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge, ...extra } as never);
    return { ...s, create, verifier };
  }

  test('createSession: params named, state at most 2,048 characters, ttlSeconds sets the expiry', async () => {
    const s = await sessionSetup();
    await expect(s.store.createSession(undefined as never)).rejects.toMatchObject({ field: 'params' });
    await expect(s.create({ extra: 1 })).rejects.toMatchObject({ field: 'params.extra' });
    await expect(s.create({ state: 'x'.repeat(2049) })).rejects.toMatchObject({ field: 'state' });
    expect(await s.create({ state: 'x'.repeat(2048) })).toMatchObject({ state: 'x'.repeat(2048) });
    const short = await s.create({ ttlSeconds: 30 });
    expect(short.expiresAt).toBe(s.clock.now() + 30_000);
    const plain = await s.create();
    expect(plain.expiresAt).toBe(s.clock.now() + 600_000);
    for (const field of ['state', 'userId', 'props']) expect(field in plain).toBe(false);
    s.clock.advance(30_000);
    expect(await s.store.getSession(short.sessionId)).toBeNull();
    expect(await s.store.getSession(plain.sessionId)).not.toBeNull();
    expect(await s.store.getSession('ovs_not.asession')).toBeNull();
  });

  test('updateSession: params named; unknown, completed or incomplete sessions refused with their reason; the returned info is the new state', async () => {
    const s = await sessionSetup();
    const { sessionId } = await s.create({ scope: ['read', 'write'] });
    await expect(s.store.updateSession(sessionId, undefined as never)).rejects.toMatchObject({ field: 'params' });
    await expect(s.store.updateSession(sessionId, { extra: 1 } as never)).rejects.toMatchObject({ field: 'params.extra' });
    await expect(s.store.updateSession(sessionId, { scope: 'read' } as never)).rejects.toMatchObject({ field: 'scope' });
    await expect(s.store.updateSession(sessionId, { completed: 'yes' } as never)).rejects.toMatchObject({ field: 'completed' });
    await expect(s.store.updateSession(sessionId, { completed: true })).rejects.toMatchObject({ field: 'userId', message: expect.stringContaining('required to complete') });
    const unknown = `ovs_${'A'.repeat(22)}.${'b'.repeat(43)}`;
    await expect(s.store.updateSession(unknown, { props: 1 })).rejects.toMatchObject({ field: 'sessionId', message: expect.stringContaining('unknown or expired') });
    const drafted = await s.store.updateSession(sessionId, { scope: ['read'], props: { step: 1 } });
    expect(drafted).toMatchObject({ scope: ['read'], props: { step: 1 }, completed: false });
    expect('userId' in drafted).toBe(false);
    expect(await s.store.getSession(sessionId)).toMatchObject({ scope: ['read'], props: { step: 1 } });
    const done = await s.store.updateSession(sessionId, { userId: 'user-9', completed: true });
    expect(done).toMatchObject({ userId: 'user-9', scope: ['read'], props: { step: 1 }, completed: true });
    expect(await s.store.getSession(sessionId)).toMatchObject({ userId: 'user-9', scope: ['read'], props: { step: 1 }, completed: true });
    await expect(s.store.updateSession(sessionId, { props: 2 })).rejects.toMatchObject({ field: 'sessionId', message: expect.stringContaining('already completed') });
  });

  test('concurrent drafts are merged, not lost: each update retries on the version it read', async () => {
    const s = await sessionSetup();
    const { sessionId } = await s.create({ scope: ['read', 'write'] });
    await Promise.all([
      s.store.updateSession(sessionId, { userId: 'user-7' }),
      s.store.updateSession(sessionId, { scope: ['write'] }),
      s.store.updateSession(sessionId, { props: { step: 'consent' } }),
    ]);
    expect(await s.store.getSession(sessionId)).toMatchObject({ userId: 'user-7', scope: ['write'], props: { step: 'consent' }, completed: false });
  });

  test('completeAuthorization: decide must be a function returning a decision; an unscoped request takes any allowed scope; the draft\'s props carry over', async () => {
    const s = await sessionSetup();
    const { sessionId } = await s.create();
    await expect(s.store.completeAuthorization(sessionId, 'yes' as never)).rejects.toMatchObject({ field: 'decide', message: expect.stringContaining('function') });
    await expect(s.store.completeAuthorization(sessionId, () => 'alice' as never)).rejects.toMatchObject({ field: 'decision' });
    await s.store.updateSession(sessionId, { props: { plan: 'team' } });
    const { code, session } = await s.store.completeAuthorization(sessionId, () => ({ userId: 'alice', scope: ['write'] }));
    expect(session).toMatchObject({ userId: 'alice', scope: ['write'], props: { plan: 'team' }, completed: true });
    const tokens = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: s.verifier });
    expect(await s.store.validateAccessToken(tokens.accessToken)).toMatchObject({ userId: 'alice', scope: ['write'], props: { plan: 'team' } });
    const events = (await s.store.queryAudit({ type: 'session_completed', limit: 10 })).events;
    expect(events[0]).toMatchObject({ grantId: tokens.grantId, details: { scope: 1 } });
    // A scoped request bounds the decision.
    const scoped = await s.create({ scope: ['read'] });
    const refused = await s.store.completeAuthorization(scoped.sessionId, () => ({ userId: 'alice', scope: ['write'] })).catch((thrown: unknown) => thrown);
    expect(refused).toMatchObject({ field: 'scope', message: expect.stringContaining('within the scope') });
  });

  test('a draft changed while the user decided: the completion decides again on the new draft instead of failing', async () => {
    const s = await sessionSetup();
    const { sessionId } = await s.create();
    await s.store.updateSession(sessionId, { props: { v: 1 } });
    let calls = 0;
    const { session } = await s.store.completeAuthorization(sessionId, async (pending) => {
      calls++;
      if (calls === 1) await s.store.updateSession(sessionId, { props: { v: 2 } });
      return { userId: `alice-${String((pending.props as { v: number }).v)}` };
    });
    expect(calls).toBe(2);
    expect(session).toMatchObject({ userId: 'alice-2', props: { v: 2 } });
  });

  test('deleteSession: unknown is false; of concurrent deletions exactly one is true', async () => {
    const s = await sessionSetup();
    expect(await s.store.deleteSession(`ovs_${'A'.repeat(22)}.${'b'.repeat(43)}`)).toBe(false);
    const { sessionId } = await s.create();
    const results = await Promise.all(Array.from({ length: 4 }, () => s.store.deleteSession(sessionId)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await s.store.getSession(sessionId)).toBeNull();
  });

  test('concurrent completions: the losers are told the session is already completed', async () => {
    const s = await sessionSetup();
    for (const complete of [
      (id: string) => s.store.completeAuthorization(id, () => ({ userId: 'alice' })),
      (id: string) => s.store.updateSession(id, { userId: 'alice', completed: true }),
    ]) {
      const { sessionId } = await s.create();
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => complete(sessionId)));
      const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
      expect(errors).toHaveLength(5);
      expect(errors.every((error) => error.message.includes('already completed'))).toBe(true);
    }
  });
});

describe('validation and introspection: edges', () => {
  const API_A = 'https://api.example/a';
  const API_B = 'https://api.example/b';
  const JKT = 'A'.repeat(43);

  test('a token never outlives its grant: validation and introspection end with the grant', async () => {
    const s = await oauthSetup({ grantLifetimeSeconds: 1800, accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 3600 });
    const now = s.clock.now();
    const tokens = await s.authorize();
    expect(await s.store.introspect(tokens.refreshToken!)).toMatchObject({ exp: Math.floor((now + 1_800_000) / 1000) });
    s.clock.advance(1_800_000);
    expect(await s.store.validateAccessToken(tokens.accessToken)).toBeNull();
    expect(await s.store.introspect(tokens.accessToken)).toEqual({ active: false });
    expect(await s.store.introspect(tokens.refreshToken!)).toEqual({ active: false });
  });

  test('the answers carry exactly what the token has: scope, times in seconds, audiences, key, props', async () => {
    const s = await oauthSetup({ resources: [API_A, API_B], accessTokenTtlSeconds: 3600, refreshTokenIdleSeconds: 7200 });
    const now = s.clock.now();
    expect(await s.store.validateAccessToken('ova_malformed.token')).toBeNull();
    const plain = await s.authorize({ scope: ['read', 'write'] });
    const info = await s.store.validateAccessToken(plain.accessToken);
    for (const field of ['resources', 'jkt', 'props']) expect(field in info!).toBe(false);
    // An unbound token stays valid when the caller also presents a DPoP key.
    expect(await s.store.validateAccessToken(plain.accessToken, { dpopJkt: JKT })).not.toBeNull();
    const introspected = await s.store.introspect(plain.accessToken);
    expect(introspected).toStrictEqual({
      active: true, scope: 'read write', client_id: s.creds.clientId, sub: 'user-1',
      exp: Math.floor((now + 3_600_000) / 1000), iat: Math.floor(now / 1000), token_type: 'Bearer',
    });
    expect(await s.store.introspect(plain.refreshToken!)).toStrictEqual({
      active: true, scope: 'read write', client_id: s.creds.clientId, sub: 'user-1', exp: Math.floor((now + 7_200_000) / 1000), iat: Math.floor(now / 1000),
    });
    const two = await s.authorize({ resources: [API_A, API_B], props: { tier: 'gold' }, dpopJkt: JKT });
    expect(await s.store.introspect(two.accessToken)).toMatchObject({ aud: [API_A, API_B], token_type: 'DPoP', cnf: { jkt: JKT } });
    expect(await s.store.introspect(two.refreshToken!)).toMatchObject({ aud: [API_A, API_B] });
    expect(await s.store.validateAccessToken(two.accessToken, { dpopJkt: JKT })).toMatchObject({ resources: [API_A, API_B], jkt: JKT, props: { tier: 'gold' } });
    const one = await s.authorize({ resources: [API_A] });
    expect(await s.store.introspect(one.accessToken)).toMatchObject({ aud: API_A });
  });
});

describe('pushed authorization requests: edges', () => {
  test('params named, state bounded, the request_uri checked; another handle shape or an unknown one refused the same way', async () => {
    const s = await oauthSetup();
    const { challenge } = await pkcePair();
    const push = (extra: Record<string, unknown> = {}) => s.store.pushAuthorizationRequest({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge, ...extra } as never);
    await expect(s.store.pushAuthorizationRequest(undefined as never)).rejects.toMatchObject({ field: 'params' });
    await expect(push({ extra: 1 })).rejects.toMatchObject({ field: 'params.extra' });
    await expect(push({ state: 5 })).rejects.toMatchObject({ field: 'state' });
    await expect(push({ state: 'x'.repeat(2049) })).rejects.toMatchObject({ field: 'state' });
    const pushed = await push({ state: 'x'.repeat(2048), redirectUriExplicit: true, codeChallengeMethod: 'S256', scope: ['read'], resources: ['https://api.example/a'], ttlSeconds: 30 });
    await expect(s.store.takePushedAuthorizationRequest(5 as never, s.creds.clientId)).rejects.toMatchObject({ field: 'requestUri' });
    await expect(s.store.takePushedAuthorizationRequest(pushed.requestUri, 5 as never)).rejects.toMatchObject({ field: 'clientId' });
    expect(await s.store.takePushedAuthorizationRequest('urn:other:x', s.creds.clientId).catch((thrown: unknown) => thrown)).toMatchObject({ field: 'requestUri', message: expect.stringContaining('urn:ietf:params:oauth:request_uri:') });
    const malformed = await s.store.takePushedAuthorizationRequest('urn:ietf:params:oauth:request_uri:ovp_bad.handle', s.creds.clientId).catch((thrown: unknown) => thrown);
    expect(malformed).toBeInstanceOf(InvalidGrantError);
    expect((malformed as Error).message).toContain('invalid, expired or already used');
    expect(await s.store.takePushedAuthorizationRequest(pushed.requestUri, s.creds.clientId)).toMatchObject({ state: 'x'.repeat(2048) });
  });

  test('a request pushed before a key rotation is taken after it, once', async () => {
    const r = await rotatedPair();
    const { challenge } = await pkcePair();
    const pushed = await r.before.pushAuthorizationRequest({ clientId: r.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
    expect(await r.after.takePushedAuthorizationRequest(pushed.requestUri, r.creds.clientId)).toMatchObject({ clientId: r.creds.clientId });
    await expect(r.after.takePushedAuthorizationRequest(pushed.requestUri, r.creds.clientId)).rejects.toBeInstanceOf(InvalidGrantError);
  });
});
