import type { OAuthStore, TokenResult } from '../../../src/index.js';
import { OAuthHttpError, Params, clientCredentials, json } from './http.js';

function tokenResponse(result: TokenResult): Response {
  return json({
    access_token: result.accessToken,
    token_type: result.tokenType,
    expires_in: result.expiresIn,
    ...(result.refreshToken !== undefined && { refresh_token: result.refreshToken }),
    scope: result.scope.join(' '),
  });
}

const scopeList = (scope: string | undefined): string[] | undefined => scope?.split(' ').filter(Boolean);

/** POST /token: `authorization_code` and `refresh_token` grants (RFC 6749 §4.1.3, §6). */
export async function token(request: Request, store: OAuthStore): Promise<Response> {
  const params = await Params.fromForm(request);
  const credentials = clientCredentials(request, params);
  const client = {
    clientId: credentials.clientId,
    ...(credentials.clientSecret !== undefined && { clientSecret: credentials.clientSecret }),
  };
  const grantType = params.require('grant_type');
  switch (grantType) {
    case 'authorization_code': {
      const codeVerifier = params.get('code_verifier');
      // Required by the store unless the authorization request left it out (RFC 6749 §4.1.3).
      const redirectUri = params.get('redirect_uri');
      return tokenResponse(
        await store.exchangeAuthorizationCode({
          ...client,
          code: params.require('code'),
          ...(redirectUri !== undefined && { redirectUri }),
          ...(codeVerifier !== undefined && { codeVerifier }),
        }),
      );
    }
    case 'refresh_token': {
      const scope = scopeList(params.get('scope'));
      return tokenResponse(
        await store.refreshAccessToken({ ...client, refreshToken: params.require('refresh_token'), ...(scope && { scope }) }),
      );
    }
    default:
      throw new OAuthHttpError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
  }
}
