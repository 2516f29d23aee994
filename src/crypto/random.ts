import { InvalidRequestError } from '../errors.js';
import { toBase64Url } from '../util/bytes.js';

/** Fewest random bytes a token may carry: 256 bits. */
export const MIN_TOKEN_BYTES = 32;

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(length));
}

/**
 * A random base64url string of `bytes` random bytes (default 32, at least 32),
 * for tokens, codes and identifiers that must not be guessable.
 */
export function randomToken(bytes: number = MIN_TOKEN_BYTES): string {
  if (!Number.isSafeInteger(bytes) || bytes < MIN_TOKEN_BYTES || bytes > 1024) {
    throw new InvalidRequestError('bytes', `must be an integer between ${MIN_TOKEN_BYTES} and 1024`);
  }
  return toBase64Url(randomBytes(bytes));
}

/** A random identifier of `bytes` bytes (not a secret: record ids, key ids). */
export function randomId(bytes = 16): string {
  return toBase64Url(randomBytes(bytes));
}

/**
 * A fresh server secret: 32 random bytes, base64url. Print it once and store it
 * with `wrangler secret put`, then pass it to `Keyring.fromSecret`.
 *
 * @example
 * ```ts
 * import { generateSecret } from 'oauth-vault';
 * console.log(generateSecret());
 * ```
 */
export function generateSecret(): string {
  return toBase64Url(randomBytes(32));
}
