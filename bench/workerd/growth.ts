import type { OAuthStore, StorageAdapter } from '../../src/index.js';
import { d1Adapter, migrateD1 } from '../../adapters/cloudflare.js';
import { createFlow } from '../src/flow.js';
import { readTemplate, seedTokens } from '../src/seed.js';
import { getKeyring, type Env } from './env.js';

/** Section 5 on D1: a store on its own table, seeded in steps, validated at random. */

let growth: { store: OAuthStore; adapter: StorageAdapter; tokens: string[]; template: Awaited<ReturnType<typeof readTemplate>> } | undefined;

export async function growthSetup(env: Env): Promise<void> {
  await migrateD1(env.DB, { table: 'growth_entries' });
  const adapter = d1Adapter({ database: env.DB, table: 'growth_entries' });
  const flow = await createFlow(await getKeyring(env), adapter);
  const tokens = await flow.exchange(await flow.authorize());
  growth = { store: flow.store, adapter, tokens: [], template: await readTemplate(adapter, await getKeyring(env), tokens.grantId) };
}

export async function dbBytes(env: Env): Promise<number> {
  // D1 refuses PRAGMA page_count (SQLITE_AUTH); every result's meta reports the database size instead.
  const db = env.DB as unknown as { prepare(sql: string): { run(): Promise<{ meta: { size_after?: number } }> } };
  const result = await db.prepare('SELECT 1').run();
  return result.meta.size_after ?? Number.NaN;
}

export async function growthSeed(env: Env, total: number): Promise<{ tokens: number; dbBytes: number }> {
  if (!growth) throw new Error('growth not set up');
  const missing = total - growth.tokens.length;
  if (missing > 0) growth.tokens.push(...(await seedTokens(growth.adapter, await getKeyring(env), growth.template, missing, { batchSize: 100, concurrency: 2 })));
  // Prove the format: seeded tokens validate through the public API.
  for (const token of [growth.tokens[0]!, growth.tokens[growth.tokens.length - 1]!]) {
    if ((await growth.store.validateAccessToken(token)) === null) throw new Error('a seeded token does not validate');
  }
  return { tokens: growth.tokens.length, dbBytes: await dbBytes(env) };
}

export async function growthValidate(count: number): Promise<void> {
  if (!growth) throw new Error('growth not set up');
  for (let index = 0; index < count; index++) {
    const token = growth.tokens[Math.floor(Math.random() * growth.tokens.length)]!;
    if ((await growth.store.validateAccessToken(token)) === null) throw new Error('seeded token did not validate');
  }
}
