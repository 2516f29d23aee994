-- oauth-vault D1 schema, version 1. Apply with
--   wrangler d1 migrations apply <DATABASE>
-- or call migrateD1(env.DB) once at first start (it runs these same statements).
-- Values are AES-GCM sealed bytes, and keys carry only kinds and lookup ids.

CREATE TABLE IF NOT EXISTS vault_entries (
  key TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  version TEXT NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS vault_entries_expires_at ON vault_entries (expires_at) WHERE expires_at IS NOT NULL;

-- A failed condition inside an atomic batch inserts ok = 0 here, and the CHECK
-- makes that statement throw, so D1 rolls back the whole batch. Rows never
-- outlive a batch: the last statement of every batch deletes them.
CREATE TABLE IF NOT EXISTS vault_entries_guard (
  ok INTEGER NOT NULL CONSTRAINT vault_batch_condition CHECK (ok = 1)
);
