import { afterAll, beforeAll } from 'vitest';
import { connectRedis, redisAdapter } from '../../adapters/redis/index.js';
import { describeOAuthStoreSuite } from '../oauth/oauth-store-suite.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

let server: RedisServer;
let client: Awaited<ReturnType<typeof connectRedis>>;

beforeAll(async () => {
  server = await startRedisServer();
  client = await connectRedis({ url: server.url });
}, 30_000);

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

// Every record on Redis (single-use ones included), under a key prefix of its own per test.
describeOAuthStoreSuite('redis', {
  create: async (clock) => ({ adapter: redisAdapter({ client, keyPrefix: `${crypto.randomUUID()}:`, now: clock.now }) }),
});
