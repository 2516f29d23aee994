import { UnauthorizedClientError, UnsupportedGrantTypeError } from '../../errors.js';
import { authenticateClient } from '../clients.js';
import type { StoreContext } from '../context.js';
import { onlyKeys, params } from '../input.js';
import type { TokenResult } from '../types.js';
import { grantTools } from './tools.js';

/**
 * The prologue every grant shares: a known grant type, known parameters,
 * the handler's own checks (all before anything is read), then client
 * authentication and the client's permission for this grant type; then the
 * handler issues.
 */
export async function requestToken(ctx: StoreContext, input: unknown): Promise<TokenResult> {
  const p = params('params', input);
  const type = p.grantType;
  const handler = typeof type === 'string' ? ctx.grants.get(type) : undefined;
  if (!handler) throw new UnsupportedGrantTypeError('the grant type is not supported');
  onlyKeys('params', p, ['grantType', 'clientId', 'clientSecret', 'clientAssertionVerified', ...handler.parameters]);
  const parsed = handler.parse(p);
  const client = await authenticateClient(ctx, p.clientId, p.clientSecret, p.clientAssertionVerified);
  if (!client.grantTypes.includes(handler.type)) throw new UnauthorizedClientError(`client may not use the ${handler.type} grant`);
  if (client.type === 'public' && handler.publicClients === false) throw new UnauthorizedClientError(`public clients may not use the ${handler.type} grant`);
  return handler.issue(grantTools(ctx, handler.type), client, parsed);
}
