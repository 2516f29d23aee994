import { randomId } from '../crypto/random.js';
import { InvalidRequestError } from '../errors.js';
import { toBase64Url, utf8 } from '../util/bytes.js';
import type { KeyStore } from './key-store.js';

/** The claims of a DPoP proof (RFC 9449 §4.2). */
export interface DpopProofClaims {
  /** HTTP method of the request. */
  readonly htm: string;
  /** The request URI without query and fragment. */
  readonly htu: string;
  /** Issued at, epoch seconds. */
  readonly iat: number;
  /** Unique id of this proof. */
  readonly jti: string;
  /** base64url SHA-256 of the access token sent with it (resource requests only). */
  readonly ath?: string;
  /** The latest `DPoP-Nonce` the server sent, when it sent one. */
  readonly nonce?: string;
}

/**
 * Signs DPoP proofs for a {@link TokenVault}: `dpop()` from `oauth-vault/dpop`
 * (built on `jose`, so the core loads no JOSE code). The vault owns the key
 * pair; the signer only turns it and the claims into a JWS.
 */
export interface DpopSigner {
  /** A compact JWS with header `typ: "dpop+jwt"`, `alg: "ES256"` and the public key as `jwk`, signed with `keyPair.privateKey`. */
  sign(keyPair: CryptoKeyPair, claims: DpopProofClaims): Promise<string>;
  /** The RFC 7638 SHA-256 thumbprint of the public key (`dpop_jkt`; what a bound token's `cnf.jkt` holds). */
  thumbprint(publicKey: CryptoKey): Promise<string>;
}

const SLOT = 'dpop';

/**
 * The vault's DPoP key and the nonces servers handed out. The key is an
 * ECDSA P-256 pair generated non-extractable, kept in the vault's key store
 * (so every tab signs with the same key and `clear()` deletes it with the
 * tokens). Nonces are remembered per origin, in memory: a tab that has none
 * learns it with one retry.
 */
export class DpopProofs {
  readonly #signer: DpopSigner;
  readonly #keyStore: KeyStore;
  readonly #now: () => number;
  readonly #nonces = new Map<string, string>();
  #pair: Promise<CryptoKeyPair> | undefined;

  constructor(signer: DpopSigner, keyStore: KeyStore, now: () => number) {
    if (typeof signer?.sign !== 'function' || typeof signer.thumbprint !== 'function') {
      throw new InvalidRequestError('options.dpop', 'must be a DPoP signer: dpop() from oauth-vault/dpop');
    }
    this.#signer = signer;
    this.#keyStore = keyStore;
    this.#now = now;
  }

  /** The key pair, loaded once (created if absent; two tabs creating at once agree on one). */
  keyPair(): Promise<CryptoKeyPair> {
    this.#pair ??= this.#load().catch((error: unknown) => {
      this.#pair = undefined;
      throw error;
    });
    return this.#pair;
  }

  /** Drops the cached key and nonces (the key was cleared or replaced, here or in another tab). */
  forget(): void {
    this.#pair = undefined;
    this.#nonces.clear();
  }

  /** A proof for `method` on `url`; bound to `accessToken` (its `ath`) when one is sent with it. */
  async proof(method: string, url: string, accessToken?: string): Promise<string> {
    const target = new URL(url);
    const nonce = this.#nonces.get(target.origin);
    const claims: DpopProofClaims = {
      htm: method,
      htu: `${target.origin}${target.pathname}`,
      iat: Math.floor(this.#now() / 1000),
      jti: randomId(16),
      ...(accessToken !== undefined && { ath: await sha256Base64Url(accessToken) }),
      ...(nonce !== undefined && { nonce }),
    };
    return this.#signer.sign(await this.keyPair(), claims);
  }

  /**
   * Remembers the `DPoP-Nonce` of a response, if any (RFC 9449 §8, §9).
   * @returns whether it differs from the nonce the request carried (a retry can succeed).
   */
  noteNonce(url: string, response: Response): boolean {
    const nonce = response.headers.get('DPoP-Nonce');
    // A nonce is a header value of visible ASCII (RFC 9449 §8.1); anything else is ignored.
    if (nonce === null || !/^[\x21-\x7e]{1,1024}$/.test(nonce)) return false;
    const origin = new URL(url).origin;
    const changed = this.#nonces.get(origin) !== nonce;
    this.#nonces.set(origin, nonce);
    return changed;
  }

  /** The public key's JWK thumbprint, for `dpop_jkt` at the authorization endpoint. */
  async thumbprint(): Promise<string> {
    return this.#signer.thumbprint((await this.keyPair()).publicKey);
  }

  async #load(): Promise<CryptoKeyPair> {
    const stored = await this.#keyStore.get<CryptoKeyPair>(SLOT);
    if (stored) return stored;
    // Non-extractable: the private key never exists as bytes in JavaScript (the public key always can).
    // The cast narrows the union some lib typings (workerd's) declare for generateKey.
    const generated = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    return this.#keyStore.getOrCreate<CryptoKeyPair>(SLOT, generated);
  }
}

async function sha256Base64Url(text: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(text))));
}
