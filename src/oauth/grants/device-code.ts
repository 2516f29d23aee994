import { randomBytes } from '../../crypto/random.js';
import {
  AccessDeniedError,
  AuthorizationPendingError,
  ConflictError,
  ExpiredTokenError,
  InvalidRequestError,
  SlowDownError,
  UnauthorizedClientError,
} from '../../errors.js';
import { optionalString, requireString } from '../../util/validate.js';
import { authenticateClient } from '../clients.js';
import type { StoreContext } from '../context.js';
import { onlyKeys, optionalJkt, optionalJson, optionalResources, optionalScope, params, requireToken, requireUserId } from '../input.js';
import type { GrantRecord, Marker, RecordKind } from '../record-kinds.js';
import { formatToken, LOOKUP, newGrantId, parseToken } from '../tokens.js';
import { Transition } from '../transition.js';
import type {
  ApproveDeviceAuthorizationParams,
  CreateDeviceAuthorizationParams,
  DeviceAuthorizationInfo,
  DeviceAuthorizationResult,
  TokenResult,
} from '../types.js';
import { addAccessToken, addNewGrant, addRefreshToken, invalidGrant, tokenResult } from './common.js';
import type { GrantHandler } from './handler.js';
import { allowedResources, allowedScope, toolsContext } from './tools.js';

/**
 * The device authorization grant (RFC 8628). The device asks for a device
 * code and a short user code; the user enters the user code on another
 * screen (the app's UI, through `getDeviceAuthorization` and
 * `approveDeviceAuthorization`); the device polls the token endpoint.
 *
 * Records, all in the new grant's partition but the user-code index:
 *   device/<grantId>                        the request (client, scope, resources, interval), until it expires
 *   device-code/<grantId>/<lookup(code)>    the device code (proves the poller holds it); outlives the request
 *                                           by a day, so a late poll hears `expired_token`, and is deleted by
 *                                           the poll that gets the tokens
 *   device-decision/<grantId>               the user's approval or denial: created only if absent, so
 *                                           of two concurrent approvals exactly one makes the grant
 *   device-poll/<grantId>                   when the device last polled (`slow_down`)
 *   user-code/<lookup(user code)>           the user code's grant id
 *   device-attempts/<lookup(caller)>        wrong user codes per caller (brute-force limit)
 */

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// Not owned by the grant: it exists only once the device gets its tokens; these expire on their own.
const KINDS = {
  device: { kind: 'device', store: 'single-use' },
  deviceCode: { kind: 'device-code', store: 'single-use' },
  decision: { kind: 'device-decision', store: 'single-use' },
  poll: { kind: 'device-poll', store: 'single-use' },
  userCode: { kind: 'user-code', store: 'single-use' },
  attempts: { kind: 'device-attempts', store: 'single-use' },
} as const satisfies Record<string, RecordKind>;

interface DeviceRecord {
  clientId: string;
  scope: string[];
  resources?: string[];
  interval: number;
  createdAt: number;
  expiresAt: number;
}

type Decision = { approved: true; userId: string; scope?: string[]; props?: unknown } | { approved: false };

const DEFAULT_LIFETIME_SECONDS = 600;
const DEFAULT_INTERVAL_SECONDS = 5;
/** Wrong user codes a caller may enter per window before it must wait. */
export const MAX_USER_CODE_ATTEMPTS = 10;
const ATTEMPT_WINDOW_MS = 15 * 60_000;
/** How long after its request expired a device code still gets `expired_token` rather than `invalid_grant`. */
const EXPIRED_NOTICE_MS = 24 * 3600_000;

// RFC 8628 §6.1: 20 consonants, no vowels (no words), no easily confused letters; 8 of them ≈ 34.6 bits.
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;

function newUserCode(): string {
  let code = '';
  while (code.length < USER_CODE_LENGTH) {
    for (const byte of randomBytes(16)) {
      // Rejection sampling: 240 = 12 × 20, so the kept bytes are uniform over the alphabet.
      if (byte < 240 && code.length < USER_CODE_LENGTH) code += USER_CODE_ALPHABET[byte % 20];
    }
  }
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** A user code as typed: case, spaces and dashes do not matter. */
function normalizeUserCode(field: string, value: unknown): string {
  const text = requireString(field, value, { max: 32 }).toUpperCase().replace(/[\s-]/g, '');
  if (text.length !== USER_CODE_LENGTH || [...text].some((char) => !USER_CODE_ALPHABET.includes(char))) {
    throw new InvalidRequestError(field, 'is not a user code');
  }
  return text;
}

const collections = (ctx: StoreContext) => ({
  device: ctx.kinds.collection<DeviceRecord>(KINDS.device.kind),
  deviceCode: ctx.kinds.collection<Marker>(KINDS.deviceCode.kind),
  decision: ctx.kinds.collection<Decision>(KINDS.decision.kind),
  poll: ctx.kinds.collection<{ at: number }>(KINDS.poll.kind),
  userCode: ctx.kinds.collection<{ grantId: string }>(KINDS.userCode.kind),
  attempts: ctx.kinds.collection<{ count: number }>(KINDS.attempts.kind),
});

/** Starts a device authorization (RFC 8628 §3.1–3.2) for an authenticated client that may use this grant. */
export async function createDeviceAuthorization(ctx: StoreContext, input: CreateDeviceAuthorizationParams): Promise<DeviceAuthorizationResult> {
  const p = params('params', input);
  onlyKeys('params', p, ['clientId', 'clientSecret', 'clientAssertionVerified', 'scope', 'resources']);
  const requestedScope = optionalScope('scope', p.scope);
  const requestedResources = optionalResources('resources', p.resources);
  const client = await authenticateClient(ctx, p.clientId, p.clientSecret, p.clientAssertionVerified);
  if (!client.grantTypes.includes(DEVICE_CODE_GRANT)) throw new UnauthorizedClientError('client may not use the device_code grant');
  const scope = allowedScope(client, requestedScope ?? []);
  const resources = allowedResources(ctx, client, requestedResources);
  const c = collections(ctx);
  const now = ctx.now();
  const grantId = newGrantId();
  const deviceCode = formatToken('device', grantId);
  const userCode = newUserCode();
  const expiresAt = now + DEFAULT_LIFETIME_SECONDS * 1000;
  const record: DeviceRecord = { clientId: client.clientId, scope, ...(resources.length > 0 && { resources }), interval: DEFAULT_INTERVAL_SECONDS, createdAt: now, expiresAt };
  const [codeLookup, userLookup] = await Promise.all([
    ctx.keyring.lookupId(LOOKUP.deviceCode, deviceCode),
    ctx.keyring.lookupId(LOOKUP.userCode, normalizeUserCode('userCode', userCode)),
  ]);
  // The user-code index lives in its own partition: written first, so a device code the device may poll is always approvable.
  if ((await c.userCode.create(userLookup, { grantId }, { expiresAt })) === null) throw new ConflictError('user code collision; retry');
  const tx = new Transition(ctx, grantId);
  tx.put(c.device, grantId, record, { expiresAt, condition: { ifAbsent: true } });
  tx.put(c.deviceCode, `${grantId}/${codeLookup}`, {}, { expiresAt: expiresAt + EXPIRED_NOTICE_MS });
  tx.audit({ types: ['device_authorization_created'], clientId: client.clientId, grantId, details: { scope: scope.length } });
  if (!(await tx.commit()).ok) throw new ConflictError('grant id collision; retry');
  return { deviceCode, userCode, expiresIn: DEFAULT_LIFETIME_SECONDS, interval: DEFAULT_INTERVAL_SECONDS };
}

/**
 * Takes one of `attemptKey`'s attempts before a user code is looked up, and
 * refuses past the limit within the window: taken first, so that N guesses
 * sent at once are counted before any of them is looked up (a count checked
 * first and raised after the lookup let all N through). A right code gives
 * its attempt back (`returnAttempt`), so only wrong codes add up.
 */
async function takeAttempt(ctx: StoreContext, id: string): Promise<void> {
  const c = collections(ctx);
  for (let attempt = 0; attempt < 16; attempt++) {
    const found = await c.attempts.get(id);
    const count = found?.data.count ?? 0;
    if (count >= MAX_USER_CODE_ATTEMPTS) throw new SlowDownError('too many wrong user codes; try again later');
    const expiresAt = found?.expiresAt ?? ctx.now() + ATTEMPT_WINDOW_MS;
    const written = await c.attempts.compareAndSet(id, { count: count + 1 }, found ? { ifVersion: found.version } : { ifAbsent: true }, { expiresAt });
    if (written !== null) return;
  }
  throw new SlowDownError('too many concurrent user code attempts; try again later');
}

/** Gives back the attempt a right user code took (best effort: a contended counter keeps it, erring on the safe side). */
async function returnAttempt(ctx: StoreContext, id: string): Promise<void> {
  const c = collections(ctx);
  for (let attempt = 0; attempt < 16; attempt++) {
    const found = await c.attempts.get(id);
    if (!found) return;
    const count = found.data.count - 1;
    // The last attempt given back removes the counter, so the next wrong code starts a new window.
    const done = count <= 0
      ? await c.attempts.delete(id, found.version)
      : (await c.attempts.compareAndSet(id, { count }, { ifVersion: found.version }, { expiresAt: found.expiresAt })) !== null;
    if (done) return;
  }
}

/** The device authorization a user code stands for, with the record's grant id. */
async function findByUserCode(ctx: StoreContext, userCodeInput: unknown, attemptKeyInput: unknown): Promise<{ grantId: string; record: DeviceRecord; decided: boolean } | null> {
  const userCode = normalizeUserCode('userCode', userCodeInput);
  const attemptKey = optionalString('attemptKey', attemptKeyInput, { max: 256 });
  const attemptId = attemptKey === undefined ? undefined : await ctx.keyring.lookupId(LOOKUP.attempts, attemptKey);
  if (attemptId !== undefined) await takeAttempt(ctx, attemptId);
  const c = collections(ctx);
  let index = null;
  for (const lookup of await ctx.keyring.lookupIds(LOOKUP.userCode, userCode)) {
    index = await c.userCode.get(lookup);
    if (index) break;
  }
  if (index) {
    const grantId = index.data.grantId;
    const tx = new Transition(ctx, grantId);
    const device = tx.get(c.device, grantId);
    const decision = tx.get(c.decision, grantId);
    const outcome = await tx.commit();
    const record = await outcome.read<DeviceRecord>(device);
    if (record) {
      if (attemptId !== undefined) await returnAttempt(ctx, attemptId);
      return { grantId, record: record.data, decided: outcome.present(decision) };
    }
  }
  return null;
}

/** What a user code asks for, for the app's approval screen; null when unknown or expired (a wrong code counts against `attemptKey`). */
export async function getDeviceAuthorization(ctx: StoreContext, userCode: string, options: { attemptKey?: string } = {}): Promise<DeviceAuthorizationInfo | null> {
  const found = await findByUserCode(ctx, userCode, options.attemptKey);
  if (!found) return null;
  const { record } = found;
  return { clientId: record.clientId, scope: record.scope, ...(record.resources && { resources: record.resources }), expiresAt: record.expiresAt, decided: found.decided };
}

/**
 * Records the user's decision on a user code: once. Of two concurrent
 * approvals exactly one succeeds; a decided, unknown or expired code is
 * `InvalidRequestError` (field `userCode`).
 */
async function decide(ctx: StoreContext, userCode: string, decision: Decision, attemptKey: string | undefined): Promise<void> {
  const found = await findByUserCode(ctx, userCode, attemptKey);
  if (!found) throw new InvalidRequestError('userCode', 'is unknown or expired');
  const c = collections(ctx);
  const tx = new Transition(ctx, found.grantId);
  tx.check(c.device, found.grantId, { ifPresent: true });
  tx.put(c.decision, found.grantId, decision, { expiresAt: found.record.expiresAt, condition: { ifAbsent: true } });
  tx.audit({
    types: [decision.approved ? 'device_authorization_approved' : 'device_authorization_denied'],
    clientId: found.record.clientId,
    ...(decision.approved && { userId: decision.userId }),
    grantId: found.grantId,
    details: {},
  });
  if (!(await tx.commit()).ok) throw new InvalidRequestError('userCode', 'is already decided or expired');
}

export async function approveDeviceAuthorization(ctx: StoreContext, userCode: string, input: ApproveDeviceAuthorizationParams): Promise<void> {
  const p = params('params', input);
  onlyKeys('params', p, ['userId', 'scope', 'props', 'attemptKey']);
  const userId = requireUserId('userId', p.userId);
  const scope = optionalScope('scope', p.scope);
  const props = optionalJson('props', p.props);
  await decide(ctx, userCode, { approved: true, userId, ...(scope !== undefined && { scope }), ...(props !== undefined && { props }) }, p.attemptKey as string | undefined);
}

export async function denyDeviceAuthorization(ctx: StoreContext, userCode: string, options: { attemptKey?: string } = {}): Promise<void> {
  await decide(ctx, userCode, { approved: false }, options.attemptKey);
}

interface PollParams {
  deviceCode: string;
  dpopJkt: string | undefined;
}

/** The device polls (RFC 8628 §3.4–3.5): pending, slow down, denied, expired, or tokens, exactly once. */
async function poll(ctx: StoreContext, client: { clientId: string; type: string; grantTypes: string[] }, p: PollParams): Promise<TokenResult> {
  const grantId = parseToken('device', p.deviceCode);
  if (grantId === null) invalidGrant();
  const c = collections(ctx);
  const now = ctx.now();
  const [codeLookup] = await ctx.keyring.lookupIds(LOOKUP.deviceCode, p.deviceCode);
  const tx = new Transition(ctx, grantId);
  const authentic = tx.check(c.deviceCode, `${grantId}/${codeLookup}`, { ifPresent: true });
  const device = tx.get(c.device, grantId);
  const decision = tx.get(c.decision, grantId);
  const polled = tx.get(c.poll, grantId);
  tx.put(c.poll, grantId, { at: now }, { expiresAt: now + DEFAULT_LIFETIME_SECONDS * 1000 });
  const outcome = await tx.commit();
  if (outcome.failedAt(authentic)) invalidGrant(); // unknown, or used already
  const record = (await outcome.read<DeviceRecord>(device))?.data;
  if (!record) throw new ExpiredTokenError('the device code expired');
  if (record.clientId !== client.clientId) invalidGrant();
  const decided = (await outcome.read<Decision>(decision))?.data;
  if (!decided) {
    const last = (await outcome.read<{ at: number }>(polled))?.data.at;
    if (last !== undefined && now - last < record.interval * 1000) throw new SlowDownError('polling faster than the interval');
    throw new AuthorizationPendingError('the user has not decided yet');
  }
  if (!decided.approved) throw new AccessDeniedError('the user denied the request');
  return issue(ctx, grantId, record, decided, codeLookup!, p.dpopJkt, client);
}

/** The approved device's tokens: the grant is created, and the device code consumed, exactly once. */
async function issue(
  ctx: StoreContext,
  grantId: string,
  device: DeviceRecord,
  decision: Extract<Decision, { approved: true }>,
  codeLookup: string,
  dpopJkt: string | undefined,
  client: { clientId: string; type: string; grantTypes: string[] },
): Promise<TokenResult> {
  const c = collections(ctx);
  const now = ctx.now();
  const withRefresh = client.grantTypes.includes('refresh_token');
  const grant: GrantRecord = {
    origin: { type: DEVICE_CODE_GRANT },
    clientId: device.clientId,
    userId: decision.userId,
    scope: decision.scope ?? device.scope,
    ...(device.resources && { resources: device.resources }),
    ...(decision.props !== undefined && { props: decision.props }),
    createdAt: now,
    expiresAt: now + (withRefresh ? ctx.policy.grantLifetimeMs : ctx.policy.accessTokenTtlMs),
  };
  const tx = new Transition(ctx, grantId);
  // The device code's single use: whoever deletes it makes the grant.
  const used = tx.delete(c.deviceCode, `${grantId}/${codeLookup}`, { ifPresent: true });
  await addNewGrant(ctx, tx, grantId, grant, { activatedAt: now, refresh: withRefresh });
  const accessExpiresAt = Math.min(now + ctx.policy.accessTokenTtlMs, grant.expiresAt);
  const accessToken = await addAccessToken(ctx, tx, grantId, { clientId: client.clientId, issuedAt: now, expiresAt: accessExpiresAt, ...(dpopJkt !== undefined && { jkt: dpopJkt }) });
  const refresh = withRefresh ? await addRefreshToken(ctx, tx, grantId, now, undefined, client.type === 'public' ? dpopJkt : undefined) : undefined;
  tx.audit({ types: refresh ? ['access_token_issued', 'refresh_token_issued'] : ['access_token_issued'], clientId: client.clientId, userId: decision.userId, grantId, details: { grantType: DEVICE_CODE_GRANT } });
  const outcome = await tx.commit();
  if (outcome.failedAt(used)) invalidGrant(); // another poll got the tokens
  if (!outcome.ok) throw new ConflictError('the device grant is contended; retry');
  return tokenResult(grantId, now, { token: accessToken, expiresAt: accessExpiresAt, bound: dpopJkt !== undefined }, grant.scope, grant.resources,
    refresh && { token: refresh.token, expiresAt: Math.min(grant.expiresAt, now + ctx.policy.refreshIdleMs) });
}

export const deviceCodeGrant: GrantHandler<PollParams> = {
  type: DEVICE_CODE_GRANT,
  parameters: ['deviceCode', 'dpopJkt'],
  records: Object.values(KINDS),
  parse: (p) => ({ deviceCode: requireToken('deviceCode', p.deviceCode), dpopJkt: optionalJkt('dpopJkt', p.dpopJkt) }),
  issue: (tools, client, p) => poll(toolsContext(tools), client, p),
};
