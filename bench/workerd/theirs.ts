import { OAuthProvider, getOAuthApi, type OAuthHelpers } from '@cloudflare/workers-oauth-provider';

/**
 * @cloudflare/workers-oauth-provider, configured as its README shows for one
 * Worker that is both authorization server and resource, on its own KV
 * namespace (`OAUTH_KV`). `/authorize` is the application's: the user is
 * already signed in, so it parses the request and completes it at once.
 */
export interface TheirEnv {
  OAUTH_KV: unknown;
}

type HelpersEnv = TheirEnv & { OAUTH_PROVIDER: OAuthHelpers };

export const providerOptions = {
  apiRoute: '/api',
  apiHandler: {
    async fetch(_request: Request, _env: unknown, ctx: { props?: { userId?: string } }): Promise<Response> {
      return Response.json({ sub: ctx.props?.userId });
    },
  },
  defaultHandler: {
    async fetch(request: Request, env: HelpersEnv): Promise<Response> {
      const url = new URL(request.url);
      if (url.pathname !== '/authorize') return new Response('not found', { status: 404 });
      const authRequest = await env.OAUTH_PROVIDER.parseAuthRequest(request);
      const userId = url.searchParams.get('user') ?? 'user';
      const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
        request: authRequest,
        userId,
        metadata: {},
        scope: authRequest.scope,
        props: { userId },
      });
      return new Response(null, { status: 302, headers: { Location: redirectTo } });
    },
  },
  authorizeEndpoint: '/authorize',
  tokenEndpoint: '/token',
  scopesSupported: ['read'],
  resourceMetadata: { resource: 'https://as.bench.test/api', authorization_servers: ['https://as.bench.test'] },
};

// `as never`: the provider's option types are generic over Cloudflare's Env, which this bench types loosely.
export const provider = new OAuthProvider(providerOptions as never);

export function theirHelpers(env: TheirEnv): OAuthHelpers {
  return getOAuthApi(providerOptions as never, env as never);
}
