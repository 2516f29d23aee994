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

export type ConditionInput = { ifVersion: string } | { ifAbsent: true };

export interface ListPageResult {
  keys: string[];
  /** More keys follow the last one returned. */
  more: boolean;
}

/** The RPC surface of `VaultDurableObject` the adapter calls. */
export interface VaultObjectRpc {
  get(key: string, now: number): Promise<EntryResult | null>;
  put(key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | null, now: number): Promise<string>;
  compareAndSet(
    key: string,
    value: Uint8Array<ArrayBuffer>,
    condition: ConditionInput,
    expiresAt: number | null,
    now: number,
  ): Promise<string | null>;
  delete(key: string, ifVersion: string | null, now: number): Promise<boolean>;
  list(prefix: string, after: string | null, limit: number, now: number): Promise<ListPageResult>;
  deleteExpired(now: number): Promise<number>;
}
