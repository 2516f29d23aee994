import { describe, expect, test } from 'vitest';
import { InvalidRequestError } from '../../errors.js';
import type { BatchOperation, StorageAdapter } from '../contract.js';
import { createTestClock, nonAtomicWrapper, raceBatches, raceCompareAndSet, type TestClock } from './support.js';

/**
 * The one adapter conformance suite. An adapter's test file is one call to
 * {@link describeAdapterConformance} with a factory. Each test works under
 * its own random key prefix, so adapters need no reset between tests and may
 * share one backend.
 */

export interface ConformanceOptions {
  /** Builds an adapter whose logical expiry reads `clock.now`. */
  create: (clock: TestClock) => StorageAdapter | Promise<StorageAdapter>;
  /** Concurrent contenders in the compare-and-set and batch races (default 200). */
  contenders?: number;
  /** Keys written for the pagination test (default 1000). */
  listKeys?: number;
  /**
   * Also run every race against a check-then-act wrapper of the adapter and
   * expect several winners: proof that the race tests can see a race.
   * Default true for atomic adapters.
   */
  negativeControl?: boolean;
  /** Extra adapter-specific cases, run inside the same `describe`. */
  extra?: (getAdapter: () => Promise<StorageAdapter>) => void;
}

let prefixCounter = 0;
function uniquePrefix(label: string): string {
  return `conf-${label}-${Date.now().toString(36)}-${(prefixCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}/`;
}

/** Keys of one partition (`<prefix>batch/<name>`), so batches are legal on adapters whose batches are per partition. */
const inPartition = (prefix: string, name: string): string => `${prefix}batch/${name}`;

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  // getRandomValues fills at most 64 KiB per call.
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
}

const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
const text = (value: Uint8Array): string => new TextDecoder().decode(value);

/**
 * Index of the first differing byte, or -1 when equal. A plain loop on
 * purpose: a deep-equality matcher over a 1 MiB array allocates so much that
 * workerd 1.20260426 sometimes never finishes the garbage collection it
 * triggers (its cppgc sweeper reposts itself forever).
 */
function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const length = Math.max(actual.length, expected.length);
  for (let index = 0; index < length; index++) if (actual[index] !== expected[index]) return index;
  return -1;
}

async function expectField(adapter: StorageAdapter, promise: Promise<unknown>, field: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error, field).toBeInstanceOf(InvalidRequestError);
  expect((error as InvalidRequestError).field).toBe(field);
  expect((error as Error).message).toContain(adapter.name);
}

/**
 * Runs the conformance suite against an adapter: byte-exact round trips,
 * versions, compare-and-set (sequential, and `contenders` concurrent with
 * exactly one winner when `atomic`), delete with `ifVersion`, logical
 * expiry, pagination, unusual keys, honest capabilities, batches (all or
 * nothing, conditions and reads before writes, concurrent batches with
 * exactly one winner, bad input refused whole), and bad input refused with
 * an `InvalidRequestError` naming the field and the adapter.
 *
 * Ships from `oauth-vault/storage/conformance` (needs vitest).
 *
 * @example
 * ```ts
 * import { describeAdapterConformance } from 'oauth-vault/storage/conformance';
 * describeAdapterConformance('my-backend', { create: (clock) => myAdapter({ now: clock.now }) });
 * ```
 */
export function describeAdapterConformance(label: string, options: ConformanceOptions): void {
  const contenders = options.contenders ?? 200;
  const listKeys = options.listKeys ?? 1000;

  describe(`adapter conformance: ${label}`, () => {
    const clock = createTestClock();
    let adapter: StorageAdapter | undefined;
    const getAdapter = async (): Promise<StorageAdapter> => (adapter ??= await options.create(clock));

    test('round-trips bytes exactly, including empty and 1 MiB values', async () => {
      const a = await getAdapter();
      const prefix = uniquePrefix('bytes');
      const allByteValues = new Uint8Array(256).map((_, index) => index);
      const oneMiB = randomBytes(1024 * 1024);
      const cases: [string, Uint8Array<ArrayBuffer>][] = [
        ['empty', new Uint8Array(0)],
        ['all-byte-values', allByteValues],
        ['random-small', randomBytes(33)],
      ];
      if (a.capabilities.maxValueBytes >= oneMiB.length) cases.push(['one-mib', oneMiB]);
      for (const [name, value] of cases) {
        await a.put(prefix + name, value);
        const read = await a.get(prefix + name);
        expect(read, name).not.toBeNull();
        expect(read!.value).toBeInstanceOf(Uint8Array);
        expect(read!.value.byteLength, name).toBe(value.byteLength);
        expect(firstDifference(read!.value, value), name).toBe(-1);
      }
      expect(cases.map(([name]) => name)).toContain('one-mib');
    });

    test("a stored value is a copy: mutating the caller's buffer changes nothing", async () => {
      const a = await getAdapter();
      const key = uniquePrefix('copy') + 'k';
      const value = bytes('original');
      await a.put(key, value);
      value.fill(0);
      expect(text((await a.get(key))!.value)).toBe('original');
    });

    test('versions change on every write and are never reused for a key', async () => {
      const a = await getAdapter();
      const key = uniquePrefix('versions') + 'k';
      const seen = new Set<string>();
      const v1 = await a.put(key, bytes('one'));
      seen.add(v1);
      expect((await a.get(key))!.version).toBe(v1);
      const v2 = await a.put(key, bytes('one')); // same bytes, still a new version
      seen.add(v2);
      const v3 = await a.compareAndSet(key, bytes('three'), { ifVersion: v2 });
      expect(v3).not.toBeNull();
      seen.add(v3!);
      expect(await a.delete(key)).toBe(true);
      const v4 = await a.compareAndSet(key, bytes('four'), { ifAbsent: true });
      expect(v4).not.toBeNull();
      seen.add(v4!);
      expect(seen.size).toBe(4);
      expect((await a.get(key))!.version).toBe(v4);
    });

    test('compare-and-set honours its condition (sequentially): ifVersion, ifAbsent, ifPresent', async () => {
      const a = await getAdapter();
      const key = uniquePrefix('cas') + 'k';
      expect(await a.compareAndSet(key, bytes('x'), { ifVersion: 'no-such-version' })).toBeNull();
      expect(await a.compareAndSet(key, bytes('x'), { ifPresent: true })).toBeNull();
      expect(await a.get(key)).toBeNull();
      const first = await a.compareAndSet(key, bytes('a'), { ifAbsent: true });
      expect(first).not.toBeNull();
      expect(await a.compareAndSet(key, bytes('b'), { ifAbsent: true })).toBeNull();
      const second = await a.compareAndSet(key, bytes('c'), { ifVersion: first! });
      expect(second).not.toBeNull();
      expect(await a.compareAndSet(key, bytes('d'), { ifVersion: first! })).toBeNull();
      const third = await a.compareAndSet(key, bytes('e'), { ifPresent: true });
      expect(third).not.toBeNull();
      expect(text((await a.get(key))!.value)).toBe('e');
      expect((await a.get(key))!.version).toBe(third);
    });

    test(`compare-and-set: exactly one of ${contenders} concurrent contenders wins (ifVersion and ifAbsent), if atomic`, async (context) => {
      const a = await getAdapter();
      // Honest non-atomic adapters make no promise here (reported as skipped); their own tests show the race.
      if (!a.capabilities.atomic) context.skip();
      for (const mode of ['ifVersion', 'ifAbsent'] as const) {
        const result = await raceCompareAndSet(a, uniquePrefix(`race-${mode}`) + 'k', contenders, mode);
        expect(result.winners, mode).toBe(1);
        expect(result.finalValue, mode).toBe(result.winnerValues[0]);
      }
    });

    test('delete removes a live key, reports whether it did, and honours ifVersion', async () => {
      const a = await getAdapter();
      const prefix = uniquePrefix('delete');
      const key = prefix + 'k';
      const version = await a.put(key, bytes('v'));
      expect(await a.delete(key, { ifVersion: 'other-version' })).toBe(false);
      expect(await a.get(key)).not.toBeNull();
      expect(await a.delete(key, { ifVersion: version })).toBe(true);
      expect(await a.get(key)).toBeNull();
      expect(await a.delete(key)).toBe(false);
      expect(await a.delete(key, { ifVersion: version })).toBe(false);
      // An expired entry is not there to delete, whatever its version.
      const expiring = prefix + 'expiring';
      const expiringVersion = await a.put(expiring, bytes('v'), { expiresAt: clock.now() + 60_000 });
      clock.advance(60_001);
      expect(await a.delete(expiring, { ifVersion: expiringVersion })).toBe(false);
      expect(await a.get(expiring)).toBeNull();
    });

    test("delete's ifVersion must be a non-empty string; anything else is refused and nothing is deleted", async () => {
      const a = await getAdapter();
      const key = uniquePrefix('delete-input') + 'k';
      await a.put(key, bytes('kept'));
      await expectField(a, a.delete(key, { ifVersion: 42 as unknown as string }), 'options.ifVersion');
      await expectField(a, a.delete(key, { ifVersion: '' }), 'options.ifVersion');
      await expectField(a, a.delete(key, { ifPresent: true } as unknown as { ifVersion?: string }), 'options.ifPresent');
      await expectField(a, a.delete(key, 'v1' as unknown as { ifVersion?: string }), 'options');
      expect(text((await a.get(key))!.value)).toBe('kept');
    });

    test('logical expiry: an expired entry reads as absent, is not listed, and counts as absent for ifAbsent', async () => {
      const a = await getAdapter();
      const prefix = uniquePrefix('expiry');
      await a.put(prefix + 'short', bytes('short'), { expiresAt: clock.now() + 90_000 });
      await a.put(prefix + 'long', bytes('long'), { expiresAt: clock.now() + 3_600_000 });
      await a.put(prefix + 'forever', bytes('forever'));
      const short = await a.get(prefix + 'short');
      expect(short).not.toBeNull();
      expect(short!.expiresAt).toBe(clock.now() + 90_000);
      clock.advance(90_001);
      expect(await a.get(prefix + 'short')).toBeNull();
      expect(await a.get(prefix + 'long')).not.toBeNull();
      expect(await a.get(prefix + 'forever')).not.toBeNull();
      expect((await a.list({ prefix })).keys).toEqual([prefix + 'forever', prefix + 'long']);
      expect(await a.compareAndSet(prefix + 'short', bytes('x'), { ifPresent: true })).toBeNull();
      expect(await a.compareAndSet(prefix + 'short', bytes('again'), { ifAbsent: true })).not.toBeNull();
      expect(text((await a.get(prefix + 'short'))!.value)).toBe('again');
      if (a.deleteExpired) {
        clock.advance(3_600_000);
        expect(await a.deleteExpired()).toBeGreaterThanOrEqual(1);
        expect(await a.get(prefix + 'long')).toBeNull();
        expect(await a.get(prefix + 'forever')).not.toBeNull();
      }
    });

    test(`lists ${listKeys} keys through pagination with none lost or repeated, in order`, async () => {
      const a = await getAdapter();
      const prefix = uniquePrefix('list');
      const expected = Array.from({ length: listKeys }, (_, index) => `${prefix}${index.toString().padStart(5, '0')}`);
      // Neighbours that must not appear: a sibling prefix and the bare prefix stem.
      await a.put(prefix.slice(0, -1) + 'x/outside', bytes('-'));
      for (let index = 0; index < expected.length; index += 50) {
        await Promise.all(expected.slice(index, index + 50).map((key) => a.put(key, bytes('v'))));
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await a.list({ prefix, limit: 97, ...(cursor !== undefined && { cursor }) });
        expect(page.keys.length).toBeLessThanOrEqual(97);
        seen.push(...page.keys);
        cursor = page.cursor;
        pages++;
        expect(pages).toBeLessThan(listKeys); // no endless cursor
      } while (cursor !== undefined);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expected);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(listKeys / 97));
    });

    test('unusual keys round-trip and list: unicode, "/", ":", "~", spaces, 512 characters', async () => {
      const a = await getAdapter();
      const prefix = uniquePrefix('keys');
      const room = a.capabilities.maxKeyBytes - new TextEncoder().encode(prefix).length;
      const keys = [
        prefix + 'ünïcødé-ключ-鍵-🔑',
        prefix + 'a/b/c//d/',
        prefix + 'urn:ietf:params:oauth',
        prefix + 'index/~partition',
        prefix + 'with space and %2F',
        prefix + 'x'.repeat(Math.min(512, room)),
      ];
      for (const key of keys) await a.put(key, bytes(key));
      for (const key of keys) expect(text((await a.get(key))!.value)).toBe(key);
      expect((await a.list({ prefix })).keys).toEqual([...keys].sort());
      if (a.capabilities.maxKeyBytes >= 512) {
        const long = 'k'.repeat(512);
        await a.put(long, bytes('long'));
        expect((await a.get(long))!.value).toEqual(bytes('long'));
        await a.delete(long);
      }
    });

    test('capability flags are honest', async () => {
      const a = await getAdapter();
      const caps = a.capabilities;
      expect(typeof caps.atomic).toBe('boolean');
      expect(typeof caps.nativeTtl).toBe('boolean');
      expect(typeof caps.atomicBatch).toBe('boolean');
      expect([undefined, 'store', 'partition']).toContain(caps.batchScope);
      expect(caps.maxValueBytes).toBeGreaterThan(0);
      expect(caps.maxKeyBytes).toBeGreaterThanOrEqual(512);
      expect(typeof a.batch === 'function').toBe(caps.atomicBatch);
    });

    test('bad input is refused with InvalidRequestError naming the field, and nothing changes', async () => {
      const a = await getAdapter();
      const key = uniquePrefix('bad') + 'k';
      await a.put(key, bytes('kept'));
      await expectField(a, a.get(42 as unknown as string), 'key');
      await expectField(a, a.put('', bytes('x')), 'key');
      await expectField(a, a.put(key, 'text' as unknown as Uint8Array<ArrayBuffer>), 'value');
      await expectField(a, a.put(key, new Uint8Array(a.capabilities.maxValueBytes + 1)), 'value');
      await expectField(a, a.put('k'.repeat(a.capabilities.maxKeyBytes + 1), bytes('x')), 'key');
      await expectField(a, a.compareAndSet(key, bytes('x'), {} as never), 'condition');
      await expectField(a, a.compareAndSet(key, bytes('x'), { ifVersion: 'v', ifAbsent: true } as never), 'condition');
      await expectField(a, a.put(key, bytes('x'), { expiresAt: -1 }), 'options.expiresAt');
      await expectField(a, a.list({ prefix: key, limit: 0 }), 'options.limit');
      await expectField(a, a.list({ prefix: 7 as unknown as string }), 'options.prefix');
      // Lone surrogates encode to U+FFFD in UTF-8: 'k\uD800' and 'k\uDFFF' would share one row.
      await expectField(a, a.put(`${key}\uD800`, bytes('x')), 'key');
      await expectField(a, a.get(`${key}\uDFFF`), 'key');
      await expectField(a, a.list({ prefix: `${key}\uD800` }), 'options.prefix');
      expect(text((await a.get(key))!.value)).toBe('kept');
    });

    describeBatches(getAdapter, contenders);

    if (options.negativeControl !== false) {
      test(`negative control: a check-then-act wrapper around ${label} lets several of ${contenders} contenders win`, async (context) => {
        const a = await getAdapter();
        if (!a.capabilities.atomic && options.negativeControl === undefined) context.skip();
        const wrapped = nonAtomicWrapper(a);
        for (const mode of ['ifVersion', 'ifAbsent'] as const) {
          const result = await raceCompareAndSet(wrapped, uniquePrefix(`control-${mode}`) + 'k', contenders, mode);
          expect(result.winners, mode).toBeGreaterThan(1);
        }
        if (wrapped.batch) expect((await raceBatches(wrapped, inPartition(uniquePrefix('control-batch'), ''), contenders)).applied).toBeGreaterThan(1);
      });
    }

    options.extra?.(getAdapter);
  });
}

/** Batch semantics, for adapters with atomic batches (skipped otherwise). */
function describeBatches(getAdapter: () => Promise<StorageAdapter>, contenders: number): void {
  const withBatch = async (context: { skip: () => void }): Promise<StorageAdapter & { batch: NonNullable<StorageAdapter['batch']> }> => {
    const a = await getAdapter();
    if (!a.batch) context.skip();
    return a as StorageAdapter & { batch: NonNullable<StorageAdapter['batch']> };
  };

  test('batch: all or nothing; the first failing condition is reported', async (context) => {
    const a = await withBatch(context);
    const prefix = uniquePrefix('batch');
    const key = (name: string) => inPartition(prefix, name);
    const version = await a.put(key('guard'), bytes('guard'));
    const failed = await a.batch([
      { type: 'put', key: key('new'), value: bytes('new') },
      { type: 'delete', key: key('other') },
      { type: 'put', key: key('guard'), value: bytes('x'), condition: { ifVersion: 'stale' } },
      { type: 'check', key: key('missing'), condition: { ifPresent: true } },
    ]);
    expect(failed.ok).toBe(false);
    expect(failed.failed).toBe(2);
    expect(await a.get(key('new'))).toBeNull();
    expect((await a.get(key('guard')))!.version).toBe(version);
    const applied = await a.batch([
      { type: 'put', key: key('new'), value: bytes('new'), condition: { ifAbsent: true } },
      { type: 'put', key: key('guard'), value: bytes('moved'), condition: { ifVersion: version } },
      { type: 'delete', key: key('nothing-here') },
    ]);
    expect(applied).toEqual({ ok: true, entries: [] });
    expect(text((await a.get(key('new')))!.value)).toBe('new');
    expect(text((await a.get(key('guard')))!.value)).toBe('moved');
    expect(await a.batch([])).toEqual({ ok: true, entries: [] });
  });

  test('batch: checks and reads see the state before the batch; reads come back in order', async (context) => {
    const a = await withBatch(context);
    const prefix = uniquePrefix('batch-read');
    const key = (name: string) => inPartition(prefix, name);
    const version = await a.put(key('a'), bytes('a-before'));
    const result = await a.batch([
      { type: 'get', key: key('a') },
      { type: 'put', key: key('a'), value: bytes('a-after'), condition: { ifPresent: true } },
      { type: 'put', key: key('b'), value: bytes('b'), condition: { ifAbsent: true } },
      { type: 'check', key: key('b'), condition: { ifAbsent: true } }, // the state before: b absent
      { type: 'check', key: key('a'), condition: { ifVersion: version } },
      { type: 'get', key: key('b') },
      { type: 'get', key: key('nothing') },
    ]);
    expect(result.ok).toBe(true);
    expect(result.entries).toHaveLength(3);
    expect(text(result.entries[0]!.value)).toBe('a-before');
    expect(result.entries[0]!.version).toBe(version);
    expect(result.entries[1]).toBeNull();
    expect(result.entries[2]).toBeNull();
    expect(text((await a.get(key('a')))!.value)).toBe('a-after');
    // A refused batch still answers its reads, so the caller can tell why.
    const refused = await a.batch([
      { type: 'check', key: key('a'), condition: { ifAbsent: true } },
      { type: 'get', key: key('b') },
    ]);
    expect(refused.ok).toBe(false);
    expect(refused.failed).toBe(0);
    expect(text(refused.entries[0]!.value)).toBe('b');
  });

  test('batch: a delete with a condition is refused when it does not hold', async (context) => {
    const a = await withBatch(context);
    const prefix = uniquePrefix('batch-delete');
    const key = (name: string) => inPartition(prefix, name);
    const version = await a.put(key('guard'), bytes('kept'));
    expect((await a.batch([{ type: 'delete', key: key('guard'), condition: { ifVersion: `${version}-stale` } }])).ok).toBe(false);
    expect((await a.batch([{ type: 'delete', key: key('absent'), condition: { ifPresent: true } }])).ok).toBe(false);
    expect((await a.get(key('guard')))?.version).toBe(version);
    expect((await a.batch([{ type: 'delete', key: key('guard'), condition: { ifVersion: version } }])).ok).toBe(true);
    expect(await a.get(key('guard'))).toBeNull();
  });

  test(`batch: of ${contenders} concurrent batches claiming one key, exactly one applies, wholly`, async (context) => {
    const a = await withBatch(context);
    if (!a.capabilities.atomic) context.skip();
    const result = await raceBatches(a, inPartition(uniquePrefix('batch-race'), ''), contenders);
    expect(result.applied).toBe(1);
    expect(result.markers).toBe(1);
  });

  test('batch: bad input is refused whole, naming operations[i].<member>, before anything is written', async (context) => {
    const a = await withBatch(context);
    const prefix = uniquePrefix('batch-input');
    const key = (name: string) => inPartition(prefix, name);
    const guard = key('guard');
    const version = await a.put(guard, bytes('kept'));
    const validPut: BatchOperation = { type: 'put', key: key('written'), value: bytes('x') };
    const refused = async (operations: unknown, field: string) => {
      await expectField(a, a.batch(operations as BatchOperation[]), field);
      expect((await a.get(guard))?.version).toBe(version);
      expect(await a.get(key('written'))).toBeNull();
    };
    await refused(undefined, 'operations');
    await refused({ 0: { type: 'delete', key: guard }, length: 1 }, 'operations');
    await refused([null], 'operations[0]');
    // eslint-disable-next-line no-sparse-arrays
    await refused([validPut, , { type: 'delete', key: guard }], 'operations[1]');
    await refused([validPut, { type: 'remove', key: guard }], 'operations[1].type');
    await refused([validPut, { type: 'PUT', key: guard, value: bytes('y') }], 'operations[1].type');
    await refused([validPut, { key: guard }], 'operations[1].type');
    await refused([validPut, { type: 'delete', key: 42 }], 'operations[1].key');
    await refused([validPut, { type: 'put', key: '', value: bytes('y') }], 'operations[1].key');
    await refused([validPut, { type: 'put', key: guard, value: 'text' }], 'operations[1].value');
    await refused([validPut, { type: 'put', key: guard, value: new Uint8Array(a.capabilities.maxValueBytes + 1) }], 'operations[1].value');
    await refused([validPut, { type: 'put', key: guard, value: bytes('y'), expiresAt: -1 }], 'operations[1].expiresAt');
    await refused([validPut, { type: 'put', key: guard, value: bytes('y'), condition: {} }], 'operations[1].condition');
    await refused([validPut, { type: 'put', key: guard, value: bytes('y'), condition: { ifVersion: 'v', ifAbsent: true } }], 'operations[1].condition');
    await refused([validPut, { type: 'check', key: guard }], 'operations[1].condition');
    await refused([validPut, { type: 'get', key: guard, condition: { ifPresent: true } }], 'operations[1].condition');
    // Dropping an unknown member would turn a guarded delete into an unconditional one.
    await refused([validPut, { type: 'delete', key: guard, ifVersion: version }], 'operations[1].ifVersion');
    await refused([validPut, { type: 'delete', key: guard, condition: { ifAbsent: true } }], 'operations[1].condition');
    await refused([validPut, { type: 'put', key: key('written'), value: bytes('twice') }], 'operations[1].key');
    if (a.capabilities.batchScope === 'partition') {
      await refused([validPut, { type: 'put', key: `${prefix}elsewhere/k`, value: bytes('y') }], 'operations[1].key');
    }
  });
}
