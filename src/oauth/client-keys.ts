import { InvalidRequestError } from '../errors.js';
import { requireArray, requireJson, requireObject, requireString } from '../util/validate.js';
import { MAX_URI_LENGTH } from './input.js';

/**
 * The public keys of a `private_key_jwt` client (RFC 7523 §2.2, RFC 7591
 * §2): a JWK Set (`jwks`) or where to fetch one (`jwksUri`). Kept sealed in
 * the client record like the rest of its metadata. The store never verifies
 * a signature (the core has no JOSE): the caller that verified an assertion
 * against these keys says so with `clientAssertionVerified`.
 */

/** A JWK Set of public keys (RFC 7517 §5). */
export interface ClientJwks {
  keys: Record<string, unknown>[];
}

const MAX_KEYS = 20;
// Private or symmetric key members (RFC 7518 §6): a client registers public keys only.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export function requireJwks(field: string, value: unknown): ClientJwks {
  const set = requireObject(field, requireJson(field, value, 16 * 1024));
  const keys = requireArray(`${field}.keys`, set.keys, 1, MAX_KEYS).map((item, index) => {
    const key = requireObject(`${field}.keys[${index}]`, item);
    const kty = requireString(`${field}.keys[${index}].kty`, key.kty, { max: 16 });
    if (kty !== 'EC' && kty !== 'RSA' && kty !== 'OKP') throw new InvalidRequestError(`${field}.keys[${index}].kty`, 'must be "EC", "RSA" or "OKP" (asymmetric keys)');
    if (PRIVATE_MEMBERS.some((member) => member in key)) throw new InvalidRequestError(`${field}.keys[${index}]`, 'must be a public key (no private or symmetric key members)');
    return key;
  });
  return { keys };
}

export function requireJwksUri(field: string, value: unknown): string {
  const text = requireString(field, value, { max: MAX_URI_LENGTH });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidRequestError(field, 'must be an absolute https URL');
  }
  if (url.protocol !== 'https:' || url.hash !== '' || text.includes('#') || url.username !== '' || url.password !== '') {
    throw new InvalidRequestError(field, 'must be an https URL without fragment or credentials');
  }
  return text;
}

/** The keys given to `registerClient`/`updateClient`: at most one of the two, checked. */
export function optionalClientKeys(p: Record<string, unknown>): { jwks?: ClientJwks; jwksUri?: string } | undefined {
  if (p.jwks === undefined && p.jwksUri === undefined) return undefined;
  if (p.jwks !== undefined && p.jwksUri !== undefined) throw new InvalidRequestError('jwksUri', 'may not be given with jwks (one source of keys)');
  return p.jwks !== undefined ? { jwks: requireJwks('jwks', p.jwks) } : { jwksUri: requireJwksUri('jwksUri', p.jwksUri) };
}
