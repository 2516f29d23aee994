import { env } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import { d1Adapter, migrateD1 } from '../../adapters/cloudflare-d1/index.js';
import { schemaStatements } from '../../adapters/cloudflare-d1/schema.js';
import { InvalidRequestError, StorageError } from '../../src/errors.js';
import { describeAdapterConformance } from '../../src/storage/conformance/index.js';
import { bytes, createD1, ensureD1 } from './helpers.js';
// Vite inlines the migration file as text, so the test compares the shipped SQL itself.
import migration0001 from '../../adapters/cloudflare-d1/migrations/0001_create_vault_entries.sql?raw';

describeAdapterConformance('cloudflare-d1', { create: (clock) => createD1(clock.now) });

describe('cloudflare-d1 specifics', () => {
  test('migrateD1 is idempotent and creates exactly what the SQL migration file creates', async () => {
    await migrateD1(env.DB);
    await migrateD1(env.DB);
    await migrateD1(env.DB, { table: 'vault_file_check' });
    const normalize = (sql: string) => sql.replace(/--[^\n]*\n/g, '').replace(/\s+/g, ' ').trim();
    const fromFile = migration0001
      .replace(/--[^\n]*\n/g, '')
      .split(';')
      .map(normalize)
      .filter((sql) => sql.length > 0);
    expect(fromFile).toEqual(schemaStatements('vault_entries').map(normalize));
    const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'vault_%' ORDER BY name").all<{
      name: string;
    }>();
    expect(results.map((row) => row.name)).toEqual(
      expect.arrayContaining(['vault_entries', 'vault_entries_guard', 'vault_file_check', 'vault_file_check_guard']),
    );
  });

  test('values are stored as BLOBs, and a batch leaves no guard rows behind', async () => {
    const adapter = await createD1(Date.now);
    const key = `blob/${crypto.randomUUID()}/k`;
    await adapter.put(key, bytes('sealed'));
    const row = await env.DB.prepare('SELECT typeof(value) AS type FROM vault_entries WHERE key = ?').bind(key).first<{ type: string }>();
    expect(row?.type).toBe('blob');
    const version = (await adapter.get(key))!.version;
    expect((await adapter.batch!([{ type: 'put', key, value: bytes('x'), condition: { ifVersion: version } }])).ok).toBe(true);
    expect(await adapter.batch!([{ type: 'put', key, value: bytes('y'), condition: { ifVersion: version } }])).toEqual({ ok: false, failed: 0, entries: [] });
    const guards = await env.DB.prepare('SELECT count(*) AS n FROM vault_entries_guard').first<{ n: number }>();
    expect(guards?.n).toBe(0);
  });

  test('concurrent conditional batches on one key: exactly one of 100 applies', async () => {
    const adapter = await createD1(Date.now);
    const key = `batch-race/${crypto.randomUUID()}/k`;
    const version = await adapter.put(key, bytes('start'));
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        adapter.batch!([
          { type: 'put', key, value: bytes(`winner-${index}`), condition: { ifVersion: version } },
          { type: 'put', key: `${key}/side-${index}`, value: bytes('side') },
        ]),
      ),
    );
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    const winner = results.findIndex((result) => result.ok);
    expect(new TextDecoder().decode((await adapter.get(key))!.value)).toBe(`winner-${winner}`);
    expect((await adapter.list({ prefix: `${key}/side-` })).keys).toEqual([`${key}/side-${winner}`]);
  });

  test('a table name is an identifier; a wrong-kind binding names the option', async () => {
    expect(() => d1Adapter({ database: env.DB, table: 'x; DROP TABLE y' })).toThrow(InvalidRequestError);
    for (const wrong of [env.KV, env.VAULT_DO, undefined, {}]) {
      let caught: unknown;
      try {
        d1Adapter({ database: wrong as never });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidRequestError);
      expect((caught as InvalidRequestError).field).toBe('database');
    }
    await expect(migrateD1(env.KV)).rejects.toBeInstanceOf(InvalidRequestError);
  });

  test('a 10 MiB value is refused at the boundary, naming the field and the adapter', async () => {
    const adapter = await createD1(Date.now);
    const error = await adapter.put('big/x/k', new Uint8Array(10 * 1024 * 1024)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe('value');
    expect((error as Error).message).toContain('cloudflare-d1');
  });

  test('a backend failure is a StorageError naming the adapter (missing table)', async () => {
    await ensureD1();
    const adapter = d1Adapter({ database: env.DB, table: 'vault_never_migrated' });
    const error = await adapter.get('k').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).adapter).toBe('cloudflare-d1');
  });
});
