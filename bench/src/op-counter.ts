import type { StorageAdapter } from '../../src/index.js';

/** Counts of primitive operations seen while measuring. */
export interface OpCounts {
  /** `crypto.subtle.sign` (HMAC here). */
  hmac: number;
  digest: number;
  encrypt: number;
  decrypt: number;
  /** Every other `crypto.subtle` call (importKey, wrapKey, unwrapKey, generateKey, derive*, verify). */
  otherCrypto: number;
  reads: number;
  writes: number;
  lists: number;
  batches: number;
  /** Storage calls of any kind (a batch is one). */
  calls: number;
  /**
   * Sequential storage round trips: a call that starts while no other is in
   * flight begins a new one; calls started while one is in flight share it.
   * The figure that decides latency when every call is a network hop.
   */
  roundTrips: number;
}

const zero = (): OpCounts => ({ hmac: 0, digest: 0, encrypt: 0, decrypt: 0, otherCrypto: 0, reads: 0, writes: 0, lists: 0, batches: 0, calls: 0, roundTrips: 0 });

const SUBTLE: Record<string, keyof OpCounts> = {
  sign: 'hmac',
  digest: 'digest',
  encrypt: 'encrypt',
  decrypt: 'decrypt',
  verify: 'otherCrypto',
  importKey: 'otherCrypto',
  exportKey: 'otherCrypto',
  wrapKey: 'otherCrypto',
  unwrapKey: 'otherCrypto',
  generateKey: 'otherCrypto',
  deriveKey: 'otherCrypto',
  deriveBits: 'otherCrypto',
};

/**
 * Counts the storage calls of wrapped adapters (or KV-like bindings) and the
 * `crypto.subtle` calls made while `measure` runs, so op counts are checked
 * against what the code really does instead of trusted. Not reentrant: measure
 * one call at a time.
 */
export interface OpCounter {
  wrap(adapter: StorageAdapter): StorageAdapter;
  /** A KV-binding-like object whose get/put/delete/list calls are counted. */
  wrapKv<T extends object>(kv: T): T;
  measure(fn: () => Promise<unknown>): Promise<OpCounts>;
}

export function opCounter(): OpCounter {
  let counts: OpCounts | undefined;
  let inFlight = 0;
  const count = (field: keyof OpCounts, by = 1): void => {
    if (counts) counts[field] += by;
  };
  /** Counts one storage call and its place on the critical path. */
  const storage = <T>(field: keyof OpCounts, call: () => Promise<T>, by = 1): Promise<T> => {
    count(field, by);
    count('calls');
    if (inFlight === 0) count('roundTrips');
    inFlight++;
    return call().finally(() => void inFlight--);
  };
  return {
    wrap(inner) {
      return {
        ...inner,
        name: inner.name,
        capabilities: inner.capabilities,
        get: (key) => storage('reads', () => inner.get(key)),
        put: (key, value, options) => storage('writes', () => inner.put(key, value, options)),
        compareAndSet: (key, value, condition, options) => storage('writes', () => inner.compareAndSet(key, value, condition, options)),
        delete: (key, options) => storage('writes', () => inner.delete(key, options)),
        list: (options) => storage('lists', () => inner.list(options)),
        ...(inner.batch && {
          batch: (operations) => {
            count('batches');
            const reads = operations.filter((operation) => operation.type === 'get').length;
            count('reads', reads);
            return storage('writes', () => inner.batch!(operations), operations.length - reads);
          },
        }),
      };
    },
    wrapKv(kv) {
      const fields: Record<string, keyof OpCounts> = { get: 'reads', getWithMetadata: 'reads', put: 'writes', delete: 'writes', list: 'lists' };
      return new Proxy(kv, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          const field = typeof property === 'string' ? fields[property] : undefined;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            const invoke = () => (value as (...a: unknown[]) => unknown).apply(target, args);
            return field ? storage(field, () => Promise.resolve(invoke())) : invoke();
          };
        },
      });
    },
    async measure(fn) {
      const subtle = crypto.subtle as unknown as Record<string, (...args: unknown[]) => unknown>;
      const current = zero();
      const patched: string[] = [];
      for (const [name, field] of Object.entries(SUBTLE)) {
        const original = subtle[name];
        if (typeof original !== 'function') continue;
        Object.defineProperty(subtle, name, {
          configurable: true,
          writable: true,
          value: (...args: unknown[]) => {
            current[field]++;
            return original.apply(crypto.subtle, args);
          },
        });
        patched.push(name);
      }
      counts = current;
      try {
        await fn();
      } finally {
        counts = undefined;
        for (const name of patched) delete subtle[name];
      }
      return current;
    },
  };
}
