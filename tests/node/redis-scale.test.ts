import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectRedis, redisAdapter } from '../../adapters/redis/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { racyAdapterClaimingAtomicity } from '../oauth/oauth-store-helpers.js';
import { describeScaleRaces, raceAll, setupScale, summary } from '../oauth/oauth-scale.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

/** The scale races of tests/oauth/oauth-scale.ts on a real redis-server, every record on Redis. */

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

// 2,000 calls queue some 20,000 commands at once on a machine shared with other test files: a
// generous timeout, so that queueing is never counted as a lost race (the default is 5 s).
describeScaleRaces('redis', async (clock) => ({
  adapter: redisAdapter({ client, keyPrefix: `scale-${crypto.randomUUID()}:`, now: clock.now, commandTimeoutMs: 60_000 }),
}));

test('negative control: Redis behind a check-then-act wrapper that claims atomicity double-spends under the same race', async () => {
  const clock = createTestClock();
  const redis = redisAdapter({ client, keyPrefix: `liar-${crypto.randomUUID()}:`, now: clock.now });
  const { codes, exchange } = await setupScale({ adapter: racyAdapterClaimingAtomicity(redis) }, clock, 20);
  const result = await raceAll(codes, exchange);
  console.log(`[scale] ${JSON.stringify({ configuration: 'redis claiming atomic through a racy wrapper (negative control)', scenario: 'redemption', ...summary(result) })}`);
  expect(result.doubleSpent).toBeGreaterThan(0);
}, 120_000);
