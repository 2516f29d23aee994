import type { Keyring } from '../../src/crypto/keyring.js';
import { RecordStore } from '../../src/records/record-store.js';
import type { StorageAdapter, StoredEntry } from '../../src/storage/contract.js';
import { conditionHolds } from '../../src/storage/batch-plan.js';
import { base64, dumpAdapter as dumpPrefix, findPlaintext, type DumpEntry } from '../conformance/plaintext-scan.js';

/**
 * Helpers of the OAuthStore suite. Web APIs only (no Node): the suite also
 * runs inside workerd.
 */

const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A PKCE verifier and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(verifier)));
  return { verifier, challenge: base64url(digest) };
}

/** Every entry of an adapter (one argument, so it can be passed to `map`). */
export function dumpAdapter(adapter: StorageAdapter): Promise<DumpEntry[]> {
  return dumpPrefix(adapter);
}

/**
 * Opens every record an adapter holds (keys `<kind>/<id>`) under `keyring`:
 * throws `IntegrityError` on the first one that does not open. Returns how
 * many opened and how many had expired meanwhile.
 */
export async function openEveryRecord(adapter: StorageAdapter, keyring: Keyring, now: () => number): Promise<{ opened: number; expired: number }> {
  const records = new RecordStore({ adapter, keyring, now });
  let [opened, expired] = [0, 0];
  for (const { key } of await dumpPrefix(adapter)) {
    const split = key.indexOf('/');
    if ((await records.collection(key.slice(0, split)).get(key.slice(split + 1))) === null) expired++;
    else opened++;
  }
  return { opened, expired };
}

/** A comparable fingerprint of a dump (key, version, bytes): to prove "nothing changed". */
export function fingerprint(dump: DumpEntry[]): string[] {
  return dump.map((entry) => `${entry.key}\u0000${entry.version}\u0000${base64(entry.value)}`);
}

/** Labels of the `secrets` found anywhere in the dumps (the one scanner: plaintext-scan.ts). */
export function findSecrets(dumps: DumpEntry[][], secrets: Record<string, string>): string[] {
  const entries = dumps.flat();
  return Object.entries(secrets).flatMap(([label, secret]) => (findPlaintext(entries, [secret]).length > 0 ? [label] : []));
}

/**
 * A delegating copy of an adapter (class-based adapters keep their `this`)
 * with some methods replaced: to inject failures or pauses.
 */
export function interceptAdapter(inner: StorageAdapter, overrides: Partial<StorageAdapter>): StorageAdapter {
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    get: (key) => inner.get(key),
    put: (key, value, options) => inner.put(key, value, options),
    compareAndSet: (key, value, condition, options) => inner.compareAndSet(key, value, condition, options),
    delete: (key, options) => inner.delete(key, options),
    list: (options) => inner.list(options),
    ...(inner.batch && { batch: (operations: Parameters<NonNullable<StorageAdapter['batch']>>[0]) => inner.batch!(operations) }),
    ...(inner.deleteExpired && { deleteExpired: () => inner.deleteExpired!() }),
    ...(inner.close && { close: () => inner.close!() }),
    ...overrides,
  };
}

/**
 * NEGATIVE CONTROL ONLY: an adapter whose batches are a racy check-then-act
 * (read every key, wait, then decide and write) but which CLAIMS to be
 * atomic, so OAuthStore's construction check lets it through. Used to prove
 * the concurrency tests can see a race. With `contenders`, every batch that
 * makes a conditional write waits, after reading, until that many have read
 * (or 2 s passed): the interleaving does not depend on the machine's speed.
 */
export function racyAdapterClaimingAtomicity(inner: StorageAdapter, contenders?: number): StorageAdapter {
  let waiting: (() => void)[] = [];
  const barrier = (): Promise<void> => {
    if (contenders === undefined) return new Promise((resolve) => setTimeout(resolve, 0));
    return new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length >= contenders) {
        for (const release of waiting.splice(0)) release();
      } else {
        setTimeout(resolve, 2000);
      }
    });
  };
  return {
    ...inner,
    name: `lying(${inner.name})`,
    capabilities: { ...inner.capabilities, atomic: true, atomicBatch: true },
    get: (key) => inner.get(key),
    put: (key, value, options) => inner.put(key, value, options),
    delete: (key, options) => inner.delete(key, options),
    list: (options) => inner.list(options),
    compareAndSet: async (key, value, condition, options) => {
      const current = await inner.get(key);
      await barrier();
      return conditionHolds(condition, current) ? inner.put(key, value, options) : null;
    },
    async batch(operations) {
      const before = await Promise.all(operations.map((operation) => inner.get(operation.key)));
      if (operations.some((operation) => operation.type !== 'get' && operation.type !== 'check' && operation.condition !== undefined)) await barrier();
      const entries: (StoredEntry | null)[] = [];
      let failed: number | undefined;
      operations.forEach((operation, index) => {
        if (operation.type === 'get') entries.push(before[index]!);
        else if (failed === undefined && operation.condition && !conditionHolds(operation.condition, before[index]!)) failed = index;
      });
      if (failed !== undefined) return { ok: false, failed, entries };
      for (const operation of operations) {
        if (operation.type === 'put') await inner.put(operation.key, operation.value, operation.expiresAt === undefined ? undefined : { expiresAt: operation.expiresAt });
        if (operation.type === 'delete') await inner.delete(operation.key);
      }
      return { ok: true, entries };
    },
  };
}

/**
 * NEGATIVE CONTROL ONLY: `racyAdapterClaimingAtomicity` (check, wait for
 * `contenders`, then set) while `racing.on` is set, the adapter itself otherwise,
 * so one store can be set up honestly and then raced.
 */
export function switchablyRacy(adapter: StorageAdapter, racing: { on: boolean }, contenders = 50): StorageAdapter {
  const racy = racyAdapterClaimingAtomicity(adapter, contenders);
  const pick = () => (racing.on ? racy : adapter);
  return {
    ...racy,
    get: (key) => pick().get(key),
    put: (key, value, options) => pick().put(key, value, options),
    compareAndSet: (key, value, condition, options) => pick().compareAndSet(key, value, condition, options),
    ...(adapter.batch && { batch: (operations: Parameters<NonNullable<StorageAdapter['batch']>>[0]) => pick().batch!(operations) }),
  };
}
