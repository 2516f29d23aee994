import { memoryAdapter } from '../../adapters/memory/index.js';
import { d1Adapter, migrateD1 } from '../../adapters/cloudflare.js';
import { adapterOps, type AdapterOps } from '../src/adapter-ops.js';
import { getKeyring, type Env } from './env.js';

/** The Redis section's workerd side: the same validate and exchange on memory and on D1 (its own table). */

const subjects = new Map<string, AdapterOps>();

export async function adaptersSetup(env: Env): Promise<void> {
  await migrateD1(env.DB, { table: 'compare_entries' });
  const keyring = await getKeyring(env);
  subjects.set('memory', await adapterOps(keyring, memoryAdapter()));
  subjects.set('d1', await adapterOps(keyring, d1Adapter({ database: env.DB, table: 'compare_entries' })));
}

export function adapterSubject(name: string): AdapterOps {
  const subject = subjects.get(name);
  if (!subject) throw new Error(`adapter ${name} not set up`);
  return subject;
}
