import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ServerConfig } from '../config.js';
import type { EndpointName, ServerContext } from '../types.js';

/** What a request's handling learned for its event (see `ServerEvent`). */
export interface EventDraft {
  outcome?: string;
  clientId?: string;
  grantType?: string;
}

/** Everything an endpoint needs for one request. */
export interface RequestContext {
  readonly request: Request;
  readonly url: URL;
  readonly env: unknown;
  /** The issuer identifier for this request (configured, or the request's origin). */
  readonly issuer: string;
  readonly config: ServerConfig;
  /** The store, built on first use (metadata endpoints never need it). */
  store(): Promise<OAuthStore>;
  /** The helpers handed to the app's handlers, bound to this request. */
  app(): Promise<ServerContext>;
  readonly event: EventDraft;
  /** The RFC 8414 document for this request's issuer. */
  serverMetadata(): Record<string, unknown>;
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * One endpoint of the authorization server: one file each, registered in
 * one list (`endpoints/index.ts`). The dispatcher routes by path and method,
 * answers CORS preflights for `cors` endpoints, turns thrown errors into RFC
 * error answers, and reports one event per request; `metadata` is what the
 * endpoint adds to the RFC 8414 document. A new endpoint (PAR, device
 * authorization, JWKS) is a new file and one entry in the list.
 */
export interface Endpoint {
  readonly name: EndpointName;
  /** The paths it answers (none when it is turned off). `issuerPath` is the issuer's path, '' for an origin. */
  paths(config: ServerConfig, issuerPath: string): string[];
  readonly methods: readonly string[];
  /** Other methods on its paths go to the app's `fallback` (the authorization endpoint: the consent form's POST) instead of a 405. */
  readonly otherMethodsToFallback?: boolean;
  /** Whether browsers on other origins may call it (token, revocation, registration, metadata). */
  readonly cors: boolean;
  handle(ctx: RequestContext): Promise<Response>;
  metadata?(config: ServerConfig, issuer: string): Record<string, unknown>;
}

/** An endpoint URL of this issuer. */
export function endpointUrl(issuer: string, path: string): string {
  return `${new URL(issuer).origin}${path}`;
}
