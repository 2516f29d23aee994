/**
 * The D1 schema as statements, parameterised by table name. The numbered files
 * in `migrations/` are the same statements for the default table, for
 * `wrangler d1 migrations apply`; a test checks that the two agree.
 */

/** Default table name (the one the SQL migration files create). */
export const DEFAULT_TABLE = 'vault_entries';

/** Name of the CHECK constraint a failed batch condition violates. */
export const BATCH_CONDITION_CONSTRAINT = 'vault_batch_condition';

const TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Whether `table` is a safe SQL identifier (it is spliced into statements). */
export function isValidTableName(table: string): boolean {
  return TABLE_PATTERN.test(table);
}

/** Statements of migration 0001 for `table`. */
export function schemaStatements(table: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
  key TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  version TEXT NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at) WHERE expires_at IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${table}_guard (
  ok INTEGER NOT NULL CONSTRAINT ${BATCH_CONDITION_CONSTRAINT} CHECK (ok = 1)
)`,
  ];
}
