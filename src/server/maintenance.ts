import type { OAuthStore } from '../oauth/oauth-store.js';
import { serverRegistration } from './client-registration.js';
import type { ServerConfig } from './config.js';
import type { MaintenanceResult } from './types.js';

/** A page of the index may hold only ended grants and still have a cursor: look until one is active or the index ends. */
async function hasActiveGrant(store: OAuthStore, clientId: string): Promise<boolean> {
  let cursor: string | undefined;
  do {
    const page = await store.listClientGrants(clientId, { limit: 50, ...(cursor !== undefined && { cursor }) });
    if (page.grants.length > 0) return true;
    cursor = page.cursor;
  } while (cursor !== undefined);
  return false;
}

/**
 * The upkeep a cron trigger runs: `cleanupExpired()`, then the clients this
 * server registered (dynamically, or from a metadata document) that still
 * have no active grant `unusedClientLifetimeSeconds` after they were
 * registered. Both scan; clients you registered yourself are never touched.
 */
export async function maintain(config: ServerConfig, store: OAuthStore): Promise<MaintenanceResult> {
  const cleanup = await store.cleanupExpired();
  let clientsDeleted = 0;
  const lifetime = config.registration.unusedClientLifetimeMs;
  if (lifetime > 0) {
    const cutoff = config.now() - lifetime;
    let cursor: string | undefined;
    do {
      const page = await store.listClients({ limit: 100, ...(cursor !== undefined && { cursor }) });
      for (const client of page.clients) {
        if (client.createdAt > cutoff || !serverRegistration(client)) continue;
        if (await hasActiveGrant(store, client.clientId)) continue;
        if (await store.deleteClient(client.clientId)) clientsDeleted++;
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  return { cleanup, clientsDeleted };
}
