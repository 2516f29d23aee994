import { describe, expect, test } from 'vitest';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { AccessDeniedError, AuthorizationPendingError, InvalidGrantError, SlowDownError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { DEVICE_CODE_GRANT, MAX_USER_CODE_ATTEMPTS } from '../../src/oauth/grants/device-code.js';
import type { OAuthStorePolicy } from '../../src/oauth/types.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock, type TestClock } from '../../src/storage/conformance/index.js';
import { dumpAdapter, pkcePair, racyAdapterClaimingAtomicity } from './oauth-store-helpers.js';
import type { OAuthStoreSuiteStorage } from './oauth-store-suite.js';

/**
 * The single-use stores of sender-constrained and self-contained tokens
 * (issue 15) at the OAuthStore level, parameterized by storage like the
 * OAuthStore suite: DPoP proof and client-assertion `jti`s, pushed requests,
 * device flow user codes, DPoP key binding, signing keys and the revocation
 * list. Every single-use claim is raced with real concurrency and has a
 * negative control.
 */

const REDIRECT = 'https://app.example/callback/15';
const JKT = 'A'.repeat(43);
const OTHER_JKT = 'B'.repeat(43);

async function settle<T>(count: number, call: (index: number) => Promise<T>): Promise<{ ok: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(Array.from({ length: count }, (_, index) => call(index)));
  return {
    ok: results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    errors: results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
  };
}

export function describeSingleUseSuite(
  label: string,
  // negativeControls (default true): off in the mutation run, where their 2 s barrier timeouts dominate.
  options: { create: (clock: TestClock) => Promise<OAuthStoreSuiteStorage>; contenders?: number; negativeControls?: boolean },
): void {
  const contenders = options.contenders ?? 50;
  const negativeControls = options.negativeControls ?? true;

  async function setup(policy: OAuthStorePolicy = {}) {
    const clock = createTestClock();
    const storage = await options.create(clock);
    const keyring = await Keyring.fromSecret(generateSecret());
    const open = (single = storage.singleUseAdapter) =>
      new OAuthStore({ keyring, adapter: storage.adapter, ...(single && { singleUseAdapter: single }), now: clock.now, ...policy });
    const store = open();
    const adapters = storage.singleUseAdapter ? [storage.adapter, storage.singleUseAdapter] : [storage.adapter];
    return { clock, storage, keyring, store, open, adapters };
  }

  describe(`single-use stores and sender constraints: ${label}`, () => {
    test(`consumeOnce: of ${contenders} concurrent uses of one jti exactly one is first; it is refused until it expires; negative control`, async () => {
      const s = await setup();
      const expiresAt = s.clock.now() + 120_000;
      const { ok } = await settle(contenders, () => s.store.consumeOnce('dpop-jti', 'jti-1', { expiresAt }));
      expect(ok.filter(Boolean)).toHaveLength(1);
      expect(await s.store.consumeOnce('dpop-jti', 'jti-1', { expiresAt })).toBe(false);
      expect(await s.store.consumeOnce('client-assertion-jti', 'jti-1', { expiresAt })).toBe(true); // namespaces are apart
      s.clock.advance(120_001);
      expect(await s.store.consumeOnce('dpop-jti', 'jti-1', { expiresAt: s.clock.now() + 1000 })).toBe(true);
      await expect(s.store.consumeOnce('Bad Namespace', 'x', { expiresAt })).rejects.toMatchObject({ field: 'namespace' });
      await expect(s.store.consumeOnce('dpop-jti', 'x', { expiresAt: s.clock.now() + 3 * 86_400_000 })).rejects.toMatchObject({ field: 'expiresAt' });
      if (!negativeControls) return;
      const racy = s.open(racyAdapterClaimingAtomicity(s.storage.singleUseAdapter ?? s.storage.adapter, contenders));
      const raced = await settle(contenders, () => racy.consumeOnce('dpop-jti', 'jti-2', { expiresAt: s.clock.now() + 60_000 }));
      expect(raced.ok.filter(Boolean).length).toBeGreaterThan(1);
    });

    test(`pushed authorization requests: the request_uri is single-use (${contenders} concurrent takes, one wins), bound to its client, and expires`, async () => {
      const s = await setup();
      const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT], scope: ['read'] });
      const { client: other } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      const { challenge } = await pkcePair();
      const pushed = await s.store.pushAuthorizationRequest({ clientId: client.clientId, redirectUri: REDIRECT, scope: ['read'], state: 'st', codeChallenge: challenge, ttlSeconds: 90 });
      expect(pushed.requestUri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
      expect(pushed.expiresIn).toBe(90);
      const { ok, errors } = await settle(contenders, () => s.store.takePushedAuthorizationRequest(pushed.requestUri, client.clientId));
      expect(ok).toHaveLength(1);
      expect(ok[0]).toMatchObject({ clientId: client.clientId, redirectUri: REDIRECT, scope: ['read'], state: 'st', codeChallenge: challenge });
      expect(errors.every((error) => error instanceof InvalidGrantError)).toBe(true);
      // Another client's handle is refused; so is an expired one.
      const stolen = await s.store.pushAuthorizationRequest({ clientId: client.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
      await expect(s.store.takePushedAuthorizationRequest(stolen.requestUri, other.clientId)).rejects.toBeInstanceOf(InvalidGrantError);
      const late = await s.store.pushAuthorizationRequest({ clientId: client.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
      s.clock.advance(60_001);
      await expect(s.store.takePushedAuthorizationRequest(late.requestUri, client.clientId)).rejects.toBeInstanceOf(InvalidGrantError);
      // The request is checked when pushed, like any authorization request.
      await expect(s.store.pushAuthorizationRequest({ clientId: client.clientId, redirectUri: 'https://elsewhere.example/cb', codeChallenge: challenge })).rejects.toMatchObject({ field: 'redirectUri' });
      // Negative control.
      if (!negativeControls) return;
      const racy = s.open(racyAdapterClaimingAtomicity(s.storage.singleUseAdapter ?? s.storage.adapter, contenders));
      const again = await racy.pushAuthorizationRequest({ clientId: client.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
      expect((await settle(contenders, () => racy.takePushedAuthorizationRequest(again.requestUri, client.clientId))).ok.length).toBeGreaterThan(1);
    });

    test('DPoP binding: a bound access token validates only with its key; a public client\'s refresh token is bound and rotates only with it', async () => {
      const s = await setup();
      const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      const { verifier, challenge } = await pkcePair();
      const { code } = await s.store.createAuthorizationCode({ clientId: client.clientId, userId: 'dpop-user', redirectUri: REDIRECT, codeChallenge: challenge });
      const tokens = await s.store.exchangeAuthorizationCode({ clientId: client.clientId, code, redirectUri: REDIRECT, codeVerifier: verifier, dpopJkt: JKT });
      expect(tokens.tokenType).toBe('DPoP');
      expect(tokens.refreshToken).toMatch(/^ovb_/);
      expect(await s.store.validateAccessToken(tokens.accessToken)).toBeNull(); // as a bearer token
      expect(await s.store.validateAccessToken(tokens.accessToken, { dpopJkt: OTHER_JKT })).toBeNull();
      expect(await s.store.validateAccessToken(tokens.accessToken, { dpopJkt: JKT })).toMatchObject({ userId: 'dpop-user', jkt: JKT });
      expect(await s.store.introspect(tokens.accessToken)).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: JKT } });
      // The bound refresh token: without the key, or with another, nothing rotates.
      await expect(s.store.refreshAccessToken({ clientId: client.clientId, refreshToken: tokens.refreshToken! })).rejects.toBeInstanceOf(InvalidGrantError);
      await expect(s.store.refreshAccessToken({ clientId: client.clientId, refreshToken: tokens.refreshToken!, dpopJkt: OTHER_JKT })).rejects.toBeInstanceOf(InvalidGrantError);
      // A forged tag (the same token presented as unbound) is simply unknown.
      await expect(s.store.refreshAccessToken({ clientId: client.clientId, refreshToken: tokens.refreshToken!.replace(/^ovb_/, 'ovr_') })).rejects.toBeInstanceOf(InvalidGrantError);
      const next = await s.store.refreshAccessToken({ clientId: client.clientId, refreshToken: tokens.refreshToken!, dpopJkt: JKT });
      expect(next.refreshToken).toMatch(/^ovb_/);
      expect(await s.store.validateAccessToken(next.accessToken, { dpopJkt: JKT })).not.toBeNull();
      await expect(s.store.refreshAccessToken({ clientId: client.clientId, refreshToken: next.refreshToken!, dpopJkt: JKT })).resolves.toMatchObject({ tokenType: 'DPoP' });
      // A confidential client authenticates instead: its refresh token stays unbound, its access token is bound.
      const { client: confidential, clientSecret } = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
      const second = await s.store.createAuthorizationCode({ clientId: confidential.clientId, userId: 'dpop-user', redirectUri: REDIRECT, codeChallenge: challenge });
      const theirs = await s.store.exchangeAuthorizationCode({ clientId: confidential.clientId, clientSecret: clientSecret!, code: second.code, redirectUri: REDIRECT, codeVerifier: verifier, dpopJkt: JKT });
      expect(theirs.refreshToken).toMatch(/^ovr_/);
      expect(theirs.tokenType).toBe('DPoP');
      // Client credentials too.
      const { client: service, clientSecret: serviceSecret } = await s.store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'] });
      const machine = await s.store.issueClientCredentials({ clientId: service.clientId, clientSecret: serviceSecret!, dpopJkt: JKT });
      expect(await s.store.validateAccessToken(machine.accessToken)).toBeNull();
      expect(await s.store.validateAccessToken(machine.accessToken, { dpopJkt: JKT })).not.toBeNull();
    });

    test(`device flow: pending, slow_down, one grant of ${contenders} concurrent approvals, tokens once, denial, expiry, wrong codes limited`, async () => {
      const s = await setup();
      const { client } = await s.store.registerClient({ type: 'public', grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'], scope: ['tv'] });
      const poll = (deviceCode: string) => s.store.requestToken({ grantType: DEVICE_CODE_GRANT, clientId: client.clientId, deviceCode });
      const started = await s.store.createDeviceAuthorization({ clientId: client.clientId, scope: ['tv'] });
      expect(started.userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      await expect(poll(started.deviceCode)).rejects.toBeInstanceOf(AuthorizationPendingError);
      await expect(poll(started.deviceCode)).rejects.toBeInstanceOf(SlowDownError); // again at once: faster than the interval
      s.clock.advance(started.interval * 1000);
      await expect(poll(started.deviceCode)).rejects.toBeInstanceOf(AuthorizationPendingError);
      // The user types the code (case and dashes do not matter) and approves, from several tabs at once.
      const typed = started.userCode.toLowerCase().replace('-', ' ');
      expect(await s.store.getDeviceAuthorization(typed)).toMatchObject({ clientId: client.clientId, scope: ['tv'], decided: false });
      const approvals = await settle(contenders, () => s.store.approveDeviceAuthorization(typed, { userId: 'viewer' }));
      expect(approvals.ok).toHaveLength(1);
      s.clock.advance(started.interval * 1000);
      const polls = await settle(contenders, () => poll(started.deviceCode));
      expect(polls.ok).toHaveLength(1);
      expect(await s.store.validateAccessToken(polls.ok[0]!.accessToken)).toMatchObject({ userId: 'viewer', grantType: DEVICE_CODE_GRANT, scope: ['tv'] });
      expect(polls.ok[0]!.refreshToken).toBeDefined();
      await expect(poll(started.deviceCode)).rejects.toBeInstanceOf(InvalidGrantError);
      // Denied; expired.
      const denied = await s.store.createDeviceAuthorization({ clientId: client.clientId });
      await s.store.denyDeviceAuthorization(denied.userCode);
      await expect(poll(denied.deviceCode)).rejects.toBeInstanceOf(AccessDeniedError);
      const expired = await s.store.createDeviceAuthorization({ clientId: client.clientId });
      await expect(poll(expired.deviceCode)).rejects.toBeInstanceOf(AuthorizationPendingError);
      s.clock.advance(600_001);
      await expect(poll(expired.deviceCode)).rejects.toMatchObject({ oauthError: 'expired_token' });
      await expect(s.store.approveDeviceAuthorization(expired.userCode, { userId: 'late' })).rejects.toMatchObject({ field: 'userCode' });
      // Brute force: wrong codes from one caller are limited, then even a right code waits.
      const target = await s.store.createDeviceAuthorization({ clientId: client.clientId });
      for (let attempt = 0; attempt < MAX_USER_CODE_ATTEMPTS; attempt++) expect(await s.store.getDeviceAuthorization('BCDF-GHJK', { attemptKey: '203.0.113.7' })).toBeNull();
      await expect(s.store.getDeviceAuthorization(target.userCode, { attemptKey: '203.0.113.7' })).rejects.toBeInstanceOf(SlowDownError);
      expect(await s.store.getDeviceAuthorization(target.userCode, { attemptKey: '198.51.100.2' })).not.toBeNull();
    });

    test(`device flow: of ${Math.max(contenders, 2 * MAX_USER_CODE_ATTEMPTS)} wrong user codes sent at once by one caller, only the limit's worth are looked up; right codes do not count`, async () => {
      const s = await setup();
      // Counts the store's lookups of user codes (reads of user-code/ keys).
      const lookups = { count: 0 };
      const counted = (adapter: StorageAdapter): StorageAdapter => new Proxy(adapter, {
        get(target, property) {
          if (property === 'get') return (key: string) => { if (key.startsWith('user-code/')) lookups.count++; return target.get(key); };
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const single = s.storage.singleUseAdapter;
      const store = new OAuthStore({ keyring: s.keyring, adapter: single ? s.storage.adapter : counted(s.storage.adapter), ...(single && { singleUseAdapter: counted(single) }), now: s.clock.now });
      const { client } = await store.registerClient({ type: 'public', grantTypes: [DEVICE_CODE_GRANT], scope: ['tv'] });
      const target = await store.createDeviceAuthorization({ clientId: client.clientId });
      const caller = { attemptKey: '203.0.113.9' };
      for (let look = 0; look < MAX_USER_CODE_ATTEMPTS + 2; look++) expect(await store.getDeviceAuthorization(target.userCode, caller)).not.toBeNull();
      lookups.count = 0;
      // Counted before the lookup: a count checked first and raised afterwards let every guess be looked up
      // (and a right code among them found past the limit).
      const burst = Math.max(contenders, 2 * MAX_USER_CODE_ATTEMPTS);
      const guesses = await settle(burst, () => store.getDeviceAuthorization('BCDF-GHJK', caller));
      expect(lookups.count).toBe(MAX_USER_CODE_ATTEMPTS);
      expect(guesses.ok).toEqual(Array.from({ length: MAX_USER_CODE_ATTEMPTS }, () => null));
      expect(guesses.errors.every((error) => error instanceof SlowDownError)).toBe(true);
      await expect(store.getDeviceAuthorization(target.userCode, caller)).rejects.toBeInstanceOf(SlowDownError);
    });

    test('signing keys: one current ES256 key, published in the JWKS with its overlap; rotation keeps the old one verifying; private keys sealed', async () => {
      const s = await setup({ signingKeyRotationSeconds: 3600, signingKeyOverlapSeconds: 7200, accessTokenTtlSeconds: 600 });
      const key = await s.store.signingKey();
      expect(key).toMatchObject({ alg: 'ES256', publicJwk: { kty: 'EC', crv: 'P-256', kid: key.kid, use: 'sig', alg: 'ES256' } });
      expect(key.privateKey.extractable).toBe(false);
      expect((await s.store.signingKey()).kid).toBe(key.kid); // the same until it stops signing
      const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new Uint8Array([1, 2, 3]));
      const [published] = (await s.store.jwks()).keys;
      const verifier = await crypto.subtle.importKey('jwk', published!, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, verifier, signature, new Uint8Array([1, 2, 3]))).toBe(true);
      expect(published).not.toHaveProperty('d');
      s.clock.advance(3_600_001);
      const next = await s.open().signingKey(); // another isolate, after the rotation
      expect(next.kid).not.toBe(key.kid);
      expect((await s.open().jwks()).keys.map((jwk) => jwk.kid).sort()).toEqual([key.kid, next.kid].sort());
      s.clock.advance(7_200_000);
      expect((await s.open().jwks()).keys.map((jwk) => jwk.kid)).toEqual([next.kid]);
      const rsa = await s.store.signingKey('RS256');
      expect(rsa.publicJwk).toMatchObject({ kty: 'RSA', alg: 'RS256', kid: rsa.kid });
      // No private key material in any stored byte: a stored private JWK would show its "d" member.
      for (const adapter of s.adapters) {
        for (const entry of await dumpAdapter(adapter)) expect(new TextDecoder().decode(entry.value)).not.toContain('"d":');
      }
    });

    test('revocation list: a revoked grant is listed while its tokens could live, then drops out', async () => {
      const s = await setup({ accessTokenTtlSeconds: 300 });
      const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      const { verifier, challenge } = await pkcePair();
      const { code } = await s.store.createAuthorizationCode({ clientId: client.clientId, userId: 'listed', redirectUri: REDIRECT, codeChallenge: challenge });
      const tokens = await s.store.exchangeAuthorizationCode({ clientId: client.clientId, code, redirectUri: REDIRECT, codeVerifier: verifier });
      expect(await s.store.listRevocations()).toEqual([]);
      await s.store.revokeToken({ clientId: client.clientId, token: tokens.refreshToken! });
      expect((await s.store.listRevocations()).map((entry) => entry.id)).toEqual([tokens.grantId]);
      await s.store.recordRevocation(`${tokens.grantId}.jwt-1`, s.clock.now() + 60_000);
      expect((await s.store.listRevocations()).map((entry) => entry.id).sort()).toEqual([tokens.grantId, `${tokens.grantId}.jwt-1`].sort());
      s.clock.advance(300_001);
      expect(await s.store.listRevocations()).toEqual([]);
    });
  });
}
