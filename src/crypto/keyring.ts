import { InvalidRequestError, KeyNotFoundError } from '../errors.js';
import { fromBase64Url, toBase64Url, utf8 } from '../util/bytes.js';
import { requireArray, requireBytes, requireInteger, requireObject, requireString } from '../util/validate.js';
import { KEY_ID_PATTERN, openWithKey, parseHeader, sealWithKey } from './envelope.js';
import { hmacSha256, importHmacKey } from './hmac.js';
import { pbkdf2HmacKey } from './pbkdf2.js';
import { randomId } from './random.js';

/** One generation of keys. Both `CryptoKey`s are non-extractable. */
export interface KeyringEntry {
  /** Short public id written into every envelope sealed with this entry. */
  readonly id: string;
  /** AES-256-GCM key for envelopes. */
  readonly encryptionKey: CryptoKey;
  /** HMAC-SHA-256 key for lookup ids. */
  readonly lookupKey: CryptoKey;
}

/** One secret of a rotation list for {@link Keyring.fromSecret}. */
export interface KeyringSecret {
  /**
   * Public id written into envelopes (letters, digits, `.`, `_`, `-`; at most
   * 64). Optional: without it the entry takes the id the single-secret form
   * derives from the secret. Either way, envelopes sealed by the
   * single-secret form of the same secret open under this entry.
   */
  id?: string;
  /** base64url text or raw bytes; at least 32 bytes of entropy. */
  secret: string | Uint8Array;
}

export interface PassphraseOptions {
  /** At least 16 random bytes (raw, or base64url text), stored beside the data. */
  salt: string | Uint8Array;
  /** PBKDF2 iterations; default 600,000 (OWASP 2023), at least 100,000. */
  iterations?: number;
}

export const MIN_SECRET_BYTES = 32;
export const MIN_SALT_BYTES = 16;
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;
export const MIN_PBKDF2_ITERATIONS = 100_000;
const MAX_PBKDF2_ITERATIONS = 10_000_000;
const MAX_KEYS = 16;

// Distinct labels: one master secret, independent sub-keys (HKDF-Expand style, one block each).
const LABEL_ENCRYPTION = 'oauth-vault/v1/aes-256-gcm';
const LABEL_LOOKUP = 'oauth-vault/v1/lookup-id';
const LABEL_KEY_ID = 'oauth-vault/v1/key-id';

function decodeSecretBytes(field: string, value: unknown, minBytes: number): Uint8Array<ArrayBuffer> {
  if (typeof value === 'string') {
    const bytes = fromBase64Url(requireString(field, value, { max: 4096 }));
    if (!bytes) throw new InvalidRequestError(field, 'must be base64url text');
    if (bytes.length < minBytes) throw new InvalidRequestError(field, `must encode at least ${minBytes} bytes, got ${bytes.length}`);
    return bytes;
  }
  const bytes = requireBytes(field, value, 4096);
  if (bytes.length < minBytes) throw new InvalidRequestError(field, `must be at least ${minBytes} bytes, got ${bytes.length}`);
  return new Uint8Array(bytes);
}

/** An entry derived from a master secret, and the id the single-secret form gives it. */
interface DerivedEntry {
  entry: KeyringEntry;
  derivedId: string;
}

async function deriveEntry(master: CryptoKey, id: string | undefined): Promise<DerivedEntry> {
  const [encryptionBytes, lookupBytes, idBytes] = await Promise.all([
    hmacSha256(master, LABEL_ENCRYPTION),
    hmacSha256(master, LABEL_LOOKUP),
    hmacSha256(master, LABEL_KEY_ID),
  ]);
  const [encryptionKey, lookupKey] = await Promise.all([
    crypto.subtle.importKey('raw', encryptionBytes, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    importHmacKey(lookupBytes),
  ]);
  // Best effort: do not leave derived key bytes around longer than needed.
  encryptionBytes.fill(0);
  lookupBytes.fill(0);
  const derivedId = toBase64Url(idBytes.subarray(0, 6));
  return { entry: { id: id ?? derivedId, encryptionKey, lookupKey }, derivedId };
}

/**
 * The keys that seal records and compute lookup ids. The first entry seals;
 * every entry opens, so a retired key keeps working until it is dropped.
 *
 * Build one per process (or per Worker isolate) and reuse it: derivation is the
 * expensive part, sealing and lookups are cheap.
 *
 * Key ids: the single-secret form seals under an id derived from the secret
 * (`keyring.currentKeyId`, stable for a given secret). A list entry answers
 * to its own `id` and to that derived id, so the upgrade from one secret to a
 * rotation list needs no knowledge of the old id: put the new secret first
 * and the old one after it, with any `id` or none.
 *
 * @example
 * ```ts
 * import { Keyring } from 'oauth-vault';
 * const keyring = await Keyring.fromSecret(env.VAULT_SECRET);
 * // rotation: new secret first, old one kept for reading (records sealed by
 * // the single-secret form above open under the '2026-05' entry)
 * const rotated = await Keyring.fromSecret([
 *   { id: '2026-11', secret: env.VAULT_SECRET_NEW },
 *   { id: '2026-05', secret: env.VAULT_SECRET },
 * ]);
 * ```
 */
export class Keyring {
  readonly #entries: readonly KeyringEntry[];
  readonly #byId: ReadonlyMap<string, KeyringEntry>;

  /** `aliases`: further ids an entry answers to when opening (ids the single-secret form derived). */
  private constructor(entries: readonly KeyringEntry[], aliases: readonly (readonly [string, KeyringEntry])[] = []) {
    this.#entries = entries;
    const byId = new Map<string, KeyringEntry>();
    // Explicit ids win over aliases; the first entry with an alias keeps it.
    for (const [alias, entry] of aliases) if (!byId.has(alias)) byId.set(alias, entry);
    for (const entry of entries) byId.set(entry.id, entry);
    this.#byId = byId;
  }

  static #fromDerived(derived: readonly DerivedEntry[]): Keyring {
    return new Keyring(
      derived.map((item) => item.entry),
      derived.map((item) => [item.derivedId, item.entry] as const),
    );
  }

  /**
   * Keys for a server, from a high-entropy secret (≥ 32 bytes; base64url text
   * as printed by `generateSecret()`, or raw bytes). Sub-keys are derived with
   * HMAC-SHA-256 under distinct labels; there is no PBKDF2 on this path, so it
   * is safe under the Workers PBKDF2 iteration cap.
   *
   * A list means rotation: the first secret seals, every secret opens. An
   * entry's `id` is optional (default: the id the single-secret form derives
   * from that secret), and every entry also opens envelopes sealed by the
   * single-secret form of its secret.
   */
  static async fromSecret(secret: string | Uint8Array | readonly KeyringSecret[]): Promise<Keyring> {
    const list: { id: string | undefined; bytes: Uint8Array<ArrayBuffer> }[] = [];
    if (Array.isArray(secret)) {
      requireArray('secret', secret, 1, MAX_KEYS);
      secret.forEach((item: unknown, index) => {
        const entry = requireObject(`secret[${index}]`, item);
        const id =
          entry.id === undefined ? undefined : requireString(`secret[${index}].id`, entry.id, { max: 64, pattern: KEY_ID_PATTERN });
        if (id !== undefined && list.some((other) => other.id === id)) throw new InvalidRequestError(`secret[${index}].id`, 'is a duplicate');
        list.push({ id, bytes: decodeSecretBytes(`secret[${index}].secret`, entry.secret, MIN_SECRET_BYTES) });
      });
    } else {
      list.push({ id: undefined, bytes: decodeSecretBytes('secret', secret, MIN_SECRET_BYTES) });
    }
    const derived = await Promise.all(
      list.map(async ({ id, bytes }) => {
        const master = await importHmacKey(bytes);
        bytes.fill(0);
        return deriveEntry(master, id);
      }),
    );
    // The same secret twice (or an id that equals another entry's derived id) would make one id name two keys.
    derived.forEach((item, index) => {
      if (derived.some((other, at) => at < index && other.entry.id === item.entry.id)) {
        throw new InvalidRequestError(`secret[${index}]`, 'is a duplicate of an earlier entry');
      }
    });
    return Keyring.#fromDerived(derived);
  }

  /**
   * Keys for a person, from a passphrase: PBKDF2-HMAC-SHA-256 (default
   * 600,000 iterations), derived once here and cached as non-extractable keys.
   * Browsers and Node only: Cloudflare Workers cap PBKDF2 at 100,000 iterations.
   */
  static async fromPassphrase(passphrase: string, options: PassphraseOptions): Promise<Keyring> {
    requireString('passphrase', passphrase, { max: 1024 });
    requireObject('options', options);
    const salt = decodeSecretBytes('options.salt', options.salt, MIN_SALT_BYTES);
    const iterations = requireInteger(
      'options.iterations',
      options.iterations ?? DEFAULT_PBKDF2_ITERATIONS,
      MIN_PBKDF2_ITERATIONS,
      MAX_PBKDF2_ITERATIONS,
    );
    const master = await pbkdf2HmacKey(passphrase, salt, iterations);
    return Keyring.#fromDerived([await deriveEntry(master, undefined)]);
  }

  /**
   * Fresh random keys, generated non-extractable. Persist `entries` (the
   * `CryptoKey` objects themselves, e.g. in IndexedDB) and rebuild with
   * {@link Keyring.fromKeys}; the key bytes never exist in JavaScript.
   */
  static async generate(): Promise<Keyring> {
    // Symmetric algorithms give a CryptoKey; the cast only narrows the union some lib typings declare.
    const [encryptionKey, lookupKey] = (await Promise.all([
      crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
      crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']),
    ])) as [CryptoKey, CryptoKey];
    return new Keyring([{ id: randomId(6), encryptionKey, lookupKey }]);
  }

  /**
   * Rebuilds a keyring from persisted entries (first entry seals). Each key
   * must be usable and keep the README's promises: an AES-GCM 256-bit key
   * for `encrypt` and `decrypt`, an HMAC SHA-256 key of at least 256 bits
   * for `sign`, both non-extractable.
   */
  static fromKeys(entries: readonly KeyringEntry[]): Keyring {
    requireArray('entries', entries, 1, MAX_KEYS);
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      requireObject(`entries[${index}]`, entry);
      const id = requireString(`entries[${index}].id`, entry.id, { max: 64, pattern: KEY_ID_PATTERN });
      if (seen.has(id)) throw new InvalidRequestError(`entries[${index}].id`, 'is a duplicate');
      seen.add(id);
      checkEncryptionKey(`entries[${index}].encryptionKey`, entry.encryptionKey);
      checkLookupKey(`entries[${index}].lookupKey`, entry.lookupKey);
    });
    return new Keyring([...entries]);
  }

  /** Id of the key that seals new envelopes. */
  get currentKeyId(): string {
    return this.#entries[0]!.id;
  }

  /** Ids of every key in the ring, current first. */
  get keyIds(): string[] {
    return this.#entries.map((entry) => entry.id);
  }

  /** The entries, for persisting generated keys. Keys are non-extractable. */
  get entries(): readonly KeyringEntry[] {
    return this.#entries;
  }

  /** Seals `plaintext` under the current key, bound to `aad`. */
  async seal(plaintext: Uint8Array<ArrayBuffer>, aad: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const current = this.#entries[0]!;
    return sealWithKey(current.encryptionKey, current.id, plaintext, aad);
  }

  /**
   * Opens an envelope sealed by any key in the ring.
   * @throws IntegrityError if it was altered or `aad` differs.
   * @throws KeyNotFoundError if its key is not in the ring.
   */
  async open(envelope: Uint8Array<ArrayBuffer>, aad: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const header = parseHeader(envelope);
    const entry = this.#byId.get(header.keyId);
    if (!entry) throw new KeyNotFoundError(header.keyId);
    return openWithKey(entry.encryptionKey, envelope, header, aad);
  }

  /** Id of the key that sealed `envelope` (for re-encryption sweeps). */
  envelopeKeyId(envelope: Uint8Array): string {
    return parseHeader(envelope).keyId;
  }

  /**
   * Keyed lookup id of a secret value under the current key: HMAC-SHA-256 over
   * `context` and `value`, base64url. Stored instead of the secret; without
   * the key it can be neither reversed nor recomputed from a guess.
   */
  lookupId(context: string, value: string | Uint8Array<ArrayBuffer>): Promise<string> {
    return computeLookupId(this.#entries[0]!.lookupKey, context, value);
  }

  /** Lookup ids of `value` under every key, current first: for reads across a rotation. */
  lookupIds(context: string, value: string | Uint8Array<ArrayBuffer>): Promise<string[]> {
    return Promise.all(this.#entries.map((entry) => computeLookupId(entry.lookupKey, context, value)));
  }
}

function requireCryptoKey(field: string, key: unknown): CryptoKey {
  if (!(key instanceof CryptoKey)) throw new InvalidRequestError(field, 'must be a CryptoKey');
  if (key.extractable) throw new InvalidRequestError(field, 'must be non-extractable');
  return key;
}

// Declared here: the DOM and the Workers typings name these types differently.
type Usage = 'encrypt' | 'decrypt' | 'sign';
interface KeyAlgorithmFields {
  name?: string;
  length?: number;
  hash?: { name?: string };
}

function requireUsages(field: string, key: CryptoKey, usages: readonly Usage[]): void {
  const missing = usages.filter((usage) => !(key.usages as readonly string[]).includes(usage));
  if (missing.length > 0) throw new InvalidRequestError(field, `must allow ${usages.map((u) => `"${u}"`).join(' and ')}`);
}

function checkEncryptionKey(field: string, value: unknown): void {
  const key = requireCryptoKey(field, value);
  const algorithm = key.algorithm as KeyAlgorithmFields;
  if (algorithm.name !== 'AES-GCM' || algorithm.length !== 256) throw new InvalidRequestError(field, 'must be an AES-GCM 256-bit key');
  requireUsages(field, key, ['encrypt', 'decrypt']);
}

function checkLookupKey(field: string, value: unknown): void {
  const key = requireCryptoKey(field, value);
  const algorithm = key.algorithm as KeyAlgorithmFields;
  if (algorithm.name !== 'HMAC' || algorithm.hash?.name !== 'SHA-256' || (algorithm.length ?? 0) < 256) {
    throw new InvalidRequestError(field, 'must be an HMAC SHA-256 key of at least 256 bits');
  }
  requireUsages(field, key, ['sign']);
}

async function computeLookupId(key: CryptoKey, context: string, value: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const valueBytes = typeof value === 'string' ? utf8(value) : value;
  const contextBytes = utf8(context);
  // Length-prefix the context so (context, value) pairs cannot collide.
  const message = new Uint8Array(2 + contextBytes.length + valueBytes.length);
  message[0] = contextBytes.length >> 8;
  message[1] = contextBytes.length & 0xff;
  message.set(contextBytes, 2);
  message.set(valueBytes, 2 + contextBytes.length);
  return toBase64Url(await hmacSha256(key, message));
}
