/**
 * The bench Worker, run in workerd under Miniflare by bench/src/sections/*.
 * Node drives it with `dispatchFetch` and times each call from outside,
 * since the clock inside workerd only advances across I/O.
 */
import { setupFloor, type FloorSubjects } from '../src/floor-ops.js';
import { redeem, seedCodes } from './consumption.js';
import { clientOf, clients, countCycle, cycle, handlerOf, setupCycle } from './cycle.js';
import type { Ctx, Env } from './env.js';
import { dbBytes, growthSeed, growthSetup, growthValidate } from './growth.js';
import { adapterSubject, adaptersSetup } from './adapters.js';

export { VaultDurableObject } from '../../adapters/cloudflare.js';

// Section 1: the floor subjects, run `n` times per request.
let floor: FloorSubjects | undefined;

function floorTask(name: string): () => Promise<void> {
  if (!floor) throw new Error('floor not set up');
  const tasks: Record<string, () => Promise<void>> = {
    'ours-validate': floor.ours.validate,
    'ours-exchange': floor.ours.exchange,
    'ours-refresh': floor.ours.refresh,
    ...floor.floor,
  };
  const task = tasks[name];
  if (!task) throw new Error(`unknown floor task ${name}`);
  return task;
}

export default {
  async fetch(request: Request, env: Env, ctx: Ctx): Promise<Response> {
    const url = new URL(request.url);
    const q = url.searchParams;
    const int = (name: string, fallback: number): number => Number(q.get(name) ?? fallback);
    try {
      switch (url.pathname) {
        case '/cycle/setup': {
          const impl = q.get('impl') ?? 'ours-kv';
          clients.set(impl, await setupCycle(env, impl));
          return Response.json({ ok: true });
        }
        case '/cycle/run': {
          const impl = q.get('impl') ?? 'ours-kv';
          await cycle(impl, handlerOf(env, ctx, impl), clientOf(impl), int('validations', 10));
          return new Response('ok');
        }
        case '/cycle/count':
          return Response.json(await countCycle(env, ctx, q.get('impl') ?? 'ours-kv', int('validations', 10)));
        case '/floor/setup':
          floor = await setupFloor();
          return Response.json({ ok: true });
        case '/floor/prepare':
          if (!floor) throw new Error('floor not set up');
          await floor.prepareCodes(int('n', 1));
          return new Response('ok');
        case '/floor/run': {
          const task = floorTask(q.get('task') ?? '');
          for (let index = int('n', 1); index > 0; index--) await task();
          return new Response('ok');
        }
        case '/noop':
          return new Response('ok');
        case '/do/seed':
          return Response.json({ run: await seedCodes(env, int('shards', 1), int('codes', 100)) });
        case '/do/redeem':
          return Response.json(await redeem(q.get('run') ?? '', int('contenders', 4)));
        case '/growth/setup':
          await growthSetup(env);
          return Response.json({ ok: true, dbBytes: await dbBytes(env) });
        case '/growth/seed':
          return Response.json(await growthSeed(env, int('total', 1000)));
        case '/growth/validate':
          await growthValidate(int('count', 10));
          return new Response('ok');
        case '/adapters/setup':
          await adaptersSetup(env);
          return Response.json({ ok: true });
        case '/adapters/prepare':
          await adapterSubject(q.get('adapter') ?? '').prepare(int('n', 1));
          return new Response('ok');
        case '/adapters/run': {
          const subject = adapterSubject(q.get('adapter') ?? '');
          const op = q.get('op') === 'exchange' ? subject.exchange : subject.validate;
          for (let index = int('n', 1); index > 0; index--) await op();
          return new Response('ok');
        }
        case '/adapters/count':
          return Response.json(await adapterSubject(q.get('adapter') ?? '').countCalls());
        default:
          return new Response('not found', { status: 404 });
      }
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
      return new Response(message, { status: 500 });
    }
  },
};
