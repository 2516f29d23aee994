import { createClient, createCluster } from '@redis/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { redisAdapter } from '../../adapters/redis/index.js';
import { describeAdapterConformance } from '../../src/storage/conformance/index.js';
import { fullFlow } from '../oauth/full-flow.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-server.js';

/**
 * The adapter on a real Redis Cluster (three primaries on 127.0.0.1): every
 * script's keys share one hash tag, so each runs on the node that owns that
 * slot, and a store's data spreads over all the nodes.
 */

let cluster: RedisCluster;
let client: ReturnType<typeof createCluster>;
let stores = 0;
const freshPrefix = (): string => `c${stores++}-${crypto.randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  client = createCluster({ rootNodes: [{ url: cluster.nodes[0]!.url }] });
  client.on('error', () => undefined);
  await client.connect();
}, 60_000);

afterAll(async () => {
  await client?.close();
  await cluster?.stop();
});

describeAdapterConformance('redis (cluster of 3)', {
  create: (clock) => redisAdapter({ cluster: client, keyPrefix: freshPrefix(), now: clock.now }),
  extra: () => {
    test('a full OAuthStore flow runs on the cluster', async () => {
      const secrets = await fullFlow({ adapter: redisAdapter({ cluster: client, keyPrefix: freshPrefix() }) });
      expect(secrets.code).toBeTruthy();
    });

    test("a store's partitions spread over every node (the hash tags are not one slot)", async () => {
      const prefix = freshPrefix();
      const adapter = redisAdapter({ cluster: client, keyPrefix: prefix });
      await Promise.all(Array.from({ length: 64 }, (_, index) => adapter.put(`grant/partition-${index}/record`, new Uint8Array([index]))));
      const perNode = await Promise.all(
        cluster.nodes.map(async (node) => {
          const direct = await createClient({ url: node.url }).on('error', () => undefined).connect();
          try {
            const [, keys] = (await direct.sendCommand(['SCAN', '0', 'MATCH', `${prefix}*:grant/*`, 'COUNT', '100000'])) as [string, string[]];
            return keys.length;
          } finally {
            await direct.close();
          }
        }),
      );
      expect(perNode.reduce((sum, count) => sum + count, 0)).toBe(64);
      expect(perNode.every((count) => count > 0), String(perNode)).toBe(true);
      expect((await adapter.list({ prefix: 'grant/' })).keys).toHaveLength(64);
    });

    test('a batch across partitions is refused before anything is sent (it would span slots)', async () => {
      const adapter = redisAdapter({ cluster: client, keyPrefix: freshPrefix() });
      const value = new Uint8Array([1]);
      await expect(adapter.batch!([{ type: 'put', key: 'grant/a/x', value }, { type: 'put', key: 'grant/b/x', value }])).rejects.toMatchObject({ field: 'operations[1].key' });
    });
  },
});
