// The OAuthStore and single-use suites with small races, for the mutation run only (vitest.mutate.config.ts):
// Stryker re-runs every covering test for each mutant, and 500-caller races there would make a run take hours.
// `npm test` runs the full-size races (tests/node/oauth-store.test.ts); this file adds nothing to it.
import { memoryAdapter } from '../../adapters/memory/index.js';
import { nonAtomicWrapper } from '../../src/storage/conformance/index.js';
import { describeOAuthStoreSuite } from '../oauth/oauth-store-suite.js';
import { describeSingleUseSuite } from '../oauth/single-use-suite.js';

// Races small enough to stay fast, large enough to be real; the negative controls (2 s barrier timeouts) stay in `npm test`.
const contenders = 8;
const negativeControls = false;

describeOAuthStoreSuite('memory (mutation run)', {
  create: async (clock) => ({ adapter: memoryAdapter({ now: clock.now }) }),
  contenders,
  negativeControls,
});

describeOAuthStoreSuite('memory, split (mutation run)', {
  create: async (clock) => {
    const single = memoryAdapter({ now: clock.now });
    return {
      adapter: nonAtomicWrapper(memoryAdapter({ now: clock.now })),
      singleUseAdapter: { ...single, capabilities: { ...single.capabilities, batchScope: 'partition' } },
    };
  },
  contenders,
  negativeControls,
});

describeSingleUseSuite('memory (mutation run)', {
  create: async (clock) => ({ adapter: memoryAdapter({ now: clock.now }) }),
  contenders,
  negativeControls,
});
