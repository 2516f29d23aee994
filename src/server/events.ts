import type { ServerConfig } from './config.js';
import type { ServerEvent } from './types.js';

/**
 * Hands an event to the app's `onEvent` hook after the response (through
 * `waitUntil`); a failing hook is ignored, it never changes an answer.
 */
export function reportEvent(config: ServerConfig, env: unknown, waitUntil: (promise: Promise<unknown>) => void, event: ServerEvent): void {
  const hook = config.hooks.onEvent;
  if (!hook) return;
  waitUntil((async () => hook(event, env))().catch(() => undefined));
}

/** The OAuth error code of an error answer, from its status when the handler did not name one. */
export function outcomeOf(status: number, named: string | undefined): string {
  if (named !== undefined) return named;
  if (status < 400) return 'ok';
  return status >= 500 ? 'server_error' : status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : 'invalid_request';
}
