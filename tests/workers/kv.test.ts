import { env } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import { kvAdapter, KV_MAX_VALUE_BYTES } from '../../adapters/cloudflare-kv/index.js';
import { InvalidRequestError } from '../../src/errors.js';
import { describeAdapterConformance, raceCompareAndSet } from '../../src/storage/conformance/index.js';
import { bytes, createKv } from './helpers.js';

describeAdapterConformance('cloudflare-kv', {
  create: (clock) => createKv(clock.now),
  // KV promises no atomicity (its race test is skipped); the control still shows a check-then-act race is seen.
  contenders: 50,
  negativeControl: true,
  extra: (getAdapter) => {
    test('claims neither atomic compare-and-set nor atomic batches, and offers no batch', async () => {
      const adapter = await getAdapter();
      expect(adapter.capabilities.atomic).toBe(false);
      expect(adapter.capabilities.atomicBatch).toBe(false);
      expect(adapter.batch).toBeUndefined();
      expect(adapter.capabilities.nativeTtl).toBe(true);
    });
  },
});


describe('cloudflare-kv specifics', () => {
  test('raw race: the best-effort compare-and-set lets more than one of 50 concurrent ifAbsent contenders win', async () => {
    const adapter = createKv(Date.now);
    const result = await raceCompareAndSet(adapter, `race/${crypto.randomUUID()}/k`, 50, 'ifAbsent');
    console.log(`[kv raw race] ifAbsent: ${result.winners}/50 winners; final value from ${result.finalValue}`);
    expect(result.winners).toBeGreaterThan(1);
    const versioned = await raceCompareAndSet(adapter, `race/${crypto.randomUUID()}/k`, 50, 'ifVersion');
    console.log(`[kv raw race] ifVersion: ${versioned.winners}/50 winners`);
    expect(versioned.winners).toBeGreaterThan(1);
  });

  test('lifetimes under 60 s: physical TTL clamped to KV\'s minimum, logical expiry still exact', async () => {
    let time = Date.now();
    const adapter = kvAdapter({ namespace: env.KV, now: () => time });
    const key = `short/${crypto.randomUUID()}/k`;
    await adapter.put(key, bytes('v'), { expiresAt: time + 5_000 }); // KV itself would reject expirationTtl 5
    const { metadata } = await env.KV.getWithMetadata<{ v: string; x: number }>(key);
    expect(metadata?.x).toBe(time + 5_000);
    expect(await adapter.get(key)).not.toBeNull();
    time += 5_000;
    expect(await adapter.get(key)).toBeNull();
    expect((await adapter.list({ prefix: key })).keys).toEqual([]);
    // An already-expired write is accepted too (it reads as absent).
    await adapter.put(key, bytes('v'), { expiresAt: time - 1 });
    expect(await adapter.get(key)).toBeNull();
  });

  test('keyPrefix isolates a store inside a shared namespace and shrinks the key limit', async () => {
    const keyPrefix = `tenant-${crypto.randomUUID()}:`;
    const adapter = kvAdapter({ namespace: env.KV, keyPrefix });
    expect(adapter.capabilities.maxKeyBytes).toBe(512 - new TextEncoder().encode(keyPrefix).byteLength);
    await adapter.put('a/b/c', bytes('x'));
    expect(await env.KV.get(`${keyPrefix}a/b/c`)).toBe('x');
    expect((await adapter.list({ prefix: '' })).keys).toEqual(['a/b/c']);
  });

  test('values above 25 MiB, keys above 512 bytes and wrong-kind bindings are refused, naming them', async () => {
    const adapter = createKv(Date.now);
    const big = await adapter.put('big/x/k', new Uint8Array(KV_MAX_VALUE_BYTES + 1)).catch((caught: unknown) => caught);
    expect(big).toBeInstanceOf(InvalidRequestError);
    expect((big as InvalidRequestError).field).toBe('value');
    expect((big as Error).message).toContain('cloudflare-kv');
    const longKey = await adapter.get('k'.repeat(513)).catch((caught: unknown) => caught);
    expect((longKey as InvalidRequestError).field).toBe('key');
    const nonString = await adapter.get(7 as never).catch((caught: unknown) => caught);
    expect((nonString as InvalidRequestError).field).toBe('key');
    for (const wrong of [env.DB, env.VAULT_DO, undefined, {}]) {
      let caught: unknown;
      try {
        kvAdapter({ namespace: wrong as never });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidRequestError);
      expect((caught as InvalidRequestError).field).toBe('namespace');
    }
  });
});
