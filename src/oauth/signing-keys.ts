import { InvalidRequestError } from '../errors.js';
import { toBase64Url, utf8 } from '../util/bytes.js';
import { readForScan, type StoreContext } from './context.js';
import type { RecordCollection } from '../records/record-store.js';
import { TimedCache } from './timed-cache.js';

/**
 * Signing keys for JWT access tokens (and anything else the server signs):
 * key pairs generated with Web Crypto, the private half kept only sealed at
 * rest (`signing-key/<kid>`, AES-GCM like every record) and imported
 * non-extractable when used. A key signs for `signingKeyRotationSeconds`,
 * then stays published (its public half, in the JWKS) for an overlap at
 * least as long as the tokens it signed, so they keep verifying; then it
 * expires. The next key is created when the current one stops signing:
 * lazily, at the first signature after that.
 */

export type SigningAlgorithm = 'ES256' | 'RS256';
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256'];


/** A published public key: a JWK with its key id, algorithm and use. */
export type PublicJwk = JsonWebKey & { kid: string; alg: SigningAlgorithm; use: 'sig' };

interface SigningKeyRecord {
  alg: SigningAlgorithm;
  /** Private JWK: sealed with the record, never stored otherwise. */
  privateJwk: JsonWebKey;
  publicJwk: PublicJwk;
  createdAt: number;
  /** It signs until then; it verifies until the record expires. */
  signUntil: number;
}

/** A key to sign with: `privateKey` is non-extractable. */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  /** Public JWK with `kid`, `alg` and `use`. */
  publicJwk: PublicJwk;
}

// Declared here: the DOM and the Workers typings name these parameter types differently.
interface KeyParams {
  name: string;
  namedCurve?: string;
  modulusLength?: number;
  publicExponent?: Uint8Array<ArrayBuffer>;
  hash?: string;
}

const PARAMS: Record<SigningAlgorithm, { generate: KeyParams; import: KeyParams }> = {
  ES256: { generate: { name: 'ECDSA', namedCurve: 'P-256' }, import: { name: 'ECDSA', namedCurve: 'P-256' } },
  RS256: {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  },
};

/** RFC 7638 JWK thumbprint (SHA-256, base64url): the key id. */
export async function jwkThumbprint(jwk: JsonWebKey): Promise<string> {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(JSON.stringify(members)))));
}

function publicOnly(jwk: JsonWebKey, kid: string, alg: SigningAlgorithm): PublicJwk {
  const { kty, crv, x, y, n, e } = jwk;
  return { kty, ...(crv && { crv, x, y }), ...(n && { n, e }), kid, alg, use: 'sig' } as PublicJwk;
}

export class SigningKeys {
  readonly #ctx: StoreContext;
  readonly #rotationMs: number;
  readonly #overlapMs: number;
  /** The published records, re-read at most once a minute per isolate (they never change, only come and go). */
  readonly #records = new TimedCache<{ kid: string; record: SigningKeyRecord; expiresAt: number }[]>(60_000, 1);
  readonly #imported = new Map<string, Promise<CryptoKey>>();

  constructor(ctx: StoreContext, rotationMs: number, overlapMs: number) {
    this.#ctx = ctx;
    this.#rotationMs = rotationMs;
    this.#overlapMs = overlapMs;
  }

  async #all(fresh = false): Promise<{ kid: string; record: SigningKeyRecord; expiresAt: number }[]> {
    const now = this.#ctx.now();
    const cached = fresh ? undefined : this.#records.get('all', now);
    if (cached) return cached.filter((key) => key.expiresAt > now);
    const collection = this.#ctx.records.signingKey as RecordCollection<SigningKeyRecord>;
    const keys: { kid: string; record: SigningKeyRecord; expiresAt: number }[] = [];
    for await (const kid of collection.ids()) {
      const found = await readForScan(collection, kid);
      if (found && found !== 'unreadable') keys.push({ kid, record: found.data, expiresAt: found.expiresAt! });
    }
    keys.sort((a, b) => b.record.createdAt - a.record.createdAt);
    this.#records.set('all', keys, now);
    return keys;
  }

  /** The key that signs now for `alg`: the newest one still signing, or a new one. */
  async current(alg: SigningAlgorithm = 'ES256'): Promise<SigningKey> {
    if (!SIGNING_ALGORITHMS.includes(alg)) throw new InvalidRequestError('alg', `must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
    const now = this.#ctx.now();
    let key = (await this.#all()).find((candidate) => candidate.record.alg === alg && candidate.record.signUntil > now);
    // Another isolate may have created one since this isolate last looked.
    if (!key) key = (await this.#all(true)).find((candidate) => candidate.record.alg === alg && candidate.record.signUntil > now);
    if (!key) key = await this.#create(alg, now);
    return this.#use(key.kid, key.record);
  }

  async #create(alg: SigningAlgorithm, now: number): Promise<{ kid: string; record: SigningKeyRecord; expiresAt: number }> {
    // Extractable only so the private half can be sealed; it is re-imported non-extractable to sign.
    const pair = (await crypto.subtle.generateKey(PARAMS[alg].generate as Parameters<typeof crypto.subtle.generateKey>[0], true, ['sign', 'verify'])) as CryptoKeyPair;
    const [privateJwk, publicJwk] = await Promise.all([crypto.subtle.exportKey('jwk', pair.privateKey), crypto.subtle.exportKey('jwk', pair.publicKey)]);
    const kid = await jwkThumbprint(publicJwk as JsonWebKey);
    const record: SigningKeyRecord = { alg, privateJwk: privateJwk as JsonWebKey, publicJwk: publicOnly(publicJwk as JsonWebKey, kid, alg), createdAt: now, signUntil: now + this.#rotationMs };
    const expiresAt = record.signUntil + this.#overlapMs;
    await (this.#ctx.records.signingKey as RecordCollection<SigningKeyRecord>).create(kid, record, { expiresAt });
    this.#records.delete('all');
    return { kid, record, expiresAt };
  }

  #use(kid: string, record: SigningKeyRecord): Promise<SigningKey> {
    let privateKey = this.#imported.get(kid);
    if (!privateKey) {
      privateKey = crypto.subtle.importKey('jwk', record.privateJwk, PARAMS[record.alg].import as Parameters<typeof crypto.subtle.importKey>[2], false, ['sign']) as Promise<CryptoKey>;
      this.#imported.set(kid, privateKey);
    }
    return privateKey.then((key) => ({ kid, alg: record.alg, privateKey: key, publicJwk: record.publicJwk }));
  }

  /** The public keys that verify now (signing, and in their overlap): a JWKS document's `keys`. */
  async publicKeys(): Promise<PublicJwk[]> {
    return (await this.#all()).map((key) => key.record.publicJwk);
  }
}
