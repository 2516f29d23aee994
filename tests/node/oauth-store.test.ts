import { expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { ConsistencyError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { nonAtomicWrapper } from '../../src/storage/conformance/index.js';
import { describeOAuthStoreSuite } from '../oauth/oauth-store-suite.js';
import { describeSingleUseSuite } from '../oauth/single-use-suite.js';

describeOAuthStoreSuite('memory', { create: async (clock) => ({ adapter: memoryAdapter({ now: clock.now }) }) });

// Split storage like KV + Durable Object: a non-atomic adapter for clients, an atomic one with batches per partition.
describeOAuthStoreSuite('memory, split: non-atomic adapter + atomic single-use adapter with batches per partition', {
  create: async (clock) => {
    const single = memoryAdapter({ now: clock.now });
    return {
      adapter: nonAtomicWrapper(memoryAdapter({ now: clock.now })),
      singleUseAdapter: { ...single, capabilities: { ...single.capabilities, batchScope: 'partition' } },
    };
  },
});

test('a non-atomic adapter without an atomic single-use adapter is refused at construction, and so is one without atomic batches', async () => {
  const keyring = await Keyring.fromSecret(generateSecret());
  expect(() => new OAuthStore({ keyring, adapter: nonAtomicWrapper(memoryAdapter()) })).toThrow(ConsistencyError);
  expect(() => new OAuthStore({ keyring, adapter: nonAtomicWrapper(memoryAdapter()) })).toThrow(/singleUseAdapter/);
  const memory = memoryAdapter();
  const batchless = { ...memory, capabilities: { ...memory.capabilities, atomicBatch: false }, batch: undefined };
  expect(() => new OAuthStore({ keyring, adapter: batchless })).toThrow(/atomic batches/);
});

describeSingleUseSuite('memory', { create: async (clock) => ({ adapter: memoryAdapter({ now: clock.now }) }) });
