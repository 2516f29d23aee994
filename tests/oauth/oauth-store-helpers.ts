import type { StorageAdapter } from '../../src/adapter.js';
import { nonAtomicWrapper } from '../conformance/adapter-conformance.js';

/**
 * Helpers of the OAuthStore suite. Web APIs only (no Node): the suite also
 * runs inside workerd.
 */

const encoder = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A PKCE verifier and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(verifier)));
  return { verifier, challenge: base64url(digest) };
}

/** Every key of an adapter with its version and bytes: to prove "nothing changed" and to scan raw storage. */
export async function dumpAdapter(adapter: StorageAdapter): Promise<{ key: string; version: string; value: Uint8Array }[]> {
  const out: { key: string; version: string; value: Uint8Array }[] = [];
  let cursor: string | undefined;
  do {
    const page = await adapter.list({ prefix: '', limit: 1000, ...(cursor !== undefined && { cursor }) });
    for (const key of page.keys) {
      const entry = await adapter.get(key);
      if (entry) out.push({ key, version: entry.version, value: entry.value });
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

/** A comparable fingerprint of a dump (key, version, bytes). */
export function fingerprint(dump: { key: string; version: string; value: Uint8Array }[]): string[] {
  return dump.map((entry) => `${entry.key}\u0000${entry.version}\u0000${base64(entry.value)}`);
}

/**
 * The forms a secret could take at rest: UTF-8 text, and the stable middle
 * of its base64 and base64url encodings at each of the three byte
 * alignments (so an encoded secret inside a longer encoded value is found).
 */
export function encodedForms(secret: string): string[] {
  const bytes = encoder.encode(secret);
  const forms = new Set<string>([secret]);
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
  return [...forms];
}

/** Latin-1 view of bytes: every byte one character, so byte patterns can be searched as text. */
export function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 0x8000) out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return out;
}

/** Searches every key and value of the dumps for every form of every secret; returns what was found. */
export function findSecrets(
  dumps: { key: string; version: string; value: Uint8Array }[][],
  secrets: Record<string, string>,
): string[] {
  const haystacks: string[] = [];
  for (const dump of dumps) {
    for (const entry of dump) {
      haystacks.push(entry.key, latin1(entry.value), latin1(encoder.encode(entry.key)));
    }
  }
  const found: string[] = [];
  for (const [label, secret] of Object.entries(secrets)) {
    for (const form of encodedForms(secret)) {
      const asLatin1 = latin1(encoder.encode(form));
      if (haystacks.some((text) => text.includes(form) || text.includes(asLatin1))) found.push(`${label} (${form.slice(0, 12)}…)`);
    }
  }
  return found;
}

/**
 * NEGATIVE CONTROL ONLY: an adapter whose compare-and-set is a racy
 * check-then-act (read, yield, write) but which CLAIMS to be atomic, so
 * OAuthStore's construction check lets it through. Used to prove the
 * concurrency tests can see a race.
 */
export function racyAdapterClaimingAtomicity(inner: StorageAdapter): StorageAdapter {
  const racy = nonAtomicWrapper(inner);
  return { ...racy, name: `lying(${inner.name})`, capabilities: { ...racy.capabilities, atomic: true, atomicBatch: false } };
}
