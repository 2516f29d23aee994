import { InvalidRequestError } from '../../errors.js';
import { DEVICE_CODE_GRANT } from '../../oauth/grants/device-code.js';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { DeviceAuthorizationInfo } from '../../oauth/types.js';
import type { RequestContext } from '../endpoints/endpoint.js';
import type { AuthorizationDecision, PendingDeviceAuthorization, ServerContext } from '../types.js';

/**
 * The app's side of the device flow (RFC 8628 §3.3): its page looks up the
 * code the user typed, shows what the device asks for, and approves or
 * denies. Every lookup counts a wrong code against the caller
 * (`deviceAuthorization.attemptKey`, default the client IP), so user codes
 * cannot be guessed by trying them; approval is single-use in the store.
 */

type DeviceHelpers = Pick<ServerContext, 'getDeviceAuthorization' | 'approveDeviceAuthorization' | 'denyDeviceAuthorization'>;

/** The code as shown to people: upper case, `XXXX-XXXX`. */
const displayCode = (userCode: string): string => {
  const bare = userCode.toUpperCase().replace(/[\s-]/g, '');
  return bare.length === 8 ? `${bare.slice(0, 4)}-${bare.slice(4)}` : bare;
};

function enabled(ctx: RequestContext): { attemptKey: string } {
  const options = ctx.config.deviceAuthorization;
  if (!options) throw new InvalidRequestError('options.deviceAuthorization', 'is not set: the device flow is off');
  return { attemptKey: options.attemptKey(ctx.request) };
}

async function lookUp(ctx: RequestContext, store: OAuthStore, userCode: string): Promise<{ info: DeviceAuthorizationInfo; attemptKey: string } | null> {
  const { attemptKey } = enabled(ctx);
  const info = await store.getDeviceAuthorization(userCode, { attemptKey });
  return info && { info, attemptKey };
}

/** The scope to approve: the decision's, within what the device asked for (or `scopes_supported` when it named none). */
function approvedScope(ctx: RequestContext, requested: string[], decided: unknown): string[] | undefined {
  if (decided === undefined) return undefined;
  if (!Array.isArray(decided) || decided.some((item) => typeof item !== 'string')) throw new InvalidRequestError('scope', 'must be an array of strings');
  const limit = requested.length > 0 ? requested : ctx.config.scopes;
  if (limit !== undefined && decided.some((item) => !limit.includes(item))) {
    throw new InvalidRequestError('scope', requested.length > 0 ? 'must be within the scope the device requested' : 'must be within scopes_supported');
  }
  return [...new Set(decided as string[])];
}

export function deviceHelpers(ctx: RequestContext): DeviceHelpers {
  return {
    async getDeviceAuthorization(userCode) {
      const store = await ctx.store();
      const found = await lookUp(ctx, store, userCode);
      if (!found) return null;
      const { info } = found;
      const client = await store.getClient(info.clientId);
      if (!client) return null;
      const pending: PendingDeviceAuthorization = {
        userCode: displayCode(userCode),
        client: { clientId: client.clientId, ...(client.name !== undefined && { name: client.name }), type: client.type },
        scope: info.scope,
        resources: info.resources ?? [],
        expiresAt: info.expiresAt,
        decided: info.decided,
      };
      return pending;
    },

    async approveDeviceAuthorization(userCode, decision: AuthorizationDecision) {
      if (typeof decision !== 'object' || decision === null) throw new InvalidRequestError('decision', 'must be an object');
      const store = await ctx.store();
      const found = await lookUp(ctx, store, userCode);
      if (!found || found.info.decided) throw new InvalidRequestError('userCode', 'is unknown, expired or already decided');
      const { info, attemptKey } = found;
      let scope = approvedScope(ctx, info.scope, decision.scope);
      let props = decision.props;
      const hook = ctx.config.hooks.onGrant;
      if (hook) {
        const client = await store.getClient(info.clientId);
        if (!client) throw new InvalidRequestError('userCode', 'is unknown, expired or already decided');
        const shaped = await hook({ grantType: DEVICE_CODE_GRANT, client, userId: decision.userId, scope: scope ?? info.scope, resources: info.resources ?? [], props }, ctx.env);
        if (shaped === false) {
          await store.denyDeviceAuthorization(userCode, { attemptKey });
          return;
        }
        if (shaped) {
          if (shaped.scope !== undefined) scope = approvedScope(ctx, info.scope, shaped.scope);
          if ('props' in shaped) props = shaped.props;
        }
      }
      await store.approveDeviceAuthorization(userCode, {
        userId: decision.userId,
        ...(scope !== undefined && { scope }),
        ...(props !== undefined && { props }),
        attemptKey,
      });
    },

    async denyDeviceAuthorization(userCode) {
      const { attemptKey } = enabled(ctx);
      await (await ctx.store()).denyDeviceAuthorization(userCode, { attemptKey });
    },
  };
}
