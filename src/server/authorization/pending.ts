import { InvalidRequestError } from '../../errors.js';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ClientInfo, SessionInfo } from '../../oauth/types.js';
import { serverRegistration } from '../client-registration.js';
import type { AuthorizationRequest, PendingAuthorization } from '../types.js';

/** What the app sees of a validated authorization request. */
export function describeRequest(client: ClientInfo, redirectUri: string, scope: string[], resources: string[]): AuthorizationRequest {
  return {
    client: {
      clientId: client.clientId,
      ...(client.name !== undefined && { name: client.name }),
      type: client.type,
      metadataDocument: serverRegistration(client)?.via === 'metadata-document',
    },
    redirectUri,
    scope,
    resources,
  };
}

/** What the app's UI sees of a request kept in a session. */
export function toPending(session: SessionInfo, client: ClientInfo): PendingAuthorization {
  return { handle: session.sessionId, ...describeRequest(client, session.redirectUri, session.scope, session.resources ?? []), expiresAt: session.expiresAt };
}

/** The refusal for every handle that cannot be used, whatever the reason. */
export const unusableHandle = (): InvalidRequestError => new InvalidRequestError('handle', 'is unknown, expired or already used');

/** An open (not completed) session behind `handle`, or null. Never throws for a malformed handle. */
export async function openSession(store: OAuthStore, handle: unknown): Promise<SessionInfo | null> {
  if (typeof handle !== 'string') return null;
  let session: SessionInfo | null;
  try {
    session = await store.getSession(handle);
  } catch (error) {
    if (error instanceof InvalidRequestError) return null;
    throw error;
  }
  return session && !session.completed ? session : null;
}

/** The pending authorization behind `handle`, or null (unknown, expired, used, or its client is gone). */
export async function getPending(store: OAuthStore, handle: string): Promise<PendingAuthorization | null> {
  const session = await openSession(store, handle);
  if (!session) return null;
  const client = await store.getClient(session.clientId);
  return client ? toPending(session, client) : null;
}
