import { InvalidRequestError } from '../errors.js';
import { OAuthStore } from '../oauth/oauth-store.js';
import { completeAuthorization, denyAuthorization } from './authorization/complete.js';
import { deviceHelpers } from './authorization/device.js';
import { getPending } from './authorization/pending.js';
import { resolveConfig, type ResolvedResource, type ServerConfig } from './config.js';
import type { Endpoint, EventDraft, RequestContext } from './endpoints/endpoint.js';
import { ENDPOINTS } from './endpoints/index.js';
import { outcomeOf, reportEvent } from './events.js';
import { preflight, withCors } from './http/cors.js';
import { toOAuthError, type OAuthHttpError } from './http/errors.js';
import { errorResponse, json, withHeaders } from './http/responses.js';
import { guard } from './guard.js';
import { maintain } from './maintenance.js';
import type { AuthorizationServerOptions, MaintenanceResult, ServerContext, ServerEvent, WaitUntil } from './types.js';

/** An authorization server: a Worker's `fetch` and `scheduled` handlers, and the helpers behind them. */
export interface AuthorizationServer<Env = unknown> {
  /** Answers one request: the library's endpoints, the protected routes, then the app's `fallback`. Never throws. */
  fetch(request: Request, env?: Env, context?: WaitUntil): Promise<Response>;
  /** A cron trigger's handler: runs {@link AuthorizationServer.maintain} and reports it as a `maintenance` event. */
  scheduled(controller: unknown, env: Env, context?: WaitUntil): Promise<void>;
  /** `cleanupExpired()` and the sweep of unused registered clients, now. */
  maintain(env: Env): Promise<MaintenanceResult>;
  /** The helpers handed to handlers, for an app that routes requests itself before calling `fetch`. */
  context(request: Request, env: Env, context?: WaitUntil): ServerContext;
  /** The RFC 8414 metadata document for an issuer. */
  metadata(issuer: string): Record<string, unknown>;
}

const NO_ENV = {};

/**
 * Builds a complete OAuth 2.1 authorization server on an {@link OAuthStore},
 * speaking fetch `Request` → `Response` (Workers first; any runtime with
 * `fetch` and Web Crypto): RFC 8414 metadata, `/authorize` (your sign-in and
 * consent page plugs in through `authorize`), `/token` (authorization code
 * with PKCE, refresh with rotation, client credentials), `/revoke`,
 * `/introspect`, `/register` (RFC 7591, with a policy), Client ID Metadata
 * Documents, and the bearer-token guard with RFC 9728 metadata for your
 * protected routes (`protect`). Bad input always gets the RFC error JSON
 * (400/401), never a 500.
 *
 * Ships from `oauth-vault/server`.
 *
 * @throws InvalidRequestError naming the option when the options are invalid.
 * @example
 * ```ts
 * const server = createAuthorizationServer<Env>({
 *   store: async (env) => new OAuthStore({ keyring: await Keyring.fromSecret(env.VAULT_SECRET), adapter: d1Adapter({ database: env.DB }) }),
 *   authorize: (request, authorization) => consentPage(authorization), // your UI; it posts back to your fallback
 *   fallback: async (request, env, context) => {
 *     const form = await readForm(request);
 *     return context.completeAuthorization(form.get('handle')!, { userId: 'user-1' });
 *   },
 *   protect: [{ path: '/api', handler: (request, env, auth) => Response.json({ user: auth.userId }) }],
 * });
 * export default server;
 * ```
 */
export function createAuthorizationServer<Env = unknown, User = unknown>(options: AuthorizationServerOptions<Env, User>): AuthorizationServer<Env> {
  // Checked with its types here; inside, env and user are opaque values handed back to the app.
  const config = resolveConfig(options) as unknown as ServerConfig;
  const issuerPath = config.issuer === undefined ? '' : new URL(config.issuer).pathname.replace(/\/+$/, '');
  const routes = new Map<string, Endpoint>();
  for (const endpoint of ENDPOINTS) {
    for (const path of endpoint.paths(config, issuerPath)) {
      if (routes.has(path)) throw new InvalidRequestError('options.paths', `give each endpoint its own path ("${path}" is used twice)`);
      routes.set(path, endpoint);
    }
  }
  for (const resource of config.protect) {
    if ([...routes.keys()].some((path) => path === resource.path || path.startsWith(`${resource.path}/`))) {
      throw new InvalidRequestError('options.protect', `"${resource.path}" covers an endpoint of the server`);
    }
  }

  const stores = new WeakMap<object, Promise<OAuthStore>>();
  const storeFor = (env: unknown): Promise<OAuthStore> => {
    if (config.store instanceof OAuthStore) return Promise.resolve(config.store);
    const key = typeof env === 'object' && env !== null ? env : NO_ENV;
    let store = stores.get(key);
    if (!store) {
      const build = config.store as (env: unknown) => OAuthStore | Promise<OAuthStore>;
      store = (async () => build(env))();
      // A failed build (a missing secret, a migration error) is not kept: the next request tries again.
      store.catch(() => stores.delete(key));
      stores.set(key, store);
    }
    return store;
  };

  const metadataFor = (issuer: string): Record<string, unknown> => Object.assign({}, ...ENDPOINTS.map((endpoint) => endpoint.metadata?.(config, issuer) ?? {}));

  const requestContext = (request: Request, env: unknown, execution: WaitUntil | undefined): RequestContext => {
    const url = new URL(request.url);
    const issuer = config.issuer ?? url.origin;
    const waitUntil = (promise: Promise<unknown>): void => {
      const quiet = promise.catch(() => undefined);
      if (execution) execution.waitUntil(quiet);
    };
    const ctx: RequestContext = {
      request,
      url,
      env,
      issuer,
      config,
      store: () => storeFor(env),
      app: async () => serverContext(ctx),
      event: {},
      waitUntil,
      serverMetadata: () => metadataFor(issuer),
    };
    return ctx;
  };

  const serverContext = (ctx: RequestContext): ServerContext => ({
    store: ctx.store,
    issuer: ctx.issuer,
    getAuthorization: async (handle) => getPending(await ctx.store(), handle),
    completeAuthorization: async (handle, decision) => completeAuthorization(ctx, await ctx.store(), handle, decision),
    denyAuthorization: async (handle, denial) => denyAuthorization(ctx, await ctx.store(), handle, denial),
    waitUntil: ctx.waitUntil,
    ...deviceHelpers(ctx),
  });

  /** Any error as the RFC answer; the unexpected ones go to the `onError` hook, never into the answer. */
  const answerError = (ctx: RequestContext, error: unknown): Response => {
    const oauth: OAuthHttpError = toOAuthError(error);
    if (oauth.status >= 500 && oauth.error === 'server_error') config.hooks.onError?.(error, ctx.request);
    ctx.event.outcome ??= oauth.error;
    let response = errorResponse(oauth);
    // RFC 6749 §5.2: the Basic challenge only where the client used the Authorization header (a browser answers it with a password prompt).
    if (oauth.error === 'invalid_client' && ctx.request.headers.has('Authorization')) {
      response = withHeaders(response, { 'WWW-Authenticate': `Basic realm="${ctx.issuer}"` });
    }
    return response;
  };

  const report = (ctx: RequestContext, endpoint: ServerEvent['endpoint'], started: number, response: Response): void => {
    const event: EventDraft = ctx.event;
    reportEvent(config, ctx.env, ctx.waitUntil, {
      endpoint,
      outcome: outcomeOf(response.status, event.outcome),
      status: response.status,
      method: ctx.request.method,
      path: ctx.url.pathname,
      at: started,
      durationMs: config.now() - started,
      ...(event.clientId !== undefined && { clientId: event.clientId }),
      ...(event.grantType !== undefined && { grantType: event.grantType }),
    });
  };

  const runEndpoint = async (ctx: RequestContext, endpoint: Endpoint, started: number): Promise<Response> => {
    let response: Response;
    if (!endpoint.methods.includes(ctx.request.method)) {
      response = json({ error: 'invalid_request', error_description: 'method not allowed' }, 405, { Allow: endpoint.methods.join(', ') });
    } else {
      try {
        response = await endpoint.handle(ctx);
      } catch (error) {
        response = answerError(ctx, error);
      }
    }
    if (endpoint.cors) response = withCors(response);
    report(ctx, endpoint.name, started, response);
    return response;
  };

  const runProtected = async (ctx: RequestContext, resource: ResolvedResource<unknown, unknown>, started: number): Promise<Response> => {
    let response: Response;
    try {
      const hook = config.hooks.user;
      const outcome = await guard(await ctx.store(), resource, ctx.request, {
        issuer: ctx.issuer,
        scopes: config.scopes,
        jwt: config.jwt,
        dpop: config.dpop,
        ...(hook && { user: async (info) => hook(info, ctx.env) }),
      });
      if ('outcome' in outcome) {
        ctx.event.outcome = outcome.outcome;
        response = outcome.response;
      } else {
        ctx.event.clientId = outcome.clientId;
        response = await resource.handler(ctx.request, ctx.env, outcome, serverContext(ctx));
      }
    } catch (error) {
      response = answerError(ctx, error);
    }
    response = withCors(response);
    report(ctx, 'resource', started, response);
    return response;
  };

  const runFallback = async (ctx: RequestContext): Promise<Response> => {
    if (!config.fallback) return json({ error: 'not_found' }, 404);
    try {
      return await config.fallback(ctx.request, ctx.env, serverContext(ctx));
    } catch (error) {
      return answerError(ctx, error);
    }
  };

  return {
    async fetch(request, env, execution) {
      const started = config.now();
      let ctx: RequestContext;
      try {
        ctx = requestContext(request, env, execution);
      } catch {
        return json({ error: 'invalid_request', error_description: 'the request URL is invalid' }, 400);
      }
      const { pathname } = ctx.url;
      const endpoint = routes.get(pathname);
      if (endpoint) {
        if (request.method === 'OPTIONS' && endpoint.cors) return preflight(request, endpoint.methods);
        if (!endpoint.methods.includes(request.method) && endpoint.otherMethodsToFallback && config.fallback) return runFallback(ctx);
        return runEndpoint(ctx, endpoint, started);
      }
      const resource = config.protect.find((candidate) => pathname === candidate.path || pathname.startsWith(`${candidate.path}/`));
      if (resource) {
        if (request.method === 'OPTIONS') return preflight(request, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
        return runProtected(ctx, resource, started);
      }
      return runFallback(ctx);
    },

    async maintain(env) {
      return maintain(config, await storeFor(env));
    },

    async scheduled(_controller, env, execution) {
      const started = config.now();
      const waitUntil = (promise: Promise<unknown>) => execution?.waitUntil(promise.catch(() => undefined));
      let outcome = 'ok';
      let result: MaintenanceResult | undefined;
      try {
        result = await maintain(config, await storeFor(env));
      } catch (error) {
        outcome = toOAuthError(error).error;
        config.hooks.onError?.(error);
      }
      reportEvent(config, env, waitUntil, {
        endpoint: 'maintenance',
        outcome,
        status: result ? 200 : 500,
        method: 'SCHEDULED',
        path: '',
        at: started,
        durationMs: config.now() - started,
        ...(result && { cleanup: result }),
      });
    },

    context(request, env, execution) {
      return serverContext(requestContext(request, env, execution));
    },

    metadata: metadataFor,
  };
}
