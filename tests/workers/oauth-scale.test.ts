import { env } from 'cloudflare:workers';
import { expect, test } from 'vitest';
import { kvAdapter } from '../../adapters/cloudflare-kv/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { ConsistencyError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { racyAdapterClaimingAtomicity } from '../oauth/oauth-store-helpers.js';
import { describeScaleRaces, raceAll, setupScale, summary } from '../oauth/oauth-scale.js';
import { createStorage } from './oauth-storage.js';

/**
 * Scale (tests/oauth/oauth-scale.ts): 2,000 concurrent redemptions over 200
 * codes, and 200 refresh families under 10 concurrent rotations each, on
 * every atomic Cloudflare configuration.
 */

for (const configuration of ['d1', 'durable-object', 'kv+durable-object'] as const) {
  describeScaleRaces(configuration, (clock) => createStorage(configuration, clock.now));
}

test('negative control: KV that lies about being atomic double-spends under the same race', async () => {
  const clock = createTestClock();
  const kv = kvAdapter({ namespace: env.KV, keyPrefix: `liar-${crypto.randomUUID()}:`, now: clock.now });
  // KV's own read-then-write, as batches and compare-and-sets, declared atomic.
  const { codes, exchange } = await setupScale({ adapter: racyAdapterClaimingAtomicity(kv) }, clock, 20);
  const result = await raceAll(codes, exchange);
  console.log(`[scale] ${JSON.stringify({ configuration: 'kv claiming atomic (negative control)', scenario: 'redemption', ...summary(result) })}`);
  expect(result.doubleSpent).toBeGreaterThan(0);
}, 120_000);

test('KV without single-use routing is refused by OAuthStore with ConsistencyError, at construction', async () => {
  const keyring = await Keyring.fromSecret(generateSecret());
  expect(() => new OAuthStore({ keyring, adapter: kvAdapter({ namespace: env.KV }) })).toThrow(ConsistencyError);
  expect(
    () => new OAuthStore({ keyring, adapter: kvAdapter({ namespace: env.KV }), singleUseAdapter: kvAdapter({ namespace: env.KV }) }),
  ).toThrow(ConsistencyError);
});
