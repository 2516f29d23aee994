// Mutation-testing kills for the device authorization grant, src/oauth/grants/device-code.ts (mutation/REPORT.md):
// what each input, poll answer, token, audit event and stored record of RFC 8628 must be, past the happy path
// of the single-use suite: user code sampling and normalization, the brute-force counter (its window, its races,
// its retry bound), key rotation, DPoP binding, lifetimes, and commits that fail.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import {
  AccessDeniedError,
  AuthorizationPendingError,
  ConflictError,
  ExpiredTokenError,
  InvalidGrantError,
  InvalidRequestError,
  SlowDownError,
  UnauthorizedClientError,
} from '../../src/errors.js';
import { DEVICE_CODE_GRANT, MAX_USER_CODE_ATTEMPTS } from '../../src/oauth/grants/device-code.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { interceptAdapter } from '../oauth/oauth-store-helpers.js';

const DAY = 24 * 3600_000;
const LIFETIME_MS = 600_000; // the device authorization's lifetime (expiresIn 600)
const INTERVAL_MS = 5000;
const ATTEMPT_WINDOW_MS = 15 * 60_000;
const JKT = 'A'.repeat(43);
const API = 'https://api.example/';
const DEVICE_KINDS = ['device/', 'device-code/', 'device-decision/', 'device-poll/', 'user-code/', 'device-attempts/'];

type Wrap = (inner: StorageAdapter) => StorageAdapter;

async function setup(wrap?: Wrap) {
  const clock = createTestClock();
  const inner = memoryAdapter({ now: clock.now });
  const adapter = wrap ? wrap(inner) : inner;
  const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
  const policy = { accessTokenTtlSeconds: 300, refreshTokenIdleSeconds: 3600 };
  const open = async (rotated = false) =>
    new OAuthStore({
      keyring: await Keyring.fromSecret(rotated ? [{ id: 'new', secret: newSecret }, { id: 'old', secret: oldSecret }] : [{ id: 'old', secret: oldSecret }]),
      adapter,
      now: clock.now,
      ...policy,
    });
  const store = await open();
  const { client: tv } = await store.registerClient({ type: 'public', grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'], scope: ['tv', 'extra'] });
  const poll = (deviceCode: string, extra: Record<string, unknown> = {}, clientId = tv.clientId, on = store) =>
    on.requestToken({ grantType: DEVICE_CODE_GRANT, clientId, deviceCode, ...extra } as never);
  return { clock, inner, adapter, open, store, tv, poll };
}

async function refusal(call: () => Promise<unknown>): Promise<InvalidRequestError> {
  const error = await call().then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(InvalidRequestError);
  return error as InvalidRequestError;
}

async function rejection(call: () => Promise<unknown>): Promise<Error> {
  const error = await call().then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

const grantIdOf = (deviceCode: string) => /^ovd_([^.]+)\./.exec(deviceCode)![1]!;

/** Live keys of the device flow's records in an adapter (the memory adapter lists only unexpired entries). */
async function deviceKeys(adapter: StorageAdapter): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of DEVICE_KINDS) keys.push(...(await adapter.list({ prefix, limit: 1000 })).keys);
  return keys;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('device flow: user codes', () => {
  test('rejection sampling: bytes 240..255 are skipped, the rest map to byte % 20; a colliding user code is a retryable ConflictError', async () => {
    const s = await setup();
    const real = crypto.getRandomValues.bind(crypto);
    const planted: Uint8Array[] = [];
    let previous = 0;
    // The user code draws 16 bytes right after the device code's 32-byte secret: plant those.
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const length = (array as unknown as Uint8Array).length;
      const plant = length === 16 && previous === 32 ? planted.shift() : undefined;
      previous = length;
      if (plant) (array as unknown as Uint8Array).set(plant);
      else real(array as unknown as Uint8Array<ArrayBuffer>);
      return array;
    });
    const bytes = Uint8Array.from([240, 250, 255, 19, 0, 1, 2, 3, 4, 5, 6, 7, 241, 242, 243, 244]);
    planted.push(bytes);
    const first = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    expect(first.userCode).toBe('ZBCD-FGHJ');
    planted.push(bytes);
    const error = await rejection(() => s.store.createDeviceAuthorization({ clientId: s.tv.clientId }));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toBe('user code collision; retry');
  });

  test('a user code as typed: case, spaces and dashes are ignored; a wrong length or letter, or more than 32 characters, is refused', async () => {
    const s = await setup();
    for (const bad of ['BCDF-GHJ', 'BCDF-GHJKL', 'BCDF-GHJA', 'ABCD-FGHJ', `BCDF-GHJK${'-'.repeat(24)}`]) {
      const error = await refusal(() => s.store.getDeviceAuthorization(bad));
      expect(error.field, bad).toBe('userCode');
      if (bad.length <= 32) expect(error.message, bad).toBe('"userCode" is not a user code');
    }
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    const padded = ` ${started.userCode.toLowerCase()}`.padEnd(32, '-');
    expect(padded).toHaveLength(32);
    expect(await s.store.getDeviceAuthorization(padded)).toMatchObject({ clientId: s.tv.clientId });
    expect((await refusal(() => s.store.getDeviceAuthorization(started.userCode, { attemptKey: 'k'.repeat(257) }))).field).toBe('attemptKey');
    expect(await s.store.getDeviceAuthorization(started.userCode, { attemptKey: 'k'.repeat(256) })).not.toBeNull();
  });

  test('a user code issued before or after a key rotation is found by the rotated store', async () => {
    const s = await setup();
    const before = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    const rotated = await s.open(true);
    const after = await rotated.createDeviceAuthorization({ clientId: s.tv.clientId });
    expect(await rotated.getDeviceAuthorization(before.userCode)).toMatchObject({ clientId: s.tv.clientId, decided: false });
    expect(await rotated.getDeviceAuthorization(after.userCode)).toMatchObject({ clientId: s.tv.clientId, decided: false });
    await rotated.approveDeviceAuthorization(before.userCode, { userId: 'viewer' });
    expect(await rotated.getDeviceAuthorization(before.userCode)).toMatchObject({ decided: true });
  });

  test('a user code whose request is gone (index still there) is unknown, and counts as a wrong attempt', async () => {
    const s = await setup();
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    expect(await s.inner.delete(`device/${grantIdOf(started.deviceCode)}`)).toBe(true);
    for (let attempt = 0; attempt < MAX_USER_CODE_ATTEMPTS; attempt++) expect(await s.store.getDeviceAuthorization(started.userCode, { attemptKey: 'ip-1' })).toBeNull();
    await expect(s.store.getDeviceAuthorization('BCDF-GHJK', { attemptKey: 'ip-1' })).rejects.toBeInstanceOf(SlowDownError);
  });
});

describe('device flow: wrong user codes per caller', () => {
  test('the window is fixed from the first wrong code: it does not slide with later ones', async () => {
    const s = await setup();
    expect(await s.store.getDeviceAuthorization('BCDF-GHJK', { attemptKey: 'ip-1' })).toBeNull();
    s.clock.advance(10 * 60_000);
    for (let attempt = 1; attempt < MAX_USER_CODE_ATTEMPTS; attempt++) expect(await s.store.getDeviceAuthorization('BCDF-GHJK', { attemptKey: 'ip-1' })).toBeNull();
    const target = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    const error = await rejection(() => s.store.getDeviceAuthorization(target.userCode, { attemptKey: 'ip-1' }));
    expect(error).toBeInstanceOf(SlowDownError);
    expect(error.message).toBe('too many wrong user codes; try again later');
    s.clock.advance(ATTEMPT_WINDOW_MS - 10 * 60_000 + 1); // just past 15 minutes after the first wrong code
    expect(await s.store.getDeviceAuthorization(target.userCode, { attemptKey: 'ip-1' })).toMatchObject({ clientId: s.tv.clientId });
  });

  test('a right code gives back only its own attempt: the wrong ones before it still count, in their window', async () => {
    const s = await setup();
    const caller = { attemptKey: 'ip-1' };
    const target = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    expect(await s.store.getDeviceAuthorization('BCDF-GHJK', caller)).toBeNull();
    s.clock.advance(60_000);
    for (let look = 0; look < 3; look++) expect(await s.store.getDeviceAuthorization(target.userCode, caller)).toMatchObject({ clientId: s.tv.clientId });
    for (let attempt = 1; attempt < MAX_USER_CODE_ATTEMPTS; attempt++) expect(await s.store.getDeviceAuthorization('BCDF-GHJK', caller)).toBeNull();
    await expect(s.store.getDeviceAuthorization(target.userCode, caller)).rejects.toBeInstanceOf(SlowDownError);
    // The window still runs from the first wrong code.
    s.clock.advance(ATTEMPT_WINDOW_MS - 60_000);
    const later = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    expect(await s.store.getDeviceAuthorization(later.userCode, caller)).toMatchObject({ clientId: s.tv.clientId });
  });

  test('with no wrong code before it, a right code leaves no counter behind', async () => {
    const s = await setup();
    const target = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    expect(await s.store.getDeviceAuthorization(target.userCode, { attemptKey: 'ip-1' })).not.toBeNull();
    expect((await s.inner.list({ prefix: 'device-attempts/' })).keys).toEqual([]);
  });

  test(`${MAX_USER_CODE_ATTEMPTS} concurrent wrong codes all count, even when every counter write races`, async () => {
    // The first round of counter writes waits until every caller has read the count: they all contend.
    let waiting: (() => void)[] = [];
    let first = MAX_USER_CODE_ATTEMPTS;
    const s = await setup((inner) =>
      interceptAdapter(inner, {
        compareAndSet: async (key, value, condition, options) => {
          if (key.startsWith('device-attempts/') && first > 0) {
            first--;
            await new Promise<void>((resolve) => {
              waiting.push(resolve);
              if (waiting.length === MAX_USER_CODE_ATTEMPTS) for (const release of waiting.splice(0)) release();
              else setTimeout(resolve, 2000); // never hang if fewer arrive: the count check below then fails
            });
          }
          return inner.compareAndSet(key, value, condition, options);
        },
      }),
    );
    const target = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    const results = await Promise.all(Array.from({ length: MAX_USER_CODE_ATTEMPTS }, () => s.store.getDeviceAuthorization('BCDF-GHJK', { attemptKey: 'ip-1' })));
    expect(results).toEqual(Array(MAX_USER_CODE_ATTEMPTS).fill(null));
    await expect(s.store.getDeviceAuthorization(target.userCode, { attemptKey: 'ip-1' })).rejects.toBeInstanceOf(SlowDownError);
    waiting = [];
  });

  test('a counter that can never be written is tried a bounded number of times (16), then the attempt is refused with slow_down, before any lookup', async () => {
    let writes = 0;
    const s = await setup((inner) =>
      interceptAdapter(inner, {
        compareAndSet: async (key, value, condition, options) => {
          if (!key.startsWith('device-attempts/')) return inner.compareAndSet(key, value, condition, options);
          writes++;
          return null;
        },
      }),
    );
    await expect(s.store.getDeviceAuthorization('BCDF-GHJK', { attemptKey: 'ip-1' })).rejects.toBeInstanceOf(SlowDownError);
    expect(writes).toBe(16);
  });
});

describe('device flow: starting, approving, denying', () => {
  test('createDeviceAuthorization: parameters checked, the client must hold the grant type', async () => {
    const s = await setup();
    expect((await refusal(() => s.store.createDeviceAuthorization(null as never))).field).toBe('params');
    expect((await refusal(() => s.store.createDeviceAuthorization({ clientId: s.tv.clientId, nonsense: 1 } as never))).field).toBe('params.nonsense');
    expect((await refusal(() => s.store.createDeviceAuthorization({ clientId: s.tv.clientId, resources: ['not a uri'] }))).field).toMatch(/^resources/);
    const { client: web } = await s.store.registerClient({ type: 'public', redirectUris: ['https://app.example/cb'] });
    const error = await rejection(() => s.store.createDeviceAuthorization({ clientId: web.clientId }));
    expect(error).toBeInstanceOf(UnauthorizedClientError);
    expect(error.message).toBe('client may not use the device_code grant');
  });

  test('a grant id collision when starting is a retryable ConflictError', async () => {
    const s = await setup((inner) =>
      interceptAdapter(inner, { batch: async (operations) => (operations.some((op) => op.key.startsWith('device/')) ? { ok: false, failed: 0, entries: [] } : inner.batch!(operations)) }),
    );
    const error = await rejection(() => s.store.createDeviceAuthorization({ clientId: s.tv.clientId }));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toBe('grant id collision; retry');
  });

  test('the approval screen sees exactly what was asked: scope, resources only when asked, expiry, decided', async () => {
    const s = await setup();
    const now = s.clock.now();
    const withResources = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId, scope: ['tv'], resources: [API] });
    expect(await s.store.getDeviceAuthorization(withResources.userCode)).toEqual({ clientId: s.tv.clientId, scope: ['tv'], resources: [API], expiresAt: now + LIFETIME_MS, decided: false });
    const without = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    expect(await s.store.getDeviceAuthorization(without.userCode)).toEqual({ clientId: s.tv.clientId, scope: [], expiresAt: now + LIFETIME_MS, decided: false });
  });

  test('approve: parameters checked; a decided or unknown code is refused on field userCode', async () => {
    const s = await setup();
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    expect((await refusal(() => s.store.approveDeviceAuthorization(started.userCode, null as never))).field).toBe('params');
    expect((await refusal(() => s.store.approveDeviceAuthorization(started.userCode, { userId: 'u', nonsense: 1 } as never))).field).toBe('params.nonsense');
    expect((await refusal(() => s.store.approveDeviceAuthorization(started.userCode, { userId: 'u', scope: 42 as never }))).field).toMatch(/^scope/);
    expect((await refusal(() => s.store.approveDeviceAuthorization(started.userCode, { userId: 'u', props: (() => 1) as never }))).field).toMatch(/^props/);
    const unknown = await refusal(() => s.store.approveDeviceAuthorization('BCDF-GHJK', { userId: 'u' }));
    expect(unknown).toMatchObject({ field: 'userCode', message: '"userCode" is unknown or expired' });
    await s.store.approveDeviceAuthorization(started.userCode, { userId: 'u', scope: ['tv'], props: { room: 'den' }, attemptKey: 'ip-1' });
    const again = await refusal(() => s.store.approveDeviceAuthorization(started.userCode, { userId: 'u' }));
    expect(again).toMatchObject({ field: 'userCode', message: '"userCode" is already decided or expired' });
    expect(await refusal(() => s.store.denyDeviceAuthorization(started.userCode))).toMatchObject({ field: 'userCode' });
  });

  test('audit: created (with the scope count), approved by a user, denied without one, tokens issued with the grant type', async () => {
    const s = await setup();
    const { client: noRefresh } = await s.store.registerClient({ type: 'public', grantTypes: [DEVICE_CODE_GRANT] });
    const approved = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId, scope: ['tv', 'extra'] });
    await s.store.approveDeviceAuthorization(approved.userCode, { userId: 'viewer' });
    const denied = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    await s.store.denyDeviceAuthorization(denied.userCode);
    s.clock.advance(INTERVAL_MS);
    await s.poll(approved.deviceCode);
    const single = await s.store.createDeviceAuthorization({ clientId: noRefresh.clientId, scope: [] });
    await s.store.approveDeviceAuthorization(single.userCode, { userId: 'viewer' });
    await s.poll(single.deviceCode, {}, noRefresh.clientId);
    const events = (await s.store.queryAudit({ limit: 100 })).events;
    const of = (deviceCode: string) => events.filter((event) => event.grantId === grantIdOf(deviceCode)).map(({ type, clientId, userLookupId, details }) => ({ type, clientId, user: userLookupId !== undefined, details }));
    expect(of(approved.deviceCode)).toEqual(expect.arrayContaining([
      { type: 'device_authorization_created', clientId: s.tv.clientId, user: false, details: { scope: 2 } },
      { type: 'device_authorization_approved', clientId: s.tv.clientId, user: true, details: {} },
      { type: 'access_token_issued', clientId: s.tv.clientId, user: true, details: { grantType: DEVICE_CODE_GRANT } },
      { type: 'refresh_token_issued', clientId: s.tv.clientId, user: true, details: { grantType: DEVICE_CODE_GRANT } },
    ]));
    expect(of(approved.deviceCode)).toHaveLength(4);
    expect(of(denied.deviceCode)).toEqual(expect.arrayContaining([{ type: 'device_authorization_denied', clientId: s.tv.clientId, user: false, details: {} }]));
    expect(of(denied.deviceCode)).toHaveLength(2);
    expect(of(single.deviceCode).map((event) => event.type).sort()).toEqual(['access_token_issued', 'device_authorization_approved', 'device_authorization_created']);
  });
});

describe('device flow: polling', () => {
  test('pending, slow_down within the interval (5 s, not 5 ms), denied, each with its own answer', async () => {
    const s = await setup();
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    const pending = await rejection(() => s.poll(started.deviceCode));
    expect(pending).toBeInstanceOf(AuthorizationPendingError);
    expect(pending.message).toBe('the user has not decided yet');
    s.clock.advance(1000);
    const slow = await rejection(() => s.poll(started.deviceCode));
    expect(slow).toBeInstanceOf(SlowDownError);
    expect(slow.message).toBe('polling faster than the interval');
    s.clock.advance(INTERVAL_MS);
    await expect(s.poll(started.deviceCode)).rejects.toBeInstanceOf(AuthorizationPendingError);
    await s.store.denyDeviceAuthorization(started.userCode);
    s.clock.advance(INTERVAL_MS);
    const denied = await rejection(() => s.poll(started.deviceCode));
    expect(denied).toBeInstanceOf(AccessDeniedError);
    expect(denied.message).toBe('the user denied the request');
  });

  test('a forged, foreign, malformed or missing device code is refused', async () => {
    const s = await setup();
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    await s.store.approveDeviceAuthorization(started.userCode, { userId: 'viewer' });
    // The right grant id with another secret: the device code is not authentic.
    const forged = started.deviceCode.replace(/\.[^.]+$/, `.${'Q'.repeat(43)}`);
    expect(forged).not.toBe(started.deviceCode);
    await expect(s.poll(forged)).rejects.toBeInstanceOf(InvalidGrantError);
    const { client: other } = await s.store.registerClient({ type: 'public', grantTypes: [DEVICE_CODE_GRANT] });
    await expect(s.poll(started.deviceCode, {}, other.clientId)).rejects.toBeInstanceOf(InvalidGrantError);
    await expect(s.poll(`ova_${grantIdOf(started.deviceCode)}.${'Q'.repeat(43)}`)).rejects.toBeInstanceOf(InvalidGrantError);
    expect((await refusal(() => s.store.requestToken({ grantType: DEVICE_CODE_GRANT, clientId: s.tv.clientId } as never))).field).toBe('deviceCode');
    expect((await refusal(() => s.poll(started.deviceCode, { dpopJkt: 'short' }))).field).toBe('dpopJkt');
    // None of those used it up: the device still gets its tokens.
    await expect(s.poll(started.deviceCode)).resolves.toMatchObject({ tokenType: 'Bearer' });
  });

  test('expired: expired_token for a day after the request lapsed, then unknown', async () => {
    const s = await setup();
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    s.clock.advance(LIFETIME_MS + 1);
    const expired = await rejection(() => s.poll(started.deviceCode));
    expect(expired).toBeInstanceOf(ExpiredTokenError);
    expect(expired.message).toBe('the device code expired');
    s.clock.advance(DAY - 1 - INTERVAL_MS);
    await expect(s.poll(started.deviceCode)).rejects.toBeInstanceOf(ExpiredTokenError);
    s.clock.advance(INTERVAL_MS + 1);
    await expect(s.poll(started.deviceCode)).rejects.toBeInstanceOf(InvalidGrantError);
  });

  test('every record of the flow expires on its own: a day after the request lapsed none is left', async () => {
    const s = await setup();
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    await s.poll(started.deviceCode).catch(() => undefined);
    expect(await s.store.getDeviceAuthorization('BCDF-GHJK', { attemptKey: 'ip-1' })).toBeNull();
    await s.store.approveDeviceAuthorization(started.userCode, { userId: 'viewer' });
    expect(await deviceKeys(s.inner)).toHaveLength(6);
    s.clock.advance(LIFETIME_MS + DAY + 1);
    expect(await deviceKeys(s.inner)).toEqual([]);
  });
});

describe('device flow: the tokens', () => {
  test('scope and props of the approval, resources of the request; lifetimes of access and refresh token; the grant as listed', async () => {
    const s = await setup();
    const now = s.clock.now();
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId, resources: [API] });
    await s.store.approveDeviceAuthorization(started.userCode, { userId: 'viewer', scope: ['tv'], props: { room: 'den' } });
    const tokens = await s.poll(started.deviceCode);
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 300, refreshTokenExpiresIn: 3600, scope: ['tv'], resources: [API] });
    expect(await s.store.validateAccessToken(tokens.accessToken, { resource: API })).toMatchObject({ userId: 'viewer', scope: ['tv'], resources: [API], props: { room: 'den' }, grantType: DEVICE_CODE_GRANT, expiresAt: now + 300_000 });
    expect((await s.store.listGrants('viewer')).grants).toEqual([
      { grantId: tokens.grantId, grantType: DEVICE_CODE_GRANT, clientId: s.tv.clientId, userId: 'viewer', scope: ['tv'], resources: [API], props: { room: 'den' }, createdAt: now, expiresAt: now + 90 * DAY },
    ]);
    // An approval without scope or props, of a request without resources: the request's scope, nothing else.
    const plain = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId, scope: ['tv', 'extra'] });
    await s.store.approveDeviceAuthorization(plain.userCode, { userId: 'plain-viewer' });
    const plainTokens = await s.poll(plain.deviceCode);
    expect(plainTokens).not.toHaveProperty('resources');
    expect((await s.store.listGrants('plain-viewer')).grants).toEqual([
      { grantId: plainTokens.grantId, grantType: DEVICE_CODE_GRANT, clientId: s.tv.clientId, userId: 'plain-viewer', scope: ['tv', 'extra'], createdAt: now, expiresAt: now + 90 * DAY },
    ]);
    // The refresh token rotates.
    await expect(s.store.refreshAccessToken({ clientId: s.tv.clientId, refreshToken: plainTokens.refreshToken! })).resolves.toMatchObject({ scope: ['tv', 'extra'] });
  });

  test('a client without refresh_token gets an access token only, for the access token lifetime', async () => {
    const s = await setup();
    const { client } = await s.store.registerClient({ type: 'public', grantTypes: [DEVICE_CODE_GRANT] });
    const started = await s.store.createDeviceAuthorization({ clientId: client.clientId });
    await s.store.approveDeviceAuthorization(started.userCode, { userId: 'viewer' });
    const tokens = await s.poll(started.deviceCode, {}, client.clientId);
    expect(tokens).not.toHaveProperty('refreshToken');
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 300 });
  });

  test('DPoP: the access token is bound whenever a key is presented, the refresh token only for a public client', async () => {
    const s = await setup();
    const { client: tvBox, clientSecret } = await s.store.registerClient({ type: 'confidential', grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'] });
    const cases = [
      { clientId: s.tv.clientId, extra: { dpopJkt: JKT }, tokenType: 'DPoP', refresh: /^ovb_/ },
      { clientId: tvBox.clientId, extra: { dpopJkt: JKT, clientSecret }, tokenType: 'DPoP', refresh: /^ovr_/ },
      { clientId: s.tv.clientId, extra: {}, tokenType: 'Bearer', refresh: /^ovr_/ },
    ];
    for (const { clientId, extra, tokenType, refresh } of cases) {
      const started = await s.store.createDeviceAuthorization({ clientId, ...('clientSecret' in extra && { clientSecret }) });
      await s.store.approveDeviceAuthorization(started.userCode, { userId: 'viewer' });
      const tokens = await s.poll(started.deviceCode, extra, clientId);
      expect(tokens.tokenType, `${clientId} ${tokenType}`).toBe(tokenType);
      expect(tokens.refreshToken).toMatch(refresh);
      const bound = tokenType === 'DPoP';
      expect(await s.store.validateAccessToken(tokens.accessToken) === null).toBe(bound);
      if (bound) expect(await s.store.validateAccessToken(tokens.accessToken, { dpopJkt: JKT })).toMatchObject({ jkt: JKT });
    }
  });

  test('of concurrent polls that all reach the issue step, one gets the tokens and every other hears invalid_grant', async () => {
    const contenders = 4;
    let waiting: (() => void)[] = [];
    const issuing = (operations: readonly { type: string; key: string }[]) => operations.some((op) => op.type === 'delete' && op.key.startsWith('device-code/'));
    const s = await setup((inner) =>
      interceptAdapter(inner, {
        batch: async (operations) => {
          if (issuing(operations)) {
            await new Promise<void>((resolve) => {
              waiting.push(resolve);
              if (waiting.length === contenders) for (const release of waiting.splice(0)) release();
              else setTimeout(resolve, 2000);
            });
          }
          return inner.batch!(operations);
        },
      }),
    );
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    await s.store.approveDeviceAuthorization(started.userCode, { userId: 'viewer' });
    const results = await Promise.allSettled(Array.from({ length: contenders }, () => s.poll(started.deviceCode)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(InvalidGrantError);
    waiting = [];
  });

  test('an issue commit that fails on anything but the device code is a retryable ConflictError, and no token works', async () => {
    let fail = true;
    const s = await setup((inner) =>
      interceptAdapter(inner, {
        batch: async (operations) => {
          const used = operations.findIndex((op) => op.type === 'delete' && op.key.startsWith('device-code/'));
          if (fail && used >= 0) {
            const other = operations.findIndex((op, index) => index !== used && op.type === 'put');
            return { ok: false, failed: other, entries: [] };
          }
          return inner.batch!(operations);
        },
      }),
    );
    const started = await s.store.createDeviceAuthorization({ clientId: s.tv.clientId });
    await s.store.approveDeviceAuthorization(started.userCode, { userId: 'viewer' });
    const error = await rejection(() => s.poll(started.deviceCode));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toBe('the device grant is contended; retry');
    expect((await s.store.listGrants('viewer')).grants).toEqual([]);
    fail = false;
    s.clock.advance(INTERVAL_MS);
    await expect(s.poll(started.deviceCode)).resolves.toMatchObject({ tokenType: 'Bearer' }); // the retry works
  });
});
