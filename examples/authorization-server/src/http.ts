/**
 * HTTP plumbing for the demo authorization server: strict form parsing,
 * client credentials, and RFC 6749 error responses. Every malformed request
 * becomes a 400/401 with the RFC error JSON, never a 500.
 */

/** Largest request body accepted by any endpoint. */
export const MAX_BODY_BYTES = 64 * 1024;

/** An error response in the RFC 6749 §5.2 shape. */
export class OAuthHttpError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const response = new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json;charset=UTF-8', ...NO_STORE, ...headers },
  });
  // An empty override removes a default header (e.g. Pragma on cacheable metadata).
  for (const [name, value] of Object.entries(headers)) if (value === '') response.headers.delete(name);
  return response;
}

export function errorResponse(error: OAuthHttpError): Response {
  return json({ error: error.error, error_description: error.description }, error.status, error.headers);
}

/**
 * Reads the body with a hard size cap, whatever Content-Length claims. An
 * oversized body is still read to its end (and dropped, so memory stays
 * bounded): answering while a chunked body is half read, or cancelling its
 * reader, leaves the connection unusable and breaks the client's next request.
 * The platform bounds how much can arrive (Cloudflare: 100 MB per request).
 */
async function readBody(request: Request): Promise<string> {
  const declared = Number(request.headers.get('Content-Length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw new OAuthHttpError('invalid_request', 'request body too large');
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size <= MAX_BODY_BYTES) chunks.push(value);
  }
  if (size > MAX_BODY_BYTES) throw new OAuthHttpError('invalid_request', 'request body too large');
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw new OAuthHttpError('invalid_request', 'request body is not UTF-8');
  }
}

/** Parameters of a form or query, with RFC 6749 §3.1 rules: no repeats. */
export class Params {
  readonly #values: Map<string, string>;
  private constructor(values: Map<string, string>) {
    this.#values = values;
  }

  static from(search: URLSearchParams): Params {
    const values = new Map<string, string>();
    for (const [name, value] of search) {
      if (values.has(name)) throw new OAuthHttpError('invalid_request', `parameter "${name}" is repeated`);
      // Empty parameters are treated as omitted (RFC 6749 §3.1).
      if (value !== '') values.set(name, value);
    }
    return new Params(values);
  }

  /** Parses an `application/x-www-form-urlencoded` POST body. */
  static async fromForm(request: Request): Promise<Params> {
    if (request.method !== 'POST') throw new OAuthHttpError('invalid_request', 'method must be POST', 405, { Allow: 'POST' });
    const type = (request.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      throw new OAuthHttpError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    }
    return Params.from(new URLSearchParams(await readBody(request)));
  }

  get(name: string): string | undefined {
    return this.#values.get(name);
  }

  require(name: string): string {
    const value = this.#values.get(name);
    if (value === undefined) throw new OAuthHttpError('invalid_request', `parameter "${name}" is required`);
    return value;
  }
}

/** Reads a JSON body (dynamic registration), size-capped. */
export async function readJson(request: Request): Promise<unknown> {
  const type = (request.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new OAuthHttpError('invalid_request', 'Content-Type must be application/json');
  const text = await readBody(request);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new OAuthHttpError('invalid_request', 'body is not valid JSON');
  }
}

export interface ClientCredentials {
  clientId: string;
  clientSecret?: string;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/**
 * `invalid_client`, without a challenge: RFC 6749 §5.2 requires
 * `WWW-Authenticate` only when the client tried the Authorization header, and
 * a browser answers a Basic challenge with a password prompt (see
 * {@link withClientChallenge}).
 */
const INVALID_CLIENT = () => new OAuthHttpError('invalid_client', 'client authentication failed', 401);

/** Adds the Basic challenge to an `invalid_client` answer when the request carried an Authorization header. */
export function withClientChallenge(error: OAuthHttpError, request: Request): OAuthHttpError {
  if (error.error !== 'invalid_client' || !request.headers.has('Authorization')) return error;
  return new OAuthHttpError(error.error, error.description, error.status, { ...error.headers, 'WWW-Authenticate': 'Basic realm="oauth-vault-demo"' });
}

// What any client id of the store looks like (printable ASCII, at most 256
// characters): anything else cannot name a client, so it fails authentication.
const CLIENT_ID = /^[\x21-\x7E]{1,256}$/;

/**
 * Client credentials from HTTP Basic (RFC 6749 §2.3.1, form-encoded id and
 * secret) or the body; using both at once is refused.
 */
export function clientCredentials(request: Request, params: Params): ClientCredentials {
  const credentials = presentedCredentials(request, params);
  if (!CLIENT_ID.test(credentials.clientId)) throw INVALID_CLIENT();
  return credentials;
}

function presentedCredentials(request: Request, params: Params): ClientCredentials {
  const header = request.headers.get('Authorization');
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (header !== null) {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (!match) throw INVALID_CLIENT();
    let decoded: string;
    try {
      decoded = atob(match[1]!);
    } catch {
      throw INVALID_CLIENT();
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) throw INVALID_CLIENT();
    if (bodySecret !== undefined) throw new OAuthHttpError('invalid_request', 'use one client authentication method');
    let clientId: string;
    let clientSecret: string;
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    } catch {
      throw INVALID_CLIENT();
    }
    if (bodyId !== undefined && bodyId !== clientId) throw INVALID_CLIENT();
    return { clientId, clientSecret, method: 'client_secret_basic' };
  }
  if (bodyId === undefined) throw INVALID_CLIENT();
  if (bodySecret !== undefined) return { clientId: bodyId, clientSecret: bodySecret, method: 'client_secret_post' };
  return { clientId: bodyId, method: 'none' };
}

export { INVALID_CLIENT as invalidClient };
