import type { StoreContext } from './context.js';
import { requireString } from '../util/validate.js';
import { InvalidRequestError } from '../errors.js';
import { LOOKUP } from './tokens.js';

/**
 * Single-use identifiers under concurrency: a DPoP proof's `jti`, a client
 * assertion's `jti`. Each is remembered as `once/<lookup>` (the identifier
 * only as a keyed lookup id, in its own partition) until it could no longer
 * be presented, and created only if absent: of N concurrent uses exactly one
 * is first, on the atomic store.
 */

const NAMESPACE = /^[a-z][a-z0-9-]{0,63}$/;
/** Longest a use is remembered: proofs and assertions live minutes, not days. */
const MAX_REMEMBER_MS = 24 * 3600 * 1000;

export async function consumeOnce(ctx: StoreContext, namespaceInput: string, idInput: string, expiresAtInput: number): Promise<boolean> {
  const namespace = requireString('namespace', namespaceInput, { max: 64, pattern: NAMESPACE });
  const id = requireString('id', idInput, { max: 512 });
  const now = ctx.now();
  if (typeof expiresAtInput !== 'number' || !Number.isSafeInteger(expiresAtInput) || expiresAtInput <= now || expiresAtInput > now + MAX_REMEMBER_MS) {
    throw new InvalidRequestError('expiresAt', 'must be an epoch-ms time in the next 24 hours');
  }
  const [current, ...older] = await ctx.keyring.lookupIds(LOOKUP.once, `${namespace}\u0000${id}`);
  // Right after a key rotation a use may be remembered under an older key's lookup id.
  if (older.length > 0 && (await Promise.all(older.map((lookup) => ctx.records.once.get(lookup)))).some((found) => found !== null)) return false;
  return (await ctx.records.once.create(current!, {}, { expiresAt: expiresAtInput })) !== null;
}
