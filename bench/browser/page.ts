/**
 * The browser bench page (bundled by bench/run.mjs, loaded in Chromium from
 * a 127.0.0.1 static server). tinybench runs here, in the page.
 */
import { get as idbGet, set as idbSet, createStore } from 'idb-keyval';
import { TokenVault } from '../../src/index.js';
import { indexedDbStorage } from '../../adapters/indexeddb/index.js';
import { runInterleaved } from '../src/interleave.js';
import type { Summary } from '../src/stats.js';

function token(tag: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `${tag}_${btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

async function runBench(options: { time: number; warmupTime: number }): Promise<Summary[]> {
  const vault = await TokenVault.open({ storage: indexedDbStorage({ name: 'bench-vault' }), name: 'bench' });
  await vault.save({ access_token: token('at'), token_type: 'Bearer', expires_in: 3600, refresh_token: token('rt'), scope: 'read write' });
  const plaintext = await vault.get();
  if (!plaintext) throw new Error('vault returned no tokens');
  // The same token set, unencrypted, in its own database through idb-keyval.
  const store = createStore('bench-keyval', 'keyval');
  await idbSet('tokens', plaintext, store);

  // Interleaved rounds: each task runs in every round, in a rotating order.
  const summaries = await runInterleaved(
    [
      {
        name: 'idb-keyval get',
        fn: async () => {
          if (!(await idbGet('tokens', store))) throw new Error('idb-keyval returned nothing');
        },
      },
      {
        name: 'TokenVault.get()',
        fn: async () => {
          if (!(await vault.get())) throw new Error('vault returned nothing');
        },
      },
      {
        name: 'TokenVault.getAccessToken()',
        fn: async () => {
          if (!(await vault.getAccessToken())) throw new Error('vault returned no access token');
        },
      },
    ],
    { rounds: 6, time: options.time * 3, warmupTime: options.warmupTime, iterations: 64 * 3 },
  );
  await vault.close();
  return [...summaries.values()];
}

(globalThis as unknown as { runBench: typeof runBench }).runBench = runBench;
document.title = 'ready';
