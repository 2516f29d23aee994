import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { expect, test } from 'vitest';
import { fullFlow } from '../oauth/full-flow.js';
import { findSecrets } from '../oauth/oauth-store-helpers.js';
import { createStorage, type Configuration } from './oauth-storage.js';

/**
 * Below the adapters: after a full OAuthStore flow, dump the backends
 * themselves — every row of every D1 table, every KV key with its value and
 * metadata, every row of every table in each Durable Object's SQLite — and
 * search them for every plaintext secret and identifier of the flow.
 */

type Dump = { key: string; version: string; value: Uint8Array }[];
const encoder = new TextEncoder();

function cellBytes(cell: unknown): Uint8Array {
  if (cell instanceof ArrayBuffer) return new Uint8Array(cell);
  if (ArrayBuffer.isView(cell)) return new Uint8Array(cell.buffer, cell.byteOffset, cell.byteLength);
  if (Array.isArray(cell)) return Uint8Array.from(cell as number[]);
  return encoder.encode(String(cell));
}

/** Every row as one entry: its cells' bytes joined, its column names as the key. */
function rowsToDump(table: string, rows: Record<string, unknown>[]): Dump {
  return rows.map((row, index) => {
    const parts = Object.values(row).map(cellBytes);
    const value = new Uint8Array(parts.reduce((sum, part) => sum + part.length + 1, 0));
    let offset = 0;
    for (const part of parts) {
      value.set(part, offset);
      offset += part.length + 1;
    }
    return { key: `${table}#${index}:${Object.keys(row).join(',')}`, version: '', value };
  });
}

async function dumpD1(): Promise<Dump> {
  const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all<{ name: string }>();
  const out: Dump = [];
  for (const { name } of results) {
    const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all<Record<string, unknown>>();
    out.push(...rowsToDump(name, rows.results));
  }
  return out;
}

async function dumpKv(): Promise<Dump> {
  const out: Dump = [];
  let cursor: string | undefined;
  do {
    const page = await env.KV.list(cursor === undefined ? {} : { cursor });
    for (const key of page.keys) {
      const { value, metadata } = await env.KV.getWithMetadata(key.name, 'arrayBuffer');
      out.push({ key: `${key.name}\u0000${JSON.stringify(metadata)}`, version: '', value: new Uint8Array(value ?? new ArrayBuffer(0)) });
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return out;
}

async function dumpDurableObjects(name: string, shards: number): Promise<Dump> {
  const out: Dump = [];
  for (let shard = 0; shard < shards; shard++) {
    const stub = env.VAULT_DO.get(env.VAULT_DO.idFromName(`${name}/${shard}`));
    const tables = await runInDurableObject(stub, (_, state) => {
      const names = state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        .toArray();
      return names.map(({ name: table }) => ({ table, rows: state.storage.sql.exec(`SELECT * FROM "${table}"`).toArray() as Record<string, unknown>[] }));
    });
    for (const { table, rows } of tables) out.push(...rowsToDump(`${name}/${shard}/${table}`, rows));
  }
  return out;
}

for (const configuration of ['d1', 'durable-object', 'kv+durable-object'] as const satisfies Configuration[]) {
  test(`raw backend dumps after a full flow on ${configuration} hold no code, token, secret, user id, redirect URI or scope`, async () => {
    const storage = await createStorage(configuration, Date.now, 8);
    const secrets = await fullFlow(storage);
    const dumps: Dump[] = [];
    if (storage.where.d1Table) dumps.push(await dumpD1());
    if (storage.where.kvPrefix) dumps.push(await dumpKv());
    if (storage.where.doName) dumps.push(await dumpDurableObjects(storage.where.doName, storage.where.doShards!));
    // The dumps are not empty: the flow's records are there, only sealed.
    const rows = dumps.flat();
    if (storage.where.d1Table) expect(rows.some((row) => row.key.startsWith(`${storage.where.d1Table}#`))).toBe(true);
    if (storage.where.kvPrefix) expect(rows.some((row) => row.key.startsWith(storage.where.kvPrefix!))).toBe(true);
    if (storage.where.doName) expect(rows.some((row) => row.key.startsWith(`${storage.where.doName}/`))).toBe(true);
    expect(findSecrets(dumps, secrets)).toEqual([]);
    // The search itself works: a planted secret is found.
    expect(findSecrets([[...rows, { key: 'planted', version: '', value: encoder.encode(`x${secrets.secondRefreshToken}y`) }]], secrets)).toEqual(
      expect.arrayContaining([expect.stringContaining('secondRefreshToken')]),
    );
  }, 120_000);
}
