import type { RecordCollection } from '../records/record-store.js';
import type { StoreContext } from './context.js';
import { readClient } from './clients.js';
import { grantTypeOf } from './grants/common.js';
import { optionalJkt, requireResource, requireToken } from './input.js';
import type { AccessRecord, GrantRecord, RefreshRecord } from './record-kinds.js';
import { kindOf, LOOKUP, parseRefreshToken, parseToken } from './tokens.js';
import { Transition } from './transition.js';
import type { AccessTokenInfo, IntrospectionResult, ValidateAccessTokenOptions } from './types.js';

/**
 * Reading issued tokens. A token is valid only while its own record is live,
 * its grant record is present (it expires at the grant's end) and not
 * revoked, and its client still exists: one call to the grant's partition
 * (the token's record under every key of the ring, the grant, its
 * revocation), then the client, from the per-isolate client cache when warm.
 */

/**
 * A token's record (under every key of the ring that could have made its
 * lookup id), its grant, and whether the grant is revoked: one call. Null
 * when any of them says the token is not live.
 */
async function readToken<T>(
  ctx: StoreContext,
  collection: RecordCollection<T>,
  grantId: string,
  lookups: readonly string[],
): Promise<{ record: T; expiresAt: number; grant: GrantRecord } | null> {
  const tx = new Transition(ctx, grantId);
  const reads = lookups.map((lookup) => tx.get(collection as RecordCollection<unknown>, `${grantId}/${lookup}`));
  const grantRead = tx.get(ctx.records.grant, grantId);
  const revoked = tx.get(ctx.records.revoked, grantId);
  const outcome = await tx.commit();
  const index = reads.findIndex((read) => outcome.present(read));
  if (outcome.present(revoked) || index < 0) return null;
  const [found, grant] = await Promise.all([outcome.read<T>(reads[index]!), outcome.read<GrantRecord>(grantRead)]);
  return found && grant ? { record: found.data, expiresAt: found.expiresAt!, grant: grant.data } : null;
}

async function readAccess(ctx: StoreContext, token: string): Promise<{ grantId: string; access: AccessRecord; expiresAt: number; grant: GrantRecord } | null> {
  const grantId = parseToken('access', token);
  if (grantId === null) return null;
  const found = await readToken(ctx, ctx.records.access, grantId, await ctx.keyring.lookupIds(LOOKUP.access, token));
  return found && { grantId, access: found.record, expiresAt: found.expiresAt, grant: found.grant };
}

function resourcesOf(access: AccessRecord, grant: GrantRecord): string[] | undefined {
  const resources = access.resources ?? grant.resources;
  return resources !== undefined && resources.length > 0 ? resources : undefined;
}

export async function validateAccessToken(ctx: StoreContext, tokenInput: string, options: ValidateAccessTokenOptions = {}): Promise<AccessTokenInfo | null> {
  const token = requireToken('accessToken', tokenInput);
  const resource = options.resource === undefined ? undefined : requireResource('options.resource', options.resource);
  const dpopJkt = optionalJkt('options.dpopJkt', options.dpopJkt);
  const info = await validated(ctx, token);
  if (!info) return null;
  // RFC 9449: a bound token only with its own key (presented as a bearer token, it is refused).
  if (info.jkt !== undefined && info.jkt !== dpopJkt) return null;
  // RFC 8707: a token for another resource is not one for this resource. Without audiences, only where the store names none.
  if (resource !== undefined && !(info.resources?.includes(resource) ?? ctx.policy.resources === undefined)) return null;
  return info;
}

/** A token's info if it is valid now: from the per-isolate cache when edge validation is on, else from storage. */
async function validated(ctx: StoreContext, token: string): Promise<AccessTokenInfo | null> {
  const now = ctx.now();
  const cacheKey = ctx.validationCache.enabled ? await ctx.keyring.lookupId(LOOKUP.access, token) : undefined;
  if (cacheKey !== undefined) {
    const cached = ctx.validationCache.get(cacheKey, now);
    if (cached) return cached.expiresAt > now ? cached : null;
  }
  const found = await readAccess(ctx, token);
  // The client must still exist: deleteClient revokes the grants it finds at once; this ends one issued
  // while the deletion ran (by an isolate that still saw the client). Cached per isolate (clientCacheSeconds).
  if (!found || found.access.clientId !== found.grant.clientId || !(await clientHolds(ctx, found.grant))) return null;
  const { access, grant } = found;
  const resources = resourcesOf(access, grant);
  const info: AccessTokenInfo = {
    clientId: access.clientId,
    userId: grant.userId,
    grantType: grantTypeOf(grant),
    scope: access.scope ?? grant.scope,
    grantId: found.grantId,
    issuedAt: access.issuedAt,
    expiresAt: Math.min(found.expiresAt, grant.expiresAt),
    ...(resources !== undefined && { resources }),
    ...(access.jkt !== undefined && { jkt: access.jkt }),
    ...(grant.props !== undefined && { props: grant.props }),
  };
  if (cacheKey !== undefined) ctx.validationCache.set(cacheKey, info, now, Math.min(ctx.policy.validationCacheMs, info.expiresAt - now));
  return info;
}

/**
 * Whether the grant's client still exists as the client it was issued to: a client deleted and then
 * registered again under the same id (a chosen id, such as a metadata document URL) is newer than
 * every grant of the deleted one, so a grant its deletion missed (a lost index entry) stays dead.
 */
async function clientHolds(ctx: StoreContext, grant: GrantRecord): Promise<boolean> {
  const client = await readClient(ctx, grant.clientId);
  return client !== null && grant.createdAt >= client.data.createdAt;
}

/** The live refresh token's grant and expiry, or null. */
async function readRefresh(ctx: StoreContext, token: string): Promise<{ grantId: string; grant: GrantRecord; record: RefreshRecord; expiresAt: number } | null> {
  const grantId = parseRefreshToken(token)?.grantId;
  if (grantId === undefined) return null;
  const found = await readToken(ctx, ctx.records.refresh, grantId, await ctx.keyring.lookupIds(LOOKUP.refresh, token));
  if (!found || !(await clientHolds(ctx, found.grant))) return null;
  return { grantId, grant: found.grant, record: found.record, expiresAt: Math.min(found.expiresAt, found.grant.expiresAt) };
}

function audience(resources: string[] | undefined): { aud?: string | string[] } {
  if (resources === undefined || resources.length === 0) return {};
  return { aud: resources.length === 1 ? resources[0]! : resources };
}

/** RFC 7662's answer for a live access token, opaque or JWT. */
export function accessIntrospection(info: AccessTokenInfo): IntrospectionResult {
  return {
    active: true,
    scope: info.scope.join(' '),
    client_id: info.clientId,
    sub: info.userId,
    exp: Math.floor(info.expiresAt / 1000),
    iat: Math.floor(info.issuedAt / 1000),
    token_type: info.jkt === undefined ? 'Bearer' : 'DPoP',
    ...audience(info.resources),
    ...(info.jkt !== undefined && { cnf: { jkt: info.jkt } }),
  };
}

/** RFC 7662. Anything not live answers exactly `{ active: false }`. */
export async function introspect(ctx: StoreContext, tokenInput: string): Promise<IntrospectionResult> {
  const token = requireToken('token', tokenInput);
  const kind = kindOf(token);
  if (kind === 'access') {
    const info = await validated(ctx, token);
    return info ? accessIntrospection(info) : { active: false };
  }
  if (kind === 'refresh') {
    const live = await readRefresh(ctx, token);
    if (!live) return { active: false };
    return {
      active: true,
      scope: live.grant.scope.join(' '),
      client_id: live.grant.clientId,
      sub: live.grant.userId,
      exp: Math.floor(live.expiresAt / 1000),
      iat: Math.floor(live.record.issuedAt / 1000),
      ...audience(live.grant.resources),
    };
  }
  return { active: false };
}
