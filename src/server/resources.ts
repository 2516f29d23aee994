import type { ResolvedResource } from './config.js';
import type { RequestContext } from './endpoints/endpoint.js';
import { OAuthHttpError } from './http/errors.js';

/** The resource identifier (RFC 8707) of a protected route for an issuer: configured, or the issuer's origin + its path. */
export function resourceIdentifier(resource: ResolvedResource<unknown, unknown>, issuer: string): string {
  return resource.resource ?? `${new URL(issuer).origin}${resource.path}`;
}

/** Where a protected route's metadata lives (RFC 9728 §3.1: the well-known path inserted before the resource's path). */
export function resourceMetadataUrl(resource: ResolvedResource<unknown, unknown>, issuer: string): string {
  const identifier = new URL(resourceIdentifier(resource, issuer));
  const path = identifier.pathname === '/' ? '' : identifier.pathname.replace(/\/+$/, '');
  return `${identifier.origin}/.well-known/oauth-protected-resource${path}`;
}

/**
 * Checks requested resources (RFC 8707) against the routes this server
 * protects: tokens are only issued for those. A server that protects no
 * route leaves the choice to the store (its `resources` option).
 *
 * @throws OAuthHttpError `invalid_target`
 */
export function checkResources(ctx: RequestContext, requested: readonly string[]): string[] {
  const known = ctx.config.protect.map((resource) => resourceIdentifier(resource, ctx.issuer));
  if (known.length > 0 && requested.some((resource) => !known.includes(resource))) {
    throw new OAuthHttpError('invalid_target', 'the requested resource is not one this server issues tokens for');
  }
  return [...new Set(requested)];
}
