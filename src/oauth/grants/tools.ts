import { ConflictError, InvalidScopeError, InvalidTargetError } from '../../errors.js';
import type { RecordCollection } from '../../records/record-store.js';
import type { StoreContext } from '../context.js';
import { optionalJkt, optionalJson, requireScope, requireUserId } from '../input.js';
import type { GrantRecord } from '../record-kinds.js';
import { newGrantId } from '../tokens.js';
import { Transition } from '../transition.js';
import type { ClientInfo, GrantType, TokenResult } from '../types.js';
import { addAccessToken, addNewGrant, addRefreshToken, tokenResult } from './common.js';
import type { GrantTools, IssueGrantOptions } from './handler.js';

/** The scope to grant a client: `requested`, or its registered scope; within the registered scope when it has one. */
export function allowedScope(client: ClientInfo, requested: readonly string[] | undefined): string[] {
  const scope = [...new Set(requested ?? client.scope)];
  if (client.scope.length > 0 && scope.some((item) => !client.scope.includes(item))) {
    throw new InvalidScopeError("requested scope exceeds the client's allowed scope");
  }
  return scope;
}

/** The resources to grant: each one the store serves (when it lists them) and the client may use (when it lists them). */
export function allowedResources(ctx: StoreContext, client: ClientInfo, requested: readonly string[] | undefined): string[] {
  const resources = [...new Set(requested ?? [])];
  const served = ctx.policy.resources;
  for (const resource of resources) {
    if ((served !== undefined && !served.includes(resource)) || (client.resources.length > 0 && !client.resources.includes(resource))) {
      throw new InvalidTargetError('the requested resource is not one this client may get tokens for');
    }
  }
  return resources;
}

/**
 * Creates an active grant with its first tokens: one atomic batch in the new
 * grant's partition (grant, indexes, activation, tokens, audit).
 */
export async function issueGrant(ctx: StoreContext, type: GrantType, options: IssueGrantOptions): Promise<TokenResult> {
  const { client } = options;
  const userId = requireUserId('userId', options.userId);
  const scope = requireScope('scope', options.scope);
  const resources = options.resources === undefined ? [] : [...new Set(options.resources)];
  const props = optionalJson('props', options.props);
  const now = ctx.now();
  const withRefresh = options.refreshToken === true && client.grantTypes.includes('refresh_token');
  const lifetimeMs = options.lifetimeSeconds !== undefined ? options.lifetimeSeconds * 1000 : withRefresh ? ctx.policy.grantLifetimeMs : ctx.policy.accessTokenTtlMs;
  const grantId = newGrantId();
  const grant: GrantRecord = {
    origin: (options.origin ?? { type }) as GrantRecord['origin'],
    clientId: client.clientId,
    userId,
    scope,
    ...(resources.length > 0 && { resources }),
    ...(props !== undefined && { props }),
    createdAt: now,
    expiresAt: now + lifetimeMs,
  };
  const tx = new Transition(ctx, grantId);
  await addNewGrant(ctx, tx, grantId, grant, { activatedAt: now, refresh: withRefresh });
  const accessExpiresAt = Math.min(now + ctx.policy.accessTokenTtlMs, grant.expiresAt);
  const jkt = optionalJkt('dpopJkt', options.dpopJkt);
  const accessToken = await addAccessToken(ctx, tx, grantId, { clientId: client.clientId, issuedAt: now, expiresAt: accessExpiresAt, ...(jkt !== undefined && { jkt }) });
  const refresh = withRefresh ? await addRefreshToken(ctx, tx, grantId, now, undefined, client.type === 'public' ? jkt : undefined) : undefined;
  tx.audit({
    types: refresh ? ['access_token_issued', 'refresh_token_issued'] : ['access_token_issued'],
    clientId: client.clientId,
    ...(grant.origin.type !== 'client_credentials' && { userId }),
    grantId,
    details: { grantType: grant.origin.type },
  });
  if (!(await tx.commit()).ok) throw new ConflictError('grant id collision; retry');
  return tokenResult(grantId, now, { token: accessToken, expiresAt: accessExpiresAt, bound: jkt !== undefined }, scope, resources,
    refresh && { token: refresh.token, expiresAt: Math.min(grant.expiresAt, now + ctx.policy.refreshIdleMs) });
}

// The store behind a tools object: built-in handlers use the store's internals, custom ones only the tools.
const contexts = new WeakMap<GrantTools, StoreContext>();

/** The tools a handler gets for one token request. */
export function grantTools(ctx: StoreContext, type: GrantType): GrantTools {
  const tools: GrantTools = {
    now: ctx.now(),
    allowedScope,
    allowedResources: (client, requested) => allowedResources(ctx, client, requested),
    issueGrant: (options) => issueGrant(ctx, type, options),
    records: <T>(kind: string): RecordCollection<T> => ctx.kinds.collection<T>(kind),
  };
  contexts.set(tools, ctx);
  return tools;
}

/** The store context of tools made by {@link grantTools} (for the built-in handlers). */
export function toolsContext(tools: GrantTools): StoreContext {
  const ctx = contexts.get(tools);
  if (!ctx) throw new TypeError('these grant tools were not made by an OAuthStore');
  return ctx;
}
