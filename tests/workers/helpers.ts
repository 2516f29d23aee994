import { env } from 'cloudflare:workers';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { d1Adapter, migrateD1 } from '../../adapters/cloudflare-d1/index.js';
import { durableObjectAdapter } from '../../adapters/cloudflare-durable-object/index.js';
import { kvAdapter } from '../../adapters/cloudflare-kv/index.js';

/** Factories for the three Cloudflare adapters on the test Worker's bindings. */

let migrated: Promise<void> | undefined;

/** Migrates the test D1 database once per file (idempotent anyway). */
export function ensureD1(): Promise<void> {
  return (migrated ??= migrateD1(env.DB));
}

export async function createD1(now: () => number): Promise<StorageAdapter> {
  await ensureD1();
  return d1Adapter({ database: env.DB, now });
}

/** A fresh object-name prefix keeps each suite's objects apart. */
export function createDurableObject(now: () => number, shards = 8, name = `test-${crypto.randomUUID()}`): StorageAdapter {
  return durableObjectAdapter({ namespace: env.VAULT_DO, shards, name, now });
}

export function createKv(now: () => number): StorageAdapter {
  return kvAdapter({ namespace: env.KV, now });
}

export const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
export const text = (value: Uint8Array): string => new TextDecoder().decode(value);

/** Settles every promise and counts outcomes: for races that may throw. */
export async function settle<T>(promises: Promise<T>[]): Promise<{ values: T[]; errors: unknown[] }> {
  const results = await Promise.allSettled(promises);
  return {
    values: results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    errors: results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
  };
}
