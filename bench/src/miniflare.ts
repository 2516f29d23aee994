import { join } from 'node:path';
import { Miniflare } from 'miniflare';

/**
 * The bench Worker in workerd, with in-memory KV (ours and the provider's
 * own), D1 and SQLite-backed Durable Objects. Listens on 127.0.0.1 only;
 * callers must `dispose()` it.
 */
export async function startWorker(): Promise<Miniflare> {
  const build = process.env.BENCH_BUILD;
  if (!build) throw new Error('BENCH_BUILD is not set (run through bench/run.mjs)');
  const secret = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  const mf = new Miniflare({
    host: '127.0.0.1',
    modules: true,
    scriptPath: join(build, 'worker.mjs'),
    compatibilityDate: '2026-04-01',
    compatibilityFlags: ['nodejs_compat'],
    bindings: { VAULT_SECRET: secret },
    kvNamespaces: ['KV', 'OAUTH_KV'],
    d1Databases: ['DB'],
    durableObjects: { VAULT_DO: { className: 'VaultDurableObject', useSQLite: true } },
  });
  try {
    await mf.ready;
  } catch (error) {
    await mf.dispose().catch(() => undefined);
    throw error;
  }
  return mf;
}

/** A dispatch that must answer 200; returns the body text. */
export async function call(mf: Miniflare, path: string): Promise<string> {
  const response = await mf.dispatchFetch(`http://bench.local${path}`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text.slice(0, 500)}`);
  return text;
}
