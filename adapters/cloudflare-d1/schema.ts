import { entriesSchema } from '../../src/storage/sql.js';

/**
 * The D1 schema as statements, parameterised by table name. The numbered files
 * in `migrations/` are the same statements for the default table, for
 * `wrangler d1 migrations apply`; a test checks that the two agree.
 */

export { DEFAULT_TABLE, isValidTableName } from '../../src/storage/sql.js';

/** Name of the CHECK constraint a failed batch condition violates. */
export const BATCH_CONDITION_CONSTRAINT = 'vault_batch_condition';

/** Statements of migration 0001 for `table`: the shared entries table, and the guard table of atomic batches. */
export function schemaStatements(table: string): string[] {
  return [
    ...entriesSchema(table),
    `CREATE TABLE IF NOT EXISTS ${table}_guard (
  ok INTEGER NOT NULL CONSTRAINT ${BATCH_CONDITION_CONSTRAINT} CHECK (ok = 1)
)`,
  ];
}
