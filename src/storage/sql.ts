/**
 * SQL shared by the adapters on SQLite (D1, the Durable Object's storage):
 * one table of (key, value, version, expires_at), its statements, and key
 * ranges for prefix listing. A third-party adapter on another SQLite host can
 * reuse them.
 *
 * SQLite compares TEXT with memcmp over UTF-8, i.e. by code point, so a prefix
 * scan is the half-open range [prefix, upperBound(prefix)) and uses the
 * primary key index. (`LIKE` would be case-insensitive and treat `%` and `_`
 * as wildcards.)
 */

/** Default table name. */
export const DEFAULT_TABLE = 'vault_entries';

const TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Whether `table` is a safe SQL identifier (it is spliced into statements). */
export function isValidTableName(table: string): boolean {
  return TABLE_PATTERN.test(table);
}

/** The entries table and its expiry index. */
export function entriesSchema(table: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
  key TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  version TEXT NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at) WHERE expires_at IS NOT NULL`,
  ];
}

/** The condition "not expired at ?" (one parameter: now). */
export const LIVE = '(expires_at IS NULL OR expires_at > ?)';

/** Statements over one table. Parameters are listed beside each. */
export function entryStatements(table: string) {
  return {
    /** (key, now) → value, version, expires_at */
    select: `SELECT value, version, expires_at FROM ${table} WHERE key = ? AND ${LIVE}`,
    /** (key, value, version, expires_at) */
    upsert: `INSERT INTO ${table} (key, value, version, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
    /** (key, value, version, expires_at, now): insert, or take over an expired row; a live row makes it a no-op. */
    insertIfAbsent: `INSERT INTO ${table} (key, value, version, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at
WHERE ${table}.expires_at IS NOT NULL AND ${table}.expires_at <= ?`,
    /** (value, version, expires_at, key, expected version, now) */
    updateIfVersion: `UPDATE ${table} SET value = ?, version = ?, expires_at = ? WHERE key = ? AND version = ? AND ${LIVE}`,
    /** (value, version, expires_at, key, now) */
    updateIfPresent: `UPDATE ${table} SET value = ?, version = ?, expires_at = ? WHERE key = ? AND ${LIVE}`,
    /** (key, now, ifVersion | null, ifVersion | null) */
    deleteLive: `DELETE FROM ${table} WHERE key = ? AND ${LIVE} AND (? IS NULL OR version = ?)`,
    /** (key) */
    deleteAny: `DELETE FROM ${table} WHERE key = ?`,
    /** (now) */
    deleteExpired: `DELETE FROM ${table} WHERE expires_at IS NOT NULL AND expires_at <= ?`,
  };
}

/** The page query of a prefix listing: keys after `cursor` (or from `prefix`), live at `now`, `limit + 1` rows. */
export function listQuery(table: string, prefix: string, cursor: string | undefined, limit: number, now: number): { sql: string; params: (string | number)[] } {
  const after = cursor !== undefined && cursor >= prefix;
  const clauses = [after ? 'key > ?' : 'key >= ?'];
  const params: (string | number)[] = [after ? cursor : prefix];
  const upper = prefixUpperBound(prefix);
  if (upper !== undefined) {
    clauses.push('key < ?');
    params.push(upper);
  }
  params.push(now, limit + 1);
  return { sql: `SELECT key FROM ${table} WHERE ${clauses.join(' AND ')} AND ${LIVE} ORDER BY key LIMIT ?`, params };
}

const MAX_CODE_POINT = 0x10ffff;

/**
 * The smallest string greater than every string that starts with `prefix`, or
 * `undefined` when there is none (empty prefix, or only U+10FFFF characters).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix, (char) => char.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < MAX_CODE_POINT) {
      // Skip the surrogate block: those code points are not valid in UTF-8 text.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return String.fromCodePoint(...points, next);
    }
  }
  return undefined;
}

/** Orders keys the way SQLite does (by code point), for merging listings of several backends. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.codePointAt(index)!;
    const y = b.codePointAt(index)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) index++;
  }
  return a.length < b.length ? -1 : 1;
}
