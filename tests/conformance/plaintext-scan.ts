import type { StorageAdapter } from '../../src/storage/contract.js';

/**
 * The one secret scanner of the test suites: dump what an adapter (or a
 * backend) holds, then search every key and value for every form a secret
 * could take at rest. Web APIs only: runs in Node, workerd and Chromium.
 */

/** One raw entry of an adapter dump: the key, its version and the stored bytes. */
export interface DumpEntry {
  key: string;
  version: string;
  value: Uint8Array;
}

const encoder = new TextEncoder();

/** Every key, version and value an adapter holds under `prefix`, read through its own listing. */
export async function dumpAdapter(adapter: StorageAdapter, prefix = ''): Promise<DumpEntry[]> {
  const entries: DumpEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await adapter.list({ prefix, limit: 1000, ...(cursor !== undefined && { cursor }) });
    for (const key of page.keys) {
      const entry = await adapter.get(key);
      if (entry) entries.push({ key, version: entry.version, value: entry.value });
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return entries;
}

export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Latin-1 view of bytes: every byte one character, so byte patterns can be searched as text. */
export function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return out;
}

/**
 * The forms a secret could take at rest: UTF-8 text, hex, and the stable
 * middle of its base64 and base64url encodings at each of the three byte
 * alignments (so an encoded secret inside a longer encoded value is found).
 */
export function encodedForms(secret: string): string[] {
  const bytes = encoder.encode(secret);
  const forms = new Set<string>([secret, Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')]);
  for (let shift = 0; shift < 3; shift++) {
    const padded = new Uint8Array(shift + bytes.length);
    padded.set(bytes, shift);
    const encoded = base64(padded).replace(/=+$/, '');
    // Skip the first group (mixed with the alignment padding) and the last, partial one.
    const core = encoded.slice(shift === 0 ? 0 : 4, encoded.length - 4);
    if (core.length >= 8) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...forms].filter((form) => form.length >= 6);
}

/**
 * Which of `secrets` appear anywhere in the raw keys or values, in any form
 * of {@link encodedForms}, as text or as the bytes of that text. An empty
 * result means none leaked.
 */
export function findPlaintext(dump: readonly { key: string; value: Uint8Array }[] | readonly string[], secrets: readonly string[]): string[] {
  const haystacks = dump.flatMap((entry) =>
    typeof entry === 'string' ? [entry] : [entry.key, latin1(encoder.encode(entry.key)), latin1(entry.value)],
  );
  return secrets.filter((secret) =>
    encodedForms(secret).some((form) => {
      const asBytes = latin1(encoder.encode(form));
      return haystacks.some((text) => text.includes(form) || text.includes(asBytes));
    }),
  );
}
