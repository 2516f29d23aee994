import type { RacyGroupCommitObject, RacyVaultDurableObject, VaultDurableObject } from './worker.js';

declare global {
  namespace Cloudflare {
    interface Env {
      KV: KVNamespace;
      DB: D1Database;
      VAULT_DO: DurableObjectNamespace<VaultDurableObject>;
      RACY_DO: DurableObjectNamespace<RacyVaultDurableObject>;
      RACY_GROUP_DO: DurableObjectNamespace<RacyGroupCommitObject>;
    }
  }
}

export {};
