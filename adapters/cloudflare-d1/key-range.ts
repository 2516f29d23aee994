/**
 * Prefix ranges for SQL backends (D1, Durable Object SQLite). SQLite compares
 * TEXT with memcmp over UTF-8, i.e. by code point, so a prefix scan is the
 * half-open range [prefix, upperBound(prefix)) and it can use the primary key
 * index. `LIKE` would be case-insensitive and treat `%`/`_` as wildcards.
 */

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

/** Orders keys the way SQLite does (by code point), for merging shard listings. */
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
