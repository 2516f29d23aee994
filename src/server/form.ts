import { InvalidRequestError } from '../errors.js';
import { DEFAULT_MAX_BODY_BYTES } from './http/body.js';
import { OAuthHttpError } from './http/errors.js';
import { Params } from './http/params.js';

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
export async function readForm(request: Request, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<URLSearchParams> {
  try {
    const params = await Params.fromForm(request, maxBytes);
    return params.toSearchParams();
  } catch (error) {
    if (error instanceof OAuthHttpError) throw new InvalidRequestError('body', error.description);
    throw error;
  }
}
