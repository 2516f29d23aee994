import { expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { ConsistencyError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { nonAtomicWrapper } from '../conformance/adapter-conformance.js';
import { describeOAuthStoreSuite } from '../oauth/oauth-store-suite.js';

describeOAuthStoreSuite('memory', { create: async (clock) => ({ adapter: memoryAdapter({ now: clock.now }) }) });

// Split storage like KV + Durable Object: a non-atomic adapter for the rest, an atomic one (no batch) for grants.
describeOAuthStoreSuite('memory, split: non-atomic adapter + atomic single-use adapter without batch', {
  create: async (clock) => {
    const single = memoryAdapter({ now: clock.now });
    return {
      adapter: nonAtomicWrapper(memoryAdapter({ now: clock.now })),
      singleUseAdapter: { ...single, capabilities: { ...single.capabilities, atomicBatch: false }, batch: undefined },
    };
  },
});

test('a non-atomic adapter without an atomic single-use adapter is refused at construction', async () => {
  const keyring = await Keyring.fromSecret(generateSecret());
  expect(() => new OAuthStore({ keyring, adapter: nonAtomicWrapper(memoryAdapter()) })).toThrow(ConsistencyError);
  expect(() => new OAuthStore({ keyring, adapter: nonAtomicWrapper(memoryAdapter()) })).toThrow(/singleUseAdapter/);
});
