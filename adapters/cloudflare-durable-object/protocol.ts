import type { CheckedBatchOperation } from '../../src/storage/checks.js';
import type { BatchResult, WriteCondition } from '../../src/storage/contract.js';

/**
 * What travels between the Durable Object adapter and `VaultDurableObject`
 * over RPC. Every call carries the caller's `now` (epoch ms): the adapter's
 * clock is the logical clock, so expiry reads the same in the Worker and in
 * the object (and a test clock reaches the object).
 */

export interface EntryResult {
  value: Uint8Array<ArrayBuffer>;
  version: string;
  expiresAt: number | null;
}

export interface ListPageResult {
  keys: string[];
  /** More keys follow the last one returned. */
  more: boolean;
}

/** The RPC surface of `VaultDurableObject` the adapter calls. */
export interface VaultObjectRpc {
  get(key: string, now: number): Promise<EntryResult | null>;
  put(key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | null, now: number): Promise<string>;
  compareAndSet(key: string, value: Uint8Array<ArrayBuffer>, condition: WriteCondition, expiresAt: number | null, now: number): Promise<string | null>;
  delete(key: string, ifVersion: string | null, now: number): Promise<boolean>;
  list(prefix: string, after: string | null, limit: number, now: number): Promise<ListPageResult>;
  /** One atomic batch over keys of one partition (the adapter routes it to that partition's object). */
  batch(operations: CheckedBatchOperation[], now: number): Promise<BatchResult>;
  deleteExpired(now: number): Promise<number>;
}
