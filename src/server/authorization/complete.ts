import { InvalidRequestError } from '../../errors.js';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ClientInfo, SessionInfo } from '../../oauth/types.js';
import type { RequestContext } from '../endpoints/endpoint.js';
import { reportEvent } from '../events.js';
import { toOAuthError } from '../http/errors.js';
import { redirect } from '../http/responses.js';
import type { AuthorizationDecision, AuthorizationDenial } from '../types.js';
import { openSession, unusableHandle } from './pending.js';

/** The redirect back to the client (RFC 6749 §4.1.2), always with `state` and `iss` (RFC 9207). */
function back(ctx: RequestContext, session: SessionInfo, params: Record<string, string | undefined>): Response {
  return redirect(session.redirectUri, { ...params, state: session.state, iss: ctx.issuer });
}

function report(ctx: RequestContext, started: number, clientId: string, outcome: string): void {
  reportEvent(ctx.config, ctx.env, ctx.waitUntil, {
    endpoint: 'authorization',
    outcome,
    status: 302,
    method: ctx.request.method,
    path: ctx.url.pathname,
    at: started,
    durationMs: ctx.config.now() - started,
    clientId,
  });
}

/** The scope to grant: the decision's, within the request's (or within `scopes_supported` when the request named none) and the client's. */
function grantedScope(ctx: RequestContext, session: SessionInfo, client: ClientInfo, decided: unknown): string[] {
  if (decided === undefined) return session.scope;
  if (!Array.isArray(decided) || decided.some((item) => typeof item !== 'string')) throw new InvalidRequestError('scope', 'must be an array of strings');
  const limit = session.scope.length > 0 ? session.scope : ctx.config.scopes;
  if (limit !== undefined && decided.some((item) => !limit.includes(item))) {
    throw new InvalidRequestError('scope', session.scope.length > 0 ? 'must be within the scope the client requested' : 'must be within scopes_supported');
  }
  if (client.scope.length > 0 && decided.some((item) => !client.scope.includes(item))) {
    throw new InvalidRequestError('scope', 'must be within the scope the client is registered for');
  }
  return [...new Set(decided as string[])];
}

/**
 * Completes a pending authorization. Everything the app decided is checked
 * before the session is touched; then completing the session is the single
 * use (of concurrent completions exactly one gets past it), and only that
 * call issues the code.
 */
export async function completeAuthorization(ctx: RequestContext, store: OAuthStore, handle: string, decision: AuthorizationDecision): Promise<Response> {
  const started = ctx.config.now();
  if (typeof decision !== 'object' || decision === null) throw new InvalidRequestError('decision', 'must be an object');
  const session = await openSession(store, handle);
  if (!session) throw unusableHandle();
  const client = await store.getClient(session.clientId);
  if (!client) throw unusableHandle();
  let scope = grantedScope(ctx, session, client, decision.scope);
  let props = decision.props;
  const resources = session.resources ?? [];
  const shaped = await ctx.config.hooks.onGrant?.({ grantType: 'authorization_code', client, userId: decision.userId, scope, resources, props }, ctx.env);
  if (shaped === false) {
    await store.deleteSession(session.sessionId);
    report(ctx, started, client.clientId, 'access_denied');
    return back(ctx, session, { error: 'access_denied', error_description: 'the server refused this grant' });
  }
  if (shaped) {
    if (shaped.scope !== undefined) scope = grantedScope(ctx, session, client, shaped.scope);
    if ('props' in shaped) props = shaped.props;
  }
  try {
    // Checks user id, scope and props, then completes: the single use.
    await store.updateSession(session.sessionId, { userId: decision.userId, scope, ...(props !== undefined && { props }), completed: true });
  } catch (error) {
    if (error instanceof InvalidRequestError && error.field === 'sessionId') throw unusableHandle();
    throw error;
  }
  try {
    const { code } = await store.createAuthorizationCode({
      clientId: session.clientId,
      userId: decision.userId,
      redirectUri: session.redirectUri,
      ...(session.redirectUriExplicit === false && { redirectUriExplicit: false }),
      scope,
      ...(session.codeChallenge !== undefined && { codeChallenge: session.codeChallenge }),
      ...(session.codeChallengeMethod !== undefined && { codeChallengeMethod: session.codeChallengeMethod }),
      ...(resources.length > 0 && { resources }),
      ...(props !== undefined && { props }),
    });
    ctx.waitUntil(store.deleteSession(session.sessionId).catch(() => undefined));
    report(ctx, started, client.clientId, 'ok');
    return back(ctx, session, { code });
  } catch (error) {
    // The client changed under the session (deleted, redirect URI removed) or the store failed.
    const oauth = toOAuthError(error);
    const code = oauth.status >= 500 ? (oauth.error === 'temporarily_unavailable' ? oauth.error : 'server_error') : oauth.error;
    report(ctx, started, client.clientId, code);
    return back(ctx, session, { error: code, error_description: oauth.description });
  }
}

/** Ends a pending authorization without a grant: back to the client with the error. */
export async function denyAuthorization(ctx: RequestContext, store: OAuthStore, handle: string, denial: AuthorizationDenial = {}): Promise<Response> {
  const started = ctx.config.now();
  const session = await openSession(store, handle);
  if (!session) throw unusableHandle();
  const error = denial.error ?? 'access_denied';
  const allowed = ['access_denied', 'login_required', 'consent_required', 'interaction_required', 'temporarily_unavailable'];
  if (!allowed.includes(error)) throw new InvalidRequestError('error', `must be one of ${allowed.join(', ')}`);
  if (denial.description !== undefined && (typeof denial.description !== 'string' || !/^[\x20-\x21\x23-\x5B\x5D-\x7E]{0,256}$/.test(denial.description))) {
    // RFC 6749 §4.1.2.1: error_description is printable ASCII without '"' and '\'.
    throw new InvalidRequestError('description', 'must be at most 256 printable ASCII characters without quote or backslash');
  }
  await store.deleteSession(session.sessionId);
  report(ctx, started, session.clientId, error);
  return back(ctx, session, { error, error_description: denial.description ?? 'the user denied the request' });
}
