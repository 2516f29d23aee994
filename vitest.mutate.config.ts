import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against each mutant (`npm run mutate`, stryker.config.json). Stryker's vitest
 * runner needs one config without projects, so this is the Node project cut down to the fast tests that
 * exercise the mutated code. Left out: demos, Chromium-driven and redis-server tests, the 500-caller races
 * (tests/mutation/oauth-store-fast.test.ts runs the same suites with small races and no negative controls), the
 * tests whose time is a negative control's timeouts (server-device, server-par) and the scale runs.
 */
export default defineConfig({
  test: {
    name: 'mutate',
    environment: 'node',
    include: [
      'tests/shared/**/*.test.ts',
      'tests/mutation/**/*.test.ts',
      'tests/node/*-mutation.test.ts',
      'tests/node/memory-adapter.test.ts',
      'tests/node/storage-kit.test.ts',
      'tests/node/migrate.test.ts',
      'tests/node/round-trips.test.ts',
      'tests/node/edge-validation.test.ts',
      'tests/node/grant-extension.test.ts',
      'tests/node/oauth-store-client-keys.test.ts',
      'tests/node/token-vault.test.ts',
      'tests/node/indexeddb-adapter.test.ts',
      'tests/node/server-dpop.test.ts',
      'tests/node/server-jwt.test.ts',
      'tests/node/server-client-assertion.test.ts',
      'tests/node/server-policy.test.ts',
    ],
    testTimeout: 30_000,
  },
});
