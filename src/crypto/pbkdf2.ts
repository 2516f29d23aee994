import { utf8 } from '../util/bytes.js';

/**
 * PBKDF2-HMAC-SHA-256 straight into a non-extractable 256-bit HMAC key: the
 * derived bytes never reach JavaScript. Equivalent to PBKDF2 with dkLen = 32
 * imported as an HMAC key (the known-answer tests check exactly that).
 */
export async function pbkdf2HmacKey(passphrase: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', utf8(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    base,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign'],
  );
}
