import type { AuthContext } from '../../../src/server/index.js';

/** GET /api/me: a protected API; the guard already validated the bearer token. */
export function me(auth: AuthContext): Response {
  return new Response(
    JSON.stringify({
      sub: auth.userId,
      client_id: auth.clientId,
      scope: auth.scope.join(' '),
      exp: Math.floor(auth.expiresAt / 1000),
      message: `Hello, ${auth.userId}! This answer came from a protected API that validated your access token.`,
    }),
    { headers: { 'Content-Type': 'application/json;charset=UTF-8', 'Cache-Control': 'no-store' } },
  );
}
