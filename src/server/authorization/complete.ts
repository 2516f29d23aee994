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

export function report(ctx: RequestContext, started: number, clientId: string, outcome: string): void {
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
function grantedScope(ctx: RequestContext, requested: string[], client: ClientInfo, decided: unknown): string[] {
  if (decided === undefined) return requested;
  if (!Array.isArray(decided) || decided.some((item) => typeof item !== 'string')) throw new InvalidRequestError('scope', 'must be an array of strings');
  const limit = requested.length > 0 ? requested : ctx.config.scopes;
  if (limit !== undefined && decided.some((item) => !limit.includes(item))) {
    throw new InvalidRequestError('scope', requested.length > 0 ? 'must be within the scope the client requested' : 'must be within scopes_supported');
  }
  if (client.scope.length > 0 && decided.some((item) => !client.scope.includes(item))) {
    throw new InvalidRequestError('scope', 'must be within the scope the client is registered for');
  }
  return [...new Set(decided as string[])];
}

/** Thrown when the `onGrant` hook vetoes: nothing is written. */
export class Vetoed extends Error {}

/**
 * The app's decision made into the grant to issue: the scope checked, then
 * shaped (or vetoed, by throwing {@link Vetoed}) by the `onGrant` hook.
 */
export async function decideGrant(
  ctx: RequestContext,
  requested: { scope: string[]; resources: string[] },
  client: ClientInfo,
  decision: AuthorizationDecision,
): Promise<{ userId: string; scope: string[]; props?: unknown }> {
  let scope = grantedScope(ctx, requested.scope, client, decision.scope);
  let props = decision.props;
  const shaped = await ctx.config.hooks.onGrant?.({ grantType: 'authorization_code', client, userId: decision.userId, scope, resources: requested.resources, props }, ctx.env);
  if (shaped === false) throw new Vetoed();
  if (shaped) {
    if (shaped.scope !== undefined) scope = grantedScope(ctx, requested.scope, client, shaped.scope);
    if ('props' in shaped) props = shaped.props;
  }
  return { userId: decision.userId, scope, ...(props !== undefined && { props }) };
}

/**
 * Completes a pending authorization. Everything the app decided is checked
 * while the store holds the session read and before it writes; then the
 * store completes the session and issues its code in one atomic call (of
 * concurrent completions exactly one gets the code).
 */
export async function completeAuthorization(ctx: RequestContext, store: OAuthStore, handle: string, decision: AuthorizationDecision): Promise<Response> {
  const started = ctx.config.now();
  if (typeof decision !== 'object' || decision === null) throw new InvalidRequestError('decision', 'must be an object');
  if (typeof handle !== 'string') throw unusableHandle();
  let seen: { session: SessionInfo; client: ClientInfo } | undefined;
  try {
    const { code, session } = await store.completeAuthorization(handle, (session, client) => {
      seen = { session, client };
      return decideGrant(ctx, { scope: session.scope, resources: session.resources ?? [] }, client, decision);
    });
    report(ctx, started, session.clientId, 'ok');
    return back(ctx, session, { code });
  } catch (error) {
    if (error instanceof Vetoed && seen) {
      await store.deleteSession(seen.session.sessionId);
      report(ctx, started, seen.client.clientId, 'access_denied');
      return back(ctx, seen.session, { error: 'access_denied', error_description: 'the server refused this grant' });
    }
    // Unknown, expired or used; or the client is gone or no longer has this redirect URI (never redirect there).
    if (error instanceof InvalidRequestError && error.field === 'sessionId') throw unusableHandle();
    if (seen === undefined && toOAuthError(error).status < 500) throw unusableHandle();
    const oauth = toOAuthError(error);
    if (seen === undefined || oauth.status < 500) throw error; // the app's own decision was refused: its to handle
    const code = oauth.error === 'temporarily_unavailable' ? oauth.error : 'server_error';
    report(ctx, started, seen.client.clientId, code);
    return back(ctx, seen.session, { error: code, error_description: oauth.description });
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
