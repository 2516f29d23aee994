import type { OAuthStore } from '../../oauth/oauth-store.js';
import { DpopNonces } from './nonce.js';
import { verifyProof, type ProofRequest } from './proof.js';

/** The server's DPoP settings, resolved from the `dpop` option. */
export interface DpopSettings {
  algorithms: readonly string[];
  maxAgeMs: number;
  /** Nonce window in seconds; 0: no server nonces. */
  nonceWindowSeconds: number;
}

/**
 * DPoP (RFC 9449) for one server: proofs at the token endpoint and at the
 * protected routes, and the server's nonces.
 */
export class ServerDpop {
  readonly settings: DpopSettings;
  readonly #nonces: DpopNonces | null;
  readonly #now: () => number;

  constructor(settings: DpopSettings, now: () => number) {
    this.settings = settings;
    this.#now = now;
    this.#nonces = settings.nonceWindowSeconds > 0 ? new DpopNonces(settings.nonceWindowSeconds, now) : null;
  }

  /**
   * The thumbprint of the key of the request's valid proof.
   * @throws DpopProofError (`invalid_dpop_proof`, `use_dpop_nonce`)
   */
  verify(store: OAuthStore, request: ProofRequest): Promise<string> {
    return verifyProof(store, request, { algorithms: this.settings.algorithms, maxAgeMs: this.settings.maxAgeMs, nonces: this.#nonces, now: this.#now });
  }

  /** The `DPoP-Nonce` header for an answer, when nonces are on. */
  async nonceHeader(store: OAuthStore): Promise<Record<string, string>> {
    return this.#nonces ? { 'DPoP-Nonce': await this.#nonces.current(store) } : {};
  }
}
