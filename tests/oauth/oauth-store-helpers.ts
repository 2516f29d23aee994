import type { StorageAdapter } from '../../src/adapter.js';
import { nonAtomicWrapper } from '../conformance/adapter-conformance.js';
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
 * NEGATIVE CONTROL ONLY: an adapter whose compare-and-set is a racy
 * check-then-act (read, yield, write) but which CLAIMS to be atomic, so
 * OAuthStore's construction check lets it through. Used to prove the
 * concurrency tests can see a race.
 */
export function racyAdapterClaimingAtomicity(inner: StorageAdapter): StorageAdapter {
  const racy = nonAtomicWrapper(inner);
  return { ...racy, name: `lying(${inner.name})`, capabilities: { ...racy.capabilities, atomic: true, atomicBatch: false } };
}
