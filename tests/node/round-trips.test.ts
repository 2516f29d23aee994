// What each operation costs in calls to storage: the figure that decides latency on Cloudflare,
// where every call to the Durable Object that owns a grant is a network hop. Counted on a wrapper
// around the memory adapter: OAuthStore makes the same calls on every adapter.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import type { StorageAdapter } from '../../src/storage/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { createAuthorizationServer } from '../../src/server/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';

type Counts = Record<string, number>;

function counting(inner: StorageAdapter): { adapter: StorageAdapter; take: () => Counts } {
  let counts: Counts = {};
  const count = <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      counts[name] = (counts[name] ?? 0) + 1;
      return call(...args);
    };
  const adapter: StorageAdapter = {
    name: inner.name,
    capabilities: inner.capabilities,
    get: count('get', (key) => inner.get(key)),
    put: count('put', (key, value, options) => inner.put(key, value, options)),
    compareAndSet: count('compareAndSet', (key, value, condition, options) => inner.compareAndSet(key, value, condition, options)),
    delete: count('delete', (key, options) => inner.delete(key, options)),
    list: count('list', (options) => inner.list(options)),
    batch: count('batch', (operations) => inner.batch!(operations)),
  };
  return {
    adapter,
    take: () => {
      const taken = counts;
      counts = {};
      return taken;
    },
  };
}

describe('storage round trips per operation (KV-like adapter for clients, atomic single-use store)', () => {
  test('issue a code, redeem it, validate, rotate, revoke, client credentials: one call each to the grant store, none to the client store once warm', async () => {
    const clock = createTestClock();
    const main = counting(memoryAdapter({ now: clock.now }));
    const single = counting(memoryAdapter({ now: clock.now }));
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: main.adapter, singleUseAdapter: single.adapter, now: clock.now });
    const { client, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: ['https://app.example/cb'], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] });
    const creds = { clientId: client.clientId, clientSecret: clientSecret! };
    const { verifier, challenge } = await pkcePair();
    main.take();
    single.take();
    const measure = async (operation: () => Promise<unknown>) => {
      await operation();
      return { main: main.take(), single: single.take() };
    };

    let code = '';
    expect(await measure(async () => ({ code } = await store.createAuthorizationCode({ clientId: client.clientId, userId: 'u', redirectUri: 'https://app.example/cb', codeChallenge: challenge })))).toEqual({
      main: { get: 1 }, // the client, read once and then cached for the isolate
      single: { batch: 1 },
    });
    let tokens = await store.exchangeAuthorizationCode({ ...creds, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier }).then((t) => ({ ...t }));
    main.take();
    single.take();
    expect(await measure(() => store.validateAccessToken(tokens.accessToken))).toEqual({ main: {}, single: { batch: 1 } });
    expect(await measure(async () => (tokens = await store.refreshAccessToken({ ...creds, refreshToken: tokens.refreshToken! })))).toEqual({ main: {}, single: { batch: 1 } });
    expect(await measure(() => store.introspect(tokens.refreshToken!))).toEqual({ main: {}, single: { batch: 1 } });
    expect(await measure(() => store.issueClientCredentials(creds))).toEqual({ main: {}, single: { batch: 1 } });
    expect(await measure(() => store.revokeToken({ ...creds, token: tokens.accessToken }))).toEqual({ main: {}, single: { batch: 1 } });
    expect(await measure(() => store.revokeToken({ ...creds, token: tokens.refreshToken! }))).toEqual({ main: {}, single: { batch: 1 } });

    // Redeeming a fresh code, counted alone (the exchange above warmed nothing it needs).
    const second = await store.createAuthorizationCode({ clientId: client.clientId, userId: 'u', redirectUri: 'https://app.example/cb', codeChallenge: challenge });
    main.take();
    single.take();
    expect(await measure(() => store.exchangeAuthorizationCode({ ...creds, code: second.code, redirectUri: 'https://app.example/cb', codeVerifier: verifier }))).toEqual({ main: {}, single: { batch: 1 } });
    // An authorization session: created in one call; completed with its code in one read and one write.
    let sessionId = '';
    expect(await measure(async () => ({ sessionId } = await store.createSession({ clientId: client.clientId, redirectUri: 'https://app.example/cb', codeChallenge: challenge })))).toEqual({ main: {}, single: { batch: 1 } });
    expect(await measure(() => store.completeAuthorization(sessionId, () => ({ userId: 'u' })))).toEqual({ main: {}, single: { batch: 2 } });
    // A replayed code: the refused redemption, then the revocation.
    expect(await measure(() => store.exchangeAuthorizationCode({ ...creds, code: second.code, redirectUri: 'https://app.example/cb', codeVerifier: verifier }).catch(() => undefined))).toEqual({ main: {}, single: { batch: 2 } });
  });

  test('contended redemptions do not multiply calls: each loser costs its refused batch and at most one revocation attempt', async () => {
    const clock = createTestClock();
    const single = counting(memoryAdapter({ now: clock.now }));
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter({ now: clock.now }), singleUseAdapter: single.adapter, now: clock.now });
    const { client } = await store.registerClient({ type: 'public', redirectUris: ['https://app.example/cb'] });
    const { verifier, challenge } = await pkcePair();
    const { code } = await store.createAuthorizationCode({ clientId: client.clientId, userId: 'u', redirectUri: 'https://app.example/cb', codeChallenge: challenge });
    single.take();
    const contenders = 20;
    await Promise.allSettled(Array.from({ length: contenders }, () => store.exchangeAuthorizationCode({ clientId: client.clientId, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier })));
    expect(single.take()).toEqual({ batch: contenders + (contenders - 1) });
  });
});

describe('storage round trips of /authorize through oauth-vault/server', () => {
  test('autoApprove issues the code with one call to the grant store (no session); the consent page flow costs three', async () => {
    const clock = createTestClock();
    const main = counting(memoryAdapter({ now: clock.now }));
    const single = counting(memoryAdapter({ now: clock.now }));
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: main.adapter, singleUseAdapter: single.adapter, now: clock.now });
    const { client } = await store.registerClient({ type: 'public', redirectUris: ['https://app.example/cb'] });
    const { challenge } = await pkcePair();
    const query = new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: 'https://app.example/cb', code_challenge: challenge, code_challenge_method: 'S256' });
    const authorize = async (autoApprove: boolean) => {
      const server = createAuthorizationServer({
        store,
        now: clock.now,
        autoApprove: () => (autoApprove ? { userId: 'u' } : null),
        authorize: (_request, authorization, _env, context) => context.completeAuthorization(authorization.handle, { userId: 'u' }),
      });
      main.take();
      single.take();
      const response = await server.fetch(new Request(`https://as.example/authorize?${query}`));
      expect(new URL(response.headers.get('Location')!).searchParams.get('code')).toMatch(/^ovc_/);
      return { main: main.take(), single: single.take() };
    };
    // The client is read fresh at every authorization request; the grant store sees the writes.
    expect(await authorize(true)).toEqual({ main: { get: 1 }, single: { batch: 1 } });
    expect(await authorize(false)).toEqual({ main: { get: 1 }, single: { batch: 3 } });
  });
});
