// Mutation-testing kills for the single-use stores (mutation/REPORT.md): consumeOnce (src/oauth/single-use.ts),
// the revocation list (src/oauth/revocation-list.ts) and pushed authorization requests
// (src/oauth/pushed-requests.ts): their input edges, and what must still hold right after a key rotation.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { ConflictError, InvalidGrantError, InvalidRequestError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { REQUEST_URI_PREFIX } from '../../src/oauth/pushed-requests.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { interceptAdapter, pkcePair } from '../oauth/oauth-store-helpers.js';

const DAY = 24 * 3600 * 1000;
const REDIRECT = 'https://app.example/callback/kill';

async function setup(options: { adapter?: (inner: StorageAdapter) => StorageAdapter } = {}) {
  const clock = createTestClock();
  const inner = memoryAdapter({ now: clock.now });
  const adapter = options.adapter ? options.adapter(inner) : inner;
  const secrets = [generateSecret(), generateSecret(), generateSecret()];
  // keyring(0) is the oldest key alone; keyring(1) rotated once, keyring(2) twice (newest first, older kept for reading).
  const keyring = (rotations: number) => Keyring.fromSecret(secrets.slice(0, rotations + 1).reverse().map((secret, index) => ({ id: `k${rotations - index}`, secret })));
  const open = async (rotations = 0) => new OAuthStore({ keyring: await keyring(rotations), adapter, now: clock.now, accessTokenTtlSeconds: 300 });
  return { clock, inner, adapter, open, store: await open() };
}

async function refusal(call: () => Promise<unknown>): Promise<InvalidRequestError> {
  const error = await call().then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(InvalidRequestError);
  return error as InvalidRequestError;
}

describe('consumeOnce: edges', () => {
  test('the id is a string of at most 512 characters', async () => {
    const { store, clock } = await setup();
    const expiresAt = clock.now() + 60_000;
    expect((await refusal(() => store.consumeOnce('dpop-jti', '', { expiresAt }))).field).toBe('id');
    expect((await refusal(() => store.consumeOnce('dpop-jti', 'x'.repeat(513), { expiresAt }))).field).toBe('id');
    expect(await store.consumeOnce('dpop-jti', 'x'.repeat(512), { expiresAt })).toBe(true);
  });

  test('expiresAt is a whole epoch-ms time after now and at most 24 hours ahead', async () => {
    const { store, clock } = await setup();
    const now = clock.now();
    for (const bad of [now, now - 1, now + DAY + 1, now + 1000.5, Number.NaN, `${now + 1000}` as unknown as number]) {
      const error = await refusal(() => store.consumeOnce('dpop-jti', `jti-${String(bad)}`, { expiresAt: bad }));
      expect(error.field).toBe('expiresAt');
      expect(error.message).toContain('must be an epoch-ms time in the next 24 hours');
    }
    expect(await store.consumeOnce('dpop-jti', 'soonest', { expiresAt: now + 1 })).toBe(true);
    expect(await store.consumeOnce('dpop-jti', 'latest', { expiresAt: now + DAY })).toBe(true);
  });

  test('after a key rotation a use remembered under an older key still counts, under whichever older key', async () => {
    const s = await setup();
    const expiresAt = s.clock.now() + 60_000;
    expect(await s.store.consumeOnce('dpop-jti', 'before-rotation', { expiresAt })).toBe(true);
    const once = await s.open(1);
    expect(await once.consumeOnce('dpop-jti', 'before-rotation', { expiresAt })).toBe(false);
    expect(await once.consumeOnce('dpop-jti', 'after-rotation', { expiresAt })).toBe(true); // the older key's miss is no use
    expect(await once.consumeOnce('dpop-jti', 'after-rotation', { expiresAt })).toBe(false);
    // Two rotations: one older key has the use, the other does not; either older key holding it is enough.
    const twice = await s.open(2);
    expect(await twice.consumeOnce('dpop-jti', 'after-rotation', { expiresAt })).toBe(false);
    expect(await twice.consumeOnce('dpop-jti', 'before-rotation', { expiresAt })).toBe(false);
    expect(await twice.consumeOnce('dpop-jti', 'fresh', { expiresAt })).toBe(true);
  });
});

describe('revocation list: edges', () => {
  test('an entry records when it was revoked; ids are checked whole; an already expired token writes nothing', async () => {
    let writes = 0;
    const s = await setup({ adapter: (inner) => interceptAdapter(inner, { put: (key, value, options) => ((writes += key.startsWith('revocation/') ? 1 : 0), inner.put(key, value, options)) }) });
    const now = s.clock.now();
    await s.store.recordRevocation('jti-1', now + 60_000);
    expect(await s.store.listRevocations()).toEqual([{ id: 'jti-1', revokedAt: now, expiresAt: now + 60_000 }]);
    expect(writes).toBe(1);
    for (const bad of ['has space', 'ok.but/slash', '', 'x'.repeat(257)]) expect((await refusal(() => s.store.recordRevocation(bad, now + 60_000))).field).toBe('id');
    // Expired already (or expiring now): nothing to refuse, nothing stored.
    await s.store.recordRevocation('jti-past', now - 1);
    await s.store.recordRevocation('jti-now', now);
    expect(writes).toBe(1);
  });

  test('expiresAt must be a whole epoch-ms time within the access token lifetime (plus a minute of skew)', async () => {
    const s = await setup(); // accessTokenTtlSeconds: 300
    const now = s.clock.now();
    const latest = now + 300_000 + 60_000;
    for (const bad of [latest + 1, now + 1000.5, Number.NaN, `${now + 1000}` as unknown as number]) {
      const error = await refusal(() => s.store.recordRevocation('jti-bad', bad));
      expect(error.field).toBe('expiresAt');
      expect(error.message).toContain('within the access token lifetime');
    }
    await s.store.recordRevocation('jti-latest', latest);
    expect((await s.store.listRevocations()).map((entry) => entry.id)).toEqual(['jti-latest']);
  });

  test('an entry that does not open (sealed under a dropped key) is skipped, not listed', async () => {
    const s = await setup();
    const now = s.clock.now();
    const foreign = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: s.adapter, now: s.clock.now, accessTokenTtlSeconds: 300 });
    await foreign.recordRevocation('jti-foreign', now + 60_000);
    await s.store.recordRevocation('jti-mine', now + 60_000);
    expect(await s.store.listRevocations()).toEqual([{ id: 'jti-mine', revokedAt: now, expiresAt: now + 60_000 }]);
  });
});

describe('pushed authorization requests: edges', () => {
  async function withClient(options: Parameters<typeof setup>[0] = {}) {
    const s = await setup(options);
    const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT], scope: ['read'] });
    const { challenge } = await pkcePair();
    return { ...s, client, challenge };
  }

  test('parameters: an object of known keys; redirectUriExplicit and resources pass through; state at most 2048 characters', async () => {
    const s = await withClient();
    expect((await refusal(() => s.store.pushAuthorizationRequest(null as never))).field).toBe('params');
    expect((await refusal(() => s.store.pushAuthorizationRequest({ clientId: s.client.clientId, redirectUri: REDIRECT, codeChallenge: s.challenge, nonsense: 1 } as never))).field).toBe('params.nonsense');
    expect((await refusal(() => s.store.pushAuthorizationRequest({ clientId: s.client.clientId, redirectUri: REDIRECT, codeChallenge: s.challenge, state: 's'.repeat(2049) }))).field).toBe('state');
    const pushed = await s.store.pushAuthorizationRequest({
      clientId: s.client.clientId, redirectUri: REDIRECT, redirectUriExplicit: false, codeChallenge: s.challenge, resources: ['https://api.example/'], state: 's'.repeat(2048),
    });
    const request = await s.store.takePushedAuthorizationRequest(pushed.requestUri, s.client.clientId);
    expect(request).toMatchObject({ clientId: s.client.clientId, redirectUriExplicit: false, resources: ['https://api.example/'], state: 's'.repeat(2048) });
    expect(request).not.toHaveProperty('expiresAt');
    const plain = await s.store.pushAuthorizationRequest({ clientId: s.client.clientId, redirectUri: REDIRECT, codeChallenge: s.challenge });
    expect(await s.store.takePushedAuthorizationRequest(plain.requestUri, s.client.clientId)).not.toHaveProperty('state');
  });

  test('take: the request_uri and client id are checked, and every refusal reads the same', async () => {
    const s = await withClient();
    expect((await refusal(() => s.store.takePushedAuthorizationRequest('', s.client.clientId))).field).toBe('requestUri');
    expect((await refusal(() => s.store.takePushedAuthorizationRequest(`${REQUEST_URI_PREFIX}x`, ''))).field).toBe('clientId');
    const wrongPrefix = await refusal(() => s.store.takePushedAuthorizationRequest('urn:example:x', s.client.clientId));
    expect(wrongPrefix).toMatchObject({ field: 'requestUri', message: expect.stringContaining(`must start with ${REQUEST_URI_PREFIX}`) });
    // A handle that is not a pushed-request token at all is refused like an unknown one.
    for (const handle of ['not-a-token', 'ovp_', `ovr_${'A'.repeat(22)}.${'B'.repeat(43)}`]) {
      const error = await s.store.takePushedAuthorizationRequest(REQUEST_URI_PREFIX + handle, s.client.clientId).catch((thrown: unknown) => thrown);
      expect(error, handle).toBeInstanceOf(InvalidGrantError);
      expect((error as Error).message).toBe('the request_uri is invalid, expired or already used');
    }
  });

  test('a request pushed before a key rotation is still taken once after it', async () => {
    const s = await withClient();
    const pushed = await s.store.pushAuthorizationRequest({ clientId: s.client.clientId, redirectUri: REDIRECT, codeChallenge: s.challenge, state: 'rotated' });
    const rotated = await s.open(1);
    expect(await rotated.takePushedAuthorizationRequest(pushed.requestUri, s.client.clientId)).toMatchObject({ state: 'rotated' });
    await expect(rotated.takePushedAuthorizationRequest(pushed.requestUri, s.client.clientId)).rejects.toBeInstanceOf(InvalidGrantError);
  });

  test('a request past its expiry that storage has not removed yet is refused (physical expiry is only cleanup)', async () => {
    const storageClock = createTestClock(); // storage that lags: it has not expired anything yet
    const s = await withClient({ adapter: () => memoryAdapter({ now: storageClock.now }) });
    const pushed = await s.store.pushAuthorizationRequest({ clientId: s.client.clientId, redirectUri: REDIRECT, codeChallenge: s.challenge, ttlSeconds: 1 });
    s.clock.advance(1001);
    const error = await s.store.takePushedAuthorizationRequest(pushed.requestUri, s.client.clientId).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(InvalidGrantError);
  });

  test('a request id collision surfaces as a retryable ConflictError', async () => {
    const s = await withClient({
      // Every conditional batch fails on its first operation: what an ifAbsent put sees when the id is taken.
      adapter: (inner) => interceptAdapter(inner, { batch: async (operations) => (operations.some((op) => op.key.startsWith('pushed/')) ? { ok: false, failed: 0, entries: [] } : inner.batch!(operations)) }),
    });
    const error = await s.store.pushAuthorizationRequest({ clientId: s.client.clientId, redirectUri: REDIRECT, codeChallenge: s.challenge }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toBe('request id collision; retry');
  });
});
