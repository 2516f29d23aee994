import { InvalidRequestError } from '../errors.js';
import { optionalString, requireArray, requireJson, requireObject, requireString } from '../util/validate.js';
import type { GrantType, PkceMethod } from './types.js';

/**
 * Domain input checks shared by the OAuthStore entry points. Each throws
 * `InvalidRequestError` naming the field, before anything is read or written.
 */

/** Longest token, code or session handle we accept (ours are ~75 characters). */
export const MAX_TOKEN_LENGTH = 512;
const MAX_ID_LENGTH = 256;
export const MAX_URI_LENGTH = 2048;
const MAX_SCOPES = 64;
const MAX_RESOURCES = 20;
export const MAX_JSON_BYTES = 16 * 1024;

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
// RFC 7636 §4.1/4.2: unreserved characters, 43..128
export const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;
const ID_PATTERN = /^[\x21-\x7E]+$/;

export function requireId(field: string, value: unknown): string {
  return requireString(field, value, { max: MAX_ID_LENGTH, pattern: ID_PATTERN });
}

/** A user id: any non-empty string up to 256 characters (never stored in plaintext keys). */
export function requireUserId(field: string, value: unknown): string {
  return requireString(field, value, { max: MAX_ID_LENGTH });
}

export function requireToken(field: string, value: unknown): string {
  return requireString(field, value, { max: MAX_TOKEN_LENGTH });
}

export function optionalSecret(field: string, value: unknown): string | undefined {
  return optionalString(field, value, { max: MAX_TOKEN_LENGTH });
}

export function requireScope(field: string, value: unknown): string[] {
  const list = requireArray(field, value, 0, MAX_SCOPES);
  const out: string[] = [];
  list.forEach((item, index) => {
    const scope = requireString(`${field}[${index}]`, item, { max: 128, pattern: SCOPE_TOKEN });
    if (!out.includes(scope)) out.push(scope);
  });
  return out;
}

export function optionalScope(field: string, value: unknown): string[] | undefined {
  return value === undefined ? undefined : requireScope(field, value);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** An absolute https URI (http only on a loopback host), without fragment or credentials. */
export function requireRedirectUri(field: string, value: unknown): string {
  const text = requireString(field, value, { max: MAX_URI_LENGTH });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidRequestError(field, 'must be an absolute URI');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new InvalidRequestError(field, 'must use https (http only for loopback hosts)');
  }
  if (text.includes('#')) throw new InvalidRequestError(field, 'must not contain a fragment');
  if (url.username !== '' || url.password !== '') throw new InvalidRequestError(field, 'must not contain credentials');
  return text;
}

export function requireRedirectUris(field: string, value: unknown, min = 1): string[] {
  const list = requireArray(field, value, min, 20);
  return [...new Set(list.map((item, index) => requireRedirectUri(`${field}[${index}]`, item)))];
}

/** An absolute URI (RFC 8707 resource indicator), without fragment. */
export function requireResource(field: string, value: unknown): string {
  const text = requireString(field, value, { max: MAX_URI_LENGTH });
  try {
    new URL(text);
  } catch {
    throw new InvalidRequestError(field, 'must be an absolute URI');
  }
  if (text.includes('#')) throw new InvalidRequestError(field, 'must not contain a fragment');
  return text;
}

/** Resource indicators (RFC 8707): `min`..20 absolute URIs, duplicates dropped. */
export function requireResources(field: string, value: unknown, min = 0): string[] {
  const list = requireArray(field, value, min, MAX_RESOURCES);
  return [...new Set(list.map((item, index) => requireResource(`${field}[${index}]`, item)))];
}

export function optionalResources(field: string, value: unknown): string[] | undefined {
  return value === undefined ? undefined : requireResources(field, value, 1);
}

/** Grant types a client may be registered for: `known` are the store's registered handlers. */
export function optionalGrantTypes(field: string, value: unknown, known: readonly string[]): GrantType[] | undefined {
  if (value === undefined) return undefined;
  const list = requireArray(field, value, 1, known.length);
  return [
    ...new Set(
      list.map((item, index) => {
        if (typeof item !== 'string' || !known.includes(item)) {
          throw new InvalidRequestError(`${field}[${index}]`, `must be one of ${known.join(', ')}`);
        }
        return item;
      }),
    ),
  ];
}

// RFC 7638 SHA-256 thumbprint, base64url without padding.
const JKT = /^[A-Za-z0-9_-]{43}$/;

/** A DPoP key thumbprint (RFC 9449 `jkt`). */
export function optionalJkt(field: string, value: unknown): string | undefined {
  return optionalString(field, value, { max: 43, pattern: JKT });
}

/** App JSON data (props, metadata): at most 16 KiB encoded. Checks size before serializing big strings. */
export function optionalJson(field: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length > MAX_JSON_BYTES) {
    throw new InvalidRequestError(field, `must be at most ${MAX_JSON_BYTES} bytes as JSON`);
  }
  return requireJson(field, value, MAX_JSON_BYTES);
}

export function optionalPkceChallenge(field: string, value: unknown): string | undefined {
  return optionalString(field, value, { max: 128, pattern: PKCE_VALUE });
}

export function optionalPkceVerifier(field: string, value: unknown): string | undefined {
  return optionalString(field, value, { max: 128, pattern: PKCE_VALUE });
}

export function optionalPkceMethod(field: string, value: unknown, allowPlain: boolean): PkceMethod | undefined {
  if (value === undefined) return undefined;
  if (value === 'S256') return 'S256';
  if (value === 'plain') {
    if (!allowPlain) throw new InvalidRequestError(field, 'must be "S256" ("plain" is not enabled)');
    return 'plain';
  }
  throw new InvalidRequestError(field, allowPlain ? 'must be "S256" or "plain"' : 'must be "S256"');
}

export function params(field: string, value: unknown): Record<string, unknown> {
  return requireObject(field, value);
}

// A parameter name we may repeat in an error: a short camelCase or snake_case word, which a token or
// secret (long, random, mixed with digits) practically never is.
const NAMEABLE_KEY = /^[a-z]{1,20}(?:[A-Z][a-z]{1,20}|_[a-z]{1,20}){0,4}$/;

/**
 * Refuses properties the entry point does not know (catches typos like
 * `redirect_uri`). The unknown name is named in the error only when it looks
 * like a parameter name: a key could be a secret passed by mistake.
 */
export function onlyKeys(field: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    if (key.length <= 40 && NAMEABLE_KEY.test(key)) throw new InvalidRequestError(`${field}.${key}`, 'is not a known parameter');
    throw new InvalidRequestError(field, 'has a parameter that is not known (its name is not shown: it could be a secret)');
  }
}
