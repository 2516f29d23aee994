import { timingSafeEqual } from '../crypto/compare.js';
import { sha256 } from '../crypto/hmac.js';
import { toBase64Url } from '../util/bytes.js';
import { randomToken } from '../crypto/random.js';
import { requireString } from '../util/validate.js';
import { PKCE_VALUE } from './input.js';
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

/** A PKCE pair as a client sends it: the verifier kept secret, the S256 challenge sent with the authorization request. */
export interface PkcePair {
  /** 43 characters of base64url (256 random bits): send it with the token request. */
  codeVerifier: string;
  /** BASE64URL(SHA-256(codeVerifier)): send it with the authorization request. */
  codeChallenge: string;
  codeChallengeMethod: 'S256';
}

/**
 * The S256 code challenge of a verifier (RFC 7636 §4.2).
 * @throws InvalidRequestError (field `verifier`) unless it is 43..128 unreserved characters.
 */
export async function computePkceChallenge(verifier: string): Promise<string> {
  requireString('verifier', verifier, { max: 128, pattern: PKCE_VALUE });
  return toBase64Url(await sha256(verifier));
}

/**
 * A fresh PKCE pair (RFC 7636, S256), for clients, tools and tests.
 *
 * Ships from `oauth-vault`.
 *
 * @example
 * ```ts
 * import { generatePkce } from 'oauth-vault';
 * const { codeVerifier, codeChallenge } = await generatePkce();
 * ```
 */
export async function generatePkce(): Promise<PkcePair> {
  const codeVerifier = randomToken();
  return { codeVerifier, codeChallenge: await computePkceChallenge(codeVerifier), codeChallengeMethod: 'S256' };
}
