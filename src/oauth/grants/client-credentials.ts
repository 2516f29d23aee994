import { optionalJkt, optionalResources, optionalScope } from '../input.js';
import type { GrantHandler } from './handler.js';

interface ClientCredentialsParams {
  scope: string[] | undefined;
  resources: string[] | undefined;
  dpopJkt: string | undefined;
}

/**
 * The client credentials grant (RFC 6749 §4.4): a confidential client gets
 * an access token for itself. No refresh token (it can ask again); the
 * subject is the client; the scope is what it asks within its registered
 * scope (default: all of it). Each request is a grant of its own, living as
 * long as its access token: audited, revocable, introspectable, listed per
 * client.
 */
export const clientCredentialsGrant: GrantHandler<ClientCredentialsParams> = {
  type: 'client_credentials',
  parameters: ['scope', 'resources', 'dpopJkt'],
  publicClients: false,
  parse: (p) => ({ scope: optionalScope('scope', p.scope), resources: optionalResources('resources', p.resources), dpopJkt: optionalJkt('dpopJkt', p.dpopJkt) }),
  issue: (tools, client, p) =>
    tools.issueGrant({
      client,
      userId: client.clientId,
      scope: tools.allowedScope(client, p.scope),
      resources: tools.allowedResources(client, p.resources),
      ...(p.dpopJkt !== undefined && { dpopJkt: p.dpopJkt }),
    }),
};
