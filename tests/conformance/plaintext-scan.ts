import type { StorageAdapter } from '../../src/adapter.js';

/** One raw entry of an adapter dump: the key and the stored bytes. */
export interface DumpEntry {
  key: string;
  value: Uint8Array;
}

/** Every key and value an adapter holds, read through its own listing. */
export async function dumpAdapter(adapter: StorageAdapter, prefix = ''): Promise<DumpEntry[]> {
  const entries: DumpEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await adapter.list({ prefix, limit: 1000, ...(cursor !== undefined && { cursor }) });
    for (const key of page.keys) {
      const entry = await adapter.get(key);
      if (entry) entries.push({ key, value: entry.value });
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return entries;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The forms a secret could leak in: as text, base64, base64url, hex. */
function encodings(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const base64 = toBase64(bytes).replace(/=+$/, '');
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return [secret, base64, base64.replace(/\+/g, '-').replace(/\//g, '_'), hex];
}

/**
 * Which of `secrets` appear anywhere in the raw keys or values (as UTF-8 text
 * and in base64, base64url or hex form). An empty result means none leaked.
 */
export function findPlaintext(dump: readonly { key: string; value: Uint8Array }[] | readonly string[], secrets: readonly string[]): string[] {
  const haystacks = dump.map((entry) => {
    if (typeof entry === 'string') return entry;
    // latin1 view of the bytes finds ASCII secrets wherever they sit in a binary value.
    let text = entry.key + '\u0000';
    for (const byte of entry.value) text += String.fromCharCode(byte);
    return text;
  });
  return secrets.filter((secret) => {
    const forms = encodings(secret).filter((form) => form.length >= 6);
    return haystacks.some((haystack) => forms.some((form) => haystack.includes(form)));
  });
}
