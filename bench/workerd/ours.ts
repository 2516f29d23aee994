import { InvalidGrantError, type OAuthStore } from '../../src/index.js';

/**
 * The smallest HTTP authorization server over OAuthStore, shaped like
 * workers-oauth-provider's so that one cycle does the same HTTP work on both:
 * GET /authorize (user already signed in: issue a code, 302), POST /token
 * (code exchange, refresh; form body, public client), GET /api/me (bearer
 * token validation).
 */
export async function oursFetch(request: Request, store: OAuthStore): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/authorize' && request.method === 'GET') {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    const { code } = await store.createAuthorizationCode({
      clientId: q.get('client_id') ?? '',
      userId: q.get('user') ?? 'user',
      redirectUri,
      scope: (q.get('scope') ?? '').split(' ').filter(Boolean),
      codeChallenge: q.get('code_challenge') ?? '',
      codeChallengeMethod: 'S256',
    });
    const location = new URL(redirectUri);
    location.searchParams.set('code', code);
    if (q.get('state')) location.searchParams.set('state', q.get('state')!);
    return new Response(null, { status: 302, headers: { Location: location.toString() } });
  }
  if (url.pathname === '/token' && request.method === 'POST') {
    const form = await request.formData();
    const field = (name: string): string => String(form.get(name) ?? '');
    try {
      const tokens =
        field('grant_type') === 'authorization_code'
          ? await store.exchangeAuthorizationCode({
              code: field('code'),
              clientId: field('client_id'),
              redirectUri: field('redirect_uri'),
              codeVerifier: field('code_verifier'),
            })
          : await store.refreshAccessToken({ refreshToken: field('refresh_token'), clientId: field('client_id') });
      return Response.json(
        {
          access_token: tokens.accessToken,
          token_type: 'bearer',
          expires_in: tokens.expiresIn,
          refresh_token: tokens.refreshToken,
          scope: tokens.scope.join(' '),
        },
        { headers: { 'Cache-Control': 'no-store' } },
      );
    } catch (error) {
      if (error instanceof InvalidGrantError) return Response.json({ error: 'invalid_grant' }, { status: 400 });
      throw error;
    }
  }
  if (url.pathname === '/api/me') {
    const match = /^Bearer (.+)$/.exec(request.headers.get('Authorization') ?? '');
    const info = match ? await store.validateAccessToken(match[1]!) : null;
    if (!info) return Response.json({ error: 'invalid_token' }, { status: 401 });
    return Response.json({ sub: info.userId });
  }
  return new Response('not found', { status: 404 });
}
