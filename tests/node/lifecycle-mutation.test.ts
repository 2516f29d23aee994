// Mutation-testing kills for src/oauth/lifecycle.ts (mutation/REPORT.md): what cleanupExpired, stats and
// healthCheck count, remove and report, on one adapter and on split storage.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { CLIENT_SETTLE_MS } from '../../src/oauth/lifecycle.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';
import { REDIRECT } from '../oauth/mutation-setup.js';

const garbage = () => new TextEncoder().encode('not a sealed record') as Uint8Array<ArrayBuffer>;

async function lifecycleSetup(options: { split?: boolean; realTimeAdapters?: boolean } = {}) {
  const clock = createTestClock();
  // Real-time adapters keep entries the store's clock has expired, as a backend that sweeps late does.
  const make = () => (options.realTimeAdapters ? memoryAdapter() : memoryAdapter({ now: clock.now }));
  const adapter = make();
  const single = options.split ? make() : adapter;
  const keyring = await Keyring.fromSecret(generateSecret());
  const store = new OAuthStore({ keyring, adapter, ...(options.split && { singleUseAdapter: { ...single, capabilities: { ...single.capabilities, batchScope: 'partition' as const } } }), now: clock.now });
  const { client, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
  const creds = { clientId: client.clientId, clientSecret: clientSecret! };
  const authorize = async () => {
    const { verifier, challenge } = await pkcePair();
    const { code } = await store.createAuthorizationCode({ clientId: creds.clientId, userId: 'user-1', redirectUri: REDIRECT, codeChallenge: challenge });
    return store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
  };
  return { clock, adapter, single, store, creds, authorize };
}

describe('healthCheck', () => {
  test('one check per adapter (two when split) and the keyring; a failing adapter is named with its error class only', async () => {
    const one = await lifecycleSetup();
    expect(await one.store.healthCheck()).toEqual({ ok: true, checks: [{ name: 'keyring', ok: true }, { name: 'adapter', ok: true }] });
    const split = await lifecycleSetup({ split: true });
    expect(await split.store.healthCheck()).toEqual({ ok: true, checks: [{ name: 'keyring', ok: true }, { name: 'adapter', ok: true }, { name: 'singleUseAdapter', ok: true }] });
    // The probe must read back what it wrote, and is removed afterwards.
    const inner = memoryAdapter();
    const lying: StorageAdapter = { ...inner, get: async (key) => (key.startsWith('health/') ? null : inner.get(key)) };
    const broken = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: lying });
    const result = await broken.healthCheck();
    expect(result.ok).toBe(false);
    expect(result.checks).toEqual([{ name: 'keyring', ok: true }, { name: 'adapter', ok: false, error: 'Error' }]);
    expect((await inner.list({ prefix: 'health/', limit: 10 })).keys).toEqual([]);
    expect((await one.adapter.list({ prefix: 'health/', limit: 10 })).keys).toEqual([]);
  });
});

describe('stats', () => {
  test('counts clients, active grants and their live tokens; an unredeemed, revoked or unreadable grant is not active', async () => {
    const s = await lifecycleSetup();
    const live = await s.authorize();
    const revoked = await s.authorize();
    await s.store.revokeGrant(revoked.grantId);
    const { challenge } = await pkcePair();
    await s.store.createAuthorizationCode({ clientId: s.creds.clientId, userId: 'user-2', redirectUri: REDIRECT, codeChallenge: challenge });
    expect(await s.store.stats()).toMatchObject({ clients: 1, activeGrants: 1, activeAccessTokens: 1, activeRefreshTokens: 1, unreadable: 0 });
    // A grant whose records cannot be opened: counted as unreadable, not active.
    await s.adapter.put('grant/AAAAAAAAAAAAAAAAAAAAAA', garbage());
    await s.adapter.put('grant-live/AAAAAAAAAAAAAAAAAAAAAA', garbage());
    const withBroken = await s.store.stats();
    expect(withBroken).toMatchObject({ activeGrants: 1, activeAccessTokens: 1 });
    expect(withBroken.unreadable).toBeGreaterThanOrEqual(1);
    expect(live.grantId).not.toBe(revoked.grantId);
  });
});

describe('cleanupExpired', () => {
  test('removes every record of a revoked grant and counts it; a live grant is kept; unreadable grants are left and counted', async () => {
    const s = await lifecycleSetup();
    const kept = await s.authorize();
    const gone = await s.authorize();
    await s.store.revokeGrant(gone.grantId);
    await s.adapter.put('grant/AAAAAAAAAAAAAAAAAAAAAA', garbage());
    const result = await s.store.cleanupExpired();
    expect(result.grants).toBe(1);
    expect(result.unreadable).toBe(1);
    expect(result.records.grant).toBe(1);
    expect(result.records.access).toBe(1);
    const left = (await s.adapter.list({ prefix: '', limit: 1000 })).keys;
    // What outlives a grant on purpose: its user index (audit by user), audit events, its revocation-list entry.
    expect(left.filter((key) => key.includes(gone.grantId) && !/^(user-grant|audit|revocation)\//.test(key))).toEqual([]);
    expect(left.some((key) => key.includes(kept.grantId))).toBe(true);
    expect(left).toContain('grant/AAAAAAAAAAAAAAAAAAAAAA');
    expect(await s.store.validateAccessToken(kept.accessToken)).not.toBeNull();
    expect((await s.store.queryAudit({ type: 'cleanup' })).events[0]).toMatchObject({ details: { grants: 1 } });
  });

  test('a live grant whose client is gone is revoked once it is older than the settle time, not before', async () => {
    const s = await lifecycleSetup();
    const tokens = await s.authorize();
    await s.adapter.delete(`client/${s.creds.clientId}`); // the client went without its cascade
    s.clock.advance(CLIENT_SETTLE_MS - 1);
    await s.store.cleanupExpired();
    expect(await s.store.listRevocations()).toEqual([]);
    s.clock.advance(1);
    const result = await s.store.cleanupExpired();
    expect(result.grants).toBe(1);
    expect((await s.store.listRevocations()).map((entry) => entry.id)).toEqual([tokens.grantId]);
  });

  test('session records go with their session; other kinds once expired, even when the backend still holds them; both adapters are swept', async () => {
    const s = await lifecycleSetup({ split: true, realTimeAdapters: true });
    const { challenge } = await pkcePair();
    const open = await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
    await s.store.updateSession(open.sessionId, { props: { keep: true } });
    const orphan = await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
    await s.store.updateSession(orphan.sessionId, { props: { keep: false } });
    const orphanPartition = orphan.sessionId.slice(4, 26);
    const sessionKeys = (await s.single.list({ prefix: `session/${orphanPartition}/`, limit: 10 })).keys;
    expect(sessionKeys).toHaveLength(1);
    await s.single.delete(sessionKeys[0]!); // its draft is left behind
    await s.store.consumeOnce('dpop-jti', 'a', { expiresAt: s.clock.now() + 1000 });
    await s.store.consumeOnce('dpop-jti', 'b', { expiresAt: s.clock.now() + 1000 });
    s.clock.advance(1000);
    const result = await s.store.cleanupExpired();
    expect(result.records['session-draft']).toBe(1);
    expect(result.records.once).toBe(2);
    expect(await s.store.getSession(open.sessionId)).toMatchObject({ props: { keep: true } });
  });

  test('what each adapter drops as physically expired is added up over both adapters', async () => {
    const s = await lifecycleSetup({ split: true });
    await s.adapter.put('note/a', garbage(), { expiresAt: s.clock.now() + 10 });
    await s.single.put('note/b', garbage(), { expiresAt: s.clock.now() + 10 });
    await s.single.put('note/c', garbage(), { expiresAt: s.clock.now() + 10 });
    s.clock.advance(10);
    expect((await s.store.cleanupExpired()).adapterExpired).toBe(3);
    const one = await lifecycleSetup();
    await one.adapter.put('note/a', garbage(), { expiresAt: one.clock.now() + 10 });
    one.clock.advance(10);
    expect((await one.store.cleanupExpired()).adapterExpired).toBe(1);
  });
});
