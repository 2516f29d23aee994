import { json } from '../http/responses.js';
import { endpointUrl, type Endpoint } from './endpoint.js';

const JWKS_PATH = '/.well-known/jwks.json';

/**
 * The JWKS (RFC 7517) that verifies this server's JWT access tokens: the
 * public halves of the store's signing keys, the current one and those in
 * their overlap. Served, and named as `jwks_uri`, only when a protected
 * route takes JWT access tokens. Public and cacheable, for less time than a
 * retired key stays published (`jwksMaxAgeSeconds`).
 */
export const jwksEndpoint: Endpoint = {
  name: 'jwks',
  paths: (config) => (config.jwt ? [JWKS_PATH] : []),
  methods: ['GET'],
  cors: true,
  handle: async (ctx) => {
    const jwt = ctx.config.jwt!;
    const store = await ctx.store();
    // A first request may find no key yet: make the one tokens will be signed with, so it is published before it signs.
    await store.signingKey(jwt.options.algorithm);
    return json(await store.jwks(), 200, { 'Cache-Control': `public, max-age=${jwt.options.jwksMaxAgeSeconds}`, Pragma: '', 'Content-Type': 'application/jwk-set+json' });
  },
  metadata: (config, issuer) => (config.jwt ? { jwks_uri: endpointUrl(issuer, JWKS_PATH) } : {}),
};
