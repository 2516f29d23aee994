import { IntegrityError } from '../errors.js';
import { concatBytes, fromUtf8, utf8 } from '../util/bytes.js';
import { randomBytes } from './random.js';

/**
 * AES-256-GCM envelope, format version 1:
 *
 * ```
 * [0]          format version (0x01)
 * [1]          key id length L (1..64)
 * [2 .. 2+L)   key id, ASCII
 * [2+L .. +12) random 96-bit IV
 * [.. end)     ciphertext || 128-bit tag
 * ```
 *
 * The header (version, key id) is authenticated together with the caller's
 * AAD, so an envelope cannot be relabelled to another key or context.
 */
export const ENVELOPE_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export interface EnvelopeHeader {
  version: number;
  keyId: string;
  /** Byte length of the header (version, length, key id). */
  length: number;
}

export function encodeHeader(keyId: string): Uint8Array<ArrayBuffer> {
  const id = utf8(keyId);
  return concatBytes(new Uint8Array([ENVELOPE_VERSION, id.length]), id);
}

/** Reads the header; throws `IntegrityError` if the envelope is malformed. */
export function parseHeader(envelope: Uint8Array): EnvelopeHeader {
  const version = envelope[0];
  const idLength = envelope[1];
  if (version !== ENVELOPE_VERSION || idLength === undefined || idLength < 1 || idLength > 64) throw new IntegrityError();
  const length = 2 + idLength;
  if (envelope.length < length + IV_BYTES + TAG_BYTES) throw new IntegrityError();
  let keyId: string;
  try {
    keyId = fromUtf8(envelope.subarray(2, length));
  } catch {
    throw new IntegrityError();
  }
  if (!KEY_ID_PATTERN.test(keyId)) throw new IntegrityError();
  return { version, keyId, length };
}

export async function sealWithKey(
  key: CryptoKey,
  keyId: string,
  plaintext: Uint8Array<ArrayBuffer>,
  aad: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const header = encodeHeader(keyId);
  const iv = randomBytes(IV_BYTES);
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: concatBytes(header, aad), tagLength: TAG_BYTES * 8 },
    key,
    plaintext,
  );
  return concatBytes(header, iv, new Uint8Array(ciphertext));
}

export async function openWithKey(
  key: CryptoKey,
  envelope: Uint8Array<ArrayBuffer>,
  header: EnvelopeHeader,
  aad: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  const iv = envelope.subarray(header.length, header.length + IV_BYTES);
  const ciphertext = envelope.subarray(header.length + IV_BYTES);
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: concatBytes(envelope.subarray(0, header.length), aad), tagLength: TAG_BYTES * 8 },
      key,
      ciphertext,
    );
    return new Uint8Array(plaintext);
  } catch (cause) {
    throw new IntegrityError({ cause });
  }
}
