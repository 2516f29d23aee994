import { randomId, randomToken } from '../crypto/random.js';
import { InvalidClientError, InvalidRequestError } from '../errors.js';
import { optionalInteger, optionalString, requireBoolean } from '../util/validate.js';
import { readForScan, type ClientRecord, type StoreContext } from './context.js';
import {
  onlyKeys,
  optionalGrantTypes,
  optionalJson,
  optionalScope,
  optionalSecret,
  params,
  requireId,
  requireRedirectUris,
} from './input.js';
import { revokeGrantById } from './grant-state.js';
import { LOOKUP, matchesAny } from './tokens.js';
import type {
  ClientInfo,
  ListClientsResult,
  PageOptions,
  RegisterClientParams,
  RegisterClientResult,
  UpdateClientParams,
  UpdateClientResult,
} from './types.js';

const MAX_NAME = 256;

function toInfo(clientId: string, record: ClientRecord): ClientInfo {
  return {
    clientId,
    type: record.type,
    ...(record.name !== undefined && { name: record.name }),
    redirectUris: record.redirectUris,
    grantTypes: record.grantTypes,
    scope: record.scope,
    ...(record.metadata !== undefined && { metadata: record.metadata }),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

async function newSecret(ctx: StoreContext, clientId: string): Promise<{ secret: string; lookup: string }> {
  const secret = randomToken();
  return { secret, lookup: await ctx.keyring.lookupId(LOOKUP.clientSecret(clientId), secret) };
}

/** Checks `{ cursor?, limit? }`; `field` prefixes the names in errors (`options.limit`, or `limit`). */
export function readPageOptions(options: unknown, field: string | null = 'options'): { cursor?: string; limit: number } {
  if (options === undefined) return { limit: 100 };
  const name = (key: string): string => (field === null ? key : `${field}.${key}`);
  const input = params(field ?? 'params', options);
  if (field !== null) onlyKeys(field, input, ['cursor', 'limit']);
  const cursor = optionalString(name('cursor'), input.cursor, { max: 4096 });
  const limit = optionalInteger(name('limit'), input.limit, 1, 1000) ?? 100;
  return { ...(cursor !== undefined && { cursor }), limit };
}

export async function registerClient(ctx: StoreContext, input: RegisterClientParams): Promise<RegisterClientResult> {
  const p = params('params', input);
  onlyKeys('params', p, ['type', 'redirectUris', 'name', 'grantTypes', 'scope', 'metadata']);
  if (p.type !== 'public' && p.type !== 'confidential') throw new InvalidRequestError('type', 'must be "public" or "confidential"');
  const redirectUris = requireRedirectUris('redirectUris', p.redirectUris);
  const name = optionalString('name', p.name, { max: MAX_NAME });
  const grantTypes = optionalGrantTypes('grantTypes', p.grantTypes) ?? ['authorization_code', 'refresh_token'];
  const scope = optionalScope('scope', p.scope) ?? [];
  const metadata = optionalJson('metadata', p.metadata);

  const clientId = randomId(16);
  const now = ctx.now();
  const secret = p.type === 'confidential' ? await newSecret(ctx, clientId) : undefined;
  const record: ClientRecord = {
    type: p.type,
    ...(name !== undefined && { name }),
    redirectUris,
    grantTypes,
    scope,
    ...(metadata !== undefined && { metadata }),
    ...(secret && { secretLookup: secret.lookup }),
    createdAt: now,
    updatedAt: now,
  };
  await ctx.clients.put(clientId, record);
  await ctx.audit.record({ type: 'client_registered', clientId, details: { clientType: p.type } });
  return { client: toInfo(clientId, record), ...(secret && { clientSecret: secret.secret }) };
}

export async function getClient(ctx: StoreContext, clientIdInput: string): Promise<ClientInfo | null> {
  const clientId = requireId('clientId', clientIdInput);
  const record = await ctx.clients.get(clientId);
  return record ? toInfo(clientId, record.data) : null;
}

export async function updateClient(ctx: StoreContext, clientIdInput: string, input: UpdateClientParams): Promise<UpdateClientResult> {
  const clientId = requireId('clientId', clientIdInput);
  const p = params('params', input);
  onlyKeys('params', p, ['name', 'redirectUris', 'grantTypes', 'scope', 'metadata', 'rotateSecret']);
  const name = optionalString('name', p.name, { max: MAX_NAME });
  const redirectUris = p.redirectUris === undefined ? undefined : requireRedirectUris('redirectUris', p.redirectUris);
  const grantTypes = optionalGrantTypes('grantTypes', p.grantTypes);
  const scope = optionalScope('scope', p.scope);
  const metadata = optionalJson('metadata', p.metadata);
  const rotateSecret = p.rotateSecret === undefined ? false : requireBoolean('rotateSecret', p.rotateSecret);

  const existing = await ctx.clients.get(clientId);
  if (!existing) throw new InvalidClientError('unknown client');
  if (rotateSecret && existing.data.type !== 'confidential') {
    throw new InvalidRequestError('rotateSecret', 'applies to confidential clients only');
  }
  const secret = rotateSecret ? await newSecret(ctx, clientId) : undefined;
  const record: ClientRecord = {
    ...existing.data,
    ...(name !== undefined && { name }),
    ...(redirectUris !== undefined && { redirectUris }),
    ...(grantTypes !== undefined && { grantTypes }),
    ...(scope !== undefined && { scope }),
    ...(metadata !== undefined && { metadata }),
    ...(secret && { secretLookup: secret.lookup }),
    updatedAt: ctx.now(),
  };
  await ctx.clients.put(clientId, record);
  await ctx.audit.record({ type: 'client_updated', clientId, details: { fields: Object.keys(p) } });
  return { client: toInfo(clientId, record), ...(secret && { clientSecret: secret.secret }) };
}

/**
 * Deletes the client record first (no new authentication succeeds), then
 * revokes every grant of this client found through its grant index, issued
 * codes included. A grant whose index entry was lost is not found here; its
 * tokens stop validating anyway (validation checks that the client exists)
 * and the next `cleanupExpired` revokes it.
 */
export async function deleteClient(ctx: StoreContext, clientIdInput: string): Promise<boolean> {
  const clientId = requireId('clientId', clientIdInput);
  const existed = (await ctx.clients.get(clientId)) !== null;
  await ctx.clients.delete(clientId);
  let revoked = 0;
  // The index may miss a grant (eventual listing on KV); validation also checks that the client exists (access.ts).
  for await (const id of ctx.clientGrants.ids(`${clientId}/`)) {
    if (await revokeGrantById(ctx, id.slice(clientId.length + 1), 'client_deleted', clientId)) revoked++;
  }
  if (existed) await ctx.audit.record({ type: 'client_deleted', clientId, details: { grantsRevoked: revoked } });
  return existed;
}

export async function listClients(ctx: StoreContext, options?: PageOptions): Promise<ListClientsResult> {
  const { cursor, limit } = readPageOptions(options);
  const page = await ctx.clients.listIds({ limit, ...(cursor !== undefined && { cursor }) });
  const clients: ClientInfo[] = [];
  let unreadable = 0;
  for (const id of page.ids) {
    const record = await readForScan(ctx.clients, id);
    if (record === 'unreadable') unreadable++;
    else if (record) clients.push(toInfo(id, record.data));
  }
  return { clients, ...(page.cursor !== undefined && { cursor: page.cursor }), ...(unreadable > 0 && { unreadable }) };
}

// A lookup id that matches nothing: compared against when the client is unknown, so both paths do the same work.
const NO_SECRET = 'x'.repeat(43);

/**
 * Authenticates a client. The secret's lookup id is computed and compared
 * (without early exit) whether or not the client exists or has a secret, and
 * every failure is the same `InvalidClientError`.
 */
export async function authenticateClient(ctx: StoreContext, clientIdInput: unknown, secretInput: unknown): Promise<ClientInfo> {
  const clientId = requireId('clientId', clientIdInput);
  const secret = optionalSecret('clientSecret', secretInput);
  const [record, candidates] = await Promise.all([
    ctx.clients.get(clientId),
    ctx.keyring.lookupIds(LOOKUP.clientSecret(clientId), secret ?? ''),
  ]);
  const stored = record?.data.secretLookup ?? NO_SECRET;
  const secretMatches = matchesAny(stored, candidates);
  const ok =
    record !== null &&
    (record.data.type === 'confidential' ? secret !== undefined && secretMatches : secret === undefined);
  if (!ok) throw new InvalidClientError('client authentication failed');
  const current = candidates[0]!;
  if (secret !== undefined && stored !== current && ctx.adapter.capabilities.atomic) {
    // Matched under an older key: move the lookup id to the current key now, the
    // only time the secret is at hand, so that key can be retired without locking
    // the client out. Only with a real compare-and-set: on KV a racing secret
    // rotation could be overwritten with this old secret (rotate secrets there instead).
    await ctx.clients.compareAndSet(clientId, { ...record.data, secretLookup: current }, { ifVersion: record.version }).catch(() => null);
  }
  return toInfo(clientId, record.data);
}
