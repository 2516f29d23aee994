import { createClient } from '@redis/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectRedis, redisAdapter } from '../../adapters/redis/index.js';
import { createLayout } from '../../adapters/redis/layout.js';
import { InvalidRequestError, StorageError } from '../../src/errors.js';
import { describeAdapterConformance } from '../../src/storage/conformance/index.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectRedis>>;
let stores = 0;
/** A key prefix of its own per adapter: the tests share one server. */
const freshPrefix = (): string => `t${stores++}-${crypto.randomUUID().slice(0, 8)}:`;
const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectRedis({ url: server.url });
}, 30_000);

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

describeAdapterConformance('redis', {
  create: (clock) => redisAdapter({ client, keyPrefix: freshPrefix(), now: clock.now }),
  extra: () => {
    test('native expiry: PXAT is the logical expiry plus the grace period', async () => {
      const adapter = redisAdapter({ client, keyPrefix: 'pxat:', shards: 1, expiryGraceMs: 30_000 });
      const expiresAt = Date.now() + 120_000;
      await adapter.put('k', bytes('v'), { expiresAt });
      expect(await client.sendCommand(['PEXPIRETIME', 'pxat:{0}:k'])).toBe(expiresAt + 30_000);
      await adapter.put('k', bytes('v'));
      expect(await client.sendCommand(['PEXPIRETIME', 'pxat:{0}:k'])).toBe(-1); // a write without expiry clears it
    });

    test('scripts still run after Redis forgot them (SCRIPT FLUSH): EVALSHA falls back to EVAL', async () => {
      const adapter = redisAdapter({ client, keyPrefix: freshPrefix() });
      const first = await adapter.compareAndSet('k', bytes('a'), { ifAbsent: true });
      await client.sendCommand(['SCRIPT', 'FLUSH']);
      expect(await adapter.compareAndSet('k', bytes('b'), { ifVersion: first! })).not.toBeNull();
      expect(await adapter.compareAndSet('k', bytes('c'), { ifVersion: first! })).toBeNull();
    });

    test('key prefixes keep stores apart in one database', async () => {
      const [a, b] = [redisAdapter({ client, keyPrefix: freshPrefix() }), redisAdapter({ client, keyPrefix: freshPrefix() })];
      await a.put('same/key', bytes('a'));
      expect(await b.get('same/key')).toBeNull();
      expect(await b.compareAndSet('same/key', bytes('b'), { ifAbsent: true })).not.toBeNull();
      expect((await a.list({ prefix: '' })).keys).toEqual(['same/key']);
      expect(new TextDecoder().decode((await a.get('same/key'))!.value)).toBe('a');
    });

    test('a listing skips expired keys and removes them from the index; deleteExpired removes the entry strings', async () => {
      let time = Date.now();
      const prefix = freshPrefix();
      const adapter = redisAdapter({ client, keyPrefix: prefix, shards: 1, now: () => time });
      await adapter.put('a', bytes('1'), { expiresAt: time + 1_000 });
      await adapter.put('b', bytes('2'));
      time += 1_001;
      expect(await adapter.list({ prefix: '' })).toEqual({ keys: ['b'] });
      expect(await client.sendCommand(['ZRANGE', `${prefix}{0}#index`, '0', '-1'])).toEqual(['b']);
      expect(await client.sendCommand(['EXISTS', `${prefix}{0}:a`])).toBe(1); // Redis drops it after the grace period
      await adapter.put('c', bytes('3'), { expiresAt: time + 1_000 });
      time += 1_001;
      expect(await adapter.deleteExpired!()).toBe(1);
      expect(await client.sendCommand(['EXISTS', `${prefix}{0}:c`])).toBe(0);
      expect(await client.sendCommand(['ZCARD', `${prefix}{0}#expiry`])).toBe(0);
    });

    test('a shard that stops at its scan budget bounds the page: no live key of it is skipped, pages may come back empty', async () => {
      let time = Date.now();
      const adapter = redisAdapter({ client, keyPrefix: freshPrefix(), shards: 2, now: () => time });
      // Keys placed in chosen shards: 2,000 expired "a" keys and a live "b" key in shard 0, 2,000 expired "c" keys in shard 1.
      const { shardOfKey } = createLayout('', 2);
      const inShard = (shard: number, stem: string, count: number): string[] => {
        const keys: string[] = [];
        for (let index = 0; keys.length < count; index++) {
          const key = `e/${stem}${String(index).padStart(5, '0')}`;
          if (shardOfKey(key) === shard) keys.push(key);
        }
        return keys;
      };
      const expired = [...inShard(0, 'a', 2000), ...inShard(1, 'c', 2000)];
      const live = [inShard(0, 'b', 1)[0]!, inShard(1, 'd', 1)[0]!];
      for (let index = 0; index < expired.length; index += 200) {
        await Promise.all(expired.slice(index, index + 200).map((key) => adapter.put(key, bytes('x'), { expiresAt: time + 1_000 })));
      }
      await Promise.all(live.map((key) => adapter.put(key, bytes('y'))));
      time += 1_001;
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await adapter.list({ prefix: 'e/', limit: 3, ...(cursor !== undefined && { cursor }) });
        pages.push(page.keys);
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(pages.flat()).toEqual(live);
      expect(pages[0]).toEqual([]); // both shards spent their budget on expired keys: an empty page, and a cursor
    });

    test('a cursor is stable under concurrent writes: keys present throughout come once each, in order', async () => {
      const adapter = redisAdapter({ client, keyPrefix: freshPrefix() });
      const stable = Array.from({ length: 300 }, (_, index) => `s/${String(index * 2).padStart(4, '0')}`);
      await Promise.all(stable.map((key) => adapter.put(key, bytes('v'))));
      const seen: string[] = [];
      let cursor: string | undefined;
      let round = 0;
      do {
        // Between pages, others insert keys between the stable ones and delete what they inserted earlier.
        const inserted = Array.from({ length: 20 }, (_, index) => `s/${String((round * 40 + index * 2 + 1) % 600).padStart(4, '0')}`);
        await Promise.all(inserted.map((key) => adapter.put(key, bytes('churn'))));
        if (round > 0) await Promise.all(inserted.slice(0, 10).map((key) => adapter.delete(key)));
        const page = await adapter.list({ prefix: 's/', limit: 25, ...(cursor !== undefined && { cursor }) });
        seen.push(...page.keys);
        cursor = page.cursor;
        round++;
      } while (cursor !== undefined);
      const sorted = [...seen].sort();
      expect(seen).toEqual(sorted);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((key) => stable.includes(key))).toEqual(stable);
    });

    test('options are checked: client or cluster, keyPrefix (no hash-tag braces), shards, timeouts', () => {
      const refused = (options: unknown, field: string) => {
        let caught: unknown;
        try {
          redisAdapter(options as Parameters<typeof redisAdapter>[0]);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(InvalidRequestError);
        expect((caught as InvalidRequestError).field).toBe(field);
      };
      refused(undefined, 'options');
      refused({}, 'client');
      refused({ client: {} }, 'client');
      refused({ cluster: {} }, 'cluster');
      refused({ client, cluster: client }, 'cluster');
      refused({ client, keyPrefix: 'app{1}:' }, 'keyPrefix');
      refused({ client, shards: 0 }, 'shards');
      refused({ client, shards: 1025 }, 'shards');
      refused({ client, commandTimeoutMs: 0 }, 'commandTimeoutMs');
      refused({ client, expiryGraceMs: -1 }, 'expiryGraceMs');
      refused({ client, now: 5 }, 'now');
    });

    test('a refused connection is an error at once, not a hang', async () => {
      const stopped = await startRedisServer();
      await stopped.stop();
      const started = Date.now();
      await expect(connectRedis({ url: stopped.url })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    test("a client that queues commands while offline still cannot hang a call: commandTimeoutMs ends it with a retriable StorageError", async () => {
      const lost = await startRedisServer();
      const queueing = createClient({ url: lost.url, socket: { reconnectStrategy: () => 100 } });
      queueing.on('error', () => undefined);
      await queueing.connect();
      try {
        const adapter = redisAdapter({ client: queueing, commandTimeoutMs: 300 });
        await adapter.put('k', bytes('v'));
        await lost.kill();
        const started = Date.now();
        const error = await adapter.get('k').catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).retriable).toBe(true);
        expect((error as StorageError).adapter).toBe('redis');
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        queueing.destroy();
        await lost.stop();
      }
    });

    test('a full Redis under noeviction refuses the write loudly (a retriable StorageError), and what it held stays', async () => {
      const full = await startRedisServer();
      const small = await connectRedis({ url: full.url });
      try {
        await small.sendCommand(['CONFIG', 'SET', 'maxmemory', '4mb', 'maxmemory-policy', 'noeviction']);
        const adapter = redisAdapter({ client: small, shards: 1 });
        const kept = await adapter.put('kept', bytes('v'));
        const chunk = new Uint8Array(1024 * 1024);
        let error: unknown;
        for (let index = 0; index < 16 && error === undefined; index++) {
          error = await adapter.put(`filler/${index}`, chunk).then(() => undefined, (caught: unknown) => caught);
        }
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).retriable).toBe(true);
        expect(String((error as Error).cause)).toMatch(/OOM/);
        expect((await adapter.get('kept'))?.version).toBe(kept);
      } finally {
        await small.close();
        await full.stop();
      }
    });

    test('no listing or cleanup ever scans the keyspace: KEYS and SCAN were never called', async () => {
      const stats = String(await client.sendCommand(['INFO', 'commandstats']));
      expect(stats).toContain('cmdstat_evalsha');
      expect(stats).not.toMatch(/cmdstat_(keys|scan):/);
    });
  },
});
