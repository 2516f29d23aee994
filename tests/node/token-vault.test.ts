import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, test } from 'vitest';
import { indexedDbStorage } from '../../adapters/indexeddb/index.js';
import { TokenVault, type TokenVaultChange, type TokenVaultOptions, type VaultStorage } from '../../src/index.js';
import { InvalidRequestError, TimeoutError } from '../../src/errors.js';
import { vaultCache } from '../../src/client/auth0-spa-js/index.js';
import { vaultStateStore } from '../../src/client/oidc-client-ts/index.js';
import { describeTokenVaultCases, rawText, rotatingServer } from '../shared/token-vault-cases.js';
import { exclusiveLocks } from '../support/exclusive-locks.js';

// Fast unit tests of TokenVault's logic over fake-indexeddb. Node 20 has no
// navigator.locks, so these cover the in-tab single flight; the cross-tab lock
// is tested in Chromium (tests/node/token-vault-tabs.test.ts).

const factory = new IDBFactory();
const open: TokenVault[] = [];
let dbCounter = 0;

function clock(start = 1_800_000_000_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
}

async function openOn(storage: VaultStorage, name: string, options: Partial<TokenVaultOptions> = {}): Promise<TokenVault> {
  const vault = await TokenVault.open({ storage, name, ...options });
  open.push(vault);
  return vault;
}
const openVault = (name: string, options: Partial<TokenVaultOptions> = {}) => openOn(indexedDbStorage({ name, indexedDB: factory }), name, options);

afterEach(async () => {
  await Promise.all(open.splice(0).map((vault) => vault.close()));
});

describeTokenVaultCases('Node, fake-indexeddb', { storage: (name) => indexedDbStorage({ name, indexedDB: factory }), openVault: openOn, factory: () => factory });

const login = { access_token: 'at-0', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-0', scope: 'openid api', id_token: 'idt' };

describe('TokenVault (Node, fake-indexeddb)', () => {
  test('save then get, and a new vault on the same database reads the tokens', async () => {
    const name = `db-${dbCounter++}`;
    const c = clock();
    const vault = await openVault(name, { now: c.now });
    expect(await vault.get()).toBeNull();
    await vault.save(login);
    const expected = { accessToken: 'at-0', tokenType: 'Bearer', expiresAt: c.now() + 3_600_000, refreshToken: 'rt-0', scope: 'openid api', idToken: 'idt' };
    expect(await vault.get()).toEqual(expected);
    await vault.close();
    const reopened = await openVault(name, { now: c.now });
    expect(await reopened.get()).toEqual(expected);
  });

  test('several tabs opening a new vault at once agree on one set of keys', async () => {
    const name = `db-${dbCounter++}`;
    const vaults = await Promise.all([0, 1, 2, 3].map(() => openVault(name)));
    await vaults[3]!.save(login);
    for (const vault of vaults) expect((await vault.get())?.accessToken).toBe('at-0');
  });

  test.each([
    ['not an object', 'tokenResponse', 'nope'],
    ['missing access_token', 'tokenResponse.access_token', { token_type: 'Bearer', expires_in: 60 }],
    ['empty access_token', 'tokenResponse.access_token', { access_token: '', token_type: 'Bearer' }],
    ['missing token_type', 'tokenResponse.token_type', { access_token: 'x' }],
    ['expires_in as words', 'tokenResponse.expires_in', { access_token: 'x', token_type: 'Bearer', expires_in: 'an hour' }],
    ['fractional expires_in', 'tokenResponse.expires_in', { access_token: 'x', token_type: 'Bearer', expires_in: 1.5 }],
    ['negative expires_in', 'tokenResponse.expires_in', { access_token: 'x', token_type: 'Bearer', expires_in: -1 }],
    ['refresh_token not a string', 'tokenResponse.refresh_token', { access_token: 'x', token_type: 'Bearer', refresh_token: 5 }],
    ['id_token empty', 'tokenResponse.id_token', { access_token: 'x', token_type: 'Bearer', id_token: '' }],
  ])('save() refuses a response with %s (field %s) and keeps the previous tokens', async (_, field, response) => {
    const vault = await openVault(`db-${dbCounter++}`);
    await vault.save(login);
    const before = await vault.get();
    const error = await vault.save(response as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe(field);
    expect((error as Error).message).not.toContain('at-0');
    expect(await vault.get()).toEqual(before);
  });

  test('getAccessToken: no refresh while fresh; one refresh for 10 concurrent callers once within the skew; rotation stored', async () => {
    const c = clock();
    const server = rotatingServer();
    const vault = await openVault(`db-${dbCounter++}`, { now: c.now, refresh: server.refresh });
    await vault.save(login);
    expect(await vault.getAccessToken()).toBe('at-0');
    c.advance(3_600_000 - 59_000); // inside the 60 s skew
    const tokens = await Promise.all(Array.from({ length: 10 }, () => vault.getAccessToken()));
    expect(server.calls()).toBe(1);
    expect(new Set(tokens)).toEqual(new Set(['at-1']));
    expect((await vault.get())?.refreshToken).toBe('rt-1');
  });

  test('negative control: without the in-tab single flight (separate vault objects, no locks), callers refresh several times', async () => {
    const c = clock();
    const server = rotatingServer();
    const name = `db-${dbCounter++}`;
    const vaults = await Promise.all([0, 1, 2].map(() => openVault(name, { now: c.now, refresh: server.refresh, locks: null })));
    await vaults[0]!.save(login);
    c.advance(3_600_000);
    await Promise.all(vaults.map((vault) => vault.getAccessToken()));
    expect(server.calls()).toBeGreaterThan(1);
  });

  test('refresh() forces a refresh of fresh tokens, once for concurrent callers; null without a refresh token', async () => {
    const server = rotatingServer();
    const vault = await openVault(`db-${dbCounter++}`, { refresh: server.refresh });
    expect(await vault.refresh()).toBeNull(); // nothing stored
    await vault.save(login);
    const results = await Promise.all(Array.from({ length: 5 }, () => vault.refresh()));
    expect(server.calls()).toBe(1);
    expect(results.map((tokens) => tokens?.refreshToken)).toEqual(Array(5).fill('rt-1'));
    expect((await vault.refresh())?.refreshToken).toBe('rt-2'); // a later call refreshes again
    await vault.save({ access_token: 'no-refresh', token_type: 'Bearer' });
    expect(await vault.refresh()).toBeNull();
    expect(server.calls()).toBe(2);
  });

  test('refresh() while another tab holds the lock forever: TimeoutError, never the old tokens as if refreshed', async () => {
    const locks = exclusiveLocks();
    const name = `db-${dbCounter++}`;
    let entered = 0;
    const holder = await openVault(name, { locks, lockTimeoutMs: 60_000, refresh: () => (entered++, new Promise(() => undefined)) });
    const server = rotatingServer();
    const waiter = await openVault(name, { locks, lockTimeoutMs: 150, refresh: server.refresh });
    await holder.save(login); // fresh tokens: an hour left
    void holder.refresh().catch(() => undefined); // holds the lock, refreshing forever
    await expect.poll(() => entered).toBe(1);
    await expect(waiter.refresh()).rejects.toBeInstanceOf(TimeoutError);
    expect(server.calls()).toBe(0);
    // getAccessToken may stand in with the stored token: it has not expired.
    expect(await waiter.getAccessToken()).toBe('at-0');
  });

  test('expires_in sent as a decimal string (some servers do) is accepted', async () => {
    const c = clock();
    const vault = await openVault(`db-${dbCounter++}`, { now: c.now });
    expect((await vault.save({ access_token: 'x', token_type: 'Bearer', expires_in: '3599' })).expiresAt).toBe(c.now() + 3_599_000);
  });

  test('a server that does not rotate: the refresh token is kept', async () => {
    const c = clock();
    const vault = await openVault(`db-${dbCounter++}`, {
      now: c.now,
      refresh: async () => ({ access_token: 'at-new', token_type: 'Bearer', expires_in: 600 }),
    });
    await vault.save(login);
    c.advance(3_600_001);
    expect(await vault.getAccessToken()).toBe('at-new');
    expect((await vault.get())?.refreshToken).toBe('rt-0');
  });

  test('expired without a refresh token or refresh function: null; a refresh that hangs: TimeoutError, then recovers', async () => {
    const c = clock();
    const noRefresh = await openVault(`db-${dbCounter++}`, { now: c.now });
    await noRefresh.save({ access_token: 'x', token_type: 'Bearer', expires_in: 10 });
    c.advance(10_000);
    expect(await noRefresh.getAccessToken()).toBeNull();

    let hang = true;
    const signals: AbortSignal[] = [];
    const vault = await openVault(`db-${dbCounter++}`, {
      now: c.now,
      lockTimeoutMs: 200,
      refresh: (_, { signal }) => {
        signals.push(signal);
        return hang ? new Promise(() => undefined) : Promise.resolve({ access_token: 'at-ok', token_type: 'Bearer', expires_in: 60 * 60 });
      },
    });
    await vault.save(login);
    c.advance(3_600_000);
    await expect(vault.getAccessToken()).rejects.toBeInstanceOf(TimeoutError);
    expect(signals[0]!.aborted).toBe(true); // the hung request itself is told to stop
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
    hang = false;
    expect(await vault.getAccessToken()).toBe('at-ok');
  });

  test('clear() during a refresh: the refresh is abandoned, callers get null, and the vault stays empty', async () => {
    const c = clock();
    let signalSeen: AbortSignal | undefined;
    let finish: (() => void) | undefined;
    const vault = await openVault(`db-${dbCounter++}`, {
      now: c.now,
      refresh: (_, { signal }) => {
        signalSeen = signal;
        return new Promise((resolve) => {
          finish = () => resolve({ access_token: 'late', token_type: 'Bearer', expires_in: 3600, refresh_token: 'late-rt' });
        });
      },
    });
    await vault.save(login);
    c.advance(3_600_000);
    const pending = vault.getAccessToken();
    await expect.poll(() => signalSeen).toBeDefined();
    await vault.clear();
    expect(signalSeen!.aborted).toBe(true);
    finish!(); // the server answers after all: nothing may be written
    expect(await pending).toBeNull();
    expect(await vault.get()).toBeNull();
  });

  test('a malformed refresh response is refused and the stored tokens stay', async () => {
    const c = clock();
    const vault = await openVault(`db-${dbCounter++}`, { now: c.now, refresh: async () => ({ token_type: 'Bearer' }) as never });
    await vault.save(login);
    c.advance(3_600_000);
    const error = await vault.getAccessToken().catch((caught: unknown) => caught);
    expect((error as InvalidRequestError).field).toBe('refresh response.access_token');
    expect((await vault.get())?.refreshToken).toBe('rt-0');
  });

  test('two vaults on one database ("tabs"): clear() in one empties the other and tells its listeners', async () => {
    const name = `db-${dbCounter++}`;
    const a = await openVault(name);
    const b = await openVault(name);
    // Let the "saved" notice reach b before listening: only the clear is under test.
    const saved = new Promise<void>((resolve) => {
      const stop = b.onChange((change) => change.kind === 'saved' && (stop(), resolve()));
    });
    await a.save(login);
    await saved;
    expect((await b.get())?.accessToken).toBe('at-0');
    const changes: TokenVaultChange[] = [];
    const cleared = new Promise<void>((resolve) =>
      b.onChange((change) => {
        changes.push(change);
        if (change.kind === 'cleared') resolve();
      }),
    );
    await a.clear();
    await cleared;
    expect(await b.get()).toBeNull();
    expect(changes).toEqual([{ kind: 'cleared', version: null, remote: true }]);
    // b logs in again: new keys are created, and a reads them.
    await b.save({ ...login, access_token: 'at-again' });
    expect((await a.get())?.accessToken).toBe('at-again');
  });

  test('background refresh refreshes ahead of expiry, and clear() stops it', async () => {
    const c = clock();
    const server = rotatingServer(1);
    const name = `db-${dbCounter++}`;
    const vault = await openVault(name, {
      now: c.now,
      refresh: server.refresh,
      backgroundRefresh: { windowMs: 300_000, intervalMs: 20 },
    });
    const other = await openVault(name, { now: c.now });
    await vault.save(login);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.calls()).toBe(0); // an hour left: nothing to do
    c.advance(3_600_000 - 200_000); // now within the 5-minute window
    await expect.poll(() => server.calls(), { timeout: 2000 }).toBe(1);
    expect((await vault.get())?.accessToken).toBe('at-1');
    await vault.clear();
    // Another tab stores tokens that are about to expire: the stopped timer must not refresh them.
    await other.save({ ...login, expires_in: 60 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.calls()).toBe(1);
    expect((await other.get())?.accessToken).toBe('at-0');
  });
});

describe('SDK item stores (vaultStateStore, vaultCache) over fake-indexeddb', () => {
  test('values round-trip sealed under lookup ids; writing the stored value again announces nothing (no echo between tabs); remove tells the other tab once', async () => {
    const name = `items-${dbCounter++}`;
    const here = vaultStateStore({ storage: indexedDbStorage({ name, indexedDB: factory }), name });
    const there = vaultCache({ storage: indexedDbStorage({ name: `${name}-auth0`, indexedDB: factory }), name });
    const other = vaultStateStore({ storage: indexedDbStorage({ name, indexedDB: factory }), name });
    try {
      const heard: string[] = [];
      other.onChange((change) => heard.push(`${change.kind}:${change.remote}`));
      await here.set('user:https://issuer.example:spa', '{"access_token":"secret-at"}');
      expect(await other.get('user:https://issuer.example:spa')).toBe('{"access_token":"secret-at"}');
      expect(await other.getAllKeys()).toEqual(['user:https://issuer.example:spa']);
      const raw = await rawText(factory, name);
      expect(raw).not.toContain('secret-at');
      expect(raw).not.toContain('issuer.example'); // the key is a lookup id too
      await expect.poll(() => heard).toEqual(['set:true']);
      // auth0-spa-js rewrites an expired entry on every read; the same value again is not a change.
      await here.set('user:https://issuer.example:spa', '{"access_token":"secret-at"}');
      await here.set('user:https://issuer.example:spa', '{"access_token":"secret-at"}');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(heard).toEqual(['set:true']);
      expect(await here.remove('user:https://issuer.example:spa')).toBe('{"access_token":"secret-at"}');
      expect(await here.remove('user:https://issuer.example:spa')).toBeNull(); // already gone: nothing announced
      await expect.poll(() => heard).toEqual(['set:true', 'removed:true']);
      expect(await other.get('user:https://issuer.example:spa')).toBeNull();
      // The auth0 cache: objects in, objects out.
      await there.set('@@auth0spajs@@::client::default::openid', { body: { access_token: 'secret-at-2' }, expiresAt: 1 });
      expect(await there.get('@@auth0spajs@@::client::default::openid')).toEqual({ body: { access_token: 'secret-at-2' }, expiresAt: 1 });
      expect(await there.get('absent')).toBeUndefined();

      // auth0-spa-js strips an expired entry to its refresh token and writes it back on read. When another tab
      // refreshed between that read and the write, the strip must not replace the fresh entry (it would put the
      // rotated refresh token back).
      const key = '@@auth0spajs@@::client::default::openid profile';
      const fresh = { body: { access_token: 'at-new', refresh_token: 'rt-new' }, expiresAt: 2_000 };
      await there.set(key, fresh);
      await there.set(key, { body: { refresh_token: 'rt-old' }, expiresAt: 1_000 });
      expect(await there.get(key)).toEqual(fresh);
      // A strip of the entry that is stored (same expiry) is written, as auth0-spa-js expects.
      await there.set(key, { body: { refresh_token: 'rt-new' }, expiresAt: 2_000 });
      expect(await there.get(key)).toEqual({ body: { refresh_token: 'rt-new' }, expiresAt: 2_000 });
    } finally {
      await Promise.all([here.close(), there.close(), other.close()]);
    }
  });
});

describe('vault.fetch request handling (Node, a recording fetch)', () => {
  test('the retry after 401 invalid_token replays the same method, headers and body with the new token; other 401s and 403 are not retried', async () => {
    const server = rotatingServer(1);
    const seen: { method: string; authorization: string | null; body: string; custom: string | null }[] = [];
    const answers: Response[] = [];
    const recording: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      seen.push({ method: request.method, authorization: request.headers.get('Authorization'), body: await request.text(), custom: request.headers.get('X-Custom') });
      return answers.shift() ?? new Response('{}', { status: 200 });
    };
    const vault = await openVault(`db-${dbCounter++}`, { refresh: server.refresh, fetch: recording });
    await vault.save(login);
    const stream = new ReadableStream<Uint8Array>({ start: (controller) => (controller.enqueue(new TextEncoder().encode('{"n":1}')), controller.close()) });
    answers.push(new Response('{}', { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' } }));
    const response = await vault.fetch('https://api.example/items', { method: 'POST', body: stream, headers: { 'X-Custom': 'kept' }, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(200);
    expect(seen).toEqual([
      { method: 'POST', authorization: 'Bearer at-0', body: '{"n":1}', custom: 'kept' },
      { method: 'POST', authorization: 'Bearer at-1', body: '{"n":1}', custom: 'kept' },
    ]);
    expect(server.calls()).toBe(1);

    // Not an invalid_token challenge: returned as is, no refresh, no retry.
    for (const status of [401, 403]) {
      seen.length = 0;
      answers.push(new Response('{}', { status, headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' } }));
      expect((await vault.fetch('https://api.example/items')).status).toBe(status);
      expect(seen).toHaveLength(1);
    }
    expect(server.calls()).toBe(1);
  });
});
