import { InvalidGrantError } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { durableObjectAdapter } from '../../adapters/cloudflare.js';
import { createFlow, type Flow } from '../src/flow.js';
import { getKeyring, type Env } from './env.js';

/**
 * Section 3: issue codes on a store whose single-use records live in `shards`
 * Durable Objects, then redeem each with concurrent contenders and count.
 */

let runsStarted = 0;
const runs = new Map<string, { flow: Flow; codes: string[] }>();

export async function seedCodes(env: Env, shards: number, count: number): Promise<string> {
  const run = `do-${shards}-${++runsStarted}`;
  // Everything but the single-use records stays in this isolate's memory, so the DO is the only storage measured.
  const singleUseAdapter = durableObjectAdapter({ namespace: env.VAULT_DO, shards, name: run });
  const flow = await createFlow(await getKeyring(env), memoryAdapter(), singleUseAdapter);
  const codes: string[] = [];
  for (let index = 0; index < count; index += 50) {
    const batch = Math.min(50, count - index);
    codes.push(...(await Promise.all(Array.from({ length: batch }, (_, offset) => flow.authorize(`user-${index + offset}`)))));
  }
  runs.set(run, { flow, codes });
  return run;
}

export async function redeem(run: string, contenders: number): Promise<{ codes: number; winners: number; doubleSpends: number; refused: number; otherErrors: number; firstError?: string }> {
  const state = runs.get(run);
  if (!state) throw new Error(`unknown run ${run}`);
  runs.delete(run);
  let refused = 0;
  let otherErrors = 0;
  let firstError: string | undefined;
  const perCode = await Promise.all(
    state.codes.map(async (code) => {
      const outcomes = await Promise.allSettled(Array.from({ length: contenders }, () => state.flow.exchange(code)));
      let won = 0;
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') won++;
        else if (outcome.reason instanceof InvalidGrantError) refused++;
        else {
          otherErrors++;
          firstError ??= String(outcome.reason);
        }
      }
      return won;
    }),
  );
  return {
    codes: state.codes.length,
    winners: perCode.filter((won) => won >= 1).length,
    doubleSpends: perCode.reduce((sum, won) => sum + Math.max(0, won - 1), 0),
    refused,
    otherErrors,
    ...(firstError !== undefined && { firstError }),
  };
}
