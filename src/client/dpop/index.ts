/**
 * `oauth-vault/dpop`: DPoP proofs (RFC 9449) for a {@link TokenVault}. The
 * only entry point of the SPA side that loads `jose` (its JWS signing, JWK
 * export and thumbprint; tree-shaken to those), so the core stays free of
 * JOSE code and no JWS is written by hand.
 *
 * @example
 * ```ts
 * import { TokenVault } from 'oauth-vault';
 * import { dpop } from 'oauth-vault/dpop';
 * import { indexedDbStorage } from 'oauth-vault/indexeddb';
 *
 * const vault = await TokenVault.open({ storage: indexedDbStorage({ name: 'my-app' }), name: 'my-app', dpop: dpop(), refresh });
 * const response = await vault.dpopFetch(tokenEndpoint, { method: 'POST', body }); // code exchange, with a proof
 * await vault.save(await response.json());
 * await vault.fetch('https://api.example.com/me');                                 // Authorization: DPoP …, DPoP: <proof>
 * ```
 *
 * @module
 */
import { SignJWT, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { DpopProofClaims, DpopSigner } from '../dpop-proofs.js';

export type { DpopProofClaims, DpopSigner } from '../dpop-proofs.js';

/**
 * The DPoP signer for `TokenVault.open({ dpop: dpop() })`: ES256 proofs with
 * `typ: "dpop+jwt"` and the public key as the `jwk` header, signed by the
 * vault's non-extractable P-256 key.
 */
export function dpop(): DpopSigner {
  // The public JWK of a key pair never changes: export it once per key.
  const jwks = new WeakMap<CryptoKey, Promise<JWK>>();
  const publicJwk = (publicKey: CryptoKey): Promise<JWK> => {
    let jwk = jwks.get(publicKey);
    if (!jwk) {
      // Only the members a public EC key has (RFC 7518 §6.2.1): never key_ops, ext or anything private.
      jwk = exportJWK(publicKey).then(({ kty, crv, x, y }) => ({ kty, crv, x, y }) as JWK);
      jwks.set(publicKey, jwk);
    }
    return jwk;
  };
  return {
    async sign(keyPair: CryptoKeyPair, claims: DpopProofClaims): Promise<string> {
      const jwk = await publicJwk(keyPair.publicKey);
      return new SignJWT({ ...claims }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk }).sign(keyPair.privateKey);
    },
    async thumbprint(publicKey: CryptoKey): Promise<string> {
      return calculateJwkThumbprint(await publicJwk(publicKey), 'sha256');
    },
  };
}
