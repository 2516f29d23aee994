import type { BatchOperation, Keyring, StorageAdapter } from '../../src/index.js';

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
  /** One storage read of a sealed fixture, then one AES-GCM open of what was read. Returns the version. */
  readOpen(fixture: string): Promise<string>;
  /** One AES-GCM seal of `length` plaintext bytes. */
  seal(length: number): Promise<Uint8Array<ArrayBuffer>>;
  /** One unconditional write. */
  put(key: string, value: Uint8Array<ArrayBuffer>): Promise<void>;
  /** The commit of a transition: a compare-and-set of `fixture` and a put, atomically when the adapter batches. */
  commit(fixture: string, version: string, grant: Uint8Array<ArrayBuffer>, accessKey: string, access: Uint8Array<ArrayBuffer>): Promise<void>;
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
      const value = found.value;
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: value.subarray(0, IV_BYTES), additionalData: aad }, entry.encryptionKey, value.subarray(IV_BYTES));
      return found.version;
    },
    seal,
    async put(key, value) {
      await adapter.put(key, value);
    },
    async commit(fixture, version, grant, accessKey, access) {
      const key = `floor/${fixture}`;
      if (adapter.capabilities.atomicBatch && adapter.batch) {
        const operations: BatchOperation[] = [
          { type: 'put', key, value: grant, condition: { ifVersion: version } },
          { type: 'put', key: accessKey, value: access },
        ];
        if (!(await adapter.batch(operations))) throw new Error('floor commit lost its condition');
        return;
      }
      if ((await adapter.compareAndSet(key, grant, { ifVersion: version })) === null) throw new Error('floor commit lost its condition');
      await adapter.put(accessKey, access);
    },
    async fixture(name, length) {
      await adapter.put(`floor/${name}`, await seal(length));
    },
  };
}
