import { DEVICE_CODE_GRANT } from '../../oauth/grants/device-code.js';
import { storeCredentials } from '../http/client-auth.js';
import type { TokenGrant } from './token.js';

/**
 * RFC 8628 §3.4: the device polls with its device code. The store answers
 * `authorization_pending`, `slow_down` (polled within the interval),
 * `access_denied`, `expired_token`, or the tokens, exactly once. Offered
 * only when `deviceAuthorization` is on.
 */
export const deviceCodeGrant: TokenGrant = {
  type: DEVICE_CODE_GRANT,
  enabled: (config) => config.deviceAuthorization !== null,
  issue: (_ctx, store, client, params) => store.requestToken({ grantType: DEVICE_CODE_GRANT, ...storeCredentials(client), deviceCode: params.require('device_code') }),
};
