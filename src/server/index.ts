/**
 * oauth-vault/server: a complete OAuth 2.1 authorization server and a
 * bearer-token guard for resource servers (MCP servers included), built on
 * `OAuthStore`, speaking fetch `Request` → `Response` with no framework.
 * Runs on Cloudflare Workers first, and on any runtime with `fetch` and Web
 * Crypto.
 *
 * @module
 */
export { createAuthorizationServer, type AuthorizationServer } from './authorization-server.js';
export { readForm, readJson } from './form.js';
export type {
  AppHandler,
  AuthContext,
  AuthorizationDecision,
  AuthorizationRequest,
  AuthorizationDenial,
  AuthorizationServerOptions,
  ClientAssertionOptions,
  ClientIdMetadataDocumentOptions,
  DeviceAuthorizationOptions,
  EndpointName,
  GrantDecision,
  GrantRequest,
  Hooks,
  DpopOptions,
  IntrospectionOptions,
  JwtAccessTokenOptions,
  MaintenanceResult,
  PendingAuthorization,
  PendingDeviceAuthorization,
  ProtectedHandler,
  ProtectedResourceOptions,
  PushedAuthorizationRequestOptions,
  RegistrationMode,
  RegistrationOptions,
  ServerContext,
  ServerEvent,
  WaitUntil,
} from './types.js';
