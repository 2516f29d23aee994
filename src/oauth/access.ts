import { UnauthorizedClientError, InvalidRequestError } from '../errors.js';
import { authenticateClient } from './clients.js';
import type { AccessRecord, GrantRecord, StoreContext } from './context.js';
import { onlyKeys, params, requireToken } from './input.js';
import { revokeGrantById } from './grant-state.js';
import { kindOf, LOOKUP, matchesAny, parseToken } from './tokens.js';
import type { AccessTokenInfo, IntrospectionResult, RevokeTokenParams } from './types.js';

/**
 * Reading and revoking issued tokens. A token is valid only while its own
 * record is live AND its grant record (on the atomic store) says `active`,
 * so revoking a grant takes effect at once for every token of it.
 */

interface FoundAccess {
  grantId: string;
  id: string;
  access: AccessRecord;
}

async function findAccessRecord(ctx: StoreContext, token: string): Promise<FoundAccess | null> {
  const grantId = parseToken('access', token);
  if (grantId === null) return null;
  for (const lookup of await ctx.keyring.lookupIds(LOOKUP.access, token)) {
    const id = `${grantId}/${lookup}`;
    const found = await ctx.access.get(id);
    if (found) return { grantId, id, access: found.data };
  }
  return null;
}

/**
 * The grant, if it is active, belongs to `clientId`, and that client still
 * exists. Why the client read: `deleteClient` revokes through the client's
 * grant index, and an index is a hint (KV lists are eventually consistent; an
 * entry can be lost), so a deleted client's tokens must die on their own. The
 * read runs beside the grant read (no added latency) and is a plain read on
 * `adapter`; a tombstone would need the same read.
 */
async function activeGrant(ctx: StoreContext, grantId: string, clientId: string): Promise<GrantRecord | null> {
  const [found, client] = await Promise.all([ctx.grants.get(grantId), ctx.clients.get(clientId)]);
  const grant = found?.data;
  return grant && client && grant.status === 'active' && grant.clientId === clientId ? grant : null;
}

export async function validateAccessToken(ctx: StoreContext, tokenInput: string): Promise<AccessTokenInfo | null> {
  const token = requireToken('accessToken', tokenInput);
  const found = await findAccessRecord(ctx, token);
  if (!found || found.access.expiresAt <= ctx.now()) return null;
  const grant = await activeGrant(ctx, found.grantId, found.access.clientId);
  if (!grant) return null;
  return {
    clientId: found.access.clientId,
    userId: grant.userId,
    scope: found.access.scope,
    grantId: found.grantId,
    issuedAt: found.access.issuedAt,
    expiresAt: found.access.expiresAt,
    ...(grant.resource !== undefined && { resource: grant.resource }),
    ...(grant.props !== undefined && { props: grant.props }),
  };
}

/** The live refresh family state for `token`, or null. */
async function findLiveRefresh(ctx: StoreContext, token: string): Promise<{ grantId: string; grant: GrantRecord; expiresAt: number } | null> {
  const grantId = parseToken('refresh', token);
  if (grantId === null) return null;
  const found = await ctx.grants.get(grantId);
  const grant = found?.data;
  if (!grant || grant.status !== 'active' || !grant.refresh) return null;
  if ((await ctx.clients.get(grant.clientId)) === null) return null;
  if (!matchesAny(grant.refresh.current, await ctx.keyring.lookupIds(LOOKUP.refresh, token))) return null;
  const expiresAt = Math.min(grant.chainExpiresAt!, grant.refresh.lastUsedAt + ctx.policy.refreshIdleMs);
  return expiresAt > ctx.now() ? { grantId, grant, expiresAt } : null;
}

/** RFC 7662. Anything not live answers exactly `{ active: false }`. */
export async function introspect(ctx: StoreContext, tokenInput: string): Promise<IntrospectionResult> {
  const token = requireToken('token', tokenInput);
  const kind = kindOf(token);
  if (kind === 'access') {
    const info = await validateAccessToken(ctx, token);
    if (!info) return { active: false };
    return {
      active: true,
      scope: info.scope.join(' '),
      client_id: info.clientId,
      sub: info.userId,
      exp: Math.floor(info.expiresAt / 1000),
      iat: Math.floor(info.issuedAt / 1000),
      token_type: 'Bearer',
      ...(info.resource !== undefined && { aud: info.resource }),
    };
  }
  if (kind === 'refresh') {
    const live = await findLiveRefresh(ctx, token);
    if (!live) return { active: false };
    return {
      active: true,
      scope: live.grant.scope.join(' '),
      client_id: live.grant.clientId,
      sub: live.grant.userId,
      exp: Math.floor(live.expiresAt / 1000),
      iat: Math.floor(live.grant.refresh!.rotatedAt / 1000),
      ...(live.grant.resource !== undefined && { aud: live.grant.resource }),
    };
  }
  return { active: false };
}

/**
 * RFC 7009. An unknown, expired or already invalid token is success. A
 * client may revoke only its own tokens (`UnauthorizedClientError`).
 * Revoking an access token deletes it; revoking a refresh token revokes its
 * grant, and so every access token of that grant.
 */
export async function revokeToken(ctx: StoreContext, input: RevokeTokenParams): Promise<void> {
  const p = params('params', input);
  onlyKeys('params', p, ['token', 'tokenTypeHint', 'clientId', 'clientSecret']);
  const token = requireToken('token', p.token);
  if (p.tokenTypeHint !== undefined && p.tokenTypeHint !== 'access_token' && p.tokenTypeHint !== 'refresh_token') {
    throw new InvalidRequestError('tokenTypeHint', 'must be "access_token" or "refresh_token"');
  }
  const client = await authenticateClient(ctx, p.clientId, p.clientSecret);
  // Our tokens are tagged, so the hint is never needed to find them (RFC 7009 §2.1 allows ignoring it).
  const kind = kindOf(token);
  if (kind === 'access') {
    const found = await findAccessRecord(ctx, token);
    if (!found) return;
    if (found.access.clientId !== client.clientId) throw new UnauthorizedClientError('token was issued to another client');
    await ctx.access.delete(found.id);
    const grant = await ctx.grants.get(found.grantId);
    await ctx.audit.record({
      type: 'access_token_revoked',
      clientId: client.clientId,
      ...(grant && { userId: grant.data.userId }),
      grantId: found.grantId,
      details: {},
    });
    return;
  }
  if (kind === 'refresh') {
    const live = await findLiveRefresh(ctx, token);
    if (!live) return;
    if (live.grant.clientId !== client.clientId) throw new UnauthorizedClientError('token was issued to another client');
    await revokeGrantById(ctx, live.grantId, 'revoked_by_client');
  }
}
