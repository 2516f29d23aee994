/**
 * `oauth-vault/storage/conformance`: the conformance suite every adapter of
 * oauth-vault passes, for adapters written outside this repository too. It
 * runs under vitest (an optional peer dependency of this subpath only).
 *
 * @example
 * ```ts
 * // my-adapter.test.ts
 * import { describeAdapterConformance } from 'oauth-vault/storage/conformance';
 * import { myAdapter } from './my-adapter.js';
 * describeAdapterConformance('my-adapter', { create: (clock) => myAdapter({ now: clock.now }) });
 * ```
 *
 * @module
 */
export { describeAdapterConformance, type ConformanceOptions } from './suite.js';
export { createTestClock, nonAtomicWrapper, raceBatches, raceCompareAndSet, type TestClock } from './support.js';
