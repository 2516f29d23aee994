import { timingSafeEqual } from '../crypto/compare.js';
import { sha256 } from '../crypto/hmac.js';
import { toBase64Url } from '../util/bytes.js';
import type { PkceMethod } from './types.js';

/**
 * RFC 7636 §4.6: does `verifier` match the stored challenge? When no
 * challenge was stored, any verifier is refused (OAuth 2.1: a verifier
 * without a challenge is a downgrade signal), and so is a missing one when a
 * challenge was stored.
 */
export async function verifyPkce(
  challenge: string | undefined,
  method: PkceMethod | undefined,
  verifier: string | undefined,
): Promise<boolean> {
  if (challenge === undefined) return verifier === undefined;
  if (verifier === undefined) return false;
  const computed = method === 'plain' ? verifier : toBase64Url(await sha256(verifier));
  return timingSafeEqual(computed, challenge);
}
