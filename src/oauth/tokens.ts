import type { Keyring } from '../crypto/keyring.js';
import { timingSafeEqual } from '../crypto/compare.js';
import { randomId, randomToken } from '../crypto/random.js';

/**
 * Token, code and handle formats: `<tag>_<grantId>.<secret>` (a session
 * handle: `ovs_<sessionId>.<secret>`).
 *
 * The grant id is a random routing prefix (it picks the storage partition, so
 * a Durable Object adapter serializes one grant's transitions in one object);
 * it is never a user id. The secret is 256 random bits. Only HMAC lookup ids
 * of the whole string are stored.
 */

export type TokenKind = 'code' | 'access' | 'refresh' | 'boundRefresh' | 'session' | 'pushed' | 'device';

// The routing id of a session or pushed-request handle is its own random id, not a grant id: same shape.
// A DPoP-bound refresh token says so in its tag: the token endpoint then knows, before any read, that
// the request must prove the key (and changing the tag changes the token, whose lookup id then matches nothing).
const TAGS: Record<TokenKind, string> = { code: 'ovc', access: 'ova', refresh: 'ovr', boundRefresh: 'ovb', session: 'ovs', pushed: 'ovp', device: 'ovd' };
const GRANT_ID = /^[A-Za-z0-9_-]{22}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** Lookup-id contexts: one per kind of secret, so ids of different kinds never collide. */
export const LOOKUP = {
  code: 'oauth/code',
  codeBinding: 'oauth/code-binding',
  access: 'oauth/access-token',
  refresh: 'oauth/refresh-token',
  refreshKey: 'oauth/refresh-token-key',
  session: 'oauth/session',
  once: 'oauth/once',
  pushed: 'oauth/pushed-request',
  deviceCode: 'oauth/device-code',
  userCode: 'oauth/user-code',
  attempts: 'oauth/attempts',
  user: 'oauth/user',
  successorRefresh: 'oauth/successor/refresh',
  successorAccess: 'oauth/successor/access',
  clientSecret: (clientId: string) => `oauth/client-secret/${clientId}`,
} as const;

export function newGrantId(): string {
  return randomId(16);
}

export function isGrantId(value: string): boolean {
  return GRANT_ID.test(value);
}

export function formatToken(kind: TokenKind, grantId: string, secret: string = randomToken()): string {
  return `${TAGS[kind]}_${grantId}.${secret}`;
}

/** The grant id of a well-formed token of `kind`, or null. Never throws. */
export function parseToken(kind: TokenKind, token: string): string | null {
  const tag = `${TAGS[kind]}_`;
  if (!token.startsWith(tag)) return null;
  const rest = token.slice(tag.length);
  const dot = rest.indexOf('.');
  if (dot < 0) return null;
  const grantId = rest.slice(0, dot);
  return GRANT_ID.test(grantId) && SECRET.test(rest.slice(dot + 1)) ? grantId : null;
}

/** Which kind a token claims to be, from its tag; null when none. A bound refresh token is a refresh token. */
export function kindOf(token: string): Exclude<TokenKind, 'boundRefresh'> | null {
  for (const kind of ['access', 'refresh', 'boundRefresh', 'code', 'session', 'pushed', 'device'] as const) {
    if (parseToken(kind, token) !== null) return kind === 'boundRefresh' ? 'refresh' : kind;
  }
  return null;
}

/** A refresh token's grant id, and whether it is bound to a DPoP key; null when it is not a refresh token. */
export function parseRefreshToken(token: string): { grantId: string; bound: boolean } | null {
  const plain = parseToken('refresh', token);
  if (plain !== null) return { grantId: plain, bound: false };
  const bound = parseToken('boundRefresh', token);
  return bound === null ? null : { grantId: bound, bound: true };
}

/** True when `stored` is one of `candidates` (ids under every key of the ring); no early exit. */
export function matchesAny(stored: string | null | undefined, candidates: readonly string[]): boolean {
  if (!stored) return false;
  let match = false;
  for (const candidate of candidates) match = timingSafeEqual(stored, candidate) || match;
  return match;
}

/**
 * The successor secrets of a rotated refresh token, derived with the keyed
 * HMAC from the presented token. With a grace window, a retried refresh of
 * the same token recomputes the same successor, so the successor never needs
 * to be stored anywhere (not even encrypted). 256 bits each, unpredictable
 * without both the old token and the key.
 */
export async function deriveSuccessors(keyring: Keyring, refreshToken: string): Promise<{ refresh: string; access: string }> {
  const [refresh, access] = await Promise.all([
    keyring.lookupId(LOOKUP.successorRefresh, refreshToken),
    keyring.lookupId(LOOKUP.successorAccess, refreshToken),
  ]);
  return { refresh, access };
}
