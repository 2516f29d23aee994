import { describeOAuthStoreSuite } from '../oauth/oauth-store-suite.js';
import { describeSingleUseSuite } from '../oauth/single-use-suite.js';
import { createStorage } from './oauth-storage.js';

// The whole OAuthStore suite on each Cloudflare configuration, on real bindings in workerd.
// Every test gets fresh storage (a new D1 table, new object names, a new KV prefix).
// The negative control needs only enough contenders to show a race (every winner writes tokens and
// audit events, slow through workerd): 100 let dozens win, where the real races stay at exactly one.
const negativeControlContenders = 100;
describeOAuthStoreSuite('cloudflare-d1', { create: async (clock) => createStorage('d1', clock.now), negativeControlContenders });
describeOAuthStoreSuite('durable-object (8 shards)', {
  create: async (clock) => createStorage('durable-object', clock.now, 8),
  negativeControlContenders,
});
describeOAuthStoreSuite('kv + durable-object (8 shards) for single-use records', {
  create: async (clock) => createStorage('kv+durable-object', clock.now, 8),
  negativeControlContenders,
});

describeSingleUseSuite('cloudflare-d1', { create: async (clock) => createStorage('d1', clock.now) });
describeSingleUseSuite('durable-object (8 shards)', { create: async (clock) => createStorage('durable-object', clock.now, 8) });
describeSingleUseSuite('kv + durable-object (8 shards)', { create: async (clock) => createStorage('kv+durable-object', clock.now, 8) });
