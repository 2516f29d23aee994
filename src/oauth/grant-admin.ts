import { InvalidRequestError } from '../errors.js';
import { requireString } from '../util/validate.js';
import { readPageOptions } from './clients.js';
import { readForScan, type StoreContext } from './context.js';
import { requireUserId } from './input.js';
import { revokeGrantById } from './grant-state.js';
import { isGrantId, LOOKUP } from './tokens.js';
import type { GrantInfo, ListGrantsResult, PageOptions } from './types.js';

/**
 * Grants per user, through the `user-grant/<lookup(userId)>/<grantId>` index:
 * one prefix listing plus one read per grant of that user, never a scan of
 * every grant.
 */
export async function listGrants(ctx: StoreContext, userIdInput: string, options?: PageOptions): Promise<ListGrantsResult> {
  const userId = requireUserId('userId', userIdInput);
  const { cursor, limit } = readPageOptions(options);
  // One index prefix per key of the ring (current first), so grants indexed
  // before a key rotation stay listed. Cursor: `<key index>.<adapter cursor>`.
  const lookups = await ctx.keyring.lookupIds(LOOKUP.user, userId);
  let keyIndex = 0;
  let inner: string | undefined;
  if (cursor !== undefined) {
    const dot = cursor.indexOf('.');
    keyIndex = Number(cursor.slice(0, dot));
    inner = cursor.slice(dot + 1) || undefined;
    if (dot < 1 || !Number.isSafeInteger(keyIndex) || keyIndex < 0 || keyIndex >= lookups.length) {
      throw new InvalidRequestError('options.cursor', 'must be a cursor returned by listGrants');
    }
  }
  const prefix = `${lookups[keyIndex]}/`;
  const page = await ctx.userGrants.listIds({ prefix, limit, ...(inner !== undefined && { cursor: inner }) });
  let next: string | undefined;
  if (page.cursor !== undefined) next = `${keyIndex}.${page.cursor}`;
  else if (keyIndex + 1 < lookups.length) next = `${keyIndex + 1}.`;
  const grants: GrantInfo[] = [];
  let unreadable = 0;
  for (const id of page.ids) {
    const grantId = id.slice(prefix.length);
    const found = await readForScan(ctx.grants, grantId);
    if (found === 'unreadable') {
      unreadable++;
      continue;
    }
    const grant = found?.data;
    // Only exchanged, unrevoked grants of this very user (the index is a hint, the record decides).
    if (!grant || grant.status !== 'active' || grant.userId !== userId) continue;
    grants.push({
      grantId,
      clientId: grant.clientId,
      userId: grant.userId,
      scope: grant.scope,
      ...(grant.resource !== undefined && { resource: grant.resource }),
      ...(grant.props !== undefined && { props: grant.props }),
      createdAt: grant.activatedAt ?? grant.createdAt,
      expiresAt: grant.chainExpiresAt ?? grant.codeExpiresAt,
    });
  }
  return { grants, ...(next !== undefined && { cursor: next }), ...(unreadable > 0 && { unreadable }) };
}

export function requireGrantId(field: string, value: unknown): string {
  const grantId = requireString(field, value, { max: 64 });
  if (!isGrantId(grantId)) throw new InvalidRequestError(field, 'is not a grant id');
  return grantId;
}

/** Revokes a grant: its code (if not yet exchanged), refresh family and access tokens. */
export async function revokeGrant(ctx: StoreContext, grantIdInput: string): Promise<boolean> {
  return revokeGrantById(ctx, requireGrantId('grantId', grantIdInput), 'revoked');
}
