import { describe, expect, test } from 'vitest';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import {
  ConsistencyError,
  InvalidClientError,
  InvalidGrantError,
  InvalidRequestError,
  UnauthorizedClientError,
} from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import type { OAuthStorePolicy, TokenResult } from '../../src/oauth/types.js';
import { createTestClock, nonAtomicWrapper, type TestClock } from '../../src/storage/conformance/index.js';
import { dumpAdapter, findSecrets, fingerprint, interceptAdapter, pkcePair, racyAdapterClaimingAtomicity } from './oauth-store-helpers.js';

/**
 * The OAuthStore suite, parameterized by storage. Each adapter's test file
 * calls {@link describeOAuthStoreSuite} with a factory; memory in Node,
 * D1 / Durable Object / KV+DO in workerd. vitest and Web APIs only.
 */

export interface OAuthStoreSuiteStorage {
  adapter: StorageAdapter;
  /** Atomic store for grant records (e.g. a Durable Object beside KV). */
  singleUseAdapter?: StorageAdapter;
}

export interface OAuthStoreSuiteOptions {
  /**
   * Fresh storage whose logical expiry reads `clock.now`. Called once per
   * test. The raw-byte scan and the "store unchanged" checks list every key
   * of the adapters: a shared backend works as long as no other test writes
   * to it meanwhile (tests of one file run one after another).
   */
  create: (clock: TestClock) => Promise<OAuthStoreSuiteStorage>;
  /** Concurrent callers in the race tests (default 500). */
  contenders?: number;
  /**
   * Concurrent callers in the negative control (default `contenders`). Every
   * winner there writes tokens and audit events, so on slow backends a
   * smaller number (e.g. 100) keeps the run short and still shows the race.
   */
  negativeControlContenders?: number;
  /**
   * Run the negative controls (default true). They wait on the racy adapter's
   * 2 s barrier timeout; the mutation run (tests/mutation/) turns them off.
   */
  negativeControls?: boolean;
}

const REDIRECT = 'https://app.example/callback/9f1c';
const BIG = 'x'.repeat(10 * 1024 * 1024);

type Setup = Awaited<ReturnType<typeof setup>>;

// One keyring for the whole suite: adapters shared between tests (D1, KV)
// then hold only records every test's store can open.
const SUITE_SECRET = generateSecret();
let suiteKeyring: Promise<Keyring> | undefined;
const getSuiteKeyring = (): Promise<Keyring> => (suiteKeyring ??= Keyring.fromSecret(SUITE_SECRET));

async function setup(options: OAuthStoreSuiteOptions, policy: OAuthStorePolicy = {}, clientType: 'public' | 'confidential' = 'confidential') {
  const clock = createTestClock();
  const storage = await options.create(clock);
  const keyring = await getSuiteKeyring();
  const store = new OAuthStore({
    keyring,
    adapter: storage.adapter,
    ...(storage.singleUseAdapter && { singleUseAdapter: storage.singleUseAdapter }),
    now: clock.now,
    ...policy,
  });
  const registered = await store.registerClient({
    type: clientType,
    name: 'Test app',
    redirectUris: [REDIRECT, 'http://127.0.0.1:8788/cb'],
    scope: ['read', 'write', 'profile'],
  });
  const creds = {
    clientId: registered.client.clientId,
    ...(registered.clientSecret !== undefined && { clientSecret: registered.clientSecret }),
  };
  const adapters = storage.singleUseAdapter ? [storage.adapter, storage.singleUseAdapter] : [storage.adapter];
  // User ids unique to this test, so a backend shared between tests cannot mix their grants.
  const run = crypto.randomUUID().slice(0, 8);
  const u1: string = `user-1-${run}`;
  const u2: string = `user-2-${run}`;
  const u3: string = `user-3-${run}`;
  /** Issues a code for `userId` with PKCE and returns it with its verifier. */
  const issueCode = async (userId = u1, extra: { props?: unknown; scope?: string[] } = {}) => {
    const { verifier, challenge } = await pkcePair();
    const { code, grantId } = await store.createAuthorizationCode({
      clientId: creds.clientId,
      userId,
      redirectUri: REDIRECT,
      scope: extra.scope ?? ['read'],
      codeChallenge: challenge,
      ...(extra.props !== undefined && { props: extra.props }),
    });
    return { code, grantId, verifier };
  };
  /** A full authorization: code then exchange. */
  const authorize = async (userId = u1): Promise<TokenResult> => {
    const { code, verifier } = await issueCode(userId);
    return store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
  };
  const snapshot = async () => (await Promise.all(adapters.map(dumpAdapter))).map(fingerprint);
  /** The same data through a single-use store that only claims to be atomic (negative controls), for `contenders` racers. */
  const racyStore = (contenders: number) => new OAuthStore({
    keyring,
    adapter: storage.adapter,
    singleUseAdapter: racyAdapterClaimingAtomicity(storage.singleUseAdapter ?? storage.adapter, contenders),
    now: clock.now,
  });
  return { clock, store, keyring, storage, adapters, creds, client: registered.client, issueCode, authorize, snapshot, racyStore, u1, u2, u3 };
}

/** An OAuthStore on existing storage under the given secret(s): for key-rotation tests. */
async function openOn(
  storage: { adapter: StorageAdapter; singleUseAdapter?: StorageAdapter },
  clock: TestClock,
  secret: Parameters<typeof Keyring.fromSecret>[0],
): Promise<OAuthStore> {
  return new OAuthStore({
    keyring: await Keyring.fromSecret(secret),
    adapter: storage.adapter,
    ...(storage.singleUseAdapter && { singleUseAdapter: storage.singleUseAdapter }),
    now: clock.now,
  });
}

async function race<T>(count: number, call: () => Promise<T>): Promise<{ ok: T[]; errors: unknown[] }> {
  const settled = await Promise.allSettled(Array.from({ length: count }, call));
  return {
    ok: settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    errors: settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
  };
}

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function expectInvalidGrant(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(InvalidGrantError);
}

async function expectDead(s: Setup, tokens: TokenResult): Promise<void> {
  expect(await s.store.validateAccessToken(tokens.accessToken)).toBeNull();
  expect(await s.store.introspect(tokens.accessToken)).toStrictEqual({ active: false });
  if (tokens.refreshToken) {
    expect(await s.store.introspect(tokens.refreshToken)).toStrictEqual({ active: false });
    await expectInvalidGrant(s.store.refreshAccessToken({ ...s.creds, refreshToken: tokens.refreshToken }));
  }
}

export function describeOAuthStoreSuite(label: string, options: OAuthStoreSuiteOptions): void {
  const contenders = options.contenders ?? 500;
  const controlContenders = options.negativeControlContenders ?? contenders;
  const negativeControls = options.negativeControls ?? true;

  describe(`OAuthStore: ${label}`, () => {
    test('construction refuses a non-atomic single-use store with ConsistencyError', async () => {
      const clock = createTestClock();
      const storage = await options.create(clock);
      const keyring = await getSuiteKeyring();
      expect(() => new OAuthStore({ keyring, adapter: nonAtomicWrapper(storage.adapter) })).toThrow(ConsistencyError);
      expect(
        () => new OAuthStore({ keyring, adapter: storage.adapter, singleUseAdapter: nonAtomicWrapper(storage.singleUseAdapter ?? storage.adapter) }),
      ).toThrow(ConsistencyError);
      // A non-atomic adapter is fine for the rest when single-use records go to an atomic one.
      expect(
        () => new OAuthStore({ keyring, adapter: nonAtomicWrapper(storage.adapter), singleUseAdapter: storage.singleUseAdapter ?? storage.adapter }),
      ).not.toThrow();
      // Unknown options are refused like unknown parameters everywhere else (a typo must not fall back to a default).
      const typo = { keyring, adapter: storage.adapter, refreshGraceSeconds: 30 } as unknown as ConstructorParameters<typeof OAuthStore>[0];
      expect(thrown(() => new OAuthStore(typo))).toMatchObject({ code: 'ERR_INVALID_REQUEST', field: 'options.refreshGraceSeconds' });
      const graceTypo = { keyring, adapter: storage.adapter, singleUseAdapter: storage.singleUseAdapter ?? storage.adapter, refreshGrace: { windowSeconds: 5, maxUses: 2, window: 5 } } as unknown as ConstructorParameters<typeof OAuthStore>[0];
      expect(thrown(() => new OAuthStore(graceTypo))).toMatchObject({ code: 'ERR_INVALID_REQUEST', field: 'options.refreshGrace.window' });
    });

    test('full flow: session, code, exchange, validate, introspect, refresh rotation, grants, stats, health', async () => {
      const s = await setup(options);
      const base = await s.store.stats();
      const { verifier, challenge } = await pkcePair();
      const session = await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, scope: ['read'], state: 'xyz', codeChallenge: challenge });
      expect(session.sessionId).toMatch(/^ovs_/);
      expect((await s.store.getSession(session.sessionId))?.state).toBe('xyz');
      const done = await s.store.updateSession(session.sessionId, { userId: s.u1, completed: true });
      expect(done.completed).toBe(true);
      const { code, grantId } = await s.store.createAuthorizationCode({
        clientId: s.creds.clientId, userId: s.u1, redirectUri: REDIRECT, scope: ['read'], codeChallenge: challenge, props: { plan: 'pro' },
      });
      expect(await s.store.deleteSession(session.sessionId)).toBe(true);
      expect(await s.store.getSession(session.sessionId)).toBeNull();

      const tokens = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
      expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600, scope: ['read'], grantId });
      expect(tokens.refreshToken).toBeDefined();
      expect(tokens.accessToken).not.toContain(s.u1);
      const info = await s.store.validateAccessToken(tokens.accessToken);
      expect(info).toMatchObject({ clientId: s.creds.clientId, userId: s.u1, scope: ['read'], grantId, props: { plan: 'pro' } });
      expect(await s.store.introspect(tokens.accessToken)).toMatchObject({ active: true, client_id: s.creds.clientId, sub: s.u1, scope: 'read', token_type: 'Bearer' });
      expect(await s.store.introspect(tokens.refreshToken!)).toMatchObject({ active: true, sub: s.u1 });

      s.clock.advance(60_000);
      const next = await s.store.refreshAccessToken({ ...s.creds, refreshToken: tokens.refreshToken! });
      expect(next.refreshToken).not.toBe(tokens.refreshToken);
      expect(await s.store.validateAccessToken(next.accessToken)).toMatchObject({ userId: s.u1, grantId });
      expect(await s.store.introspect(tokens.refreshToken!)).toStrictEqual({ active: false });
      // A narrower scope on refresh.
      const narrow = await s.store.refreshAccessToken({ ...s.creds, refreshToken: next.refreshToken!, scope: [] });
      expect(narrow.scope).toEqual([]);

      const grants = await s.store.listGrants(s.u1);
      expect(grants.grants.map((grant) => grant.grantId)).toEqual([grantId]);
      expect(grants.grants[0]).toMatchObject({ clientId: s.creds.clientId, userId: s.u1, scope: ['read'], props: { plan: 'pro' } });
      expect((await s.store.listGrants(s.u2)).grants).toEqual([]);
      const after = await s.store.stats();
      expect({
        clients: after.clients - base.clients,
        activeGrants: after.activeGrants - base.activeGrants,
        activeRefreshTokens: after.activeRefreshTokens - base.activeRefreshTokens,
        activeAccessTokens: after.activeAccessTokens - base.activeAccessTokens,
      }).toEqual({ clients: 0, activeGrants: 1, activeRefreshTokens: 1, activeAccessTokens: 3 });
      expect(after.auditEvents).toBeGreaterThan(base.auditEvents);
      const health = await s.store.healthCheck();
      expect(health.ok).toBe(true);
      expect(health.checks.map((check) => check.name)).toContain('adapter');
    });

    test('clients: redirect URI rules, secret once, authentication, update, rotation, list', async () => {
      const s = await setup(options);
      for (const uri of ['http://app.example/cb', 'https://app.example/cb#frag', 'not a uri', 'ftp://x.example/', 'https://u:p@app.example/']) {
        await expect(s.store.registerClient({ type: 'public', redirectUris: [uri] })).rejects.toMatchObject({ field: 'redirectUris[0]' });
      }
      const loopback = await s.store.registerClient({ type: 'public', redirectUris: ['http://localhost:3000/cb', 'http://[::1]/cb'] });
      expect(loopback.clientSecret).toBeUndefined();
      const client = await s.store.getClient(s.creds.clientId);
      expect(client).toMatchObject({ type: 'confidential', redirectUris: [REDIRECT, 'http://127.0.0.1:8788/cb'] });
      expect(JSON.stringify(client)).not.toContain(s.creds.clientSecret!);

      await expect(s.store.authenticateClient(s.creds.clientId, s.creds.clientSecret)).resolves.toMatchObject({ clientId: s.creds.clientId });
      const secret = s.creds.clientSecret!;
      const wrongSecret = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      await expect(s.store.authenticateClient(s.creds.clientId, wrongSecret)).rejects.toBeInstanceOf(InvalidClientError);
      await expect(s.store.authenticateClient(s.creds.clientId)).rejects.toBeInstanceOf(InvalidClientError);
      await expect(s.store.authenticateClient('no-such-client', 'secret')).rejects.toBeInstanceOf(InvalidClientError);
      await expect(s.store.authenticateClient(loopback.client.clientId)).resolves.toMatchObject({ type: 'public' });
      await expect(s.store.authenticateClient(loopback.client.clientId, 'anything')).rejects.toBeInstanceOf(InvalidClientError);

      const rotated = await s.store.updateClient(s.creds.clientId, { name: 'Renamed', rotateSecret: true });
      expect(rotated.client.name).toBe('Renamed');
      await expect(s.store.authenticateClient(s.creds.clientId, s.creds.clientSecret)).rejects.toBeInstanceOf(InvalidClientError);
      await expect(s.store.authenticateClient(s.creds.clientId, rotated.clientSecret)).resolves.toBeDefined();

      // Pages of one cover every client exactly once.
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.store.listClients({ limit: 1, ...(cursor !== undefined && { cursor }) });
        expect(page.clients.length).toBeLessThanOrEqual(1);
        listed.push(...page.clients.map((c) => c.clientId));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(new Set(listed).size).toBe(listed.length);
      expect(listed).toEqual(expect.arrayContaining([s.creds.clientId, loopback.client.clientId]));
    });

    test('a client id of the caller\'s choosing (a metadata document URL): created only if free, usable for the whole flow', async () => {
      const s = await setup(options);
      const clientId = `https://client.example/oauth/${crypto.randomUUID()}.json`;
      const { client, clientSecret } = await s.store.registerClient({ clientId, type: 'public', redirectUris: [REDIRECT], metadata: { source: 'document' } });
      expect(client.clientId).toBe(clientId);
      expect(clientSecret).toBeUndefined();
      const before = await s.snapshot();
      await expect(s.store.registerClient({ clientId, type: 'confidential', redirectUris: ['https://other.example/cb'] })).rejects.toMatchObject({
        code: 'ERR_INVALID_REQUEST',
        field: 'clientId',
      });
      expect(await s.snapshot()).toEqual(before);
      for (const bad of ['', 'with space', 'x'.repeat(257), 'clïent', 42]) {
        await expect(s.store.registerClient({ clientId: bad as string, type: 'public', redirectUris: [REDIRECT] })).rejects.toMatchObject({ field: 'clientId' });
      }
      expect(await s.snapshot()).toEqual(before);
      const { verifier, challenge } = await pkcePair();
      const { code } = await s.store.createAuthorizationCode({ clientId, userId: s.u1, redirectUri: REDIRECT, codeChallenge: challenge });
      const tokens = await s.store.exchangeAuthorizationCode({ clientId, code, redirectUri: REDIRECT, codeVerifier: verifier });
      expect(await s.store.validateAccessToken(tokens.accessToken)).toMatchObject({ clientId, userId: s.u1 });
      expect(await s.store.refreshAccessToken({ clientId, refreshToken: tokens.refreshToken! })).toMatchObject({ tokenType: 'Bearer' });
      expect((await s.store.listClientGrants(clientId)).grants).toHaveLength(1);
    });

    test(`${contenders} concurrent exchanges of one code: exactly 1 succeeds, the rest get invalid_grant, and the winner's tokens end revoked`, async () => {
      const s = await setup(options);
      const { code, grantId, verifier } = await s.issueCode();
      const { ok, errors } = await race(contenders, () =>
        s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier }),
      );
      expect(ok).toHaveLength(1);
      expect(errors).toHaveLength(contenders - 1);
      expect(errors.every((error) => error instanceof InvalidGrantError)).toBe(true);
      // A loser writes nothing: no orphan access record per losing caller.
      const access = await (s.storage.singleUseAdapter ?? s.storage.adapter).list({ prefix: `access/${grantId}/` });
      expect(access.keys).toHaveLength(1);
      await expectDead(s, ok[0]!);
      const violations = await s.store.queryAudit({ type: 'security_violation', clientId: s.creds.clientId });
      expect(violations.events).toHaveLength(1);
      expect(violations.events[0]!.details).toEqual({ reason: 'code_replay' });
    });

    test(`${contenders} concurrent refreshes, grace off: exactly one successor, the others are reuse, the family ends revoked`, async () => {
      const s = await setup(options);
      const first = await s.authorize();
      const { ok, errors } = await race(contenders, () => s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! }));
      expect(ok).toHaveLength(1);
      expect(errors).toHaveLength(contenders - 1);
      expect(errors.every((error) => error instanceof InvalidGrantError)).toBe(true);
      await expectDead(s, ok[0]!);
      await expectDead(s, first);
    });

    test(`${contenders} concurrent refreshes, grace on: every caller gets the same successor and the family stays valid; after the window, reuse revokes`, async () => {
      const s = await setup(options, { refreshGrace: { windowSeconds: 10, maxUses: 1000 } });
      const first = await s.authorize();
      const { ok, errors } = await race(contenders, () => s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! }));
      expect(errors).toEqual([]);
      expect(new Set(ok.map((result) => result.refreshToken)).size).toBe(1);
      expect(new Set(ok.map((result) => result.accessToken)).size).toBe(1);
      expect(ok[0]!.refreshToken).not.toBe(first.refreshToken);
      expect(await s.store.validateAccessToken(ok[0]!.accessToken)).toMatchObject({ userId: s.u1 });
      expect(await s.store.introspect(ok[0]!.refreshToken!)).toMatchObject({ active: true });

      // Window is non-sliding: 10 s after the rotation, the rotated token is reuse and revokes the grant.
      s.clock.advance(10_000);
      await expectInvalidGrant(s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! }));
      await expectDead(s, ok[0]!);
    });

    test('grace window is count-limited: one retry past maxUses revokes the grant', async () => {
      const s = await setup(options, { refreshGrace: { windowSeconds: 30, maxUses: 2 } });
      const first = await s.authorize();
      const successor = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
      for (let retry = 0; retry < 2; retry++) {
        s.clock.advance(1000);
        const again = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! });
        expect(again.refreshToken).toBe(successor.refreshToken);
      }
      await expectInvalidGrant(s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken! }));
      await expectDead(s, successor);
    });

    test('PKCE: wrong, missing or unexpected verifier is invalid_grant and does not burn the code; plain needs opt-in', async () => {
      const s = await setup(options);
      const { code, verifier } = await s.issueCode();
      const other = (await pkcePair()).verifier;
      const before = await s.snapshot();
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: other }));
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT }));
      expect(await s.snapshot()).toEqual(before);
      // The code was not burned: the holder of the verifier still redeems it.
      await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier })).resolves.toBeDefined();

      // Confidential client without a challenge: a verifier is refused.
      const noPkce = await s.store.createAuthorizationCode({ clientId: s.creds.clientId, userId: s.u1, redirectUri: REDIRECT });
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code: noPkce.code, redirectUri: REDIRECT, codeVerifier: verifier }));
      await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code: noPkce.code, redirectUri: REDIRECT })).resolves.toBeDefined();

      // S256 only by default; plain only when enabled.
      const plainRequest = { clientId: s.creds.clientId, userId: 'u', redirectUri: REDIRECT, codeChallenge: verifier, codeChallengeMethod: 'plain' as const };
      await expect(s.store.createAuthorizationCode(plainRequest)).rejects.toMatchObject({ field: 'codeChallengeMethod' });
      const plain = await setup(options, { allowPlainPkce: true });
      const plainCode = await plain.store.createAuthorizationCode({ ...plainRequest, clientId: plain.creds.clientId });
      await expectInvalidGrant(plain.store.exchangeAuthorizationCode({ ...plain.creds, code: plainCode.code, redirectUri: REDIRECT, codeVerifier: other }));
      await expect(plain.store.exchangeAuthorizationCode({ ...plain.creds, code: plainCode.code, redirectUri: REDIRECT, codeVerifier: verifier })).resolves.toBeDefined();
      // Public clients must use PKCE.
      const pub = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      await expect(s.store.createAuthorizationCode({ clientId: pub.client.clientId, userId: 'u', redirectUri: REDIRECT })).rejects.toMatchObject({ field: 'codeChallenge' });
    });

    test('wrong client, wrong redirect URI, expired code: invalid_grant; unauthenticated replays revoke nothing', async () => {
      const s = await setup(options);
      const otherClient = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
      const other = { clientId: otherClient.client.clientId, clientSecret: otherClient.clientSecret! };
      const { code, verifier } = await s.issueCode();
      const before = await s.snapshot();
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...other, code, redirectUri: REDIRECT, codeVerifier: verifier }));
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: 'http://127.0.0.1:8788/cb', codeVerifier: verifier }));
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code: `${code.slice(0, -2)}${code.endsWith('AA') ? 'BB' : 'AA'}`, redirectUri: REDIRECT, codeVerifier: verifier }));
      await expect(s.store.exchangeAuthorizationCode({ ...s.creds, clientSecret: 'wrong', code, redirectUri: REDIRECT, codeVerifier: verifier })).rejects.toBeInstanceOf(InvalidClientError);
      expect(await s.snapshot()).toEqual(before);

      const tokens = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
      // Replays that fail client authentication, client binding, redirect binding or PKCE change nothing.
      const afterExchange = await s.snapshot();
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...other, code, redirectUri: REDIRECT, codeVerifier: verifier }));
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: 'http://127.0.0.1:8788/cb', codeVerifier: verifier }));
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: (await pkcePair()).verifier }));
      await expect(s.store.exchangeAuthorizationCode({ ...s.creds, clientSecret: 'wrong', code, redirectUri: REDIRECT, codeVerifier: verifier })).rejects.toBeInstanceOf(InvalidClientError);
      expect(await s.snapshot()).toEqual(afterExchange);
      expect(await s.store.validateAccessToken(tokens.accessToken)).not.toBeNull();
      // A refresh token presented by another client revokes nothing either.
      await expectInvalidGrant(s.store.refreshAccessToken({ ...other, refreshToken: tokens.refreshToken! }));
      expect(await s.store.validateAccessToken(tokens.accessToken)).not.toBeNull();

      // Expired code (60 s default).
      const late = await s.issueCode();
      s.clock.advance(60_000);
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code: late.code, redirectUri: REDIRECT, codeVerifier: late.verifier }));
    });

    test('revoked and expired tokens: validate is null, introspect is exactly { active: false }', async () => {
      const s = await setup(options);
      const a = await s.authorize();
      // Revoke one access token (RFC 7009): only it dies.
      await s.store.revokeToken({ ...s.creds, token: a.accessToken, tokenTypeHint: 'access_token' });
      expect(await s.store.validateAccessToken(a.accessToken)).toBeNull();
      expect(await s.store.introspect(a.accessToken)).toStrictEqual({ active: false });
      const b = await s.store.refreshAccessToken({ ...s.creds, refreshToken: a.refreshToken! });
      expect(await s.store.validateAccessToken(b.accessToken)).not.toBeNull();
      // Revoking the refresh token revokes the grant's access tokens too.
      await s.store.revokeToken({ ...s.creds, token: b.refreshToken! });
      await expectDead(s, b);
      // Unknown and malformed tokens: success, and inactive.
      await expect(s.store.revokeToken({ ...s.creds, token: 'ova_unknown' })).resolves.toBeUndefined();
      expect(await s.store.introspect('garbage')).toStrictEqual({ active: false });
      // A client may not revoke another client's token.
      const c = await s.authorize();
      const otherClient = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
      await expect(s.store.revokeToken({ clientId: otherClient.client.clientId, clientSecret: otherClient.clientSecret!, token: c.accessToken }))
        .rejects.toBeInstanceOf(UnauthorizedClientError);
      expect(await s.store.validateAccessToken(c.accessToken)).not.toBeNull();
      // Expiry through the injected clock: access after 1 h, refresh after the idle expiry.
      s.clock.advance(3600_000);
      expect(await s.store.validateAccessToken(c.accessToken)).toBeNull();
      expect(await s.store.introspect(c.accessToken)).toStrictEqual({ active: false });
      s.clock.advance(30 * 86_400_000);
      await expectDead(s, c);
    });

    test('deleteClient and revokeGrant: none of their tokens validate', async () => {
      const s = await setup(options);
      const kept = await s.authorize(s.u1);
      const revoked = await s.authorize(s.u1);
      expect((await s.store.listGrants(s.u1)).grants).toHaveLength(2);
      expect(await s.store.revokeGrant(revoked.grantId)).toBe(true);
      expect(await s.store.revokeGrant(revoked.grantId)).toBe(false);
      await expectDead(s, revoked);
      expect(await s.store.validateAccessToken(kept.accessToken)).not.toBeNull();
      expect((await s.store.listGrants(s.u1)).grants.map((grant) => grant.grantId)).toEqual([kept.grantId]);

      const pending = await s.issueCode(s.u2);
      expect(await s.store.deleteClient(s.creds.clientId)).toBe(true);
      expect(await s.store.getClient(s.creds.clientId)).toBeNull();
      expect(await s.store.validateAccessToken(kept.accessToken)).toBeNull();
      expect(await s.store.introspect(kept.refreshToken!)).toStrictEqual({ active: false });
      expect((await s.store.listGrants(s.u1)).grants).toEqual([]);
      // Its unredeemed code is dead too.
      await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code: pending.code, redirectUri: REDIRECT, codeVerifier: pending.verifier }))
        .rejects.toBeInstanceOf(InvalidClientError);
    });

    test('after a full flow, no raw key or value byte holds a code, token, secret, user id, redirect URI, scope or props', async () => {
      const s = await setup(options);
      const userId = 'alice.4b7d@example.org';
      const scope = 'scope-marker-7c1e';
      const uri = 'https://rp.example/oauth/return-83b2';
      const propsMarker = 'props-marker-d29a';
      const registered = await s.store.registerClient({ type: 'confidential', redirectUris: [uri], scope: [scope] });
      const creds = { clientId: registered.client.clientId, clientSecret: registered.clientSecret! };
      const { verifier, challenge } = await pkcePair();
      const session = await s.store.createSession({ clientId: creds.clientId, redirectUri: uri, scope: [scope], codeChallenge: challenge });
      await s.store.updateSession(session.sessionId, { userId, completed: true, props: { m: propsMarker } });
      const { code } = await s.store.createAuthorizationCode({
        clientId: creds.clientId, userId, redirectUri: uri, scope: [scope], codeChallenge: challenge, props: { m: propsMarker },
      });
      const first = await s.store.exchangeAuthorizationCode({ ...creds, code, redirectUri: uri, codeVerifier: verifier });
      const second = await s.store.refreshAccessToken({ ...creds, refreshToken: first.refreshToken! });
      const secretPart = (token: string): string => token.slice(token.indexOf('.') + 1);
      const secrets: Record<string, string> = {
        code, codeSecret: secretPart(code), sessionId: session.sessionId, clientSecret: creds.clientSecret, userId, uri, scope, propsMarker,
        verifier, challenge,
      };
      for (const [name, t] of Object.entries({ first, second })) {
        secrets[`${name}.access`] = secretPart(t.accessToken);
        secrets[`${name}.refresh`] = secretPart(t.refreshToken!);
      }
      const dumps = await Promise.all(s.adapters.map(dumpAdapter));
      expect(dumps.flat().length).toBeGreaterThan(10);
      expect(findSecrets(dumps, secrets)).toEqual([]);
      // The scan itself can find things: a planted plaintext copy is caught.
      await s.storage.adapter.put('plant/x', new TextEncoder().encode(`..${btoa(`{"u":"${userId}"}`)}..`) as Uint8Array<ArrayBuffer>);
      expect(findSecrets([await dumpAdapter(s.storage.adapter)], { userId })).not.toEqual([]);
      await s.storage.adapter.delete('plant/x');
    });

    test('audit trail of a full flow: expected events in order, newest first, no plaintext user id, queryable', async () => {
      const s = await setup(options);
      const userId = 'bob.audit.5e0c';
      const { verifier, challenge } = await pkcePair();
      const session = await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
      await s.store.updateSession(session.sessionId, { userId, completed: true });
      const { code } = await s.store.createAuthorizationCode({ clientId: s.creds.clientId, userId, redirectUri: REDIRECT, codeChallenge: challenge });
      s.clock.advance(1000);
      const tokens = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
      s.clock.advance(1000);
      await s.store.refreshAccessToken({ ...s.creds, refreshToken: tokens.refreshToken! });
      const all = await s.store.queryAudit({ clientId: s.creds.clientId });
      const types = all.events.map((event) => event.type).reverse();
      expect(types).toEqual([
        'client_registered', 'session_created', 'session_completed', 'code_issued', 'code_used', 'access_token_issued',
        'refresh_token_issued', 'refresh_token_used', 'access_token_issued', 'refresh_token_issued',
      ]);
      expect(JSON.stringify(all)).not.toContain(userId);
      const byUser = await s.store.queryAudit({ userId });
      expect(byUser.events.map((event) => event.type)).toEqual(types.slice(2).reverse());
      // Operations that named the user carry its lookup id; the others (a redemption, a refresh) are found through the user's grant.
      expect(new Set(byUser.events.flatMap((event) => (event.userLookupId === undefined ? [] : [event.userLookupId]))).size).toBe(1);
      expect(byUser.events.filter((event) => event.userLookupId === undefined).every((event) => event.grantId === tokens.grantId)).toBe(true);
      expect((await s.store.queryAudit({ type: 'access_token_issued', clientId: s.creds.clientId })).events).toHaveLength(2);
      expect((await s.store.queryAudit({ type: 'access_token_issued' })).events.length).toBeGreaterThanOrEqual(2);
      const start = all.events.at(-1)!.at;
      expect((await s.store.queryAudit({ clientId: s.creds.clientId, since: start + 1000 })).events.map((event) => event.type)).toEqual(types.slice(4).reverse());
      expect((await s.store.queryAudit({ clientId: s.creds.clientId, until: start + 1000 })).events).toHaveLength(4);
      // Pagination: pages of 3 cover everything once, in order.
      const paged: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.store.queryAudit({ clientId: s.creds.clientId, limit: 3, ...(cursor !== undefined && { cursor }) });
        paged.push(...page.events.map((event) => event.id));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(paged).toEqual(all.events.map((event) => event.id));
    });

    test('cleanupExpired removes expired and revoked data and returns counts; stats follow', async () => {
      const s = await setup(options);
      const kept = await s.authorize();
      const gone = await s.authorize(s.u2);
      await s.store.revokeGrant(gone.grantId);
      const unredeemed = await s.issueCode(s.u3);
      await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: (await pkcePair()).challenge });
      s.clock.advance(3_600_001);
      const result = await s.store.cleanupExpired();
      // The revoked grant and the one whose code was never redeemed in time go with every record of theirs,
      // but for the user index entry and the audit trail, kept for audit by user until the retention passes.
      expect(result.grants).toBe(2);
      expect(result.records['grant']).toBe(2);
      const keys = (await Promise.all(s.adapters.map(dumpAdapter))).flat().map((entry) => entry.key);
      const ownRecords = (grantId: string) => keys.filter((key) => key.includes(grantId) && !/^(user-grant|audit)\//.test(key));
      expect(ownRecords(gone.grantId)).toEqual([]);
      expect(ownRecords(unredeemed.grantId)).toEqual([]);
      expect(keys.filter((key) => key.startsWith('user-grant/') && key.endsWith(`~${gone.grantId}`))).toHaveLength(1);
      // Expired records of a live grant (its access token) are dropped by the adapters' own sweep.
      expect(keys.filter((key) => key.startsWith(`access/${kept.grantId}/`))).toEqual([]);
      expect(keys.filter((key) => key.startsWith('session/'))).toEqual([]);
      expect((await s.store.listGrants(s.u1)).grants.map((g) => g.grantId)).toEqual([kept.grantId]);
      await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: kept.refreshToken! })).resolves.toBeDefined();
      expect((await s.store.queryAudit({ type: 'cleanup', limit: 1 })).events[0]!.details).toEqual({ grants: 2, adapterExpired: result.adapterExpired });
    });

    test('bad input on every entry point: InvalidRequestError naming the field, store unchanged, 10 MB refused cheaply', async () => {
      const s = await setup(options);
      const { code, verifier } = await s.issueCode();
      const tokens = await s.authorize();
      const session = await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: (await pkcePair()).challenge });
      const st = s.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const exchange = { ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier };
      const codeParams = { clientId: s.creds.clientId, userId: 'u', redirectUri: REDIRECT, codeChallenge: (await pkcePair()).challenge };
      const cases: [string, unknown[], string][] = [
        ['registerClient', [null], 'params'],
        ['registerClient', [{ type: 'x', redirectUris: [REDIRECT] }], 'type'],
        ['registerClient', [{ type: 'public', redirectUris: [] }], 'redirectUris'],
        ['registerClient', [{ type: 'public', redirectUris: [BIG] }], 'redirectUris[0]'],
        ['registerClient', [{ type: 'public', redirectUris: ['http://evil.example/cb'] }], 'redirectUris[0]'],
        ['registerClient', [{ type: 'public', redirectUris: [REDIRECT], name: BIG }], 'name'],
        ['registerClient', [{ type: 'public', redirectUris: [REDIRECT], scope: ['a b'] }], 'scope[0]'],
        ['registerClient', [{ type: 'public', redirectUris: [REDIRECT], grantTypes: ['password'] }], 'grantTypes[0]'],
        ['registerClient', [{ type: 'public', redirectUris: [REDIRECT], metadata: BIG }], 'metadata'],
        ['registerClient', [{ type: 'public', redirect_uris: [REDIRECT] }], 'params.redirect_uris'],
        // Holes in arrays are refused by index, not skipped.
        // eslint-disable-next-line no-sparse-arrays
        ['registerClient', [{ type: 'public', redirectUris: [, REDIRECT] }], 'redirectUris[0]'],
        // eslint-disable-next-line no-sparse-arrays
        ['registerClient', [{ type: 'public', redirectUris: [REDIRECT], grantTypes: [,] }], 'grantTypes[0]'],
        // eslint-disable-next-line no-sparse-arrays
        ['registerClient', [{ type: 'public', redirectUris: [REDIRECT], scope: ['read', , 'write'] }], 'scope[1]'],
        // Lone surrogates would share UTF-8 (U+FFFD) with other strings: refused wherever a string goes in.
        ['registerClient', [{ type: 'public', redirectUris: [REDIRECT], name: 'app-\uD800' }], 'name'],
        // An unknown key that could be a secret is not echoed.
        ['registerClient', [{ type: 'public', redirectUris: [REDIRECT], [tokens.refreshToken!]: true }], 'params'],
        ['getClient', [''], 'clientId'],
        ['getClient', [BIG], 'clientId'],
        ['getClient', [42], 'clientId'],
        ['updateClient', [BIG, {}], 'clientId'],
        ['updateClient', [s.creds.clientId, { redirectUris: ['ftp://x.example/'] }], 'redirectUris[0]'],
        ['updateClient', [s.creds.clientId, { rotateSecret: 'yes' }], 'rotateSecret'],
        // eslint-disable-next-line no-sparse-arrays
        ['updateClient', [s.creds.clientId, { redirectUris: [REDIRECT, ,] }], 'redirectUris[1]'],
        ['deleteClient', [''], 'clientId'],
        ['listClients', [{ limit: 0 }], 'options.limit'],
        ['listClients', [{ cursor: '' }], 'options.cursor'],
        ['authenticateClient', [BIG, 'x'], 'clientId'],
        ['authenticateClient', [s.creds.clientId, BIG], 'clientSecret'],
        ['createSession', [{ clientId: s.creds.clientId, redirectUri: 'nope' }], 'redirectUri'],
        ['createSession', [{ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: 'short' }], 'codeChallenge'],
        ['createSession', [{ clientId: s.creds.clientId, redirectUri: REDIRECT, state: BIG }], 'state'],
        ['createSession', [{ clientId: s.creds.clientId, redirectUri: 'https://unregistered.example/cb' }], 'redirectUri'],
        ['createSession', [{ clientId: s.creds.clientId, redirectUri: REDIRECT, ttlSeconds: -1 }], 'ttlSeconds'],
        ['createSession', [{ clientId: s.creds.clientId, redirectUri: REDIRECT, state: 'st-\uDFFF' }], 'state'],
        // Leaving redirect_uri out of the request needs a client with exactly one registered URI (this one has two).
        ['createSession', [{ clientId: s.creds.clientId, redirectUri: REDIRECT, redirectUriExplicit: false, codeChallenge: (await pkcePair()).challenge }], 'redirectUriExplicit'],
        ['getSession', [''], 'sessionId'],
        ['getSession', [BIG], 'sessionId'],
        ['updateSession', [BIG, {}], 'sessionId'],
        ['updateSession', [session.sessionId, { userId: '' }], 'userId'],
        ['updateSession', [session.sessionId, { props: BIG }], 'props'],
        ['deleteSession', [42], 'sessionId'],
        ['completeAuthorization', [BIG, () => ({ userId: 'u' })], 'sessionId'],
        ['completeAuthorization', [session.sessionId, 'approve'], 'decide'],
        ['completeAuthorization', [session.sessionId, () => ({ userId: BIG })], 'userId'],
        ['completeAuthorization', [session.sessionId, () => ({ userId: 'u', props: BIG })], 'props'],
        ['completeAuthorization', [session.sessionId, () => ({ userId: 'u', scope: ['read write'] })], 'scope[0]'],
        ['createAuthorizationCode', [{ ...codeParams, userId: '' }], 'userId'],
        ['createAuthorizationCode', [{ ...codeParams, userId: BIG }], 'userId'],
        ['createAuthorizationCode', [{ ...codeParams, props: BIG }], 'props'],
        ['createAuthorizationCode', [{ ...codeParams, redirectUri: BIG }], 'redirectUri'],
        ['createAuthorizationCode', [{ ...codeParams, ttlSeconds: 601 }], 'ttlSeconds'],
        ['createAuthorizationCode', [{ ...codeParams, resources: ['not a uri'] }], 'resources[0]'],
        ['createAuthorizationCode', [{ ...codeParams, resources: 'https://api.example/' }], 'resources'],
        ['createAuthorizationCode', [{ ...codeParams, scope: 'read' }], 'scope'],
        ['createAuthorizationCode', [{ ...codeParams, userId: 'user-\uD800' }], 'userId'],
        ['createAuthorizationCode', [{ ...codeParams, redirectUriExplicit: 'no' }], 'redirectUriExplicit'],
        ['exchangeAuthorizationCode', [{ ...exchange, code: BIG }], 'code'],
        ['exchangeAuthorizationCode', [{ ...exchange, code: 42 }], 'code'],
        ['exchangeAuthorizationCode', [{ ...exchange, redirectUri: 'nope' }], 'redirectUri'],
        ['exchangeAuthorizationCode', [{ ...exchange, codeVerifier: 'short' }], 'codeVerifier'],
        ['exchangeAuthorizationCode', [{ ...exchange, codeVerifier: BIG }], 'codeVerifier'],
        ['exchangeAuthorizationCode', [{ ...exchange, redirect_uri: REDIRECT }], 'params.redirect_uri'],
        ['exchangeAuthorizationCode', [{ ...exchange, [code]: '' }], 'params'],
        ['exchangeAuthorizationCode', [{ ...exchange, [tokens.accessToken]: '' }], 'params'],
        // The authorization request named the redirect URI, so the token request must too (RFC 6749 §4.1.3); the code is not burnt.
        ['exchangeAuthorizationCode', [{ ...s.creds, code, codeVerifier: verifier }], 'redirectUri'],
        ['refreshAccessToken', [{ ...s.creds, refreshToken: '' }], 'refreshToken'],
        ['refreshAccessToken', [{ ...s.creds, refreshToken: tokens.refreshToken, scope: 'read' }], 'scope'],
        ['refreshAccessToken', [{ ...s.creds, refreshToken: BIG }], 'refreshToken'],
        ['validateAccessToken', [BIG], 'accessToken'],
        ['validateAccessToken', [undefined], 'accessToken'],
        ['validateAccessToken', [tokens.accessToken, { resource: 'not a uri' }], 'options.resource'],
        ['issueClientCredentials', [{ ...s.creds, scope: 'read' }], 'scope'],
        ['issueClientCredentials', [{ ...s.creds, resources: ['https://api.example/#frag'] }], 'resources[0]'],
        ['requestToken', [{ ...s.creds, grantType: 'authorization_code', code: 42 }], 'code'],
        ['requestToken', [{ ...s.creds, grantType: 'refresh_token', refreshToken: tokens.refreshToken, redirect_uri: REDIRECT }], 'params.redirect_uri'],
        ['listClientGrants', [''], 'clientId'],
        ['listClientGrants', [s.creds.clientId, { limit: 0 }], 'options.limit'],
        ['consumeOnce', ['Bad Namespace', 'jti', { expiresAt: s.clock.now() + 1000 }], 'namespace'],
        ['consumeOnce', ['dpop-jti', 'jti', { expiresAt: 'soon' }], 'expiresAt'],
        ['pushAuthorizationRequest', [{ clientId: s.creds.clientId, redirectUri: 'nope' }], 'redirectUri'],
        ['pushAuthorizationRequest', [{ clientId: s.creds.clientId, redirectUri: REDIRECT, ttlSeconds: 601 }], 'ttlSeconds'],
        ['takePushedAuthorizationRequest', ['https://not-a-urn.example/', s.creds.clientId], 'requestUri'],
        ['createDeviceAuthorization', [{ clientId: BIG }], 'clientId'],
        ['createDeviceAuthorization', [{ ...s.creds, scope: 'tv' }], 'scope'],
        ['getDeviceAuthorization', ['AEIOU'], 'userCode'],
        ['approveDeviceAuthorization', ['BCDF-GHJK', { userId: '' }], 'userId'],
        ['denyDeviceAuthorization', ['12345678'], 'userCode'],
        ['signingKey', ['HS256'], 'alg'],
        ['recordRevocation', ['not an id!', s.clock.now() + 1000], 'id'],
        ['exchangeAuthorizationCode', [{ ...exchange, dpopJkt: 'short' }], 'dpopJkt'],
        ['validateAccessToken', [tokens.accessToken, { dpopJkt: 42 }], 'options.dpopJkt'],
        ['introspect', [BIG], 'token'],
        ['introspect', [''], 'token'],
        ['revokeToken', [{ ...s.creds, token: BIG }], 'token'],
        ['revokeToken', [{ ...s.creds, token: tokens.accessToken, tokenTypeHint: 'id_token' }], 'tokenTypeHint'],
        ['listGrants', [''], 'userId'],
        ['listGrants', [BIG], 'userId'],
        ['listGrants', [s.u1, { limit: 5000 }], 'options.limit'],
        ['revokeGrant', ['nope'], 'grantId'],
        ['revokeGrant', [BIG], 'grantId'],
        ['queryAudit', [{ type: 'nope' }], 'type'],
        ['queryAudit', [{ since: -1 }], 'since'],
        ['queryAudit', [{ cursor: '!!' }], 'cursor'],
        ['queryAudit', [{ limit: 5000 }], 'limit'],
        ['queryAudit', [{ userId: BIG }], 'userId'],
        ['queryAudit', [{ userId: 'user-\uD800' }], 'userId'],
        ['queryAudit', [{ userId: 'user-\uDFFF' }], 'userId'],
        ['listGrants', ['user-\uDFFF'], 'userId'],
        ['queryAudit', [{ clientId: 'c\uD800' }], 'clientId'],
      ];
      const secrets = [code, verifier, tokens.accessToken, tokens.refreshToken!, s.creds.clientSecret!];
      const before = await s.snapshot();
      for (const [method, args, field] of cases) {
        const error = await st[method]!.apply(s.store, args).then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(error, `${method} ${field}`).toBeInstanceOf(InvalidRequestError);
        expect((error as InvalidRequestError).field, method).toBe(field);
        expect((error as Error).message.length, method).toBeLessThan(300);
        for (const secret of secrets) {
          expect((error as Error).message, `${method} ${field}`).not.toContain(secret);
          expect((error as InvalidRequestError).field, `${method} ${field}`).not.toContain(secret);
        }
      }
      expect(await s.snapshot()).toEqual(before);
      // Every public entry point was exercised.
      const names = Object.getOwnPropertyNames(OAuthStore.prototype).filter((name) => name !== 'constructor');
      const untested = names.filter((name) => !cases.some(([method]) => method === name));
      expect(untested.sort()).toEqual(['cleanupExpired', 'healthCheck', 'jwks', 'listRevocations', 'resealAll', 'stats']);
    });

    test('key rotation: tokens, client secrets and grant indexes from before the rotation keep working', async () => {
      const clock = createTestClock();
      const storage = await options.create(clock);
      const adapters = storage.singleUseAdapter ? [storage.adapter, storage.singleUseAdapter] : [storage.adapter];
      const keysBefore = await Promise.all(adapters.map(async (adapter) => new Set((await dumpAdapter(adapter)).map((entry) => entry.key))));
      // Records sealed by the single-secret form open under a list entry of the same secret, whatever its id.
      const oldKey = { id: 'before-rotation', secret: SUITE_SECRET };
      const open = (secret: Parameters<typeof Keyring.fromSecret>[0]) => openOn(storage, clock, secret);
      const before = await open(SUITE_SECRET);
      const { client, clientSecret } = await before.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
      const creds = { clientId: client.clientId, clientSecret: clientSecret! };
      const { verifier, challenge } = await pkcePair();
      const { code } = await before.createAuthorizationCode({ clientId: client.clientId, userId: 'rotating-user', redirectUri: REDIRECT, codeChallenge: challenge });
      const tokens = await before.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });

      const after = await open([{ id: 'rotated', secret: generateSecret() }, oldKey]);
      await expect(after.authenticateClient(creds.clientId, creds.clientSecret)).resolves.toBeDefined();
      expect(await after.validateAccessToken(tokens.accessToken)).toMatchObject({ userId: 'rotating-user' });
      const newer = await after.createAuthorizationCode({ clientId: client.clientId, userId: 'rotating-user', redirectUri: REDIRECT, codeChallenge: challenge });
      await after.exchangeAuthorizationCode({ ...creds, code: newer.code, redirectUri: REDIRECT, codeVerifier: verifier });
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await after.listGrants('rotating-user', { limit: 1, ...(cursor !== undefined && { cursor }) });
        listed.push(...page.grants.map((grant) => grant.grantId));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(listed.sort()).toEqual([tokens.grantId, newer.grantId].sort());
      const refreshed = await after.refreshAccessToken({ ...creds, refreshToken: tokens.refreshToken! });
      expect(await after.validateAccessToken(refreshed.accessToken)).not.toBeNull();
      // Reuse detection across the rotation: the pre-rotation token is now a rotated one.
      await expectInvalidGrant(after.refreshAccessToken({ ...creds, refreshToken: tokens.refreshToken! }));
      expect(await after.validateAccessToken(refreshed.accessToken)).toBeNull();
      // Leave a shared backend as found: later tests' stores do not hold the rotated key.
      for (const [index, adapter] of adapters.entries()) {
        for (const entry of await dumpAdapter(adapter)) if (!keysBefore[index]!.has(entry.key)) await adapter.delete(entry.key);
      }
    });

    test('an operation and its audit record are one batch: a batch that fails leaves neither; with the trail off nothing is written', async () => {
      const clock = createTestClock();
      const storage = await options.create(clock);
      const single = storage.singleUseAdapter ?? storage.adapter;
      let failBatches = false;
      const flaky = interceptAdapter(single, {
        batch: (operations) => (failBatches ? Promise.reject(new Error('backend unavailable')) : single.batch!(operations)),
      });
      const keyring = await getSuiteKeyring();
      const store = new OAuthStore({ keyring, adapter: storage.singleUseAdapter ? storage.adapter : flaky, singleUseAdapter: flaky, now: clock.now });
      const { client, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
      const creds = { clientId: client.clientId, clientSecret: clientSecret! };
      const { verifier, challenge } = await pkcePair();
      const { code } = await store.createAuthorizationCode({ clientId: client.clientId, userId: 'audited', redirectUri: REDIRECT, codeChallenge: challenge });
      failBatches = true;
      await expect(store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier })).rejects.toThrow('backend unavailable');
      failBatches = false;
      expect((await store.queryAudit({ type: 'code_used' })).events.filter((event) => event.clientId === client.clientId)).toEqual([]);
      // Nothing of the failed exchange happened: the code is still good, once.
      const tokens = await store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
      const used = (await store.queryAudit({ type: 'code_used', clientId: client.clientId })).events;
      expect(used.map((event) => event.grantId)).toEqual([tokens.grantId]);

      const quiet = new OAuthStore({ keyring, adapter: storage.adapter, ...(storage.singleUseAdapter && { singleUseAdapter: storage.singleUseAdapter }), now: clock.now, audit: 'off' });
      const before = (await dumpAdapter(single)).filter((entry) => entry.key.startsWith('audit/')).length;
      const silent = await quiet.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      const { code: quietCode } = await quiet.createAuthorizationCode({ clientId: silent.client.clientId, userId: 'quiet', redirectUri: REDIRECT, codeChallenge: challenge });
      const quietTokens = await quiet.exchangeAuthorizationCode({ clientId: silent.client.clientId, code: quietCode, redirectUri: REDIRECT, codeVerifier: verifier });
      await quiet.refreshAccessToken({ clientId: silent.client.clientId, refreshToken: quietTokens.refreshToken! });
      expect((await dumpAdapter(single)).filter((entry) => entry.key.startsWith('audit/')).length).toBe(before);
    });

    test('a grant is created with its index entries in one batch: a cleanup run just before it cannot leave it unlisted or unrevocable', async () => {
      const clock = createTestClock();
      const storage = await options.create(clock);
      const keyring = await getSuiteKeyring();
      const single = storage.singleUseAdapter ?? storage.adapter;
      let store: OAuthStore | undefined;
      let cleanup: Promise<unknown> | undefined;
      // Runs a whole cleanup right before the batch that creates the grant.
      const pausing = interceptAdapter(single, {
        batch: async (operations) => {
          const creates = operations.some((operation) => operation.type === 'put' && operation.key.startsWith('grant/') && operation.condition !== undefined);
          if (creates && cleanup === undefined) await (cleanup = store!.cleanupExpired());
          return single.batch!(operations);
        },
      });
      store = new OAuthStore({ keyring, adapter: storage.adapter, singleUseAdapter: pausing, now: clock.now });
      const { client, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
      const creds = { clientId: client.clientId, clientSecret: clientSecret! };
      const userId = `cleanup-race-${crypto.randomUUID().slice(0, 8)}`;
      const { verifier, challenge } = await pkcePair();
      const { code, grantId } = await store.createAuthorizationCode({ clientId: client.clientId, userId, redirectUri: REDIRECT, codeChallenge: challenge });
      expect(cleanup).toBeDefined();
      const tokens = await store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
      expect((await store.listGrants(userId)).grants.map((grant) => grant.grantId)).toEqual([grantId]);
      expect(await store.deleteClient(client.clientId)).toBe(true);
      expect(await store.validateAccessToken(tokens.accessToken)).toBeNull();
    });

    test('deleteClient revokes its grants in their own records: each grant is marked revoked and listed for JWT validators, and a client re-registered under the same id gets none of its tokens back', async () => {
      const s = await setup(options);
      // A client id of the caller's choosing can be registered again once deleted: only the grants' own records stand between it and the old tokens.
      const clientId = `https://client.example/oauth/${crypto.randomUUID()}.json`;
      const register = () => s.store.registerClient({ clientId, type: 'public', redirectUris: [REDIRECT] });
      await register();
      const grants: TokenResult[] = [];
      for (const userId of [s.u1, s.u2]) {
        const { verifier, challenge } = await pkcePair();
        const { code } = await s.store.createAuthorizationCode({ clientId, userId, redirectUri: REDIRECT, codeChallenge: challenge });
        grants.push(await s.store.exchangeAuthorizationCode({ clientId, code, redirectUri: REDIRECT, codeVerifier: verifier }));
      }
      expect(await s.store.deleteClient(clientId)).toBe(true);
      const single = s.storage.singleUseAdapter ?? s.storage.adapter;
      for (const { grantId } of grants) expect(await single.get(`grant-revoked/${grantId}`), grantId).not.toBeNull();
      expect((await s.store.listRevocations()).map((entry) => entry.id)).toEqual(expect.arrayContaining(grants.map((grant) => grant.grantId)));
      expect((await s.store.queryAudit({ type: 'client_deleted', clientId })).events.map((event) => event.details)).toEqual([{ grantsRevoked: 2 }]);
      await register();
      for (const tokens of grants) {
        expect(await s.store.validateAccessToken(tokens.accessToken)).toBeNull();
        expect(await s.store.introspect(tokens.refreshToken!)).toStrictEqual({ active: false });
        await expectInvalidGrant(s.store.refreshAccessToken({ clientId, refreshToken: tokens.refreshToken! }));
      }
    });

    test('a deleted client\'s tokens die even when its grant index missed the grant', async () => {
      // An index entry lost some other way (KV lists are eventually consistent): the client's deletion still ends its tokens.
      const s = await setup(options);
      const lost = await s.authorize();
      expect(await (s.storage.singleUseAdapter ?? s.storage.adapter).delete(`client-grant/${s.creds.clientId}/~${lost.grantId}`)).toBe(true);
      expect(await s.store.validateAccessToken(lost.accessToken)).not.toBeNull();
      expect(await s.store.deleteClient(s.creds.clientId)).toBe(true);
      expect(await s.store.validateAccessToken(lost.accessToken)).toBeNull();
      expect(await s.store.introspect(lost.accessToken)).toStrictEqual({ active: false });
      expect(await s.store.introspect(lost.refreshToken!)).toStrictEqual({ active: false });
    });

    test('a client re-registered under its old id does not revive a grant the deletion missed (its index entry was lost)', async () => {
      const s = await setup(options);
      const clientId = `https://client.example/oauth/${crypto.randomUUID()}.json`;
      const register = () => s.store.registerClient({ clientId, type: 'public', redirectUris: [REDIRECT] });
      await register();
      const { verifier, challenge } = await pkcePair();
      const { code } = await s.store.createAuthorizationCode({ clientId, userId: s.u1, redirectUri: REDIRECT, codeChallenge: challenge });
      const tokens = await s.store.exchangeAuthorizationCode({ clientId, code, redirectUri: REDIRECT, codeVerifier: verifier });
      expect(await (s.storage.singleUseAdapter ?? s.storage.adapter).delete(`client-grant/${clientId}/~${tokens.grantId}`)).toBe(true);
      expect(await s.store.deleteClient(clientId)).toBe(true);
      s.clock.advance(1000);
      await register();
      expect(await s.store.validateAccessToken(tokens.accessToken)).toBeNull();
      expect(await s.store.introspect(tokens.accessToken)).toStrictEqual({ active: false });
      expect(await s.store.introspect(tokens.refreshToken!)).toStrictEqual({ active: false });
      // The new registration's own grants are unaffected.
      const fresh = await s.store.createAuthorizationCode({ clientId, userId: s.u1, redirectUri: REDIRECT, codeChallenge: challenge });
      const next = await s.store.exchangeAuthorizationCode({ clientId, code: fresh.code, redirectUri: REDIRECT, codeVerifier: verifier });
      expect(await s.store.validateAccessToken(next.accessToken)).toMatchObject({ clientId, grantId: next.grantId });
    });

    test('deleteClient revokes only its own grants: a forged or stale client-grant entry naming another client\'s grant changes nothing', async () => {
      const s = await setup(options);
      const victim = await s.authorize();
      const { client: other } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      // Someone who can write the storage (D1 through an API token) but not seal records.
      await (s.storage.singleUseAdapter ?? s.storage.adapter).put(`client-grant/${other.clientId}/~${victim.grantId}`, new Uint8Array([1, 2, 3]));
      expect(await s.store.deleteClient(other.clientId)).toBe(true);
      expect(await s.store.validateAccessToken(victim.accessToken)).toMatchObject({ grantId: victim.grantId });
      const next = await s.store.refreshAccessToken({ ...s.creds, refreshToken: victim.refreshToken! });
      expect(await s.store.validateAccessToken(next.accessToken)).not.toBeNull();
    });

    test('a grant whose client-grant entry was lost is revoked by cleanupExpired once its client is gone', async () => {
      const s = await setup(options);
      const lost = await s.authorize();
      expect(await (s.storage.singleUseAdapter ?? s.storage.adapter).delete(`client-grant/${s.creds.clientId}/~${lost.grantId}`)).toBe(true);
      expect(await s.store.deleteClient(s.creds.clientId)).toBe(true);
      expect((await s.store.listGrants(s.u1)).grants.map((grant) => grant.grantId)).toEqual([lost.grantId]); // the record still says active
      expect((await s.store.cleanupExpired()).grants).toBe(0); // too young: the client could be a not-yet-visible new one (KV)
      expect((await s.store.listGrants(s.u1)).grants).toHaveLength(1);
      s.clock.advance(20 * 60_000);
      await s.store.cleanupExpired();
      expect((await s.store.listGrants(s.u1)).grants).toEqual([]);
      const revoked = (await s.store.queryAudit({ type: 'refresh_token_revoked' })).events;
      expect(revoked.map((event) => [event.grantId, event.details.reason])).toContainEqual([lost.grantId, 'client_deleted']);
    });

    test('redirect_uri left out of the authorization request (one registered URI) may be left out of the token request too (RFC 6749 §4.1.3)', async () => {
      const s = await setup(options);
      const { client } = await s.store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      const issue = async () => {
        const { verifier, challenge } = await pkcePair();
        const session = await s.store.createSession({ clientId: client.clientId, redirectUri: REDIRECT, redirectUriExplicit: false, codeChallenge: challenge });
        expect(session.redirectUriExplicit).toBe(false);
        const { code } = await s.store.createAuthorizationCode({
          clientId: client.clientId, userId: s.u1, redirectUri: session.redirectUri, redirectUriExplicit: false, codeChallenge: challenge,
        });
        return { code, verifier };
      };
      const first = await issue();
      const tokens = await s.store.exchangeAuthorizationCode({ clientId: client.clientId, code: first.code, codeVerifier: first.verifier });
      expect(await s.store.validateAccessToken(tokens.accessToken)).toMatchObject({ userId: s.u1 });
      // Given anyway, it must still match.
      const second = await issue();
      // A code whose request named the redirect URI needs it at the token endpoint too; leaving it out burns nothing.
      const named = await s.issueCode();
      await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code: named.code, codeVerifier: named.verifier })).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST', field: 'redirectUri' });
      await expect(s.store.exchangeAuthorizationCode({ ...s.creds, code: named.code, codeVerifier: named.verifier, redirectUri: REDIRECT })).resolves.toBeDefined();
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ clientId: client.clientId, code: second.code, codeVerifier: second.verifier, redirectUri: 'http://127.0.0.1:8788/cb' }));
      await expect(s.store.exchangeAuthorizationCode({ clientId: client.clientId, code: second.code, codeVerifier: second.verifier, redirectUri: REDIRECT })).resolves.toBeDefined();
    });

    test('client credentials: a confidential client gets a token for itself, within its scope; audited, introspectable, listed, revocable', async () => {
      const s = await setup(options);
      const { client, clientSecret } = await s.store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'], scope: ['jobs:read', 'jobs:write'] });
      const creds = { clientId: client.clientId, clientSecret: clientSecret! };
      const all = await s.store.issueClientCredentials(creds);
      expect(all.scope).toEqual(['jobs:read', 'jobs:write']); // default: the registered scope
      expect(all.refreshToken).toBeUndefined();
      const narrow = await s.store.issueClientCredentials({ ...creds, scope: ['jobs:read'] });
      expect(await s.store.validateAccessToken(narrow.accessToken)).toMatchObject({ userId: client.clientId, clientId: client.clientId, grantType: 'client_credentials', scope: ['jobs:read'] });
      expect(await s.store.introspect(narrow.accessToken)).toMatchObject({ active: true, sub: client.clientId, client_id: client.clientId, scope: 'jobs:read' });
      expect((await s.store.listClientGrants(client.clientId)).grants.map((grant) => grant.grantId).sort()).toEqual([all.grantId, narrow.grantId].sort());
      expect((await s.store.queryAudit({ clientId: client.clientId, type: 'access_token_issued' })).events).toHaveLength(2);
      await s.store.revokeToken({ ...creds, token: narrow.accessToken });
      expect(await s.store.validateAccessToken(narrow.accessToken)).toBeNull();
      expect(await s.store.validateAccessToken(all.accessToken)).not.toBeNull();
      // Refused: scope outside the client's, a public client, a client not registered for the grant.
      await expect(s.store.issueClientCredentials({ ...creds, scope: ['admin'] })).rejects.toMatchObject({ code: 'ERR_INVALID_SCOPE' });
      const { client: publicClient } = await s.store.registerClient({ type: 'public', grantTypes: ['client_credentials'] });
      await expect(s.store.issueClientCredentials({ clientId: publicClient.clientId })).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED_CLIENT' });
      await expect(s.store.issueClientCredentials(s.creds)).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED_CLIENT' });
      // It lives as long as its access token.
      s.clock.advance(3_600_001);
      expect(await s.store.validateAccessToken(all.accessToken)).toBeNull();
      expect((await s.store.listClientGrants(client.clientId)).grants).toEqual([]);
    });

    test('audience binding (RFC 8707): a token for resource A is refused at B; exchange and refresh narrow, never widen; invalid_target', async () => {
      const s = await setup(options);
      const [apiA, apiB, apiC] = ['https://a.api.example/', 'https://b.api.example/mcp', 'https://c.api.example/'];
      const { verifier, challenge } = await pkcePair();
      const { code } = await s.store.createAuthorizationCode({
        clientId: s.creds.clientId, userId: s.u1, redirectUri: REDIRECT, scope: ['read', 'write'], codeChallenge: challenge, resources: [apiA, apiB],
      });
      const forA = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier, resources: [apiA] });
      expect(forA.resources).toEqual([apiA]);
      expect(await s.store.validateAccessToken(forA.accessToken, { resource: apiA })).toMatchObject({ resources: [apiA] });
      expect(await s.store.validateAccessToken(forA.accessToken, { resource: apiB })).toBeNull();
      expect(await s.store.introspect(forA.accessToken)).toMatchObject({ active: true, aud: apiA });
      // Refresh may narrow the audience (and the scope) within the grant's.
      const forB = await s.store.refreshAccessToken({ ...s.creds, refreshToken: forA.refreshToken!, resources: [apiB], scope: ['read'] });
      expect(await s.store.validateAccessToken(forB.accessToken, { resource: apiB })).toMatchObject({ scope: ['read'], resources: [apiB] });
      expect(await s.store.validateAccessToken(forB.accessToken, { resource: apiA })).toBeNull();
      // Without narrowing, the grant's audiences.
      const both = await s.store.refreshAccessToken({ ...s.creds, refreshToken: forB.refreshToken! });
      expect(await s.store.validateAccessToken(both.accessToken, { resource: apiB })).toMatchObject({ resources: [apiA, apiB] });
      // Never wider: a resource outside the grant is invalid_target, and nothing rotates.
      await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: both.refreshToken!, resources: [apiC] })).rejects.toMatchObject({ code: 'ERR_INVALID_TARGET', oauthError: 'invalid_target' });
      await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: both.refreshToken! })).resolves.toBeDefined();
      // A store that names the resources it serves refuses any other at the authorization request.
      const strict = new OAuthStore({ keyring: s.keyring, adapter: s.storage.adapter, ...(s.storage.singleUseAdapter && { singleUseAdapter: s.storage.singleUseAdapter }), now: s.clock.now, resources: [apiA] });
      await expect(strict.createAuthorizationCode({ clientId: s.creds.clientId, userId: s.u1, redirectUri: REDIRECT, codeChallenge: challenge, resources: [apiC] })).rejects.toMatchObject({ code: 'ERR_INVALID_TARGET' });
      // ...and there a token without an audience is no token for its resource.
      const plain = await s.authorize();
      expect(await strict.validateAccessToken(plain.accessToken, { resource: apiA })).toBeNull();
      expect(await s.store.validateAccessToken(plain.accessToken, { resource: apiA })).not.toBeNull();
      // A client limited to some resources cannot ask for others.
      const { client: limited, clientSecret } = await s.store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'], resources: [apiA] });
      await expect(s.store.issueClientCredentials({ clientId: limited.clientId, clientSecret: clientSecret!, resources: [apiB] })).rejects.toMatchObject({ code: 'ERR_INVALID_TARGET' });
      expect((await s.store.issueClientCredentials({ clientId: limited.clientId, clientSecret: clientSecret!, resources: [apiA] })).resources).toEqual([apiA]);
    });

    test('a code replayed after it expired still revokes what its first redemption got', async () => {
      const s = await setup(options);
      const { code, verifier } = await s.issueCode();
      const tokens = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
      s.clock.advance(61_000); // past the 60 s code lifetime, well within the access token's hour
      expect(await s.store.validateAccessToken(tokens.accessToken)).not.toBeNull();
      // An unauthenticated late replay still changes nothing ...
      const before = await s.snapshot();
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: (await pkcePair()).verifier }));
      expect(await s.snapshot()).toEqual(before);
      // ... an authenticated one revokes.
      await expectInvalidGrant(s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier }));
      await expectDead(s, tokens);
      const violations = await s.store.queryAudit({ type: 'security_violation', clientId: s.creds.clientId });
      expect(violations.events.map((event) => event.details)).toEqual([{ reason: 'code_replay' }]);
    });

    test('completing a session is single-use: of 50 concurrent completions exactly one wins; a completed session refuses every change', async () => {
      const s = await setup(options);
      const challenge = (await pkcePair()).challenge;
      const session = await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
      await s.store.updateSession(session.sessionId, { props: { step: 'login' } }); // changes before completion are fine
      const { ok, errors } = await race(50, () => s.store.updateSession(session.sessionId, { userId: s.u1, completed: true }));
      expect(ok).toHaveLength(1);
      expect(errors).toHaveLength(49);
      expect(errors.every((error) => error instanceof InvalidRequestError && error.field === 'sessionId')).toBe(true);
      for (const change of [{ userId: s.u2, completed: true }, { userId: s.u2 }, { props: { x: 1 } }, {}]) {
        await expect(s.store.updateSession(session.sessionId, change)).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST', field: 'sessionId' });
      }
      expect(await s.store.getSession(session.sessionId)).toMatchObject({ userId: s.u1, completed: true, props: { step: 'login' } });
      expect((await s.store.queryAudit({ type: 'session_completed', clientId: s.creds.clientId })).events).toHaveLength(1);
      expect(await s.store.deleteSession(session.sessionId)).toBe(true);

      // Negative control: with a single-use store that only claims to be atomic, more than one completion wins.
      if (!negativeControls) return;
      const racy = s.racyStore(50);
      const raced = await racy.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
      const control = await race(50, () => racy.updateSession(raced.sessionId, { userId: s.u1, completed: true }));
      expect(control.ok.length, String(control.errors[0])).toBeGreaterThan(1);
    });

    test('completeAuthorization completes a session and issues its code at once: of 50 concurrent completions exactly one gets a code, which redeems; a refused decision leaves the session open', async () => {
      const s = await setup(options);
      const { verifier, challenge } = await pkcePair();
      const session = await s.store.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, scope: ['read'], state: 'st', codeChallenge: challenge });
      // What the decision throws, or gets refused for, changes nothing.
      const before = await s.snapshot();
      await expect(s.store.completeAuthorization(session.sessionId, () => { throw new Error('the user closed the page'); })).rejects.toThrow('closed the page');
      await expect(s.store.completeAuthorization(session.sessionId, () => ({ userId: s.u1, scope: ['read', 'write'] }))).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST', field: 'scope' });
      await expect(s.store.completeAuthorization(session.sessionId, () => ({ userId: '' }))).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST', field: 'userId' });
      await expect(s.store.completeAuthorization(session.sessionId, () => ({ userId: s.u1, extra: 1 } as never))).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST', field: 'decision.extra' });
      expect(await s.snapshot()).toEqual(before);

      const seen: string[] = [];
      const { ok, errors } = await race(50, () => s.store.completeAuthorization(session.sessionId, (pending, client) => {
        seen.push(`${pending.state}:${client.clientId}`);
        return { userId: s.u1, props: { plan: 'pro' } };
      }));
      expect(ok).toHaveLength(1);
      expect(errors.every((error) => error instanceof InvalidRequestError && error.field === 'sessionId')).toBe(true);
      expect(new Set(seen)).toEqual(new Set([`st:${s.creds.clientId}`]));
      const { code, session: completed } = ok[0]!;
      expect(completed).toMatchObject({ state: 'st', completed: true, redirectUri: REDIRECT });
      expect(await s.store.getSession(session.sessionId)).toMatchObject({ userId: s.u1, completed: true });
      const tokens = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
      expect(await s.store.validateAccessToken(tokens.accessToken)).toMatchObject({ userId: s.u1, scope: ['read'], props: { plan: 'pro' } });
      const events = (await s.store.queryAudit({ clientId: s.creds.clientId })).events.map((event) => event.type);
      expect(events.filter((type) => type === 'session_completed')).toHaveLength(1);
      expect(events.filter((type) => type === 'code_issued')).toHaveLength(1);
      await expect(s.store.completeAuthorization(session.sessionId, () => ({ userId: s.u2 }))).rejects.toMatchObject({ field: 'sessionId' });

      // Negative control: with a single-use store that only claims to be atomic, more than one completion gets a code.
      if (!negativeControls) return;
      const racy = s.racyStore(50);
      const raced = await racy.createSession({ clientId: s.creds.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
      const control = await race(50, () => racy.completeAuthorization(raced.sessionId, () => ({ userId: s.u1 })));
      expect(control.ok.length, String(control.errors[0])).toBeGreaterThan(1);
    });

    test('a grace retry must ask for the scope of the refresh it retries, and is refused otherwise', async () => {
      const s = await setup(options, { refreshGrace: { windowSeconds: 30, maxUses: 5 } });
      const { code, verifier, grantId } = await s.issueCode(s.u1, { scope: ['read', 'write'] });
      const first = await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier });
      const narrow = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken!, scope: ['read'] });
      expect(narrow.scope).toEqual(['read']);
      for (const scope of [undefined, ['read', 'write'], ['write']]) {
        await expect(s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken!, ...(scope && { scope }) }))
          .rejects.toMatchObject({ code: 'ERR_INVALID_SCOPE' });
      }
      const retry = await s.store.refreshAccessToken({ ...s.creds, refreshToken: first.refreshToken!, scope: ['read'] });
      expect(retry).toMatchObject({ refreshToken: narrow.refreshToken, accessToken: narrow.accessToken, scope: ['read'] });
      expect(await s.store.validateAccessToken(retry.accessToken)).toMatchObject({ scope: ['read'] });
    });

    test('revokeGrant audits what it revoked: access tokens, and the refresh family only when there was one', async () => {
      const s = await setup(options);
      const { code, verifier, grantId } = await s.issueCode();
      await s.store.exchangeAuthorizationCode({ ...s.creds, code, redirectUri: REDIRECT, codeVerifier: verifier });

      const revokedTypes = async (id: string) =>
        (await s.store.queryAudit({ clientId: s.creds.clientId })).events
          .filter((event) => event.grantId === id && event.type.endsWith('_revoked')).map((event) => event.type).sort();
      expect(await s.store.revokeGrant(grantId)).toBe(true);
      expect(await revokedTypes(grantId)).toEqual(['access_token_revoked', 'refresh_token_revoked']);
      // A client without the refresh grant: its grant had access tokens only.
      const noRefresh = await s.store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], grantTypes: ['authorization_code'] });
      const pair = await pkcePair();
      const issued = await s.store.createAuthorizationCode({ clientId: noRefresh.client.clientId, userId: s.u2, redirectUri: REDIRECT, codeChallenge: pair.challenge });
      const tokens = await s.store.exchangeAuthorizationCode({
        clientId: noRefresh.client.clientId, clientSecret: noRefresh.clientSecret!, code: issued.code, redirectUri: REDIRECT, codeVerifier: pair.verifier,
      });
      expect(tokens.refreshToken).toBeUndefined();
      expect(await s.store.revokeGrant(issued.grantId)).toBe(true);
      const events = (await s.store.queryAudit({ clientId: noRefresh.client.clientId })).events;
      expect(events.filter((event) => event.type.endsWith('_revoked')).map((event) => event.type)).toEqual(['access_token_revoked']);
    });

    test('the README rotation recipe end to end: one secret, then [new, old] with ids of our choosing, resealAll, drop the old key; queryAudit by user spans the rotation', async () => {
      const clock = createTestClock();
      const storage = await options.create(clock);
      const adapters = storage.singleUseAdapter ? [storage.adapter, storage.singleUseAdapter] : [storage.adapter];
      const keysBefore = await Promise.all(adapters.map(async (adapter) => new Set((await dumpAdapter(adapter)).map((entry) => entry.key))));
      // Exactly the README: start with Keyring.fromSecret(OLD), later [{ id: '2026-11', NEW }, { id: '2026-05', OLD }].
      const keyA = { id: '2026-05', secret: generateSecret() };
      const keyB = { id: '2026-11', secret: generateSecret() };
      const open = (secret: Parameters<typeof Keyring.fromSecret>[0]) => openOn(storage, clock, secret);
      const underA = await open(keyA.secret);
      const userId = `retiring-${crypto.randomUUID().slice(0, 8)}`;
      // A public client: no secret, whose lookup id could move only on an atomic adapter (see reseal.ts).
      const { client } = await underA.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      const { verifier, challenge } = await pkcePair();
      await underA.createSession({ clientId: client.clientId, redirectUri: REDIRECT, codeChallenge: challenge });
      const { code, grantId } = await underA.createAuthorizationCode({ clientId: client.clientId, userId, redirectUri: REDIRECT, codeChallenge: challenge });
      const tokens = await underA.exchangeAuthorizationCode({ clientId: client.clientId, code, redirectUri: REDIRECT, codeVerifier: verifier });

      const rotated = await open([keyB, keyA]);
      clock.advance(1000);
      const refreshed = await rotated.refreshAccessToken({ clientId: client.clientId, refreshToken: tokens.refreshToken! });
      // Events of the user from both sides of the rotation, newest first, through pages of one.
      const byUser: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await rotated.queryAudit({ userId, limit: 1, ...(cursor !== undefined && { cursor }) });
        byUser.push(...page.events.map((event) => event.type));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(byUser).toEqual(['refresh_token_issued', 'access_token_issued', 'refresh_token_used', 'refresh_token_issued', 'access_token_issued', 'code_used', 'code_issued']);

      const sweep = await rotated.resealAll();
      expect(sweep.failed).toBe(0);
      expect(sweep.resealed).toBeGreaterThan(10);
      expect(await rotated.resealAll()).toEqual({ resealed: 0, failed: 0 });
      const onlyB = await Keyring.fromSecret([keyB]);
      for (const adapter of adapters) {
        const ids = new Set((await dumpAdapter(adapter)).map((entry) => onlyB.envelopeKeyId(entry.value)));
        expect([...ids]).toEqual(['2026-11']);
      }

      const dropped = await open([keyB]);
      expect(await dropped.validateAccessToken(refreshed.accessToken)).toMatchObject({ userId, grantId });
      expect((await dropped.listGrants(userId)).grants.map((grant) => grant.grantId)).toEqual([grantId]);
      expect((await dropped.listClients()).clients.map((c) => c.clientId)).toContain(client.clientId);
      expect((await dropped.stats()).unreadable).toBe(0);
      expect((await dropped.queryAudit({ clientId: client.clientId })).events.length).toBeGreaterThan(5);
      const after = await dropped.refreshAccessToken({ clientId: client.clientId, refreshToken: refreshed.refreshToken! });
      expect(await dropped.validateAccessToken(after.accessToken)).toMatchObject({ userId });
      // Secrets issued under the dropped key are simply unknown now (their lookup ids cannot be recomputed).
      expect(await dropped.validateAccessToken(tokens.accessToken)).toBeNull();

      // A record under a key not in the ring is skipped and counted by scans, not fatal to them.
      const foreign = await open([{ id: 'key-c', secret: generateSecret() }]);
      await foreign.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      expect((await dropped.listClients()).unreadable).toBe(1);
      expect((await dropped.stats()).unreadable).toBe(1);
      // Cleanup leaves them in place and counts them: the foreign client and its audit record.
      expect((await dropped.cleanupExpired()).unreadable).toBe(2);
      expect((await dropped.resealAll()).failed).toBeGreaterThan(0);
      // Leave a shared backend as found.
      for (const [index, adapter] of adapters.entries()) {
        for (const entry of await dumpAdapter(adapter)) if (!keysBefore[index]!.has(entry.key)) await adapter.delete(entry.key);
      }
    });

    test.runIf(negativeControls)(`negative control: on a storage whose compare-and-set only claims to be atomic, ${controlContenders} concurrent exchanges let more than one win`, async () => {
      const clock = createTestClock();
      const storage = await options.create(clock);
      const keyring = await getSuiteKeyring();
      const racy = racyAdapterClaimingAtomicity(storage.singleUseAdapter ?? storage.adapter, controlContenders);
      const store = new OAuthStore({ keyring, adapter: storage.adapter, singleUseAdapter: racy, now: clock.now });
      const { client, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: [REDIRECT] });
      const { verifier, challenge } = await pkcePair();
      const { code } = await store.createAuthorizationCode({ clientId: client.clientId, userId: 'u', redirectUri: REDIRECT, codeChallenge: challenge });
      const { ok } = await race(controlContenders, () =>
        store.exchangeAuthorizationCode({ clientId: client.clientId, clientSecret: clientSecret!, code, redirectUri: REDIRECT, codeVerifier: verifier }),
      );
      expect(ok.length).toBeGreaterThan(1);
    });
  });
}
