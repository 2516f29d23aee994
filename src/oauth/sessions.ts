import { randomToken } from '../crypto/random.js';
import { ConflictError, InvalidClientError, InvalidRequestError, InvalidScopeError } from '../errors.js';
import { optionalInteger, optionalString, requireBoolean } from '../util/validate.js';
import type { ClientRecord, SessionRecord, StoreContext } from './context.js';
import {
  onlyKeys,
  optionalJson,
  optionalPkceChallenge,
  optionalPkceMethod,
  optionalResource,
  optionalScope,
  params,
  requireId,
  requireRedirectUri,
  requireToken,
  requireUserId,
} from './input.js';
import { MAX_SESSION_TTL_SECONDS } from './policy.js';
import { MAX_ATTEMPTS } from './grant-state.js';
import { LOOKUP } from './tokens.js';
import type { CreateSessionParams, PkceMethod, SessionInfo, UpdateSessionParams } from './types.js';

/**
 * Authorization sessions: the state kept between the authorization request
 * and the code. The session id is a 256-bit handle stored only as a lookup
 * id (`session/<lookup>`), so a copy of storage cannot resume a session.
 *
 * Completing a session is single-use: once `completed` is true the session
 * is frozen, and every further `updateSession` is refused with
 * `InvalidRequestError` (field `sessionId`, "is already completed"). Sessions
 * live on the atomic store, and completion is one compare-and-set, so of N
 * concurrent completions exactly one succeeds and the others get that same
 * error. An authorization endpoint should complete the session and only then
 * issue the code: the call that completed it is the one that may.
 */

const SESSION_TAG = 'ovs_';

function toInfo(sessionId: string, record: SessionRecord): SessionInfo {
  return { sessionId, ...record };
}

/** Checks client, redirect URI, scope and PKCE parameters shared by sessions and codes. */
export async function checkAuthorizationRequest(
  ctx: StoreContext,
  p: Record<string, unknown>,
): Promise<{
  clientId: string;
  client: ClientRecord;
  redirectUri: string;
  redirectUriExplicit?: false;
  scope: string[];
  codeChallenge?: string;
  codeChallengeMethod?: PkceMethod;
  resource?: string;
}> {
  const clientId = requireId('clientId', p.clientId);
  const redirectUri = requireRedirectUri('redirectUri', p.redirectUri);
  const explicit = p.redirectUriExplicit === undefined ? true : requireBoolean('redirectUriExplicit', p.redirectUriExplicit);
  const scope = optionalScope('scope', p.scope) ?? [];
  const codeChallenge = optionalPkceChallenge('codeChallenge', p.codeChallenge);
  const method = optionalPkceMethod('codeChallengeMethod', p.codeChallengeMethod, ctx.policy.allowPlainPkce);
  if (method !== undefined && codeChallenge === undefined) throw new InvalidRequestError('codeChallenge', 'is required with codeChallengeMethod');
  const resource = optionalResource('resource', p.resource);
  const record = await ctx.clients.get(clientId);
  if (!record) throw new InvalidClientError('unknown client');
  const client = record.data;
  if (!client.redirectUris.includes(redirectUri)) throw new InvalidRequestError('redirectUri', 'is not registered for this client');
  // RFC 6749 §3.1.2.3: the request may leave redirect_uri out only when exactly one is registered.
  if (!explicit && client.redirectUris.length !== 1) {
    throw new InvalidRequestError('redirectUriExplicit', 'may be false only for a client with exactly one registered redirect URI');
  }
  if (client.scope.length > 0 && scope.some((item) => !client.scope.includes(item))) {
    throw new InvalidScopeError('requested scope exceeds the client\'s allowed scope');
  }
  if (codeChallenge === undefined && (client.type === 'public' || ctx.policy.requirePkce)) {
    throw new InvalidRequestError('codeChallenge', 'is required (PKCE)');
  }
  return {
    clientId,
    client,
    redirectUri,
    ...(!explicit && { redirectUriExplicit: false as const }),
    scope,
    ...(codeChallenge !== undefined && { codeChallenge, codeChallengeMethod: method ?? 'S256' }),
    ...(resource !== undefined && { resource }),
  };
}

export async function createSession(ctx: StoreContext, input: CreateSessionParams): Promise<SessionInfo> {
  const p = params('params', input);
  onlyKeys('params', p, ['clientId', 'redirectUri', 'redirectUriExplicit', 'scope', 'state', 'codeChallenge', 'codeChallengeMethod', 'resource', 'ttlSeconds']);
  const state = optionalString('state', p.state, { max: 2048 });
  const ttl = optionalInteger('ttlSeconds', p.ttlSeconds, 1, MAX_SESSION_TTL_SECONDS);
  const request = await checkAuthorizationRequest(ctx, p);
  const now = ctx.now();
  const sessionId = SESSION_TAG + randomToken();
  const { client: _client, ...fields } = request;
  const record: SessionRecord = {
    ...fields,
    ...(state !== undefined && { state }),
    completed: false,
    createdAt: now,
    expiresAt: now + (ttl === undefined ? ctx.policy.sessionTtlMs : ttl * 1000),
  };
  const id = await ctx.keyring.lookupId(LOOKUP.session, sessionId);
  await ctx.sessions.put(id, record, { expiresAt: record.expiresAt });
  await ctx.audit.record({ type: 'session_created', clientId: request.clientId, details: {} });
  return toInfo(sessionId, record);
}

async function find(ctx: StoreContext, sessionId: string): Promise<{ id: string; record: SessionRecord; version: string } | null> {
  if (!sessionId.startsWith(SESSION_TAG)) return null;
  for (const id of await ctx.keyring.lookupIds(LOOKUP.session, sessionId)) {
    const found = await ctx.sessions.get(id);
    if (found) return { id, record: found.data, version: found.version };
  }
  return null;
}

export async function getSession(ctx: StoreContext, sessionIdInput: string): Promise<SessionInfo | null> {
  const sessionId = requireToken('sessionId', sessionIdInput);
  const found = await find(ctx, sessionId);
  return found ? toInfo(sessionId, found.record) : null;
}

export async function updateSession(ctx: StoreContext, sessionIdInput: string, input: UpdateSessionParams): Promise<SessionInfo> {
  const sessionId = requireToken('sessionId', sessionIdInput);
  const p = params('params', input);
  onlyKeys('params', p, ['userId', 'scope', 'props', 'completed']);
  const userId = p.userId === undefined ? undefined : requireUserId('userId', p.userId);
  const scope = optionalScope('scope', p.scope);
  const props = optionalJson('props', p.props);
  const completed = p.completed === undefined ? undefined : requireBoolean('completed', p.completed);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const found = await find(ctx, sessionId);
    if (!found) throw new InvalidRequestError('sessionId', 'is unknown or expired');
    if (found.record.completed) throw new InvalidRequestError('sessionId', 'is already completed');
    if (completed === true && userId === undefined && found.record.userId === undefined) {
      throw new InvalidRequestError('userId', 'is required to complete a session');
    }
    const record: SessionRecord = {
      ...found.record,
      ...(userId !== undefined && { userId }),
      ...(scope !== undefined && { scope }),
      ...(props !== undefined && { props }),
      ...(completed !== undefined && { completed }),
    };
    // Compare-and-set on the atomic store: of concurrent updates one wins; the
    // others re-read, and find the session completed (refused) or apply on top.
    const version = await ctx.sessions.compareAndSet(found.id, record, { ifVersion: found.version }, { expiresAt: record.expiresAt });
    if (version === null) continue;
    if (record.completed) await auditCompleted(ctx, record);
    return toInfo(sessionId, record);
  }
  throw new ConflictError('session is changing concurrently; retry');
}

async function auditCompleted(ctx: StoreContext, record: SessionRecord): Promise<void> {
  await ctx.audit.record({
    type: 'session_completed',
    clientId: record.clientId,
    ...(record.userId !== undefined && { userId: record.userId }),
    details: {},
  });
}

export async function deleteSession(ctx: StoreContext, sessionIdInput: string): Promise<boolean> {
  const sessionId = requireToken('sessionId', sessionIdInput);
  const found = await find(ctx, sessionId);
  return found ? ctx.sessions.delete(found.id) : false;
}
