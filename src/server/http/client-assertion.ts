import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ClientInfo } from '../../oauth/types.js';
import { DocumentError, fetchDocument } from '../client-metadata/fetch-document.js';
import { isPublicHostname } from '../client-metadata/hosts.js';
import type { ResolvedClientAssertions } from '../flows-config.js';
import { invalidClient } from './errors.js';

/**
 * `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, RFC 7521
 * §4.2): the client signs a short JWT with its private key; the server
 * verifies it with the public keys the client registered (`jwks`, or
 * `jwks_uri` fetched with the metadata documents' rules) and checks
 * `iss` = `sub` = the client id, `aud` (the issuer, the token endpoint or the
 * endpoint called), `exp` (required, within `maxLifetimeSeconds`), `nbf`,
 * and `jti`, which is used once: it is remembered in the store's atomic
 * single-use store until the assertion expires, so of N concurrent
 * presentations exactly one authenticates. Every failure is the same
 * `invalid_client`.
 */

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Leeway for the clocks of client and server, seconds. */
const CLOCK_SKEW = 30;
/** A key set is fetched again on an unknown `kid` at most this often (key rotation), ms. */
const REFETCH_AFTER_MS = 60_000;
const MAX_CACHED_SETS = 256;

export interface AssertionCheck {
  assertion: string;
  /** Where it may be addressed to (RFC 7523 §3 item 3). */
  audiences: string[];
  /** Epoch ms. */
  now: number;
  env: unknown;
}

/** The client id an assertion claims to be from (`sub`, unverified: only to find its keys). */
export function assertedClientId(assertion: string): string {
  try {
    const { sub } = decodeJwt(assertion);
    if (typeof sub === 'string') return sub;
  } catch {
    // Not a JWT: refused below like every other failure.
  }
  throw invalidClient();
}

async function keySetOf(options: ResolvedClientAssertions, client: ClientInfo, now: number, env: unknown, refetch: boolean): Promise<{ jwks: JSONWebKeySet; fetched: boolean }> {
  if (client.jwks) return { jwks: client.jwks as JSONWebKeySet, fetched: false };
  const uri = client.jwksUri;
  if (uri === undefined) throw invalidClient();
  const cached = options.cache.get(uri);
  if (cached && cached.expiresAt > now && !(refetch && now - cached.fetchedAt > REFETCH_AFTER_MS)) return { jwks: cached.jwks as JSONWebKeySet, fetched: false };
  const url = new URL(uri);
  if (url.protocol !== 'https:' || !isPublicHostname(url.hostname) || !options.keys.allow(url)) throw invalidClient();
  let body: unknown;
  let ttlMs: number;
  try {
    ({ body, ttlMs } = await fetchDocument(uri, options.keys, env));
  } catch (error) {
    if (error instanceof DocumentError) throw invalidClient();
    throw error;
  }
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) throw invalidClient();
  if (options.cache.size >= MAX_CACHED_SETS) options.cache.delete(options.cache.keys().next().value!);
  options.cache.set(uri, { jwks: body, fetchedAt: now, expiresAt: now + ttlMs });
  return { jwks: body as JSONWebKeySet, fetched: true };
}

/**
 * Verifies a client assertion for `client` and uses up its `jti`.
 *
 * @throws OAuthHttpError `invalid_client` for every failure.
 */
export async function verifyClientAssertion(options: ResolvedClientAssertions, store: OAuthStore, client: ClientInfo, check: AssertionCheck): Promise<void> {
  const verify = async (refetch: boolean) => {
    const { jwks, fetched } = await keySetOf(options, client, check.now, check.env, refetch);
    try {
      return await jwtVerify(check.assertion, createLocalJWKSet(jwks), {
        algorithms: [...options.algorithms],
        issuer: client.clientId,
        subject: client.clientId,
        audience: check.audiences,
        requiredClaims: ['exp', 'jti'],
        clockTolerance: CLOCK_SKEW,
        currentDate: new Date(check.now),
      });
    } catch (error) {
      // A key the client added since the set was fetched: fetch it again, once.
      if (error instanceof errors.JWKSNoMatchingKey && client.jwksUri !== undefined && !fetched && !refetch) return verify(true);
      if (error instanceof errors.JOSEError) throw invalidClient();
      throw error;
    }
  };
  const { payload } = await verify(false);
  const nowSeconds = check.now / 1000;
  const exp = payload.exp!;
  const lifetime = options.maxLifetimeSeconds;
  // A long-lived assertion is a bearer credential: exp (and iat, when given) keep it short.
  if (exp - nowSeconds > lifetime + CLOCK_SKEW) throw invalidClient();
  if (payload.iat !== undefined && exp - payload.iat > lifetime) throw invalidClient();
  const jti = payload.jti!;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw invalidClient();
  // Remembered until it could no longer be presented (exp plus the skew it was allowed).
  const first = await store.consumeOnce('client-assertion', `${client.clientId}\u0000${jti}`, { expiresAt: Math.ceil((exp + CLOCK_SKEW) * 1000) });
  if (!first) throw invalidClient();
}
