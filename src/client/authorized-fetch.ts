import { InvalidGrantError, NotSupportedError } from '../errors.js';
import type { DpopProofs } from './dpop-proofs.js';
import { untilAborted } from './tab-sync.js';
import type { TokenSet } from './token-set.js';

/** What {@link authorizedFetch} needs from the vault. */
export interface FetchContext {
  /** Tokens to send: the stored ones, refreshed (once across tabs) when they expire within the skew; `null` when there are none. */
  tokens(): Promise<TokenSet | null>;
  /**
   * Refreshes because the resource refused `rejected` — unless the stored
   * access token is another one already (someone refreshed meanwhile). The
   * tokens to retry with, or `null`.
   */
  refreshAfterRejection(rejected: string): Promise<TokenSet | null>;
  readonly dpop: DpopProofs | undefined;
  /** The fetch to call (looked up per call). */
  fetch(): typeof fetch;
}

/** One retry on a new nonce per call: with the retry after a refresh, at most four sends, never a loop. */
interface Budget {
  nonceRetry: boolean;
}

/**
 * `fetch` with the vault's access token attached (`Bearer`, or `DPoP` with a
 * proof), refreshed when it is about to expire, and once more when the
 * resource answers 401 `invalid_token`; then the request is sent again, once.
 * A 401 after that is returned as it is. A server nonce (`use_dpop_nonce`)
 * costs one more send. Aborting `init.signal` rejects at once with its reason,
 * whatever the call is waiting for; a refresh other callers share goes on.
 */
export async function authorizedFetch(context: FetchContext, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const template = new Request(input, init);
  const signal = template.signal;
  const budget: Budget = { nonceRetry: true };
  const tokens = await untilAborted(context.tokens(), signal);
  if (!tokens) throw new InvalidGrantError('the vault holds no usable tokens: sign in first');
  const response = await sendWithToken(context, template, tokens, budget);
  if (!isChallenge(response, 'invalid_token')) return response;
  const next = await untilAborted(context.refreshAfterRejection(tokens.accessToken), signal);
  // Nothing new to try (no refresh token, or the refresh gave the same token): the 401 stands.
  if (!next || next.accessToken === tokens.accessToken) return response;
  await response.body?.cancel();
  return sendWithToken(context, template, next, budget);
}

/**
 * `fetch` with a DPoP proof and no access token, for the token endpoint
 * (code exchange, refresh): a `use_dpop_nonce` error is retried once with the
 * server's nonce. Without DPoP it is plain `fetch`.
 */
export async function proofFetch(context: Pick<FetchContext, 'dpop' | 'fetch'>, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const template = new Request(input, init);
  const dpop = context.dpop;
  if (!dpop) return context.fetch()(template);
  const send = async (): Promise<{ response: Response; newNonce: boolean }> => {
    const headers = new Headers(template.headers);
    headers.set('DPoP', await untilAborted(dpop.proof(template.method, template.url), template.signal));
    const response = await context.fetch()(new Request(template.clone(), { headers }));
    return { response, newNonce: dpop.noteNonce(template.url, response) };
  };
  const first = await send();
  // RFC 9449 §8: the authorization server asks for a nonce with a 400 use_dpop_nonce error.
  if (first.response.status !== 400 || !first.newNonce || (await errorCode(first.response.clone())) !== 'use_dpop_nonce') return first.response;
  await first.response.body?.cancel();
  return (await send()).response;
}

async function sendWithToken(context: FetchContext, template: Request, tokens: TokenSet, budget: Budget): Promise<Response> {
  const dpop = tokens.tokenType.toLowerCase() === 'dpop' ? context.dpop : undefined;
  if (!dpop && tokens.tokenType.toLowerCase() === 'dpop') {
    throw new NotSupportedError('the access token is DPoP-bound: open the vault with the dpop option (oauth-vault/dpop)');
  }
  const send = async (): Promise<Response> => {
    const headers = new Headers(template.headers);
    headers.set('Authorization', `${dpop ? 'DPoP' : 'Bearer'} ${tokens.accessToken}`);
    if (dpop) headers.set('DPoP', await untilAborted(dpop.proof(template.method, template.url, tokens.accessToken), template.signal));
    return context.fetch()(new Request(template.clone(), { headers }));
  };
  const response = await send();
  if (!dpop) return response;
  const newNonce = dpop.noteNonce(template.url, response);
  // RFC 9449 §9: a resource server asks for a nonce with a 401 and a DPoP use_dpop_nonce challenge.
  if (!budget.nonceRetry || !newNonce || !isChallenge(response, 'use_dpop_nonce')) return response;
  budget.nonceRetry = false;
  await response.body?.cancel();
  return send();
}

/** Whether a 401's `WWW-Authenticate` carries `error="<error>"` (Bearer, RFC 6750 §3; DPoP, RFC 9449 §7.1). */
function isChallenge(response: Response, error: string): boolean {
  if (response.status !== 401) return false;
  const header = response.headers.get('WWW-Authenticate') ?? '';
  return new RegExp(`(?:^|[\\s,])error\\s*=\\s*"?${error}"?(?:$|[\\s,])`, 'i').test(header);
}

/** The `error` member of a JSON error body, or `undefined`. */
async function errorCode(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.json()) as { error?: unknown };
    return typeof body?.error === 'string' ? body.error : undefined;
  } catch {
    return undefined;
  }
}
