import { DEVICE_CODE_GRANT } from '../../oauth/grants/device-code.js';
import { storeCredentials } from '../http/client-auth.js';
import { OAuthHttpError } from '../http/errors.js';
import { Params } from '../http/params.js';
import { requestClient } from '../http/request-client.js';
import { json } from '../http/responses.js';
import { checkResources } from '../resources.js';
import { endpointUrl, type Endpoint, type RequestContext } from './endpoint.js';

/** Where the user enters the code: the configured path on the issuer's origin, or the absolute URL as given. */
export function verificationUri(ctx: RequestContext): string {
  const configured = ctx.config.deviceAuthorization!.verificationUri;
  return configured.startsWith('/') ? endpointUrl(ctx.issuer, configured) : configured;
}

/**
 * POST /device_authorization (RFC 8628 §3.1–3.2): a client (public, or
 * authenticated as at the token endpoint) that may use the device grant asks
 * for a device code and a user code. The user goes to `verification_uri`
 * (the app's page, which calls `context.approveDeviceAuthorization`); the
 * device polls /token with the device code every `interval` seconds.
 */
async function deviceAuthorization(ctx: RequestContext): Promise<Response> {
  const params = await Params.fromForm(ctx.request, ctx.config.maxBodyBytes, ['resource']);
  const client = await requestClient(ctx, params);
  const scope = params.list('scope');
  const { scopes } = ctx.config;
  if (scope !== undefined && scopes !== undefined && scope.some((item) => !scopes.includes(item))) {
    throw new OAuthHttpError('invalid_scope', 'the scope names a value that scopes_supported does not');
  }
  const resources = checkResources(ctx, params.all('resource'));
  const store = await ctx.store();
  const started = await store.createDeviceAuthorization({
    ...storeCredentials(client),
    ...(scope !== undefined && { scope }),
    ...(resources.length > 0 && { resources }),
  });
  const uri = verificationUri(ctx);
  const complete = new URL(uri);
  complete.searchParams.set('user_code', started.userCode);
  return json({
    device_code: started.deviceCode,
    user_code: started.userCode,
    verification_uri: uri,
    verification_uri_complete: complete.toString(),
    expires_in: started.expiresIn,
    interval: started.interval,
  });
}

export const deviceAuthorizationEndpoint: Endpoint = {
  name: 'device_authorization',
  paths: (config) => (config.deviceAuthorization ? [config.deviceAuthorization.path] : []),
  methods: ['POST'],
  // Devices, CLIs and TVs call it; a browser app has no use for the device flow.
  cors: false,
  handle: deviceAuthorization,
  metadata: (config, issuer) => (config.deviceAuthorization ? { device_authorization_endpoint: endpointUrl(issuer, config.deviceAuthorization.path) } : {}),
};
