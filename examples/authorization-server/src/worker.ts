import { handleRequest } from './app.js';
import type { DemoEnv } from './env.js';

// The Durable Object class must be exported by the Worker that binds it.
export { VaultDurableObject } from '../../../adapters/cloudflare.js';

export default {
  fetch(request: Request, env: DemoEnv): Promise<Response> {
    return handleRequest(request, env);
  },
} satisfies ExportedHandler<DemoEnv>;
