import { RESP_TYPES } from '@redis/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectRedis, redisAdapter } from '../../adapters/redis/index.js';
import type { DumpEntry } from '../conformance/plaintext-scan.js';
import { fullFlow } from '../oauth/full-flow.js';
import { findSecrets } from '../oauth/oauth-store-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

/**
 * Below the adapter: after full OAuthStore flows on Redis, read every key of
 * the database itself (SCAN, then DUMP of each key and its contents by type:
 * entry strings, the sorted-set indexes with their members and scores) and
 * search it all for every plaintext secret and identifier of the flows.
 */

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectRedis>>;
const asBytes = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectRedis({ url: server.url });
}, 30_000);

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

/** A reply as bytes: nested arrays (RESP3 pairs) flattened, numbers as their text. */
const replyBytes = (reply: unknown): Buffer[] =>
  Array.isArray(reply) ? reply.flatMap(replyBytes) : [Buffer.isBuffer(reply) ? reply : Buffer.from(String(reply))];

/** Every key of the database with its DUMP and its readable contents, one entry per key. */
async function dumpDatabase(): Promise<DumpEntry[]> {
  const out: DumpEntry[] = [];
  let cursor = '0';
  do {
    const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'COUNT', '500'], asBytes)) as [Buffer, Buffer[]];
    cursor = next.toString();
    for (const key of keys) {
      const type = String(await client.sendCommand(['TYPE', key]));
      const dump = (await client.sendCommand(['DUMP', key], asBytes)) as Buffer;
      const contents =
        type === 'string'
          ? replyBytes(await client.sendCommand(['GET', key], asBytes))
          : type === 'zset'
            ? replyBytes(await client.sendCommand(['ZRANGE', key, '0', '-1', 'WITHSCORES'], asBytes))
            : [Buffer.from(`unexpected type ${type}`)];
      out.push({ key: `${key.toString('latin1')} (${type})`, version: '', value: Buffer.concat([dump, ...contents.flatMap((part) => [Buffer.from('\n'), part])]) });
    }
  } while (cursor !== '0');
  return out;
}

test('a raw dump of Redis after full flows holds no code, token, secret, user id, redirect URI or scope', async () => {
  const secrets = [
    await fullFlow({ adapter: redisAdapter({ client, keyPrefix: 'dump-a:' }) }),
    await fullFlow({ adapter: redisAdapter({ client, keyPrefix: 'dump-b:', shards: 1 }) }),
  ];
  const dump = await dumpDatabase();
  // The dump is not empty: entry strings and both kinds of index are there, only sealed.
  const types = new Set(dump.map((entry) => entry.key.slice(entry.key.lastIndexOf('(') + 1, -1)));
  expect(types).toEqual(new Set(['string', 'zset']));
  expect(dump.some((entry) => entry.key.startsWith('dump-a:{') && entry.key.includes('}#index'))).toBe(true);
  expect(dump.some((entry) => entry.key.startsWith('dump-b:{0}#expiry'))).toBe(true);
  expect(dump.filter((entry) => entry.key.endsWith('(string)')).length).toBeGreaterThan(20);
  for (const flow of secrets) expect(findSecrets([dump], flow)).toEqual([]);
  // The search itself works: a planted secret is found, in a value and in a key.
  const planted = (secret: string, where: 'key' | 'value') =>
    findSecrets([[...dump, where === 'key' ? { key: `x${secret}y`, version: '', value: new Uint8Array() } : { key: 'planted', version: '', value: new TextEncoder().encode(`x${secret}y`) }]], secrets[0]!);
  expect(planted(secrets[0]!.secondRefreshToken!, 'value')).toEqual(['secondRefreshToken']);
  expect(planted(secrets[0]!.userId!, 'key')).toEqual(['userId']);
});
