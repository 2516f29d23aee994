// Mutation-testing kills for src/oauth/lifecycle.ts (mutation/REPORT.md), next to lifecycle-mutation.test.ts:
// grants whose records are partly gone, reads that fail, and what healthCheck reports per check.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { CLIENT_SETTLE_MS } from '../../src/oauth/lifecycle.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { oauthSetup, REDIRECT } from '../oauth/mutation-setup.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';

const garbage = () => new TextEncoder().encode('not a sealed record') as Uint8Array<ArrayBuffer>;

/** Reads (single and batched) of the keys `failing` names throw a plain Error, as a backend outage does. */
function failingReads(failing: { match: (key: string) => boolean }) {
  return (inner: StorageAdapter): StorageAdapter => ({
    ...inner,
    get: async (key) => {
      if (failing.match(key)) throw new Error('backend unavailable');
      return inner.get(key);
    },
    batch: async (operations) => {
      if (operations.some((operation) => failing.match(operation.key))) throw new Error('backend unavailable');
      return inner.batch!(operations);
    },
  });
}

const keysOf = async (adapter: StorageAdapter, prefix: string) => (await adapter.list({ prefix, limit: 1000 })).keys;

describe('cleanupExpired: grant state', () => {
  test('a grant whose grant record is gone is dead: its live record and tokens are removed and it is counted', async () => {
    const s = await oauthSetup();
    const kept = await s.authorize();
    const ended = await s.authorize();
    await s.adapter.delete(`grant/${ended.grantId}`);
    expect(await keysOf(s.adapter, `grant-live/${ended.grantId}`)).toHaveLength(1);
    const result = await s.store.cleanupExpired();
    expect(result.grants).toBe(1);
    expect(result.records).toMatchObject({ 'grant-live': 1, access: 1, refresh: 1 });
    expect(await keysOf(s.adapter, `grant-live/${ended.grantId}`)).toEqual([]);
    expect(await keysOf(s.adapter, `access/${ended.grantId}/`)).toEqual([]);
    expect(await s.store.validateAccessToken(kept.accessToken)).not.toBeNull();
    // Ended is not revoked: nothing was added to the revocation list.
    expect(await s.store.listRevocations()).toEqual([]);
  });

  test('the client repair leaves a grant that is not live: it is removed as dead, not revoked', async () => {
    const s = await oauthSetup();
    const tokens = await s.authorize();
    await s.adapter.delete(`grant-live/${tokens.grantId}`);
    await s.adapter.delete(`client/${s.creds.clientId}`);
    s.clock.advance(CLIENT_SETTLE_MS);
    const result = await s.store.cleanupExpired();
    expect(result.grants).toBe(1);
    expect(await keysOf(s.adapter, `grant/${tokens.grantId}`)).toEqual([]);
    expect(await s.store.listRevocations()).toEqual([]);
  });

  test('a client read that fails counts as an existing client: the old live grant is not revoked', async () => {
    const failing = { match: (_key: string) => false };
    const s = await oauthSetup({}, {}, failingReads(failing));
    const tokens = await s.authorize();
    // The client is gone from the scan (no client ids listed), and reading it fails.
    await s.adapter.delete(`client/${s.creds.clientId}`);
    failing.match = (key) => key === `client/${s.creds.clientId}`;
    s.clock.advance(CLIENT_SETTLE_MS);
    const result = await s.store.cleanupExpired();
    expect(result.grants).toBe(0);
    expect(await s.store.listRevocations()).toEqual([]);
    expect(await keysOf(s.adapter, `grant-live/${tokens.grantId}`)).toHaveLength(1);
  });

  test('a grant state read that fails for another reason than integrity makes cleanup reject, not count it unreadable', async () => {
    const failing = { match: (_key: string) => false };
    const s = await oauthSetup({}, {}, failingReads(failing));
    const tokens = await s.authorize();
    failing.match = (key) => key === `grant/${tokens.grantId}`;
    await expect(s.store.cleanupExpired()).rejects.toThrow();
    failing.match = () => false;
    expect(await s.store.cleanupExpired()).toMatchObject({ grants: 0, unreadable: 0 });
  });
});

describe('cleanupExpired: sessions', () => {
  test('an unreadable session keeps its session-owned records', async () => {
    const s = await oauthSetup();
    const { challenge } = await pkcePair();
    const session = await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
    await s.store.updateSession(session.sessionId, { props: { step: 1 } });
    const partition = session.sessionId.slice(4, 26);
    const [sessionKey] = await keysOf(s.adapter, `session/${partition}/`);
    await s.adapter.put(sessionKey!, garbage());
    const result = await s.store.cleanupExpired();
    expect(result.records['session-draft']).toBeUndefined();
    expect(await keysOf(s.adapter, `session-draft/${partition}/`)).toHaveLength(1);
    expect(await keysOf(s.adapter, `session/${partition}/`)).toEqual([sessionKey]);
  });
});

describe('stats', () => {
  test('an active grant has its grant record and its live record: without either, neither it nor its tokens count', async () => {
    const s = await oauthSetup();
    await s.authorize();
    const noGrant = await s.authorize();
    const noLive = await s.authorize();
    await s.adapter.delete(`grant/${noGrant.grantId}`);
    await s.adapter.delete(`grant-live/${noLive.grantId}`);
    expect(await s.store.stats()).toMatchObject({ clients: 1, activeGrants: 1, activeAccessTokens: 1, activeRefreshTokens: 1, unreadable: 0 });
  });

  test('a token that expired but is still stored is not counted', async () => {
    const clock = createTestClock();
    // The backend runs on real time, so it still lists what the store's clock has expired.
    const s = await oauthSetup({ now: clock.now }, {}, () => memoryAdapter());
    await s.authorize();
    clock.advance(3600 * 1000 + 1);
    expect(await s.store.stats()).toMatchObject({ activeGrants: 1, activeAccessTokens: 0, activeRefreshTokens: 1, unreadable: 0 });
  });

  test('a grant whose grant record cannot be opened is not active, nor its readable tokens; it is counted unreadable once', async () => {
    const s = await oauthSetup();
    await s.authorize();
    const broken = await s.authorize();
    await s.adapter.put(`grant/${broken.grantId}`, garbage());
    expect(await s.store.stats()).toMatchObject({ activeGrants: 1, activeAccessTokens: 1, activeRefreshTokens: 1, unreadable: 1 });
  });

  test('a grant state read that fails for another reason than integrity makes stats reject', async () => {
    const failing = { match: (_key: string) => false };
    const s = await oauthSetup({}, {}, failingReads(failing));
    const tokens = await s.authorize();
    failing.match = (key) => key === `grant/${tokens.grantId}`;
    await expect(s.store.stats()).rejects.toThrow();
  });
});

describe('healthCheck', () => {
  test('a keyring whose lookup ids are not deterministic fails the keyring check, and only it', async () => {
    const s = await oauthSetup();
    const lookupId = s.keyring.lookupId.bind(s.keyring);
    let calls = 0;
    s.keyring.lookupId = async (context, value) => (context === 'oauth/health' ? `${await lookupId(context, value)}${calls++}` : lookupId(context, value));
    expect(await s.store.healthCheck()).toEqual({ ok: false, checks: [{ name: 'keyring', ok: false, error: 'Error' }, { name: 'adapter', ok: true }] });
    expect(calls).toBe(2);
  });

  test('split storage: a failing single-use adapter is named with its error; the probe it could not delete expires within a minute', async () => {
    const clock = createTestClock();
    const adapter = memoryAdapter({ now: clock.now });
    const inner = memoryAdapter({ now: clock.now });
    const single: StorageAdapter = {
      ...inner,
      capabilities: { ...inner.capabilities, batchScope: 'partition' as const },
      delete: async (key, ifVersion) => {
        if (key.startsWith('health/')) throw new TypeError('delete refused');
        return inner.delete(key, ifVersion);
      },
    };
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter, singleUseAdapter: single, now: clock.now });
    const result = await store.healthCheck();
    expect(result).toEqual({ ok: false, checks: [{ name: 'keyring', ok: true }, { name: 'adapter', ok: true }, { name: 'singleUseAdapter', ok: false, error: 'TypeError' }] });
    expect(await keysOf(adapter, 'health/')).toEqual([]);
    expect(await keysOf(inner, 'health/')).toHaveLength(1);
    clock.advance(59_999);
    expect(await keysOf(inner, 'health/')).toHaveLength(1);
    clock.advance(1);
    expect(await keysOf(inner, 'health/')).toEqual([]);
  });
});
