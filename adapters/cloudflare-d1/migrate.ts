import { InvalidRequestError, StorageError } from '../../src/errors.js';
import { requireD1 } from './binding.js';
import { DEFAULT_TABLE, isValidTableName, schemaStatements } from './schema.js';

export interface MigrateD1Options {
  /** Table name; default `vault_entries` (the one the SQL files create). */
  table?: string;
}

/**
 * Creates the oauth-vault tables in a D1 database if they do not exist. The
 * same statements as `adapters/cloudflare-d1/migrations/*.sql`, so it is safe
 * to run after (or instead of) `wrangler d1 migrations apply`, at every start
 * and concurrently: every statement is `IF NOT EXISTS`.
 *
 * Ships from `oauth-vault/cloudflare`.
 *
 * @example
 * ```ts
 * import { migrateD1, d1Adapter } from 'oauth-vault/cloudflare';
 * await migrateD1(env.DB);
 * const adapter = d1Adapter({ database: env.DB });
 * ```
 */
export async function migrateD1(database: unknown, options: MigrateD1Options = {}): Promise<void> {
  const db = requireD1('database', database);
  const table = options.table ?? DEFAULT_TABLE;
  if (typeof table !== 'string' || !isValidTableName(table)) {
    throw new InvalidRequestError('table', 'must be a SQL identifier (letters, digits, underscore; at most 63 characters)');
  }
  try {
    await db.batch(schemaStatements(table).map((sql) => db.prepare(sql)));
  } catch (cause) {
    throw new StorageError('cloudflare-d1', 'migration failed', { cause });
  }
}
