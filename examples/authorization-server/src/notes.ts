import { RecordStore, type RecordCollection } from '../../../src/index.js';
import { durableObjectAdapter } from '../../../adapters/cloudflare.js';
import type { DemoEnv } from './env.js';
import { keyringOf, storageOf } from './store.js';

/** A note of the MCP notes tool. */
export interface Note {
  text: string;
  at: string;
}

const MAX_NOTES = 50;
export const MAX_NOTE_LENGTH = 500;

/**
 * Each user's notes: one sealed record per user in the Durable Object
 * (atomic compare-and-set), under an HMAC lookup id of the user id, so
 * neither the notes nor who wrote them are readable in storage.
 */
async function collection(env: DemoEnv): Promise<{ notes: RecordCollection<Note[]>; id: (userId: string) => Promise<string> }> {
  const keyring = await keyringOf(env);
  const store = new RecordStore({ adapter: durableObjectAdapter({ namespace: env.VAULT_DO as never, name: `demo-notes-${storageOf(env)}` }), keyring });
  return { notes: store.collection<Note[]>('note'), id: (userId) => keyring.lookupId('demo/notes', userId) };
}

export async function listNotes(env: DemoEnv, userId: string): Promise<Note[]> {
  const { notes, id } = await collection(env);
  return (await notes.get(await id(userId)))?.data ?? [];
}

/** Adds a note (the newest 50 are kept); a concurrent add is retried, never lost. */
export async function addNote(env: DemoEnv, userId: string, text: string): Promise<Note[]> {
  const { notes, id } = await collection(env);
  const key = await id(userId);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await notes.get(key);
    const next = [...(current?.data ?? []), { text, at: new Date().toISOString() }].slice(-MAX_NOTES);
    const written = await notes.compareAndSet(key, next, current ? { ifVersion: current.version } : { ifAbsent: true });
    if (written !== null) return next;
  }
  throw new Error('notes are changing concurrently; try again');
}
