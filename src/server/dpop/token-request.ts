import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { RequestContext } from '../endpoints/endpoint.js';
import { OAuthHttpError } from '../http/errors.js';
import { DpopProofError } from './proof.js';

/** What a token request's DPoP proof gave: the key to bind the tokens to, and headers for the answer. */
export interface TokenRequestProof {
  jkt?: string;
  headers: Record<string, string>;
}

/**
 * DPoP at the token endpoint (RFC 9449 §5): without a `DPoP` header the
 * tokens are bearer tokens; with one, a valid proof for `POST` on this URL
 * binds them to its key. A server without DPoP ignores the header (§5.1).
 *
 * @throws OAuthHttpError 400 `invalid_dpop_proof`, or `use_dpop_nonce` with a `DPoP-Nonce` header.
 */
export async function tokenRequestProof(ctx: RequestContext, store: OAuthStore): Promise<TokenRequestProof> {
  const dpop = ctx.config.dpop;
  const header = ctx.request.headers.get('DPoP');
  if (!dpop || header === null) return { headers: {} };
  try {
    const jkt = await dpop.verify(store, { method: ctx.request.method, url: ctx.request.url, header });
    return { jkt, headers: await dpop.nonceHeader(store) };
  } catch (error) {
    if (!(error instanceof DpopProofError)) throw error;
    throw new OAuthHttpError(error.code, error.description, 400, await dpop.nonceHeader(store));
  }
}
