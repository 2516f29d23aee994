import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { deviceCodeGrant } from './device-code.js';
import type { GrantHandler } from './handler.js';
import { refreshTokenGrant } from './refresh-token.js';

/** The built-in grant types: one file each, registered here. */
export const BUILT_IN_GRANTS: readonly GrantHandler[] = [
  authorizationCodeGrant as GrantHandler,
  refreshTokenGrant as GrantHandler,
  clientCredentialsGrant as GrantHandler,
  deviceCodeGrant as GrantHandler,
];
