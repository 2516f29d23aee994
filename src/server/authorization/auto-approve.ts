import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ClientInfo } from '../../oauth/types.js';
import type { RequestContext } from '../endpoints/endpoint.js';
import { toOAuthError } from '../http/errors.js';
import { redirect } from '../http/responses.js';
import type { AuthorizationDecision } from '../types.js';
import { decideGrant, Vetoed } from './complete.js';

/** An authorization request as /authorize validated it. */
export interface ValidatedRequest {
  redirectUri: string;
  /** False when the request left `redirect_uri` out (RFC 6749 §4.1.3). */
  redirectUriExplicit: boolean;
  scope: string[];
  resources: string[];
  codeChallenge: string;
  state: string | undefined;
}

/**
 * The `autoApprove` fast path: the app decided without a page, so no session
 * is kept; the code is issued in one atomic call and the user goes straight
 * back to the client with `code`, `state` and `iss` (RFC 9207). A veto of the
 * `onGrant` hook goes back as `access_denied`; a failing store as
 * `server_error` or `temporarily_unavailable`. A decision that fails its
 * checks (a scope beyond the request's) is the app's error and is thrown.
 */
export async function approveAtOnce(ctx: RequestContext, store: OAuthStore, client: ClientInfo, request: ValidatedRequest, decision: AuthorizationDecision): Promise<Response> {
  const back = (params: Record<string, string>): Response => redirect(request.redirectUri, { ...params, state: request.state, iss: ctx.issuer });
  let grant;
  try {
    grant = await decideGrant(ctx, request, client, decision);
  } catch (error) {
    if (!(error instanceof Vetoed)) throw error;
    ctx.event.outcome = 'access_denied';
    return back({ error: 'access_denied', error_description: 'the server refused this grant' });
  }
  try {
    const { code } = await store.createAuthorizationCode({
      clientId: client.clientId,
      ...grant,
      redirectUri: request.redirectUri,
      ...(!request.redirectUriExplicit && { redirectUriExplicit: false }),
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: 'S256',
      ...(request.resources.length > 0 && { resources: request.resources }),
    });
    return back({ code });
  } catch (error) {
    const oauth = toOAuthError(error);
    if (oauth.status < 500) throw error;
    const code = oauth.error === 'temporarily_unavailable' ? oauth.error : 'server_error';
    ctx.event.outcome = code;
    return back({ error: code, error_description: oauth.description });
  }
}
