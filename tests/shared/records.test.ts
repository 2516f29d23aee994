// Sealed records over the memory adapter; runs in Node, workerd and Chromium.
import { describe, expect, test } from 'vitest';
import { Keyring, RecordStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { IntegrityError, InvalidRequestError, KeyNotFoundError } from '../../src/errors.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { findPlaintext, dumpAdapter } from '../conformance/plaintext-scan.js';

interface TokenRecord {
  token: string;
  userId: string;
  scope: string;
}

async function setup() {
  const clock = createTestClock();
  const adapter = memoryAdapter({ now: clock.now });
  const keyring = await Keyring.fromSecret(generateSecret());
  const store = new RecordStore({ adapter, keyring, now: clock.now });
  return { clock, adapter, keyring, store, tokens: store.collection<TokenRecord>('token') };
}

describe('sealed records', () => {
  test('seal on write, open on read, under key <kind>/<id>', async () => {
    const { adapter, tokens } = await setup();
    const data = { token: 'tkn_secret_value', userId: 'alice@example.com', scope: 'read write' };
    const version = await tokens.put('lookup-1', data);
    const read = await tokens.get('lookup-1');
    expect(read).toEqual({ id: 'lookup-1', data, version });
    expect(await adapter.get('token/lookup-1')).not.toBeNull();
    expect(await tokens.get('lookup-2')).toBeNull();
  });

  test('no secret appears in plaintext in the raw adapter bytes', async () => {
    const { adapter, keyring, tokens } = await setup();
    const secrets = ['tkn_0123456789abcdef_SECRET', 'alice.liddell@example.com', 'admin:everything'];
    const id = await keyring.lookupId('token', secrets[0]!);
    await tokens.put(id, { token: secrets[0]!, userId: secrets[1]!, scope: secrets[2]! }, { expiresAt: Date.now() + 60_000 });
    const dump = await dumpAdapter(adapter);
    expect(dump.length).toBe(1);
    expect(findPlaintext(dump, secrets)).toEqual([]);
    // The scan itself can fail: a plaintext write is caught.
    await adapter.put('token/leak', new TextEncoder().encode(`{"token":"${secrets[0]}"}`) as Uint8Array<ArrayBuffer>);
    expect(findPlaintext(await dumpAdapter(adapter), secrets)).toEqual([secrets[0]]);
    // Also inside a longer base64 value, at each of the three byte alignments.
    for (const pad of ['', 'x', 'xy']) {
      const key = `token/b64-${pad.length}`;
      await adapter.put(key, new TextEncoder().encode(`<${btoa(`${pad}{"u":"${secrets[1]}"}`)}>`) as Uint8Array<ArrayBuffer>);
      expect(findPlaintext(await dumpAdapter(adapter, key), secrets), `alignment ${pad.length}`).toEqual([secrets[1]]);
      await adapter.delete(key);
    }
  });

  test('a body moved to another id or kind fails with IntegrityError', async () => {
    const { adapter, store, tokens } = await setup();
    await tokens.put('a', { token: 't', userId: 'u', scope: 's' });
    const raw = (await adapter.get('token/a'))!.value;
    await adapter.put('token/b', raw);
    await expect(tokens.get('b')).rejects.toBeInstanceOf(IntegrityError);
    await adapter.put('grant/a', raw);
    await expect(store.collection('grant').get('a')).rejects.toBeInstanceOf(IntegrityError);
    // A flipped byte in storage is never garbage and never a silent null.
    const flipped = raw.slice();
    flipped[flipped.length - 1]! ^= 1;
    await adapter.put('token/a', flipped);
    await expect(tokens.get('a')).rejects.toBeInstanceOf(IntegrityError);
  });

  test('logical expiry is checked on every read, even if the backend still holds the bytes', async () => {
    const { clock, tokens } = await setup();
    // An adapter that never expires anything, as a slow KV or a late sweep would behave.
    const keyring = await Keyring.fromSecret(generateSecret());
    const inner = memoryAdapter();
    const lazy: StorageAdapter = { ...inner, get: (key) => inner.get(key).then((entry) => entry && { value: entry.value, version: entry.version }) };
    const lazyTokens = new RecordStore({ adapter: lazy, keyring, now: clock.now }).collection<TokenRecord>('token');
    const expiresAt = clock.now() + 1000;
    await tokens.put('x', { token: 't', userId: 'u', scope: 's' }, { expiresAt });
    await lazyTokens.put('x', { token: 't', userId: 'u', scope: 's' }, { expiresAt });
    expect((await tokens.get('x'))!.expiresAt).toBe(expiresAt);
    clock.advance(1000);
    expect(await tokens.get('x')).toBeNull();
    expect(await lazy.get('token/x')).not.toBeNull();
    expect(await lazyTokens.get('x')).toBeNull();
  });

  test('create is single-use and compare-and-set follows versions', async () => {
    const { tokens } = await setup();
    const data = { token: 't', userId: 'u', scope: 's' };
    const results = await Promise.all(Array.from({ length: 50 }, () => tokens.create('once', data)));
    expect(results.filter((version) => version !== null)).toHaveLength(1);
    const current = (await tokens.get('once'))!;
    expect(await tokens.compareAndSet('once', { ...data, scope: 'x' }, { ifVersion: current.version })).not.toBeNull();
    expect(await tokens.compareAndSet('once', { ...data, scope: 'y' }, { ifVersion: current.version })).toBeNull();
    expect((await tokens.get('once'))!.data.scope).toBe('x');
  });

  test('records under a retired key open while it is in the ring, then fail with KeyNotFoundError', async () => {
    const adapter = memoryAdapter();
    const oldSecret = generateSecret();
    const old = new RecordStore({ adapter, keyring: await Keyring.fromSecret([{ id: 'old', secret: oldSecret }]) });
    await old.collection<string>('note').put('n', 'hello');
    const rotated = new RecordStore({
      adapter,
      keyring: await Keyring.fromSecret([
        { id: 'new', secret: generateSecret() },
        { id: 'old', secret: oldSecret },
      ]),
    });
    expect((await rotated.collection<string>('note').get('n'))!.data).toBe('hello');
    const dropped = new RecordStore({ adapter, keyring: await Keyring.fromSecret([{ id: 'new', secret: generateSecret() }]) });
    await expect(dropped.collection<string>('note').get('n')).rejects.toBeInstanceOf(KeyNotFoundError);
  });

  test('lists ids of one kind only, through pages', async () => {
    const { store, tokens } = await setup();
    for (let i = 0; i < 25; i++) await tokens.put(`g1/${i.toString().padStart(2, '0')}`, { token: 't', userId: 'u', scope: 's' });
    await store.collection<string>('other').put('g1/x', 'x');
    const first = await tokens.listIds({ prefix: 'g1/', limit: 10 });
    expect(first.ids).toHaveLength(10);
    expect(first.ids[0]).toBe('g1/00');
    const all: string[] = [];
    for await (const record of tokens.scan('g1/')) all.push(record.id);
    expect(all).toHaveLength(25);
  });

  test('bad input is refused with InvalidRequestError naming the field; nothing stored changes', async () => {
    const { adapter, store, tokens } = await setup();
    await tokens.put('keep', { token: 't', userId: 'u', scope: 's' });
    const before = await dumpAdapter(adapter);
    const field = async (promise: Promise<unknown> | (() => unknown)) => {
      try {
        await (typeof promise === 'function' ? promise() : promise);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidRequestError);
        return (error as InvalidRequestError).field;
      }
      throw new Error('expected an InvalidRequestError');
    };
    expect(await field(() => store.collection('Bad Kind'))).toBe('kind');
    expect(await field(tokens.put('', { token: 't', userId: 'u', scope: 's' }))).toBe('id');
    expect(await field(tokens.put('x'.repeat(2000), { token: 't', userId: 'u', scope: 's' }))).toBe('id');
    expect(await field(tokens.get(7 as unknown as string))).toBe('id');
    expect(await field(tokens.put('ok', { token: 't', userId: 'u', scope: 's' }, { expiresAt: 1.5 }))).toBe('expiresAt');
    expect(await dumpAdapter(adapter)).toEqual(before);
  });
});
