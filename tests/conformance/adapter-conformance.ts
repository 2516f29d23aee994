import { describe, expect, test } from 'vitest';
import type { StorageAdapter } from '../../src/adapter.js';
import { InvalidRequestError } from '../../src/errors.js';

/**
 * The one adapter conformance suite. Every adapter's test file is little more
 * than a call to {@link describeAdapterConformance} with a factory. Each test
 * works under its own random key prefix, so adapters need no reset between
 * tests and may share one backend.
 */

/** A clock the suite moves by hand to test logical expiry. */
export interface TestClock {
  now: () => number;
  advance: (ms: number) => void;
}

export function createTestClock(start = Date.now()): TestClock {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

export interface ConformanceOptions {
  /** Builds an adapter whose logical expiry reads `clock.now`. */
  create: (clock: TestClock) => StorageAdapter | Promise<StorageAdapter>;
  /** Concurrent contenders in the compare-and-set race (default 200). */
  contenders?: number;
  /** Keys written for the pagination test (default 1000). */
  listKeys?: number;
  /** Extra adapter-specific cases, run inside the same `describe`. */
  extra?: (getAdapter: () => Promise<StorageAdapter>) => void;
}

let prefixCounter = 0;
function uniquePrefix(label: string): string {
  return `conf-${label}-${Date.now().toString(36)}-${(prefixCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}/`;
}

function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  // getRandomValues fills at most 64 KiB per call.
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
}

const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

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

/**
 * Runs `contenders` concurrent compare-and-sets against one key that all read
 * the same version (or all expect it absent) and returns how many won.
 */
export async function raceCompareAndSet(
  adapter: StorageAdapter,
  key: string,
  contenders: number,
  mode: 'ifVersion' | 'ifAbsent',
): Promise<{ winners: number; finalValue: string | null; winnerValues: string[] }> {
  let condition: { ifVersion: string } | { ifAbsent: true } = { ifAbsent: true };
  if (mode === 'ifVersion') condition = { ifVersion: await adapter.put(key, bytes('start')) };
  const results = await Promise.all(
    Array.from({ length: contenders }, (_, index) =>
      adapter.compareAndSet(key, bytes(`contender-${index}`), condition).then((version) => ({ index, version })),
    ),
  );
  const winnerValues = results.filter((result) => result.version !== null).map((result) => `contender-${result.index}`);
  const final = await adapter.get(key);
  return {
    winners: winnerValues.length,
    finalValue: final ? new TextDecoder().decode(final.value) : null,
    winnerValues,
  };
}

/**
 * Wraps an adapter so that its compare-and-set reads, yields, then writes: the
 * classic check-then-act race. Used as the negative control that proves the
 * concurrency test can catch a non-atomic backend.
 */
export function nonAtomicWrapper(inner: StorageAdapter): StorageAdapter {
  return {
    ...inner,
    name: `non-atomic(${inner.name})`,
    capabilities: { ...inner.capabilities, atomic: false, atomicBatch: false },
    batch: undefined,
    get: (key) => inner.get(key),
    put: (key, value, options) => inner.put(key, value, options),
    delete: (key, options) => inner.delete(key, options),
    list: (options) => inner.list(options),
    async compareAndSet(key, value, condition, options) {
      const current = await inner.get(key);
      await new Promise((resolve) => setTimeout(resolve, 0));
      const holds = 'ifAbsent' in condition ? current === null : current?.version === condition.ifVersion;
      return holds ? inner.put(key, value, options) : null;
    },
  };
}

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

    test('a stored value is a copy: mutating the caller\'s buffer changes nothing', async () => {
      const a = await getAdapter();
      const key = uniquePrefix('copy') + 'k';
      const value = bytes('original');
      await a.put(key, value);
      value.fill(0);
      expect(new TextDecoder().decode((await a.get(key))!.value)).toBe('original');
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

    test('compare-and-set honours its condition (sequentially)', async () => {
      const a = await getAdapter();
      const key = uniquePrefix('cas') + 'k';
      expect(await a.compareAndSet(key, bytes('x'), { ifVersion: 'no-such-version' })).toBeNull();
      expect(await a.get(key)).toBeNull();
      const first = await a.compareAndSet(key, bytes('a'), { ifAbsent: true });
      expect(first).not.toBeNull();
      expect(await a.compareAndSet(key, bytes('b'), { ifAbsent: true })).toBeNull();
      const second = await a.compareAndSet(key, bytes('c'), { ifVersion: first! });
      expect(second).not.toBeNull();
      expect(await a.compareAndSet(key, bytes('d'), { ifVersion: first! })).toBeNull();
      expect(new TextDecoder().decode((await a.get(key))!.value)).toBe('c');
    });

    test(`compare-and-set: exactly one of ${contenders} concurrent contenders wins (ifVersion and ifAbsent), if atomic`, async (context) => {
      const a = await getAdapter();
      // Honest non-atomic adapters make no promise here (reported as skipped); the KV test shows the race itself.
      if (!a.capabilities.atomic) context.skip();
      for (const mode of ['ifVersion', 'ifAbsent'] as const) {
        const result = await raceCompareAndSet(a, uniquePrefix(`race-${mode}`) + 'k', contenders, mode);
        expect(result.winners, mode).toBe(1);
        expect(result.finalValue, mode).toBe(result.winnerValues[0]);
      }
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
      expect(await a.compareAndSet(prefix + 'short', bytes('again'), { ifAbsent: true })).not.toBeNull();
      expect(new TextDecoder().decode((await a.get(prefix + 'short'))!.value)).toBe('again');
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

    test('delete removes a key, reports whether it did, and honours ifVersion', async () => {
      const a = await getAdapter();
      const key = uniquePrefix('delete') + 'k';
      const version = await a.put(key, bytes('v'));
      expect(await a.delete(key, { ifVersion: 'other-version' })).toBe(false);
      expect(await a.get(key)).not.toBeNull();
      expect(await a.delete(key, { ifVersion: version })).toBe(true);
      expect(await a.get(key)).toBeNull();
      expect(await a.delete(key)).toBe(false);
    });

    test('unusual keys round-trip and list: unicode, "/", ":", spaces, 512 characters', async () => {
      const a = await getAdapter();
      const prefix = uniquePrefix('keys');
      const room = a.capabilities.maxKeyBytes - new TextEncoder().encode(prefix).length;
      const keys = [
        prefix + 'ünïcødé-ключ-鍵-🔑',
        prefix + 'a/b/c//d/',
        prefix + 'urn:ietf:params:oauth',
        prefix + 'with space and %2F',
        prefix + 'x'.repeat(Math.min(512, room)),
      ];
      for (const key of keys) await a.put(key, bytes(key));
      for (const key of keys) expect(new TextDecoder().decode((await a.get(key))!.value)).toBe(key);
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
      expect(caps.maxValueBytes).toBeGreaterThan(0);
      expect(caps.maxKeyBytes).toBeGreaterThanOrEqual(512);
      expect(typeof a.batch === 'function').toBe(caps.atomicBatch);
      if (caps.atomicBatch && a.batch) {
        const prefix = uniquePrefix('batch');
        const version = await a.put(prefix + 'guard', bytes('guard'));
        // A failing condition anywhere: nothing of the batch is applied.
        const failed = await a.batch([
          { type: 'put', key: prefix + 'new', value: bytes('new') },
          { type: 'delete', key: prefix + 'guard' },
          { type: 'put', key: prefix + 'guard', value: bytes('x'), condition: { ifVersion: 'stale' } },
        ]);
        expect(failed).toBe(false);
        expect(await a.get(prefix + 'new')).toBeNull();
        expect((await a.get(prefix + 'guard'))!.version).toBe(version);
        const applied = await a.batch([
          { type: 'put', key: prefix + 'new', value: bytes('new'), condition: { ifAbsent: true } },
          { type: 'put', key: prefix + 'guard', value: bytes('moved'), condition: { ifVersion: version } },
          { type: 'delete', key: prefix + 'nothing-here' },
        ]);
        expect(applied).toBe(true);
        expect((await a.get(prefix + 'new'))!.value).toEqual(bytes('new'));
        expect((await a.get(prefix + 'guard'))!.value).toEqual(bytes('moved'));
      }
    });

    test('bad input is refused with InvalidRequestError naming the field, and nothing changes', async () => {
      const a = await getAdapter();
      const key = uniquePrefix('bad') + 'k';
      await a.put(key, bytes('kept'));
      const expectField = async (promise: Promise<unknown>, field: string) => {
        const error = await promise.then(
          () => null,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(InvalidRequestError);
        expect((error as InvalidRequestError).field).toBe(field);
        expect((error as Error).message).toContain(a.name);
      };
      await expectField(a.get(42 as unknown as string), 'key');
      await expectField(a.put('', bytes('x')), 'key');
      await expectField(a.put(key, 'text' as unknown as Uint8Array<ArrayBuffer>), 'value');
      await expectField(a.put(key, new Uint8Array(a.capabilities.maxValueBytes + 1)), 'value');
      await expectField(a.put('k'.repeat(a.capabilities.maxKeyBytes + 1), bytes('x')), 'key');
      await expectField(a.compareAndSet(key, bytes('x'), {} as never), 'condition');
      await expectField(a.put(key, bytes('x'), { expiresAt: -1 }), 'options.expiresAt');
      await expectField(a.list({ prefix: key, limit: 0 }), 'options.limit');
      await expectField(a.list({ prefix: 7 as unknown as string }), 'options.prefix');
      // Lone surrogates encode to U+FFFD in UTF-8: 'k\uD800' and 'k\uDFFF' would share one row.
      await expectField(a.put(`${key}\uD800`, bytes('x')), 'key');
      await expectField(a.get(`${key}\uDFFF`), 'key');
      await expectField(a.list({ prefix: `${key}\uD800` }), 'options.prefix');
      expect(new TextDecoder().decode((await a.get(key))!.value)).toBe('kept');
    });

    options.extra?.(getAdapter);
  });
}

/**
 * The negative control: the same race as the conformance suite, run against a
 * deliberately non-atomic wrapper, must let more than one contender win.
 */
export function describeNegativeControl(label: string, create: () => StorageAdapter | Promise<StorageAdapter>, contenders = 200): void {
  test(`negative control: a check-then-act wrapper around ${label} lets several of ${contenders} contenders win`, async () => {
    const wrapped = nonAtomicWrapper(await create());
    for (const mode of ['ifVersion', 'ifAbsent'] as const) {
      const result = await raceCompareAndSet(wrapped, uniquePrefix(`control-${mode}`) + 'k', contenders, mode);
      expect(result.winners, mode).toBeGreaterThan(1);
    }
  });
}
