import type { ResolvedResource } from '../config.js';
import { cacheableJson, json } from '../http/responses.js';
import { resourceIdentifier } from '../resources.js';
import type { Endpoint, RequestContext } from './endpoint.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** The metadata path of a protected route (RFC 9728 §3.1): the well-known prefix, then the path of its resource identifier. */
function metadataPath(resource: ResolvedResource<unknown, unknown>): string {
  const path = resource.resource === undefined ? resource.path : new URL(resource.resource).pathname.replace(/\/+$/, '');
  return `${WELL_KNOWN}${path}`;
}

/**
 * RFC 9728 protected resource metadata for each protected route, at its
 * path-inserted well-known URL; the bare well-known path answers for the
 * first route (clients that do not insert the path look there).
 */
async function resourceMetadata(ctx: RequestContext): Promise<Response> {
  const { protect, scopes } = ctx.config;
  const resource = ctx.url.pathname === WELL_KNOWN ? protect[0] : protect.find((candidate) => metadataPath(candidate) === ctx.url.pathname);
  if (!resource) return json({ error: 'not_found' }, 404);
  const scopesSupported = resource.scopesSupported ?? scopes;
  return cacheableJson({
    resource: resourceIdentifier(resource, ctx.issuer),
    authorization_servers: [ctx.issuer],
    bearer_methods_supported: ['header'],
    ...(scopesSupported !== undefined && { scopes_supported: scopesSupported }),
    ...(resource.name !== undefined && { resource_name: resource.name }),
    ...(ctx.config.dpop && { dpop_signing_alg_values_supported: [...ctx.config.dpop.settings.algorithms] }),
  });
}

export const resourceMetadataEndpoint: Endpoint = {
  name: 'resource_metadata',
  paths: (config) => (config.protect.length === 0 ? [] : [WELL_KNOWN, ...config.protect.map(metadataPath)]),
  methods: ['GET'],
  cors: true,
  handle: resourceMetadata,
};
