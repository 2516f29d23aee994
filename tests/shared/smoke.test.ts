import { expect, test } from 'vitest';
test('subtle exists', async () => {
  const d = await crypto.subtle.digest('SHA-256', new Uint8Array([1]));
  expect(d.byteLength).toBe(32);
});
