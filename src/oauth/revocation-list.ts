import { InvalidRequestError } from '../errors.js';
import { requireString } from '../util/validate.js';
import { readForScan, type StoreContext } from './context.js';

/**
 * The recent revocations a self-contained (JWT) access token validator must
 * honour: it never reads storage per token, so it fetches this short list
 * (grant ids revoked, and ids of single JWT access tokens revoked) and
 * refuses tokens of those. An entry lives as long as a token of its grant
 * could (the access token lifetime), which keeps the list short.
 */

export interface Revocation {
  /** A grant id, or a JWT access token's `jti`. */
  id: string;
  revokedAt: number;
  /** After this, no token it concerns is still valid: the entry goes. */
  expiresAt: number;
}

/** Every live entry (a scan of `revocation/`: fetch it on a timer, not per request). */
export async function listRevocations(ctx: StoreContext): Promise<Revocation[]> {
  const revocations: Revocation[] = [];
  for await (const id of ctx.records.revocation.ids()) {
    const record = await readForScan(ctx.records.revocation, id);
    if (record && record !== 'unreadable') revocations.push({ id, revokedAt: record.data.revokedAt, expiresAt: record.expiresAt! });
  }
  return revocations;
}

/** Records the revocation of one JWT access token by its `jti`, until it would have expired anyway. */
export async function recordRevocation(ctx: StoreContext, idInput: string, expiresAtInput: number): Promise<void> {
  const id = requireString('id', idInput, { max: 256, pattern: /^[A-Za-z0-9._~-]+$/ });
  const now = ctx.now();
  if (typeof expiresAtInput !== 'number' || !Number.isSafeInteger(expiresAtInput) || expiresAtInput > now + ctx.policy.accessTokenTtlMs + 60_000) {
    throw new InvalidRequestError('expiresAt', 'must be the token\'s expiry (epoch ms), within the access token lifetime');
  }
  if (expiresAtInput <= now) return; // already expired: nothing to refuse
  await ctx.records.revocation.put(id, { revokedAt: now }, { expiresAt: expiresAtInput });
}
