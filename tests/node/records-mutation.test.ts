// Mutation-testing kills for src/records (mutation/REPORT.md): what sealed records and migrateStorage promise
// at their edges — format version, expiry on every path, reseal outcomes, paging past one page, which
// entries a migration skips, counts as unreadable or refuses to swallow.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { IntegrityError, InvalidRequestError } from '../../src/errors.js';
import { RECORD_FORMAT_VERSION, RecordStore } from '../../src/records/record-store.js';
import { migrateStorage } from '../../src/records/migrate.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';

const encode = (text: string) => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
/** The record AAD as documented in record-store.ts: prefix, format version, kind, id. */
const aadOf = (kind: string, id: string, version = RECORD_FORMAT_VERSION) => encode(`oauth-vault/record\u0000${version}\u0000${kind}\u0000${id}`);

async function setup() {
  const clock = createTestClock();
  const adapter = memoryAdapter({ now: clock.now });
  const keyring = await Keyring.fromSecret(generateSecret());
  const store = new RecordStore({ adapter, keyring, now: clock.now });
  return { clock, adapter, keyring, store, notes: store.collection<string>('note') };
}

async function invalidField(call: () => unknown): Promise<{ field: string; message: string }> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return { field: (error as InvalidRequestError).field, message: (error as Error).message };
  }
  throw new Error('expected an InvalidRequestError');
}

describe('sealed records: edges', () => {
  test('a bad kind is refused with a message that says what a kind may hold', async () => {
    const { store } = await setup();
    expect(await invalidField(() => store.collection('Bad'))).toEqual({ field: 'kind', message: expect.stringContaining('lowercase letters, digits and dashes') });
  });

  test('an authentic body of another format version, or not JSON, is IntegrityError, never data', async () => {
    const { adapter, keyring, notes } = await setup();
    // Sealed with the right key and AAD, so only the format check can refuse it.
    const future = await keyring.seal(encode(JSON.stringify({ f: RECORD_FORMAT_VERSION + 1, x: null, d: 'from the future' })), aadOf('note', 'a'));
    await adapter.put('note/a', future);
    await expect(notes.get('a')).rejects.toBeInstanceOf(IntegrityError);
    const garbage = await keyring.seal(encode('not json'), aadOf('note', 'b'));
    await adapter.put('note/b', garbage);
    const error = await notes.get('b').catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).cause).toBeInstanceOf(SyntaxError); // the cause is kept for the operator, not put in the message
    // The control: the same construction with the current version opens.
    const current = await keyring.seal(encode(JSON.stringify({ f: RECORD_FORMAT_VERSION, x: null, d: 'now' })), aadOf('note', 'c'));
    await adapter.put('note/c', current);
    expect((await notes.get('c'))?.data).toBe('now');
  });

  test('delete with a version deletes only that version', async () => {
    const { notes } = await setup();
    const first = await notes.put('n', 'one');
    await notes.put('n', 'two');
    expect(await notes.delete('n', first)).toBe(false);
    expect((await notes.get('n'))?.data).toBe('two');
    const current = (await notes.get('n'))!.version;
    expect(await notes.delete('n', current)).toBe(true);
    expect(await notes.get('n')).toBeNull();
    await notes.put('m', 'x');
    expect(await notes.delete('m')).toBe(true);
    expect(await notes.delete('m')).toBe(false);
  });

  test('batch operations carry the record key, the physical expiry and the condition', async () => {
    const { adapter, clock, notes } = await setup();
    const expiresAt = clock.now() + 5000;
    const put = await notes.preparePut('p', 'payload', { expiresAt, condition: { ifAbsent: true } });
    expect(put).toMatchObject({ type: 'put', key: 'note/p', expiresAt, condition: { ifAbsent: true } });
    expect((await adapter.batch!([put])).ok).toBe(true);
    expect((await adapter.get('note/p'))?.expiresAt).toBe(expiresAt);
    expect((await adapter.batch!([put])).ok).toBe(false); // ifAbsent held
    expect(notes.prepareCheck('p', { ifAbsent: true })).toEqual({ type: 'check', key: 'note/p', condition: { ifAbsent: true } });
    expect(notes.prepareGet('p')).toEqual({ type: 'get', key: 'note/p' });
    expect(notes.prepareDelete('p', { ifVersion: 'v' })).toEqual({ type: 'delete', key: 'note/p', condition: { ifVersion: 'v' } });
  });

  test('a record written with an expiry is also handed to the adapter with it (physical cleanup)', async () => {
    const { adapter, clock, notes } = await setup();
    const expiresAt = clock.now() + 1000;
    await notes.put('e', 'x', { expiresAt });
    expect((await adapter.get('note/e'))?.expiresAt).toBe(expiresAt);
    await notes.create('f', 'x', { expiresAt });
    expect((await adapter.get('note/f'))?.expiresAt).toBe(expiresAt);
    clock.advance(1000);
    expect(await adapter.deleteExpired!()).toBe(2);
  });

  test('ids and scan walk every page (more than 1,000 ids), only under the prefix, and scan skips expired records', async () => {
    const { clock, notes, store } = await setup();
    const total = 1003;
    await Promise.all(Array.from({ length: total }, (_, index) => notes.put(`p/${String(index).padStart(4, '0')}`, 'x')));
    await notes.put('q/outside', 'x');
    await store.collection<string>('other').put('p/9999', 'x');
    const ids: string[] = [];
    for await (const id of notes.ids('p/')) ids.push(id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(ids.every((id) => id.startsWith('p/'))).toBe(true);
    // scan with no prefix: every record of the kind, and an expired one is skipped.
    await notes.put('q/expiring', 'x', { expiresAt: clock.now() + 10 });
    clock.advance(10);
    let scanned = 0;
    const seen = new Set<string>();
    for await (const record of notes.scan()) {
      scanned++;
      seen.add(record.id);
    }
    expect(scanned).toBe(total + 1);
    expect(seen.has('q/outside')).toBe(true);
    expect(seen.has('q/expiring')).toBe(false);
  });

  test('scan skips a record that has expired while the backend still lists it', async () => {
    const clock = createTestClock();
    const held = memoryAdapter(); // real time: still lists the entry a minute on
    const notes = new RecordStore({ adapter: held, keyring: await Keyring.fromSecret(generateSecret()), now: clock.now }).collection<string>('note');
    await notes.put('late', 'x', { expiresAt: clock.now() + 60_000 });
    await notes.put('kept', 'y');
    clock.advance(120_000);
    expect((await held.list({ prefix: 'note/', limit: 10 })).keys).toEqual(['note/kept', 'note/late']);
    const scanned: unknown[] = [];
    for await (const record of notes.scan()) scanned.push(record);
    expect(scanned).toEqual([expect.objectContaining({ id: 'kept', data: 'y' })]);
  });

  test('reseal: absent, current, expired (at its exact expiry), conflict and resealed, keeping the expiry', async () => {
    const clock = createTestClock();
    const adapter = memoryAdapter({ now: clock.now });
    const oldSecret = generateSecret();
    const old = new RecordStore({ adapter, keyring: await Keyring.fromSecret([{ id: 'old', secret: oldSecret }]), now: clock.now }).collection<string>('note');
    const keyring = await Keyring.fromSecret([{ id: 'new', secret: generateSecret() }, { id: 'old', secret: oldSecret }]);
    const rotated = new RecordStore({ adapter, keyring, now: clock.now }).collection<string>('note');

    expect(await rotated.reseal('missing')).toBe('absent');
    await rotated.put('fresh', 'x');
    expect(await rotated.reseal('fresh')).toBe('current');

    const expiresAt = clock.now() + 60_000;
    await old.put('kept', 'keep me', { expiresAt });
    await old.put('forever', 'no expiry');
    expect(await rotated.reseal('kept')).toBe('resealed');
    expect(await rotated.reseal('forever')).toBe('resealed');
    expect(keyring.envelopeKeyId((await adapter.get('note/kept'))!.value)).toBe('new');
    expect(await rotated.get('kept')).toMatchObject({ data: 'keep me', expiresAt });
    expect((await adapter.get('note/kept'))?.expiresAt).toBe(expiresAt);
    expect((await rotated.get('forever'))?.expiresAt).toBeUndefined();
    expect(await rotated.reseal('kept')).toBe('current');

    // Expired but still held (a backend that sweeps late): left to cleanup, at the exact expiry too.
    const held = memoryAdapter(); // real time: the bytes outlive the records' logical expiry
    const lazy: StorageAdapter = { ...held, get: (key) => held.get(key).then((entry) => entry && { value: entry.value, version: entry.version }) };
    const lazyOld = new RecordStore({ adapter: lazy, keyring: await Keyring.fromSecret([{ id: 'old', secret: oldSecret }]), now: clock.now }).collection<string>('note');
    const lazyRotated = new RecordStore({ adapter: lazy, keyring, now: clock.now }).collection<string>('note');
    await lazyOld.put('stale', 'x', { expiresAt: clock.now() + 1000 });
    clock.advance(1000);
    const before = (await lazy.get('note/stale'))!;
    expect(await lazyRotated.reseal('stale')).toBe('absent');
    expect((await lazy.get('note/stale'))?.version).toBe(before.version);

    // A writer between reseal's read and its compare-and-set wins.
    await old.put('raced', 'old value');
    const racing: StorageAdapter = {
      ...adapter,
      compareAndSet: async (key, value, condition, options) => {
        await adapter.put(key, (await adapter.get(key))!.value);
        return adapter.compareAndSet(key, value, condition, options);
      },
    };
    const racingRotated = new RecordStore({ adapter: racing, keyring, now: clock.now }).collection<string>('note');
    expect(await racingRotated.reseal('raced')).toBe('conflict');
    expect(keyring.envelopeKeyId((await adapter.get('note/raced'))!.value)).toBe('old');
  });
});

describe('migrateStorage: edges', () => {
  async function source(count = 0) {
    const from = memoryAdapter();
    const keyring = await Keyring.fromSecret(generateSecret());
    const notes = new RecordStore({ adapter: from, keyring }).collection<string>('note');
    await Promise.all(Array.from({ length: count }, (_, index) => notes.put(`n${String(index).padStart(4, '0')}`, `value ${index}`)));
    return { from, keyring, notes };
  }

  test('bad options are refused naming the field', async () => {
    const { from, keyring } = await source();
    const to = memoryAdapter();
    expect((await invalidField(() => migrateStorage(undefined as never))).field).toBe('options');
    expect((await invalidField(() => migrateStorage({ from: undefined as never, to, keyring }))).field).toBe('options.from');
    expect((await invalidField(() => migrateStorage({ from: { list: from.list } as never, to, keyring }))).field).toBe('options.from');
    expect((await invalidField(() => migrateStorage({ from: { compareAndSet: from.compareAndSet } as never, to, keyring }))).field).toBe('options.from');
    const toError = await invalidField(() => migrateStorage({ from, to: {} as never, keyring }));
    expect(toError).toEqual({ field: 'options.to', message: expect.stringContaining('StorageAdapter') });
    expect((await invalidField(() => migrateStorage({ from, to, keyring, prefix: 'x'.repeat(1025) }))).field).toBe('options.prefix');
    expect((await invalidField(() => migrateStorage({ from, to, keyring, limit: 0 }))).field).toBe('options.limit');
    expect((await invalidField(() => migrateStorage({ from, to, keyring, cursor: 'x'.repeat(4097) }))).field).toBe('options.cursor');
    // The edges that are allowed: an empty prefix, a long (opaque) cursor.
    expect(await migrateStorage({ from, to, keyring, prefix: '' })).toEqual({ copied: 0, skipped: 0, unreadable: 0 });
    expect(await migrateStorage({ from, to, keyring, cursor: 'x'.repeat(4096) })).toEqual({ copied: 0, skipped: 0, unreadable: 0 });
  });

  test('more than one page: without a limit everything is copied in one call; a limit past one page stops exactly there', async () => {
    const { from, keyring } = await source(1003);
    const all = memoryAdapter();
    expect(await migrateStorage({ from, to: all, keyring })).toEqual({ copied: 1003, skipped: 0, unreadable: 0 });
    const limited = memoryAdapter();
    const first = await migrateStorage({ from, to: limited, keyring, limit: 1001 });
    expect(first).toMatchObject({ copied: 1001, skipped: 0, unreadable: 0 });
    expect(first.cursor).toBeDefined();
    const rest = await migrateStorage({ from, to: limited, keyring, cursor: first.cursor! });
    expect(rest).toEqual({ copied: 2, skipped: 0, unreadable: 0 });
  });

  test('keys that are not records are skipped, tampered records are unreadable, neither is copied', async () => {
    const { from, keyring, notes } = await source(2);
    await from.put('noslash', encode('x'));
    await from.put('/leading', encode('x'));
    await from.put('note/', encode('x'));
    const tampered = (await from.get('note/n0000'))!.value.slice();
    tampered[tampered.length - 1]! ^= 1;
    await from.put('note/tampered', tampered);
    await from.put('Bad Kind/x', (await from.get('note/n0001'))!.value);
    const to = memoryAdapter();
    expect(await migrateStorage({ from, to, keyring })).toEqual({ copied: 2, skipped: 3, unreadable: 2 });
    const copied: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await to.list({ prefix: '', limit: 1000, ...(cursor !== undefined && { cursor }) });
      copied.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(copied.sort()).toEqual(['note/n0000', 'note/n0001']);
    expect((await new RecordStore({ adapter: to, keyring }).collection<string>('note').get('n0001'))?.data).toBe((await notes.get('n0001'))?.data);
  });

  test('an error that is not about the record itself stops the migration instead of counting as unreadable', async () => {
    const { from, keyring } = await source(1);
    // A keyring whose crypto fails for another reason than a bad record (the platform, a bug).
    const failing = Object.assign(Object.create(keyring) as Keyring, { open: async () => { throw new RangeError('crypto failed'); } });
    await expect(migrateStorage({ from, to: memoryAdapter(), keyring: failing })).rejects.toBeInstanceOf(RangeError);
  });

  test('expiry: expired records are skipped by the given clock; a copy keeps its expiry, with and without reseal', async () => {
    const clock = createTestClock();
    const from = memoryAdapter(); // real time: the record is physically live
    const keyring = await Keyring.fromSecret(generateSecret());
    const notes = new RecordStore({ adapter: from, keyring }).collection<string>('note');
    const expiresAt = Date.now() + 3_600_000;
    await notes.put('lives', 'x', { expiresAt });
    await notes.put('forever', 'x');
    for (const reseal of [false, true]) {
      const to = memoryAdapter();
      expect(await migrateStorage({ from, to, keyring, reseal, now: clock.now })).toEqual({ copied: 2, skipped: 0, unreadable: 0 });
      expect((await to.get('note/lives'))?.expiresAt).toBe(expiresAt);
      expect((await to.get('note/forever'))?.expiresAt).toBeUndefined();
      const copy = new RecordStore({ adapter: to, keyring }).collection<string>('note');
      expect((await copy.get('lives'))?.expiresAt).toBe(expiresAt);
    }
    // Two hours later by the migration's clock (not the wall clock), the record has expired: skipped.
    clock.advance(7_200_000);
    const later = memoryAdapter();
    expect(await migrateStorage({ from, to: later, keyring, now: clock.now })).toEqual({ copied: 1, skipped: 1, unreadable: 0 });
    expect(await later.get('note/lives')).toBeNull();
  });
});
