import { partitionOf } from '../../src/storage/contract.js';
import { shardOf } from '../cloudflare-durable-object/shard.js';

/**
 * Where a store's data lives in Redis. A key's partition (`partitionOf`) is
 * hashed to one of `shards` hash tags, and everything a script touches for
 * that partition shares the tag, so it is one cluster slot:
 *
 * - `<prefix>{<shard>}:<key>`   one string per entry: header + sealed bytes
 * - `<prefix>{<shard>}#index`   sorted set of the shard's keys, all score 0 (listing by ZRANGE BYLEX)
 * - `<prefix>{<shard>}#expiry`  sorted set of the shard's expiring keys, score = expiresAt
 */
export interface ShardKeys {
  readonly index: string;
  readonly expiry: string;
}

export interface Layout {
  readonly shards: number;
  shardOfKey(key: string): number;
  entryKey(key: string): string;
  shardKeys(shard: number): ShardKeys;
}

export function createLayout(keyPrefix: string, shards: number): Layout {
  const base = (shard: number): string => `${keyPrefix}{${shard}}`;
  const shardOfKey = (key: string): number => shardOf(partitionOf(key), shards);
  return {
    shards,
    shardOfKey,
    entryKey: (key) => `${base(shardOfKey(key))}:${key}`,
    shardKeys: (shard) => ({ index: `${base(shard)}#index`, expiry: `${base(shard)}#expiry` }),
  };
}

/**
 * An entry's string: `<version>\n<expiresAt or nothing>\n<value bytes>`. One
 * value per key keeps a record one `GET` and one `SET ... PXAT`; the version
 * and expiry are ASCII, the value is opaque.
 */
const NEWLINE = 0x0a;
const ascii = new TextDecoder('latin1');
const encoder = new TextEncoder();

/** The entry string for a new version (a copy of `value`: the caller may reuse its buffer). */
export function encodeEntry(version: string, expiresAt: number | undefined, value: Uint8Array): Uint8Array<ArrayBuffer> {
  const header = encoder.encode(`${version}\n${expiresAt ?? ''}\n`);
  const entry = new Uint8Array(header.byteLength + value.byteLength);
  entry.set(header);
  entry.set(value, header.byteLength);
  return entry;
}

export interface DecodedEntry {
  value: Uint8Array<ArrayBuffer>;
  version: string;
  expiresAt: number | undefined;
}

/** Decodes an entry string read back from Redis (a copy: the reply buffer is not kept). */
export function decodeEntry(raw: Uint8Array): DecodedEntry {
  const first = raw.indexOf(NEWLINE);
  const second = raw.indexOf(NEWLINE, first + 1);
  if (first < 1 || second < 0) throw new Error('a stored entry has no header');
  const expiry = ascii.decode(raw.subarray(first + 1, second));
  const value = new Uint8Array(raw.byteLength - second - 1);
  value.set(raw.subarray(second + 1));
  return { value, version: ascii.decode(raw.subarray(0, first)), expiresAt: expiry === '' ? undefined : Number(expiry) };
}
