import { ConflictError, InvalidRequestError } from '../errors.js';
import type { StoredRecord } from '../records/record-store.js';
import { optionalInteger, optionalString, requireBoolean } from '../util/validate.js';
import { checkAuthorizationRequest } from './authorization-request.js';
import type { StoreContext } from './context.js';
import { MAX_ATTEMPTS } from './grant-state.js';
import { onlyKeys, optionalJson, optionalScope, params, requireToken, requireUserId } from './input.js';
import { MAX_SESSION_TTL_SECONDS } from './options.js';
import type { SessionDone, SessionRecord, SessionUpdate } from './record-kinds.js';
import { formatToken, LOOKUP, newGrantId, parseToken } from './tokens.js';
import { Transition } from './transition.js';
import { allowedScope } from './grants/tools.js';
import { addCode } from './grants/authorization-code.js';
import type { CompleteAuthorizationResult, CreateSessionParams, DecideSession, SessionInfo, UpdateSessionParams } from './types.js';

/**
 * Authorization sessions: the state kept between the authorization request
 * and the code. The handle `ovs_<sessionId>.<secret>` (256 random bits) is
 * stored only as a lookup id in the key (`session/<sessionId>/<lookup>`), so a
 * copy of storage cannot resume a session. The request is written once; what
 * the app sets later goes to `session-draft/...`, and completing it creates
 * `session-done/...` only if absent: of N concurrent completions exactly one
 * succeeds (one call), and every further `updateSession` is refused with
 * `InvalidRequestError` (field `sessionId`, "is already completed"). An
 * authorization endpoint should complete the session and only then issue the
 * code: the call that completed it is the one that may.
 */

interface Found {
  /** The session's partition (and the grant's, once completed with a code). */
  partition: string;
  id: string;
  sessionId: string;
  request: SessionRecord;
  draft: StoredRecord<SessionUpdate> | null;
  done: SessionDone | null;
}

function toInfo(found: Pick<Found, 'sessionId' | 'request'>, draft: SessionUpdate | undefined, done: SessionDone | null): SessionInfo {
  const set = { ...draft, ...(done && { userId: done.userId, ...(done.scope && { scope: done.scope }), ...(done.props !== undefined && { props: done.props }) }) };
  return {
    sessionId: found.sessionId,
    ...found.request,
    ...(set.userId !== undefined && { userId: set.userId }),
    ...(set.scope !== undefined && { scope: set.scope }),
    ...(set.props !== undefined && { props: set.props }),
    completed: done !== null,
  };
}

export async function createSession(ctx: StoreContext, input: CreateSessionParams): Promise<SessionInfo> {
  const p = params('params', input);
  onlyKeys('params', p, ['clientId', 'redirectUri', 'redirectUriExplicit', 'scope', 'state', 'codeChallenge', 'codeChallengeMethod', 'resources', 'ttlSeconds']);
  const state = optionalString('state', p.state, { max: 2048 });
  const ttl = optionalInteger('ttlSeconds', p.ttlSeconds, 1, MAX_SESSION_TTL_SECONDS);
  const { client: _client, ...request } = await checkAuthorizationRequest(ctx, p);
  const now = ctx.now();
  const partition = newGrantId();
  const sessionId = formatToken('session', partition);
  const record: SessionRecord = {
    ...request,
    ...(state !== undefined && { state }),
    createdAt: now,
    expiresAt: now + (ttl === undefined ? ctx.policy.sessionTtlMs : ttl * 1000),
  };
  const tx = new Transition(ctx, partition);
  tx.put(ctx.records.session, `${partition}/${await ctx.keyring.lookupId(LOOKUP.session, sessionId)}`, record, { expiresAt: record.expiresAt, condition: { ifAbsent: true } });
  tx.audit({ types: ['session_created'], clientId: request.clientId, details: {} });
  if (!(await tx.commit()).ok) throw new ConflictError('session id collision; retry');
  return toInfo({ sessionId, request: record }, undefined, null);
}

/** The session, its draft and its completion, read in one call (per key of the ring that could have made its lookup). */
async function find(ctx: StoreContext, sessionId: string): Promise<Found | null> {
  const partition = parseToken('session', sessionId);
  if (partition === null) return null;
  const ids = (await ctx.keyring.lookupIds(LOOKUP.session, sessionId)).map((lookup) => `${partition}/${lookup}`);
  const tx = new Transition(ctx, partition);
  const reads = ids.map((id) => [tx.get(ctx.records.session, id), tx.get(ctx.records.sessionDraft, id), tx.get(ctx.records.sessionDone, id)] as const);
  const outcome = await tx.commit();
  for (const [index, [request, draft, done]] of reads.entries()) {
    const found = await outcome.read<SessionRecord>(request);
    if (!found) continue;
    const [draftRecord, doneRecord] = await Promise.all([outcome.read<SessionUpdate>(draft), outcome.read<SessionDone>(done)]);
    return { partition, id: ids[index]!, sessionId, request: found.data, draft: draftRecord, done: doneRecord?.data ?? null };
  }
  return null;
}

/** The session, still open; refused (field `sessionId`) when unknown, expired or already completed. */
async function findOpen(ctx: StoreContext, sessionId: string): Promise<Found> {
  const found = await find(ctx, sessionId);
  if (!found) throw new InvalidRequestError('sessionId', 'is unknown or expired');
  if (found.done) throw new InvalidRequestError('sessionId', 'is already completed');
  return found;
}

export async function getSession(ctx: StoreContext, sessionIdInput: string): Promise<SessionInfo | null> {
  const sessionId = requireToken('sessionId', sessionIdInput);
  const found = await find(ctx, sessionId);
  return found ? toInfo(found, found.draft?.data, found.done) : null;
}

export async function updateSession(ctx: StoreContext, sessionIdInput: string, input: UpdateSessionParams): Promise<SessionInfo> {
  const sessionId = requireToken('sessionId', sessionIdInput);
  const p = params('params', input);
  onlyKeys('params', p, ['userId', 'scope', 'props', 'completed']);
  const update: SessionUpdate = {
    ...(p.userId !== undefined && { userId: requireUserId('userId', p.userId) }),
    ...(p.scope !== undefined && { scope: optionalScope('scope', p.scope)! }),
    ...(p.props !== undefined && { props: optionalJson('props', p.props) }),
  };
  const completed = p.completed === undefined ? false : requireBoolean('completed', p.completed);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const found = await findOpen(ctx, sessionId);
    const merged: SessionUpdate = { ...found.draft?.data, ...update };
    if (completed && merged.userId === undefined) throw new InvalidRequestError('userId', 'is required to complete a session');
    const expiresAt = found.request.expiresAt;
    const tx = new Transition(ctx, found.partition);
    tx.check(ctx.records.session, found.id, { ifPresent: true });
    let decisive: number;
    if (completed) {
      // The single use: of concurrent completions, one creates the completion, the others find it.
      decisive = tx.put(ctx.records.sessionDone, found.id, { ...merged, completedAt: ctx.now() }, { expiresAt, condition: { ifAbsent: true } });
      tx.check(ctx.records.sessionDraft, found.id, found.draft ? { ifVersion: found.draft.version } : { ifAbsent: true });
      tx.audit({ types: ['session_completed'], clientId: found.request.clientId, userId: merged.userId!, details: {} });
    } else {
      tx.check(ctx.records.sessionDone, found.id, { ifAbsent: true });
      decisive = tx.put(ctx.records.sessionDraft, found.id, merged, { expiresAt, condition: found.draft ? { ifVersion: found.draft.version } : { ifAbsent: true } });
    }
    const outcome = await tx.commit();
    if (outcome.ok) return toInfo(found, merged, completed ? { ...merged, completedAt: ctx.now() } : null);
    if (completed && outcome.failedAt(decisive)) throw new InvalidRequestError('sessionId', 'is already completed');
    // The session expired, or a draft or completion changed meanwhile: read again.
  }
  throw new ConflictError('session is changing concurrently; retry');
}

/**
 * Completes a session and issues its code in one atomic batch: the session's
 * partition becomes the grant's, so the completion (created only if absent:
 * the single use), the grant, its code, index entries and audit record
 * commit together or not at all. One read, then one write; the client comes
 * from the per-isolate cache where the store keeps one.
 */
export async function completeAuthorization(ctx: StoreContext, sessionIdInput: string, decide: DecideSession): Promise<CompleteAuthorizationResult> {
  const sessionId = requireToken('sessionId', sessionIdInput);
  if (typeof decide !== 'function') throw new InvalidRequestError('decide', 'must be a function');
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const found = await findOpen(ctx, sessionId);
    const session = toInfo(found, found.draft?.data, null);
    // The request as the session keeps it, checked again (the client may have changed since).
    const { client, ...checked } = await checkAuthorizationRequest(ctx, { ...found.request, scope: session.scope });
    const p = params('decision', await decide(session, client));
    onlyKeys('decision', p, ['userId', 'scope', 'props']);
    const userId = requireUserId('userId', p.userId);
    const scope = optionalScope('scope', p.scope) ?? session.scope;
    const requested = found.request.scope;
    if (requested.length > 0 && scope.some((item) => !requested.includes(item))) {
      throw new InvalidRequestError('scope', 'must be within the scope of the authorization request');
    }
    const props = p.props === undefined ? session.props : optionalJson('props', p.props);
    const request = { ...checked, client, scope: allowedScope(client, scope) };
    const done: SessionDone = { userId, scope: request.scope, ...(props !== undefined && { props }), completedAt: ctx.now() };
    const tx = new Transition(ctx, found.partition);
    tx.check(ctx.records.session, found.id, { ifPresent: true });
    const decisive = tx.put(ctx.records.sessionDone, found.id, done, { expiresAt: found.request.expiresAt, condition: { ifAbsent: true } });
    tx.check(ctx.records.sessionDraft, found.id, found.draft ? { ifVersion: found.draft.version } : { ifAbsent: true });
    const issued = await addCode(ctx, tx, found.partition, request, userId, props, undefined);
    tx.audit({ types: ['session_completed', 'code_issued'], clientId: client.clientId, userId, grantId: found.partition, details: { scope: request.scope.length } });
    const outcome = await tx.commit();
    if (outcome.ok) return { ...issued, session: toInfo(found, undefined, done) };
    if (outcome.failedAt(decisive)) throw new InvalidRequestError('sessionId', 'is already completed');
    // The session expired or its draft changed meanwhile: read and decide again.
  }
  throw new ConflictError('session is changing concurrently; retry');
}

export async function deleteSession(ctx: StoreContext, sessionIdInput: string): Promise<boolean> {
  const sessionId = requireToken('sessionId', sessionIdInput);
  const found = await find(ctx, sessionId);
  if (!found) return false;
  const tx = new Transition(ctx, found.partition);
  const existed = tx.delete(ctx.records.session, found.id, { ifPresent: true });
  tx.delete(ctx.records.sessionDraft, found.id);
  tx.delete(ctx.records.sessionDone, found.id);
  const outcome = await tx.commit();
  return outcome.ok || !outcome.failedAt(existed);
}
