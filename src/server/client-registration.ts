import type { ClientInfo } from '../oauth/types.js';
import type { ClientAuthMethod } from './http/client-auth.js';

/**
 * What the server records about a client it registered itself, in the
 * client's (sealed) `metadata`: how it came, its authentication method, and
 * for a metadata document when to fetch it again. Clients you register
 * yourself have none of this and are never touched by the server's upkeep.
 */
export interface ServerRegistration {
  via: 'dynamic' | 'metadata-document';
  tokenEndpointAuthMethod: ClientAuthMethod | 'private_key_jwt';
  /** RFC 9126 §6: this client's authorization requests must be pushed. */
  requirePushedAuthorizationRequests?: boolean;
  /** Metadata documents: when the cached copy is stale (epoch ms). */
  refreshAt?: number;
}

/** The metadata the server writes on clients it registers. */
export const registrationMetadata = (registration: ServerRegistration): { registration: ServerRegistration } => ({ registration });

/** How the server registered `client`, or undefined for a client it did not register. */
export function serverRegistration(client: ClientInfo): ServerRegistration | undefined {
  const metadata = client.metadata as { registration?: Partial<ServerRegistration> } | undefined;
  const registration = metadata?.registration;
  if (typeof registration !== 'object' || registration === null) return undefined;
  if (registration.via !== 'dynamic' && registration.via !== 'metadata-document') return undefined;
  return registration as ServerRegistration;
}
