import { ConflictError, InvalidGrantError, InvalidRequestError } from '../errors.js';
import { optionalInteger, optionalString } from '../util/validate.js';
import { checkAuthorizationRequest } from './authorization-request.js';
import type { StoreContext } from './context.js';
import { onlyKeys, params, requireId, requireToken } from './input.js';
import type { PushedRecord } from './record-kinds.js';
import { formatToken, LOOKUP, newGrantId, parseToken } from './tokens.js';
import { Transition } from './transition.js';
import type { PushAuthorizationRequestParams, PushAuthorizationRequestResult, PushedAuthorizationRequest } from './types.js';

/**
 * Pushed authorization requests (RFC 9126): the client sends its
 * authorization request to the server first, gets a `request_uri`, and the
 * authorization endpoint takes the request by that handle, once. The request
 * is checked when pushed (client, redirect URI, scope, resources, PKCE), kept
 * sealed under `pushed/<id>/<lookup(handle)>`, and taken by deleting it only
 * if present: of N concurrent uses of one `request_uri` exactly one gets it.
 */

/** RFC 9126 §2.2: the request_uri is a URN of this prefix. */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';
const DEFAULT_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 600;

export async function pushAuthorizationRequest(ctx: StoreContext, input: PushAuthorizationRequestParams): Promise<PushAuthorizationRequestResult> {
  const p = params('params', input);
  onlyKeys('params', p, ['clientId', 'redirectUri', 'redirectUriExplicit', 'scope', 'state', 'codeChallenge', 'codeChallengeMethod', 'resources', 'ttlSeconds']);
  const state = optionalString('state', p.state, { max: 2048 });
  const ttl = optionalInteger('ttlSeconds', p.ttlSeconds, 1, MAX_TTL_SECONDS) ?? DEFAULT_TTL_SECONDS;
  const { client: _client, ...request } = await checkAuthorizationRequest(ctx, p);
  const partition = newGrantId();
  const handle = formatToken('pushed', partition);
  const expiresAt = ctx.now() + ttl * 1000;
  const record: PushedRecord = { ...request, ...(state !== undefined && { state }), expiresAt };
  const tx = new Transition(ctx, partition);
  tx.put(ctx.records.pushed, `${partition}/${await ctx.keyring.lookupId(LOOKUP.pushed, handle)}`, record, { expiresAt, condition: { ifAbsent: true } });
  if (!(await tx.commit()).ok) throw new ConflictError('request id collision; retry');
  return { requestUri: REQUEST_URI_PREFIX + handle, expiresIn: ttl };
}

/**
 * Takes a pushed request by its `request_uri`, once: one atomic call that
 * reads it and deletes it only if present. Any other client, an unknown,
 * used or expired `request_uri` is `InvalidGrantError` (RFC 9126 §4:
 * `invalid_request_uri` at the endpoint).
 */
export async function takePushedAuthorizationRequest(ctx: StoreContext, requestUriInput: string, clientIdInput: string): Promise<PushedAuthorizationRequest> {
  const requestUri = requireToken('requestUri', requestUriInput);
  const clientId = requireId('clientId', clientIdInput);
  if (!requestUri.startsWith(REQUEST_URI_PREFIX)) throw new InvalidRequestError('requestUri', `must start with ${REQUEST_URI_PREFIX}`);
  const handle = requestUri.slice(REQUEST_URI_PREFIX.length);
  const partition = parseToken('pushed', handle);
  const refused = (): never => {
    throw new InvalidGrantError('the request_uri is invalid, expired or already used');
  };
  if (partition === null) refused();
  for (const lookup of await ctx.keyring.lookupIds(LOOKUP.pushed, handle)) {
    const tx = new Transition(ctx, partition!);
    const id = `${partition}/${lookup}`;
    const read = tx.get(ctx.records.pushed, id);
    tx.delete(ctx.records.pushed, id, { ifPresent: true });
    const outcome = await tx.commit();
    if (!outcome.ok) continue;
    // Deleted, but logically expired already (physical expiry is only cleanup): refused like an unknown one.
    const record = (await outcome.read<PushedRecord>(read))?.data;
    if (!record || record.clientId !== clientId) refused();
    const { expiresAt: _expires, ...request } = record!;
    return request;
  }
  return refused();
}
