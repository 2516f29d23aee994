import { describeOAuthStoreSuite } from '../oauth/oauth-store-suite.js';
import { describeSingleUseSuite } from '../oauth/single-use-suite.js';
import { createStorage } from './oauth-storage.js';

// The whole OAuthStore suite and the single-use suite on one Cloudflare configuration, on real bindings
// in workerd; one file per configuration, so a workerd that fails takes one configuration down, not three.
// Every test gets fresh storage (a new D1 table, new object names, a new KV prefix).
// The negative control needs only enough contenders to show a race (every winner writes tokens and
// audit events, slow through workerd): 100 let dozens win, where the real races stay at exactly one.
describeOAuthStoreSuite('durable-object (8 shards)', { create: async (clock) => createStorage('durable-object', clock.now, 8), negativeControlContenders: 100 });
describeSingleUseSuite('durable-object (8 shards)', { create: async (clock) => createStorage('durable-object', clock.now, 8) });
