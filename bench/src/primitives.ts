import type { Keyring, StorageAdapter } from '../../src/index.js';
import type { BatchOperation } from '../../src/storage/index.js';

/**
 * The raw operations a token operation is made of, straight on Web Crypto and
 * the storage adapter, with none of OAuthStore's parsing, validation, JSON or
 * records: the floor an implementation cannot go below. Keys are the
 * keyring's own non-extractable keys; payload sizes are measured from the
 * records the real store wrote.
 */
export interface Primitives {
  hmac(length: number): Promise<void>;
  sha256(length: number): Promise<void>;
  /** One storage read of a sealed fixture, then one AES-GCM open of what was read. */
  readOpen(fixture: string): Promise<void>;
  /** One atomic batch reading `fixtures` (and `absent` keys), then one AES-GCM open of each fixture read. */
  batchReadOpen(fixtures: readonly string[], absent: readonly string[]): Promise<void>;
  /** One AES-GCM seal of `length` plaintext bytes. */
  seal(length: number): Promise<Uint8Array<ArrayBuffer>>;
  /**
   * One atomic batch: a check that `fixture` is present, the create-if-absent
   * of `claim` (the single use), the puts, and a read of `read`; then one
   * AES-GCM open of what was read.
   */
  transition(fixture: string, claim: { key: string; value: Uint8Array<ArrayBuffer> }, puts: readonly { key: string; value: Uint8Array<ArrayBuffer> }[], read: string): Promise<void>;
  /** Stores a sealed fixture of `length` plaintext bytes under `name`. */
  fixture(name: string, length: number): Promise<void>;
}

const AAD_BYTES = 64;
const IV_BYTES = 12;

export function primitives(keyring: Keyring, adapter: StorageAdapter): Primitives {
  const entry = keyring.entries[0]!;
  const aad = crypto.getRandomValues(new Uint8Array(AAD_BYTES));
  const messages = new Map<number, Uint8Array<ArrayBuffer>>();
  const message = (length: number): Uint8Array<ArrayBuffer> => {
    let bytes = messages.get(length);
    if (!bytes) {
      bytes = crypto.getRandomValues(new Uint8Array(length));
      messages.set(length, bytes);
    }
    return bytes;
  };
  const seal = async (length: number): Promise<Uint8Array<ArrayBuffer>> => {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, entry.encryptionKey, message(length)));
    const out = new Uint8Array(IV_BYTES + sealed.length);
    out.set(iv);
    out.set(sealed, IV_BYTES);
    return out;
  };
  const open = async (value: Uint8Array<ArrayBuffer>): Promise<void> => {
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv: value.subarray(0, IV_BYTES), additionalData: aad }, entry.encryptionKey, value.subarray(IV_BYTES));
  };
  const batch = async (operations: BatchOperation[]) => {
    const result = await adapter.batch!(operations);
    if (!result.ok) throw new Error('floor batch lost its condition');
    return result.entries;
  };
  return {
    async hmac(length) {
      await crypto.subtle.sign('HMAC', entry.lookupKey, message(length));
    },
    async sha256(length) {
      await crypto.subtle.digest('SHA-256', message(length));
    },
    async readOpen(fixture) {
      const found = await adapter.get(`floor/${fixture}`);
      if (!found) throw new Error(`floor fixture ${fixture} missing`);
      await open(found.value);
    },
    async batchReadOpen(fixtures, absent) {
      const entries = await batch([...fixtures.map((name) => ({ type: 'get' as const, key: `floor/${name}` })), ...absent.map((key) => ({ type: 'get' as const, key }))]);
      await Promise.all(entries.slice(0, fixtures.length).map((found) => open(found!.value)));
    },
    seal,
    async transition(fixture, claim, puts, read) {
      const entries = await batch([
        { type: 'check', key: `floor/${fixture}`, condition: { ifPresent: true } },
        { type: 'put', key: claim.key, value: claim.value, condition: { ifAbsent: true } },
        ...puts.map((put) => ({ type: 'put' as const, key: put.key, value: put.value })),
        { type: 'get', key: `floor/${read}` },
      ]);
      await open(entries[0]!.value);
    },
    async fixture(name, length) {
      await adapter.put(`floor/${name}`, await seal(length));
    },
  };
}
