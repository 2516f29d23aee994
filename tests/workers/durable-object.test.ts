import { env } from 'cloudflare:workers';
import { listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, test } from 'vitest';
import { durableObjectAdapter } from '../../adapters/cloudflare-durable-object/index.js';
import { shardOf } from '../../adapters/cloudflare-durable-object/shard.js';
import { InvalidRequestError } from '../../src/errors.js';
import type { CheckedBatchOperation } from '../../src/storage/checks.js';
import type { VaultDurableObject } from '../../adapters/cloudflare-durable-object/object.js';
import { describeAdapterConformance } from '../../src/storage/conformance/index.js';
import { bytes, createDurableObject, text } from './helpers.js';

describeAdapterConformance('durable-object (8 shards)', { create: (clock) => createDurableObject(clock.now, 8) });

describe('durable-object specifics', () => {
  test('one partition lands in one object; different partitions spread over the shards', async () => {
    const name = `route-${crypto.randomUUID()}`;
    const adapter = createDurableObject(Date.now, 8, name);
    const grants = Array.from({ length: 64 }, (_, index) => `grant${index}`);
    for (const grant of grants) {
      await adapter.put(`code/${grant}/c`, bytes('c'));
      await adapter.put(`refresh/${grant}/r1`, bytes('r'));
    }
    const used = new Set(grants.map((grant) => shardOf(grant, 8)));
    expect(used.size).toBeGreaterThan(4);
    // Read each object's rows directly: a grant's keys are all in its shard's object.
    for (const shard of used) {
      const stub = env.VAULT_DO.get(env.VAULT_DO.idFromName(`${name}/${shard}`));
      const keys = await runInDurableObject(stub, (_, state) =>
        state.storage.sql.exec<{ key: string }>('SELECT key FROM vault_entries ORDER BY key').toArray().map((row) => row.key),
      );
      const expected = grants.filter((grant) => shardOf(grant, 8) === shard).flatMap((grant) => [`code/${grant}/c`, `refresh/${grant}/r1`]);
      expect(keys.sort()).toEqual(expected.sort());
    }
    expect((await listDurableObjectIds(env.VAULT_DO)).length).toBeGreaterThanOrEqual(used.size);
  });

  test('the alarm deletes what the callers\' clock considers expired, and re-arms for the next expiry', async () => {
    let time = Date.now();
    const name = `alarm-${crypto.randomUUID()}`;
    const adapter = durableObjectAdapter({ namespace: env.VAULT_DO, shards: 1, name, now: () => time });
    await adapter.put('a/p/soon', bytes('1'), { expiresAt: time + 1000 });
    await adapter.put('a/p/later', bytes('2'), { expiresAt: time + 3_600_000 });
    await adapter.put('a/p/never', bytes('3'));
    const stub = env.VAULT_DO.get(env.VAULT_DO.idFromName(`${name}/0`));
    const rows = () =>
      runInDurableObject(stub, (_, state) => state.storage.sql.exec<{ key: string }>('SELECT key FROM vault_entries ORDER BY key').toArray().map((row) => row.key));
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(time + 1000);
    // Not yet expired by the callers' clock: the alarm keeps everything.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rows()).toEqual(['a/p/later', 'a/p/never', 'a/p/soon']);
    time += 2000;
    expect(await adapter.get('a/p/soon')).toBeNull(); // logical expiry, and the object sees the new clock
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await rows()).toEqual(['a/p/later', 'a/p/never']);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(time - 2000 + 3_600_000);
  });

  test('negative control: an await between check and set lets several of 50 win; the real method lets exactly one', async () => {
    const now = Date.now();
    const racy = env.RACY_DO.get(env.RACY_DO.idFromName(`racy-${crypto.randomUUID()}`));
    const racyResults = await Promise.all(
      Array.from({ length: 50 }, (_, index) => racy.unsafeCreateWithAwaitBetweenCheckAndSet('single/use/key', bytes(`c${index}`), now, 50)),
    );
    const racyWinners = racyResults.filter((version) => version !== null).length;
    expect(racyWinners).toBeGreaterThan(1);

    const real = env.RACY_DO.get(env.RACY_DO.idFromName(`real-${crypto.randomUUID()}`));
    const realResults = await Promise.all(
      Array.from({ length: 50 }, (_, index) => real.compareAndSet('single/use/key', bytes(`c${index}`), { ifAbsent: true }, null, now)),
    );
    expect(realResults.filter((version) => version !== null)).toHaveLength(1);
    const winner = realResults.findIndex((version) => version !== null);
    expect(text((await real.get('single/use/key', now))!.value)).toBe(`c${winner}`);
    console.log(`[durable-object negative control] racy method: ${racyWinners}/50 winners; real method: 1/50`);
  });

  test('group commit: of 50 batches claiming one key in one group, exactly one applies, wholly; negative control: deciding each against the group\'s start lets all 50 win', async () => {
    const now = Date.now();
    const claim = (index: number): CheckedBatchOperation[] => [
      { type: 'put', key: 'g/p/claim', value: bytes(`c${index}`), expiresAt: undefined, condition: { ifAbsent: true } },
      { type: 'put', key: `g/p/side-${index}`, value: bytes('side'), expiresAt: undefined, condition: undefined },
    ];
    const real = env.VAULT_DO.get(env.VAULT_DO.idFromName(`group-${crypto.randomUUID()}`));
    // Called from inside the object in one event: all 50 are queued before the flush, so they form one group.
    const results = await runInDurableObject(real, (instance) => Promise.all(Array.from({ length: 50 }, (_, index) => (instance as unknown as VaultDurableObject).batch(claim(index), now))));
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    const winner = results.findIndex((result) => result.ok);
    expect(results.every((result, index) => index === winner || result.failed === 0)).toBe(true);
    expect(text((await real.get('g/p/claim', now))!.value)).toBe(`c${winner}`);
    const sides = await real.list('g/p/side-', null, 100, now);
    expect(sides.keys).toEqual([`g/p/side-${winner}`]);

    const racy = env.RACY_GROUP_DO.get(env.RACY_GROUP_DO.idFromName(`racy-group-${crypto.randomUUID()}`));
    const raced = await runInDurableObject(racy, (instance) => Promise.all(Array.from({ length: 50 }, (_, index) => (instance as unknown as VaultDurableObject).batch(claim(index), now))));
    console.log(`[group commit negative control] ${raced.filter((result) => result.ok).length}/50 applied; real group commit: 1/50`);
    expect(raced.filter((result) => result.ok).length).toBeGreaterThan(1);
  });

  test('group commit: a group that fails half-way applies none of its batches, and the next group works', async () => {
    const now = Date.now();
    const stub = env.VAULT_DO.get(env.VAULT_DO.idFromName(`group-abort-${crypto.randomUUID()}`));
    const put = (key: string, value: Uint8Array<ArrayBuffer>): CheckedBatchOperation[] => [{ type: 'put', key, value, expiresAt: undefined, condition: undefined }];
    // The adapter refuses a value this big at its boundary; called directly, SQLite throws while the group is applied.
    const outcomes = await runInDurableObject(stub, (instance) => {
      const object = instance as unknown as VaultDurableObject;
      return Promise.allSettled([object.batch(put('g/p/first', bytes('first')), now), object.batch(put('g/p/huge', new Uint8Array(3_000_000)), now), object.batch(put('g/p/third', bytes('third')), now)]);
    });
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await stub.get('g/p/first', now)).toBeNull();
    expect(await stub.get('g/p/third', now)).toBeNull();
    expect((await stub.batch(put('g/p/after', bytes('after')), now)).ok).toBe(true);
    expect(text((await stub.get('g/p/after', now))!.value)).toBe('after');
  });

  test('wrong-kind bindings and bad shard counts are refused, naming the option', () => {
    for (const wrong of [env.KV, env.DB, undefined, {}]) {
      let caught: unknown;
      try {
        durableObjectAdapter({ namespace: wrong as never });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidRequestError);
      expect((caught as InvalidRequestError).field).toBe('namespace');
    }
    expect(() => durableObjectAdapter({ namespace: env.VAULT_DO, shards: 0 })).toThrow(InvalidRequestError);
  });

  test('a 10 MiB value is refused at the boundary, naming the field and the adapter', async () => {
    const adapter = createDurableObject(Date.now);
    const error = await adapter.put('big/x/k', new Uint8Array(10 * 1024 * 1024)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe('value');
    expect((error as Error).message).toContain('durable-object');
    expect(await adapter.get('big/x/k')).toBeNull();
  });
});
