/**
 * Which of `shards` objects a partition lives in: FNV-1a (32-bit) over the
 * partition's UTF-16 code units. Stable across releases and runtimes, since
 * changing it would move every partition to another object.
 */
export function shardOf(partition: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < partition.length; index++) {
    hash ^= partition.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}
