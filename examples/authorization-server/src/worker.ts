import type { DemoEnv } from './env.js';
import { server } from './server.js';

// The Durable Object class must be exported by the Worker that binds it.
export { VaultDurableObject } from '../../../adapters/cloudflare.js';

export default {
  fetch(request, env, context) {
    if (!env.VAULT_SECRET) {
      return Response.json({ error: 'server_error', error_description: 'VAULT_SECRET is not configured (see README)' }, { status: 500 });
    }
    return server.fetch(request, env, context);
  },
  // The cron trigger in wrangler.toml: expired data and unused registered clients.
  scheduled(controller, env, context) {
    return server.scheduled(controller, env, context);
  },
} satisfies ExportedHandler<DemoEnv>;
