import { InvalidRequestError, type OAuthStore } from '../../../src/index.js';
import { toOAuthError } from './errors.js';
import { Params } from './http.js';
import { consentPage, errorPage } from './pages.js';

const ALREADY_USED = 'This sign-in has expired or was already used. Start again from the app.';

/**
 * RFC 6749 Appendix A.5: state is 1*VSCHAR. The length cap is the store's
 * (sessions keep at most 2,048 characters) and keeps the redirect's Location
 * header small enough for any client to read.
 */
const STATE = /^[\x20-\x7E]{1,2048}$/;

/** Redirects back to the client with `params` (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207 `iss`). */
function redirectTo(redirectUri: string, issuer: string, params: Record<string, string | undefined>): Response {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set('iss', issuer);
  return new Response(null, { status: 302, headers: { Location: url.toString(), 'Cache-Control': 'no-store' } });
}

/**
 * GET /authorize. Until the client and its redirect URI are known to match,
 * errors are shown here (never redirected to an unverified URI); after that
 * they go back to the client with `error` and `state`.
 */
export async function startAuthorization(request: Request, store: OAuthStore, issuer: string): Promise<Response> {
  let params: Params;
  try {
    params = Params.from(new URL(request.url).searchParams);
  } catch (error) {
    return errorPage(toOAuthError(error).description);
  }
  const clientId = params.get('client_id');
  const client = clientId === undefined ? null : await store.getClient(clientId).catch(() => null);
  if (!client) return errorPage('Unknown or missing client_id.');
  const requested = params.get('redirect_uri');
  const redirectUri = requested ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
  if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
    return errorPage('The redirect_uri is missing or not registered for this client.');
  }
  const state = params.get('state');
  // An invalid state is never sent back: the error stays on this page.
  if (state !== undefined && !STATE.test(state)) {
    return errorPage('The state parameter is invalid: it must be at most 2,048 printable ASCII characters.');
  }
  const fail = (error: string, description: string) => redirectTo(redirectUri, issuer, { error, error_description: description, state });

  const responseType = params.get('response_type');
  if (responseType === undefined) return fail('invalid_request', 'response_type is required');
  if (responseType !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  const codeChallenge = params.get('code_challenge');
  if (codeChallenge === undefined) return fail('invalid_request', 'code_challenge is required (PKCE)');
  const method = params.get('code_challenge_method') ?? 'plain';
  if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
  const scope = params.get('scope')?.split(' ').filter(Boolean) ?? [];
  const resource = params.get('resource');
  try {
    const session = await store.createSession({
      clientId: client.clientId,
      redirectUri,
      // Left out here (one registered URI): /token may leave it out too (RFC 6749 §4.1.3).
      ...(requested === undefined && { redirectUriExplicit: false }),
      scope,
      codeChallenge,
      codeChallengeMethod: 'S256',
      ...(state !== undefined && { state }),
      ...(resource !== undefined && { resources: [resource] }),
    });
    return consentPage({
      sessionId: session.sessionId,
      clientName: client.name ?? client.clientId,
      redirectUri,
      scope: session.scope,
    });
  } catch (error) {
    const oauth = toOAuthError(error);
    if (oauth.status >= 500) return errorPage('The server could not start the authorization.', oauth.status);
    return fail(oauth.error, oauth.description);
  }
}

/** POST /authorize: the user's decision on the consent page. */
export async function finishAuthorization(request: Request, store: OAuthStore, issuer: string): Promise<Response> {
  let params: Params;
  try {
    params = await Params.fromForm(request);
  } catch (error) {
    return errorPage(toOAuthError(error).description);
  }
  const sessionId = params.get('session');
  const session = sessionId === undefined ? null : await store.getSession(sessionId).catch(() => null);
  if (!session || session.completed) return errorPage(ALREADY_USED);
  const back = (values: Record<string, string | undefined>) => redirectTo(session.redirectUri, issuer, { ...values, state: session.state });

  const approved = params.get('decision') === 'approve';
  const user = params.get('user')?.trim();
  if (approved && (!user || user.length > 64)) return errorPage('Enter a user name of 1 to 64 characters.');
  if (!approved || !user) {
    await store.deleteSession(session.sessionId);
    return back({ error: 'access_denied', error_description: 'the user denied the request' });
  }
  try {
    // Completing a session is one compare-and-set in the atomic store: of two
    // concurrent submissions of this form, only one gets past this line.
    await store.updateSession(session.sessionId, { userId: user, completed: true });
  } catch (error) {
    if (error instanceof InvalidRequestError && error.field === 'sessionId') return errorPage(ALREADY_USED);
    throw error;
  }
  try {
    const { code } = await store.createAuthorizationCode({
      clientId: session.clientId,
      userId: user,
      redirectUri: session.redirectUri,
      ...(session.redirectUriExplicit === false && { redirectUriExplicit: false }),
      scope: session.scope,
      ...(session.codeChallenge !== undefined && { codeChallenge: session.codeChallenge }),
      ...(session.codeChallengeMethod !== undefined && { codeChallengeMethod: session.codeChallengeMethod }),
      ...(session.resources !== undefined && { resources: session.resources }),
      props: { signedInAt: new Date().toISOString() },
    });
    await store.deleteSession(session.sessionId);
    return back({ code });
  } catch (error) {
    const oauth = toOAuthError(error);
    return oauth.status >= 500 ? errorPage('The server could not issue a code.', oauth.status) : back({ error: oauth.error });
  }
}
