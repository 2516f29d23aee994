import { authorizeEndpoint } from './authorize.js';
import type { Endpoint } from './endpoint.js';
import { introspectEndpoint } from './introspect.js';
import { jwksEndpoint } from './jwks.js';
import { deviceAuthorizationEndpoint } from './device-authorization.js';
import { metadataEndpoint } from './metadata.js';
import { parEndpoint } from './par.js';
import { registerEndpoint } from './register.js';
import { resourceMetadataEndpoint } from './resource-metadata.js';
import { revokeEndpoint } from './revoke.js';
import { tokenEndpoint } from './token.js';

/**
 * Every endpoint of the authorization server, once. Routing, CORS, the
 * RFC 8414 document and the events all come from this list: a new endpoint
 * (pushed authorization requests, device authorization, a JWKS) is one file
 * and one entry here.
 */
export const ENDPOINTS: readonly Endpoint[] = [
  metadataEndpoint,
  authorizeEndpoint,
  tokenEndpoint,
  revokeEndpoint,
  introspectEndpoint,
  registerEndpoint,
  resourceMetadataEndpoint,
  jwksEndpoint,
  parEndpoint,
  deviceAuthorizationEndpoint,
];
