import { EmbeddedJWK, calculateJwkThumbprint, errors, jwtVerify, type JWK } from 'jose';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import { toBase64Url, utf8 } from '../../util/bytes.js';
import type { DpopNonces } from './nonce.js';

/**
 * DPoP proof verification (RFC 9449 §4.3), with `jose` for the JWS: one
 * `DPoP` header holding one JWT with `typ: dpop+jwt`, an allowed asymmetric
 * `alg`, a public `jwk` that verifies it, `htm` and `htu` naming this
 * request (the URI without query and fragment), `iat` within
 * `maxAgeMs` of the server's clock, `ath` (the hash of the access token) at
 * a resource, the server's `nonce` when nonces are on, and a `jti` used
 * once: remembered through the store's atomic single-use records, so of N
 * concurrent presentations of one proof exactly one passes.
 */

export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce';

/** A refused proof: the RFC 9449 error code and a description naming what was wrong. */
export class DpopProofError extends Error {
  constructor(
    readonly code: DpopErrorCode,
    readonly description: string,
  ) {
    super(description);
    this.name = 'DpopProofError';
  }
}

export interface ProofSettings {
  algorithms: readonly string[];
  maxAgeMs: number;
  nonces: DpopNonces | null;
  now: () => number;
}

export interface ProofRequest {
  method: string;
  url: string;
  /** The `DPoP` header, or null when there is none. */
  header: string | null;
  /** At a resource: the access token the proof must hash (`ath`). */
  accessToken?: string;
}

const JTI = /^[\x21-\x7E]{1,256}$/;
const invalid = (description: string) => new DpopProofError('invalid_dpop_proof', description);

/** The URI a proof's `htu` is compared on: scheme, host, port and path (RFC 9449 §4.3 item 9). */
function withoutQuery(uri: string): string | null {
  try {
    const url = new URL(uri);
    return `${url.origin}${url.pathname}`;
  } catch {
    return null;
  }
}

async function sha256Url(text: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(text))));
}

/** Verifies the request's proof; returns the JWK thumbprint (`jkt`) of its key. */
export async function verifyProof(store: OAuthStore, request: ProofRequest, settings: ProofSettings): Promise<string> {
  const proof = request.header?.trim();
  // Several DPoP headers arrive joined by commas, which a JWT never holds.
  if (!proof || proof.includes(',')) throw invalid('send exactly one DPoP proof in the "DPoP" header');
  let verified;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...settings.algorithms], currentDate: new Date(settings.now()) });
  } catch (error) {
    if (error instanceof errors.JOSEError) throw invalid('the DPoP proof is not a valid dpop+jwt signed by its "jwk" with an allowed "alg"');
    throw error;
  }
  const { payload, protectedHeader } = verified;
  const jwk = protectedHeader.jwk as JWK;
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw invalid('the DPoP proof\'s "jwk" must be a public key');
  if (typeof payload.jti !== 'string' || !JTI.test(payload.jti)) throw invalid('the DPoP proof needs a "jti"');
  if (payload.htm !== request.method) throw invalid('the DPoP proof\'s "htm" does not match the request method');
  const htu = typeof payload.htu === 'string' ? withoutQuery(payload.htu) : null;
  if (htu === null || htu !== withoutQuery(request.url)) throw invalid('the DPoP proof\'s "htu" does not match the request URI');
  const now = settings.now();
  if (typeof payload.iat !== 'number' || Math.abs(payload.iat * 1000 - now) > settings.maxAgeMs) {
    throw invalid('the DPoP proof\'s "iat" is not within the accepted window');
  }
  if (request.accessToken !== undefined && payload.ath !== (await sha256Url(request.accessToken))) {
    throw invalid('the DPoP proof\'s "ath" does not match the access token');
  }
  if (settings.nonces && (typeof payload.nonce !== 'string' || !(await settings.nonces.isValid(store, payload.nonce)))) {
    throw new DpopProofError('use_dpop_nonce', 'use the nonce in the DPoP-Nonce header');
  }
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  // Remembered until it could no longer pass the iat check.
  const expiresAt = Math.max(payload.iat * 1000, now) + settings.maxAgeMs + 1000;
  if (!(await store.consumeOnce('dpop', `${jkt}.${payload.jti}`, { expiresAt }))) throw invalid('the DPoP proof was already used');
  return jkt;
}
