// Mutation-testing kills for adapters/memory (mutation/REPORT.md).
import { expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';

test('memory adapter: what get returns is a copy; changing it changes nothing stored', async () => {
  const adapter = memoryAdapter();
  await adapter.put('k', new Uint8Array([1, 2, 3]));
  const read = (await adapter.get('k'))!;
  read.value[0] = 9;
  expect(Array.from((await adapter.get('k'))!.value)).toEqual([1, 2, 3]);
});
