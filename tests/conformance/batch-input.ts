import { describe, expect, test } from 'vitest';
import type { BatchOperation, StorageAdapter } from '../../src/adapter.js';
import { InvalidRequestError } from '../../src/errors.js';

/**
 * Bad `batch()` input, for every adapter with atomic batches (memory,
 * IndexedDB, D1): each malformed batch is refused with an
 * `InvalidRequestError` naming `operations[i].<member>` and the adapter, and
 * nothing of it is applied, not even its valid operations. Kept apart from
 * the conformance suite so each adapter's test file calls it in one line.
 */
export function describeBatchInputChecks(label: string, create: () => StorageAdapter | Promise<StorageAdapter>): void {
  let counter = 0;
  const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

  async function setup() {
    const adapter = await create();
    if (!adapter.batch) throw new Error(`${label} has no batch(): do not call describeBatchInputChecks for it`);
    const prefix = `batch-input-${Date.now().toString(36)}-${counter++}-${Math.random().toString(36).slice(2, 8)}/`;
    const guard = `${prefix}guard`;
    const version = await adapter.put(guard, bytes('kept'));
    const batch = adapter.batch.bind(adapter);
    /** Asserts the refusal, and that neither the guard nor the batch's valid put changed anything. */
    const refused = async (operations: unknown, field: string) => {
      const error = await batch(operations as BatchOperation[]).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error, field).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).field).toBe(field);
      expect((error as Error).message).toContain(adapter.name);
      expect((await adapter.get(guard))?.version).toBe(version);
      expect(await adapter.get(`${prefix}written`)).toBeNull();
    };
    const validPut: BatchOperation = { type: 'put', key: `${prefix}written`, value: bytes('x') };
    return { adapter, batch, guard, version, refused, validPut };
  }

  describe(`${label}: batch input checks`, () => {
    test('operations must be an array of objects', async () => {
      const { refused, guard } = await setup();
      await refused(undefined, 'operations');
      await refused({ 0: { type: 'delete', key: guard }, length: 1 }, 'operations');
      await refused('delete everything', 'operations');
      await refused([null], 'operations[0]');
      // eslint-disable-next-line no-sparse-arrays
      await refused([{ type: 'put', key: `${guard}-x`, value: bytes('y') }, , { type: 'delete', key: guard }], 'operations[1]');
    });

    test('a type that is neither "put" nor "delete" is refused, never run as a delete', async () => {
      const { refused, guard, validPut } = await setup();
      await refused([validPut, { type: 'remove', key: guard }], 'operations[1].type');
      await refused([validPut, { type: 'PUT', key: guard, value: bytes('y') }], 'operations[1].type');
      await refused([validPut, { key: guard }], 'operations[1].type');
    });

    test('keys, values, expiries and conditions are checked per operation', async () => {
      const { adapter, refused, guard, validPut } = await setup();
      await refused([validPut, { type: 'delete', key: 42 }], 'operations[1].key');
      await refused([validPut, { type: 'put', key: '', value: bytes('y') }], 'operations[1].key');
      await refused([validPut, { type: 'put', key: guard, value: 'text' }], 'operations[1].value');
      await refused([validPut, { type: 'put', key: guard, value: new Uint8Array(adapter.capabilities.maxValueBytes + 1) }], 'operations[1].value');
      await refused([validPut, { type: 'put', key: guard, value: bytes('y'), expiresAt: -1 }], 'operations[1].expiresAt');
      await refused([validPut, { type: 'put', key: guard, value: bytes('y'), condition: {} }], 'operations[1].condition');
      await refused([validPut, { type: 'put', key: guard, value: bytes('y'), condition: { ifVersion: 'v', ifAbsent: true } }], 'operations[1].condition');
    });

    test('ifVersion on a delete must be a non-empty string; a condition on a delete is refused, not ignored', async () => {
      const { refused, guard, version, validPut } = await setup();
      await refused([validPut, { type: 'delete', key: guard, ifVersion: 42 }], 'operations[1].ifVersion');
      await refused([validPut, { type: 'delete', key: guard, ifVersion: '' }], 'operations[1].ifVersion');
      // Dropping this condition would turn a guarded delete into an unconditional one.
      await refused([validPut, { type: 'delete', key: guard, condition: { ifVersion: version } }], 'operations[1].condition');
      await refused([{ type: 'put', key: guard, value: bytes('y'), ifVersion: version }], 'operations[0].ifVersion');
    });

    test('control: a well-formed delete with ifVersion is honoured (stale: nothing applied; current: applied)', async () => {
      const { adapter, batch, guard, version, validPut } = await setup();
      expect(await batch([validPut, { type: 'delete', key: guard, ifVersion: `${version}-stale` }])).toBe(false);
      expect((await adapter.get(guard))?.version).toBe(version);
      expect(await adapter.get(validPut.key)).toBeNull();
      expect(await batch([validPut, { type: 'delete', key: guard, ifVersion: version }])).toBe(true);
      expect(await adapter.get(guard)).toBeNull();
      expect(await adapter.get(validPut.key)).not.toBeNull();
      expect(await batch([])).toBe(true);
    });
  });
}
