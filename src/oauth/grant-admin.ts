import { IntegrityError, InvalidRequestError } from '../errors.js';
import type { RecordCollection } from '../records/record-store.js';
import { requireString } from '../util/validate.js';
import type { StoreContext } from './context.js';
import { readGrantState, revokeGrantById } from './grant-state.js';
import { grantTypeOf } from './grants/common.js';
import { requireId, requireUserId } from './input.js';
import { readPageOptions } from './paging.js';
import type { Marker } from './record-kinds.js';
import { isGrantId, LOOKUP } from './tokens.js';
import type { GrantInfo, ListGrantsResult, PageOptions } from './types.js';

/**
 * Grants per user and per client, through their index entries
 * (`user-grant/<lookup(userId)>/~<grantId>`, `client-grant/<clientId>/~<grantId>`),
 * written in the same atomic call as each grant: one prefix listing plus one
 * call per grant listed, never a scan of every grant. The index finds; the
 * grant's own records decide (active, not revoked, this very user or client).
 */

/**
 * Active grants under index prefixes, one page. Several prefixes (a user's
 * lookup id under every key of the ring, current first, so grants indexed
 * before a key rotation stay listed): cursor `<prefix index>.<adapter cursor>`.
 */
async function listIndexed(
  ctx: StoreContext,
  index: RecordCollection<Marker>,
  prefixes: string[],
  options: PageOptions | undefined,
  belongs: (grant: { clientId: string; userId: string }) => boolean,
): Promise<ListGrantsResult> {
  const { cursor, limit } = readPageOptions(options);
  let at = 0;
  let inner: string | undefined;
  if (cursor !== undefined) {
    const dot = cursor.indexOf('.');
    at = Number(cursor.slice(0, dot));
    inner = cursor.slice(dot + 1) || undefined;
    if (dot < 1 || !Number.isSafeInteger(at) || at < 0 || at >= prefixes.length) {
      throw new InvalidRequestError('options.cursor', 'must be a cursor returned by this listing');
    }
  }
  const prefix = prefixes[at]!;
  const page = await index.listIds({ prefix, limit, ...(inner !== undefined && { cursor: inner }) });
  let next: string | undefined;
  if (page.cursor !== undefined) next = `${at}.${page.cursor}`;
  else if (at + 1 < prefixes.length) next = `${at + 1}.`;
  const grants: GrantInfo[] = [];
  let unreadable = 0;
  for (const id of page.ids) {
    const grantId = id.slice(id.lastIndexOf('/~') + 2);
    let state;
    try {
      state = await readGrantState(ctx, grantId);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      unreadable++;
      continue;
    }
    const grant = state.grant?.data;
    if (!grant || !state.live || state.revoked || !belongs(grant)) continue;
    grants.push({
      grantId,
      grantType: grantTypeOf(grant),
      clientId: grant.clientId,
      userId: grant.userId,
      scope: grant.scope,
      ...(grant.resources !== undefined && { resources: grant.resources }),
      ...(grant.props !== undefined && { props: grant.props }),
      createdAt: state.live.activatedAt,
      expiresAt: grant.expiresAt,
    });
  }
  return { grants, ...(next !== undefined && { cursor: next }), ...(unreadable > 0 && { unreadable }) };
}

export async function listGrants(ctx: StoreContext, userIdInput: string, options?: PageOptions): Promise<ListGrantsResult> {
  const userId = requireUserId('userId', userIdInput);
  const lookups = await ctx.keyring.lookupIds(LOOKUP.user, userId);
  return listIndexed(ctx, ctx.records.userGrant, lookups.map((lookup) => `${lookup}/`), options, (grant) => grant.userId === userId);
}

export async function listClientGrants(ctx: StoreContext, clientIdInput: string, options?: PageOptions): Promise<ListGrantsResult> {
  const clientId = requireId('clientId', clientIdInput);
  return listIndexed(ctx, ctx.records.clientGrant, [`${clientId}/`], options, (grant) => grant.clientId === clientId);
}

export function requireGrantId(field: string, value: unknown): string {
  const grantId = requireString(field, value, { max: 64 });
  if (!isGrantId(grantId)) throw new InvalidRequestError(field, 'is not a grant id');
  return grantId;
}

/** Revokes a grant: its code (if not yet exchanged), refresh token and access tokens. */
export async function revokeGrant(ctx: StoreContext, grantIdInput: string): Promise<boolean> {
  return revokeGrantById(ctx, requireGrantId('grantId', grantIdInput), 'revoked');
}
