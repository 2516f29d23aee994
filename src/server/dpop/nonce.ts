import type { OAuthStore } from '../../oauth/oauth-store.js';
import { fromBase64Url, toBase64Url, utf8 } from '../../util/bytes.js';

/**
 * Server-provided DPoP nonces (RFC 9449 §8, §9) without state: a nonce is
 * `<window>.<kid>.<signature>`, the time window it was made in, signed with
 * the store's ES256 signing key (sealed at rest, shared by every isolate,
 * rotated with the others). It is accepted in its window and the next one,
 * so a nonce lives between one and two windows. Verifying needs the public
 * key only (from the JWKS every isolate already caches); each isolate signs
 * one nonce per window and remembers the nonces it has verified.
 */

const NONCE = /^(\d{1,12})\.([A-Za-z0-9_-]{1,128})\.([A-Za-z0-9_-]{16,1024})$/;
const ECDSA = { name: 'ECDSA', hash: 'SHA-256' } as const;
const REMEMBERED = 64;

const signedText = (window: number): Uint8Array<ArrayBuffer> => utf8(`oauth-vault dpop-nonce ${window}`);

export class DpopNonces {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #issued = new WeakMap<OAuthStore, { window: number; nonce: Promise<string> }>();
  /** Nonces this isolate verified, with their window. */
  readonly #verified = new Map<string, number>();
  readonly #publicKeys = new Map<string, Promise<CryptoKey | null>>();

  constructor(windowSeconds: number, now: () => number) {
    this.#windowMs = windowSeconds * 1000;
    this.#now = now;
  }

  #window(): number {
    return Math.floor(this.#now() / this.#windowMs);
  }

  /** The nonce to hand out now. */
  current(store: OAuthStore): Promise<string> {
    const window = this.#window();
    const cached = this.#issued.get(store);
    if (cached && cached.window === window) return cached.nonce;
    const nonce = (async () => {
      const key = await store.signingKey('ES256');
      const signature = new Uint8Array(await crypto.subtle.sign(ECDSA, key.privateKey, signedText(window)));
      return `${window}.${key.kid}.${toBase64Url(signature)}`;
    })();
    nonce.catch(() => this.#issued.delete(store));
    this.#issued.set(store, { window, nonce });
    return nonce;
  }

  /** Whether `nonce` is one this server made, in this window or the previous one. */
  async isValid(store: OAuthStore, nonce: string): Promise<boolean> {
    const match = NONCE.exec(nonce);
    if (!match) return false;
    const window = Number(match[1]);
    const current = this.#window();
    if (window !== current && window !== current - 1) return false;
    if (this.#verified.get(nonce) === window) return true;
    const signature = fromBase64Url(match[3]!);
    const publicKey = signature && (await this.#publicKey(store, match[2]!));
    if (!signature || !publicKey || !(await crypto.subtle.verify(ECDSA, publicKey, signature, signedText(window)))) return false;
    if (this.#verified.size >= REMEMBERED) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(nonce, window);
    return true;
  }

  #publicKey(store: OAuthStore, kid: string): Promise<CryptoKey | null> {
    let key = this.#publicKeys.get(kid);
    if (!key) {
      key = (async () => {
        const jwk = (await store.jwks()).keys.find((candidate) => candidate.kid === kid && candidate.alg === 'ES256');
        if (!jwk) return null;
        const { kty, crv, x, y } = jwk;
        return crypto.subtle.importKey('jwk', { kty, crv, x, y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      })();
      // Only found keys are kept: an unknown kid is asked again (a key another isolate just made).
      key.then((found) => found ?? this.#publicKeys.delete(kid), () => this.#publicKeys.delete(kid));
      if (this.#publicKeys.size >= REMEMBERED) this.#publicKeys.delete(this.#publicKeys.keys().next().value!);
      this.#publicKeys.set(kid, key);
    }
    return key;
  }
}
