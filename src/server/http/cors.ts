import { withHeaders } from './responses.js';

/**
 * CORS for what browser clients on other origins call: metadata, token,
 * revocation, registration and bearer-protected routes. None of them uses
 * cookies (credentials travel in the request itself), so any origin may
 * call them, and no response is readable with the browser's ambient
 * credentials. `WWW-Authenticate` is exposed so a browser MCP client can
 * read the challenge of a 401, and `DPoP-Nonce` so a DPoP client can use it.
 */
const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'WWW-Authenticate, Mcp-Session-Id, DPoP-Nonce',
};

export function withCors(response: Response): Response {
  return withHeaders(response, CORS_HEADERS);
}

/** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`). */
export function preflight(request: Request, methods: readonly string[]): Response {
  const requested = request.headers.get('Access-Control-Request-Headers');
  return new Response(null, {
    status: 204,
    headers: {
      ...CORS_HEADERS,
      'Access-Control-Allow-Methods': [...methods, 'OPTIONS'].join(', '),
      // Echoed, but only as a list of header names.
      'Access-Control-Allow-Headers': requested !== null && /^[A-Za-z0-9\-, ]{1,512}$/.test(requested) ? requested : 'Authorization, Content-Type',
      'Access-Control-Max-Age': '86400',
      Vary: 'Access-Control-Request-Headers',
    },
  });
}
