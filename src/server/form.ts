import { InvalidRequestError } from '../errors.js';
import { DEFAULT_MAX_BODY_BYTES, readJson as readJsonBody } from './http/body.js';
import { OAuthHttpError } from './http/errors.js';
import { Params } from './http/params.js';

/** The library's body errors, as the public `InvalidRequestError` (field `body`). */
async function asPublicError<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof OAuthHttpError) throw new InvalidRequestError('body', error.description);
    throw error;
  }
}

/**
 * Reads a form your sign-in or consent page posted, with the limits of the
 * library's own endpoints: `application/x-www-form-urlencoded` only, UTF-8
 * only, no repeated field, at most `maxBytes` (default 64 KiB; a larger body
 * is read to its end and dropped, so the connection stays usable).
 *
 * Ships from `oauth-vault/server`.
 *
 * @throws InvalidRequestError (field `body`) for any of the above.
 * @example
 * ```ts
 * const form = await readForm(request);
 * const handle = form.get('handle');
 * ```
 */
export function readForm(request: Request, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<URLSearchParams> {
  return asPublicError(async () => (await Params.fromForm(request, maxBytes)).toSearchParams());
}

/**
 * Reads a JSON body (`application/json`, UTF-8) for one of your routes, with
 * the same size limit and the same care for the connection as {@link readForm}.
 *
 * Ships from `oauth-vault/server`.
 *
 * @throws InvalidRequestError (field `body`) for a wrong content type, invalid JSON, or a body over `maxBytes`.
 */
export function readJson(request: Request, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  return asPublicError(() => readJsonBody(request, maxBytes));
}
