// Mutation-testing kills for src/crypto (mutation/REPORT.md): properties the shared crypto tests do not pin.
import { describe, expect, test } from 'vitest';
import { timingSafeEqual } from '../../src/crypto/compare.js';

/** Bytes whose index reads are counted: what the comparison touches, independent of timing. */
function counted(bytes: number[]): { view: Uint8Array; reads: Map<number, number> } {
  const reads = new Map<number, number>();
  const view = new Proxy(new Uint8Array(bytes), {
    get(target, property) {
      if (typeof property === 'string' && /^\d+$/.test(property)) reads.set(Number(property), (reads.get(Number(property)) ?? 0) + 1);
      return Reflect.get(target, property) as unknown;
    },
  });
  return { view, reads };
}

const indexes = (count: number) => new Map(Array.from({ length: count }, (_, index) => [index, 1]));

describe('timingSafeEqual reads the same bytes whatever the content', () => {
  test('equal lengths, first byte differs: every index of both sides is read exactly once, nothing past the end', () => {
    const left = counted([1, 2, 3, 4, 5, 6, 7, 8]);
    const right = counted([9, 2, 3, 4, 5, 6, 7, 8]);
    expect(timingSafeEqual(left.view, right.view)).toBe(false);
    expect(left.reads).toEqual(indexes(8));
    expect(right.reads).toEqual(indexes(8));
  });

  test('different lengths: the loop runs over the longer one on both sides, so the time depends only on the longer length', () => {
    const short = counted([1, 2, 3, 4]);
    const long = counted([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(timingSafeEqual(short.view, long.view)).toBe(false);
    expect(short.reads).toEqual(indexes(8));
    expect(long.reads).toEqual(indexes(8));
    // A common prefix with a length difference is still unequal, both ways round.
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2, 0]), new Uint8Array([1, 2]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2, 0]), new Uint8Array([1, 2, 0]))).toBe(true);
  });
});
