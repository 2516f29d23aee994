import { SignJWT, createLocalJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { randomToken } from '../../crypto/random.js';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { SigningAlgorithm } from '../../oauth/signing-keys.js';
import type { AccessTokenInfo, GrantType } from '../../oauth/types.js';
import { RevocationCache } from './revocation-cache.js';

/**
 * JWT access tokens (RFC 9068) for the resources that ask for them: signed
 * with the store's current signing key (sealed at rest, rotated with an
 * overlap), verified against the store's JWKS with no storage read per
 * token, refused when their grant or their `jti` is on the store's
 * revocation list (re-read at most every `revocationCacheMs` per isolate).
 *
 * What a JWT carries is what the guard's `AuthContext` needs, and nothing
 * the app stored sealed: `props` stay in the grant (a JWT is readable by
 * whoever holds it), so `auth.props` is undefined on JWT resources.
 */

export const JWT_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256'];
/** How long an isolate uses the published keys before it asks the store again (the store caches them 60 s itself). */
const KEYS_CACHE_MS = 60_000;
// Three base64url segments: a JWS compact serialization (an opaque token of the store has one dot).
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether a presented token is a JWT (and not one of the store's opaque tokens). */
export const looksLikeJwt = (token: string): boolean => JWT_SHAPE.test(token);

/** The claims the server puts in an access token beyond RFC 9068's. */
interface AccessTokenClaims extends JWTPayload {
  client_id: string;
  scope: string;
  grant_id: string;
  grant_type: string;
  cnf?: { jkt: string };
}

export interface JwtAccessTokenSettings {
  algorithm: SigningAlgorithm;
  revocationCacheMs: number;
  jwksMaxAgeSeconds: number;
}

type Verifier = ReturnType<typeof createLocalJWKSet>;

export class JwtAccessTokens {
  readonly options: JwtAccessTokenSettings;
  readonly #now: () => number;
  readonly #keys = new WeakMap<OAuthStore, { verifier: Promise<Verifier>; until: number }>();
  readonly #revocations = new WeakMap<OAuthStore, RevocationCache>();

  constructor(options: JwtAccessTokenSettings, now: () => number) {
    this.options = options;
    this.#now = now;
  }

  /** Signs the access token for `info` (a token the store just issued) for `issuer`. */
  async sign(store: OAuthStore, issuer: string, info: AccessTokenInfo): Promise<string> {
    const key = await store.signingKey(this.options.algorithm);
    const resources = info.resources ?? [];
    const claims: AccessTokenClaims = {
      client_id: info.clientId,
      scope: info.scope.join(' '),
      grant_id: info.grantId,
      grant_type: info.grantType,
      ...(info.jkt !== undefined && { cnf: { jkt: info.jkt } }),
    };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
      .setIssuer(issuer)
      .setSubject(info.userId)
      .setAudience(resources.length === 1 ? resources[0]! : resources)
      .setJti(randomToken())
      .setIssuedAt(Math.floor(info.issuedAt / 1000))
      .setExpirationTime(Math.floor(info.expiresAt / 1000))
      .sign(key.privateKey);
  }

  /**
   * The token's info when its signature, issuer, type, audience (when given)
   * and expiry hold and neither it nor its grant is revoked; else null.
   * Reads no storage for the token itself.
   */
  async verify(store: OAuthStore, token: string, expected: { issuer: string; audience?: string }): Promise<(AccessTokenInfo & { jti: string }) | null> {
    let payload: AccessTokenClaims;
    try {
      payload = await this.#verified(store, token, expected);
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
    const { sub, jti, iat, exp, client_id, scope, grant_id, grant_type, aud, cnf } = payload;
    if (typeof client_id !== 'string' || typeof scope !== 'string' || typeof grant_id !== 'string' || typeof grant_type !== 'string') return null;
    if (typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return null;
    if (cnf !== undefined && (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string')) return null;
    if (await this.revocations(store).isRevoked([jti, grant_id])) return null;
    const resources = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
    return {
      jti,
      clientId: client_id,
      userId: sub,
      grantType: grant_type as GrantType,
      scope: scope.split(' ').filter(Boolean),
      grantId: grant_id,
      issuedAt: iat * 1000,
      expiresAt: exp * 1000,
      ...(resources.length > 0 && { resources }),
      ...(cnf !== undefined && { jkt: cnf.jkt }),
    };
  }

  /** The store's revocation list as this isolate last read it. */
  revocations(store: OAuthStore): RevocationCache {
    let cache = this.#revocations.get(store);
    if (!cache) {
      cache = new RevocationCache(store, this.options.revocationCacheMs, this.#now);
      this.#revocations.set(store, cache);
    }
    return cache;
  }

  async #verified(store: OAuthStore, token: string, expected: { issuer: string; audience?: string }): Promise<AccessTokenClaims> {
    const options = {
      issuer: expected.issuer,
      typ: 'at+jwt',
      algorithms: [...JWT_ALGORITHMS],
      requiredClaims: ['sub', 'jti', 'iat', 'exp', 'client_id'],
      currentDate: new Date(this.#now()),
      ...(expected.audience !== undefined && { audience: expected.audience }),
    };
    try {
      return (await jwtVerify<AccessTokenClaims>(token, await this.#verifier(store), options)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A key this isolate has not seen: after a rotation another isolate may have made the next one.
      // Asking for the signing key re-reads the keys exactly when this isolate's current one stopped signing.
      await store.signingKey(this.options.algorithm);
      this.#keys.delete(store);
      return (await jwtVerify<AccessTokenClaims>(token, await this.#verifier(store), options)).payload;
    }
  }

  #verifier(store: OAuthStore): Promise<Verifier> {
    const now = this.#now();
    const cached = this.#keys.get(store);
    if (cached && cached.until > now) return cached.verifier;
    const verifier = store.jwks().then((jwks) => createLocalJWKSet(jwks));
    verifier.catch(() => this.#keys.delete(store));
    this.#keys.set(store, { verifier, until: now + KEYS_CACHE_MS });
    return verifier;
  }
}
