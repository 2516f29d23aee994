import { cacheableJson } from '../http/responses.js';
import type { Endpoint } from './endpoint.js';

/**
 * RFC 8414 authorization server metadata, at the well-known path for the
 * issuer (with the issuer's path appended, §3.1), and at the OpenID
 * discovery path when asked. The document is what every registered
 * endpoint contributes.
 */
export const metadataEndpoint: Endpoint = {
  name: 'metadata',
  paths: (config, issuerPath) => [
    `/.well-known/oauth-authorization-server${issuerPath}`,
    ...(config.openidConfiguration ? [`/.well-known/openid-configuration${issuerPath}`, ...(issuerPath ? [`${issuerPath}/.well-known/openid-configuration`] : [])] : []),
  ],
  methods: ['GET'],
  cors: true,
  handle: async (ctx) => cacheableJson(ctx.serverMetadata()),
  metadata: (config, issuer) => ({ issuer, ...(config.scopes && { scopes_supported: config.scopes }) }),
};
