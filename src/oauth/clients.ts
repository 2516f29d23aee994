import { randomId, randomToken } from '../crypto/random.js';
import { InvalidClientError, InvalidRequestError } from '../errors.js';
import type { StoredRecord } from '../records/record-store.js';
import { optionalString, requireBoolean } from '../util/validate.js';
import { readForScan, type StoreContext } from './context.js';
import { revokeGrantById } from './grant-state.js';
import {
  onlyKeys,
  optionalGrantTypes,
  optionalJson,
  optionalScope,
  optionalSecret,
  params,
  requireId,
  requireRedirectUris,
  requireResources,
} from './input.js';
import { optionalClientKeys } from './client-keys.js';
import { readPageOptions } from './paging.js';
import type { ClientRecord } from './record-kinds.js';
import { LOOKUP, matchesAny } from './tokens.js';
import type { ClientInfo, ListClientsResult, PageOptions, RegisterClientParams, RegisterClientResult, UpdateClientParams, UpdateClientResult } from './types.js';

const MAX_NAME = 256;

function toInfo(clientId: string, record: ClientRecord): ClientInfo {
  const { secretLookup: _secret, ...info } = record;
  return { clientId, ...info };
}

async function newSecret(ctx: StoreContext, clientId: string): Promise<{ secret: string; lookup: string }> {
  const secret = randomToken();
  return { secret, lookup: await ctx.keyring.lookupId(LOOKUP.clientSecret(clientId), secret) };
}

/** Grant types clients may be registered for: every registered handler's. */
function knownGrantTypes(ctx: StoreContext): string[] {
  return [...ctx.grants.keys()];
}

function checkRedirectUrisFor(grantTypes: readonly string[], redirectUris: readonly string[]): void {
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    throw new InvalidRequestError('redirectUris', 'must have at least one entry for the authorization_code grant');
  }
}

/** Reads a client, through the per-isolate cache where the store allows one (a non-atomic `adapter`). */
export async function readClient(ctx: StoreContext, clientId: string): Promise<StoredRecord<ClientRecord> | null> {
  const now = ctx.now();
  const cached = ctx.clientCache.get(clientId, now);
  if (cached !== undefined) return cached;
  const record = await ctx.records.client.get(clientId);
  ctx.clientCache.set(clientId, record, now);
  return record;
}

/**
 * Writes a client and its audit record (the record goes to the single-use
 * store with the rest of the trail). With `onlyIfNew`, the client is created
 * only if its id is free (compare-and-set: atomic where the adapter is, on
 * KV a check then a write), and nothing is audited when it is not.
 */
async function writeClient(
  ctx: StoreContext,
  clientId: string,
  record: ClientRecord,
  event: Parameters<StoreContext['audit']['prepare']>[0],
  onlyIfNew = false,
): Promise<void> {
  const audit = await ctx.audit.prepare(event, clientId);
  if (onlyIfNew) {
    if ((await ctx.records.client.create(clientId, record)) === null) throw new InvalidRequestError('clientId', 'is already registered');
    if (audit.length > 0) await ctx.singleUseAdapter.batch!(audit);
  } else {
    await Promise.all([ctx.records.client.put(clientId, record), audit.length > 0 && ctx.singleUseAdapter.batch!(audit)]);
  }
  ctx.clientCache.delete(clientId);
}

export async function registerClient(ctx: StoreContext, input: RegisterClientParams): Promise<RegisterClientResult> {
  const p = params('params', input);
  onlyKeys('params', p, ['clientId', 'type', 'redirectUris', 'name', 'grantTypes', 'scope', 'resources', 'metadata', 'jwks', 'jwksUri']);
  const chosenId = p.clientId === undefined ? undefined : requireId('clientId', p.clientId);
  if (p.type !== 'public' && p.type !== 'confidential') throw new InvalidRequestError('type', 'must be "public" or "confidential"');
  const grantTypes = optionalGrantTypes('grantTypes', p.grantTypes, knownGrantTypes(ctx)) ?? ['authorization_code', 'refresh_token'];
  const redirectUris = p.redirectUris === undefined ? [] : requireRedirectUris('redirectUris', p.redirectUris, 0);
  checkRedirectUrisFor(grantTypes, redirectUris);
  const name = optionalString('name', p.name, { max: MAX_NAME });
  const scope = optionalScope('scope', p.scope) ?? [];
  const resources = p.resources === undefined ? [] : requireResources('resources', p.resources);
  const metadata = optionalJson('metadata', p.metadata);
  const keys = optionalClientKeys(p);
  if (keys && p.type !== 'confidential') throw new InvalidRequestError(keys.jwks ? 'jwks' : 'jwksUri', 'applies to confidential clients only');

  const clientId = chosenId ?? randomId(16);
  const now = ctx.now();
  // A client with keys authenticates with signed assertions (private_key_jwt): it gets no secret.
  const secret = p.type === 'confidential' && !keys ? await newSecret(ctx, clientId) : undefined;
  const record: ClientRecord = {
    type: p.type,
    ...(name !== undefined && { name }),
    redirectUris,
    grantTypes,
    scope,
    resources,
    ...(metadata !== undefined && { metadata }),
    ...keys,
    ...(secret && { secretLookup: secret.lookup }),
    createdAt: now,
    updatedAt: now,
  };
  await writeClient(ctx, clientId, record, { types: ['client_registered'], clientId, details: { clientType: p.type } }, chosenId !== undefined);
  return { client: toInfo(clientId, record), ...(secret && { clientSecret: secret.secret }) };
}

export async function getClient(ctx: StoreContext, clientIdInput: string): Promise<ClientInfo | null> {
  const clientId = requireId('clientId', clientIdInput);
  // Always read, never served from the cache; the fresh copy refreshes it for the checks that follow (an authorization request's).
  const now = ctx.now();
  const record = await ctx.records.client.get(clientId);
  ctx.clientCache.set(clientId, record, now);
  return record ? toInfo(clientId, record.data) : null;
}

export async function updateClient(ctx: StoreContext, clientIdInput: string, input: UpdateClientParams): Promise<UpdateClientResult> {
  const clientId = requireId('clientId', clientIdInput);
  const p = params('params', input);
  onlyKeys('params', p, ['name', 'redirectUris', 'grantTypes', 'scope', 'resources', 'metadata', 'jwks', 'jwksUri', 'rotateSecret']);
  const name = optionalString('name', p.name, { max: MAX_NAME });
  const redirectUris = p.redirectUris === undefined ? undefined : requireRedirectUris('redirectUris', p.redirectUris, 0);
  const grantTypes = optionalGrantTypes('grantTypes', p.grantTypes, knownGrantTypes(ctx));
  const scope = optionalScope('scope', p.scope);
  const resources = p.resources === undefined ? undefined : requireResources('resources', p.resources);
  const metadata = optionalJson('metadata', p.metadata);
  const rotateSecret = p.rotateSecret === undefined ? false : requireBoolean('rotateSecret', p.rotateSecret);
  const keys = optionalClientKeys(p);

  const existing = await ctx.records.client.get(clientId);
  if (!existing) throw new InvalidClientError('unknown client');
  const keyed = existing.data.jwks !== undefined || existing.data.jwksUri !== undefined;
  if (rotateSecret && (existing.data.type !== 'confidential' || keyed)) {
    throw new InvalidRequestError('rotateSecret', 'applies to confidential clients with a secret only');
  }
  // Keys replace keys: a client does not switch between a secret and private_key_jwt.
  if (keys && !keyed) throw new InvalidRequestError(keys.jwks ? 'jwks' : 'jwksUri', 'applies to clients registered with keys (private_key_jwt) only');
  checkRedirectUrisFor(grantTypes ?? existing.data.grantTypes, redirectUris ?? existing.data.redirectUris);
  const secret = rotateSecret ? await newSecret(ctx, clientId) : undefined;
  const { jwks: _jwks, jwksUri: _jwksUri, ...kept } = existing.data;
  const record: ClientRecord = {
    ...(keys ? { ...kept, ...keys } : existing.data),
    ...(name !== undefined && { name }),
    ...(redirectUris !== undefined && { redirectUris }),
    ...(grantTypes !== undefined && { grantTypes }),
    ...(scope !== undefined && { scope }),
    ...(resources !== undefined && { resources }),
    ...(metadata !== undefined && { metadata }),
    ...(secret && { secretLookup: secret.lookup }),
    updatedAt: ctx.now(),
  };
  await writeClient(ctx, clientId, record, { types: ['client_updated'], clientId, details: { fields: Object.keys(p) } });
  return { client: toInfo(clientId, record), ...(secret && { clientSecret: secret.secret }) };
}

/**
 * Deletes the client record first (no new authentication succeeds), then
 * revokes every grant of this client, found through its `client-grant`
 * index, which is written atomically with each grant. A grant issued while
 * the deletion runs, by an isolate that still read the client, is revoked
 * by the next `cleanupExpired`; its tokens stop validating anyway, since
 * validation checks that the client exists.
 */
export async function deleteClient(ctx: StoreContext, clientIdInput: string): Promise<boolean> {
  const clientId = requireId('clientId', clientIdInput);
  const existed = (await ctx.records.client.get(clientId)) !== null;
  await ctx.records.client.delete(clientId);
  ctx.clientCache.delete(clientId);
  let revoked = 0;
  for await (const id of ctx.records.clientGrant.ids(`${clientId}/`)) {
    const grantId = id.slice(id.lastIndexOf('/~') + 2);
    if (await revokeGrantById(ctx, grantId, 'client_deleted', clientId)) revoked++;
  }
  if (existed) {
    const audit = await ctx.audit.prepare({ types: ['client_deleted'], clientId, details: { grantsRevoked: revoked } }, clientId);
    if (audit.length > 0) await ctx.singleUseAdapter.batch!(audit);
  }
  return existed;
}

export async function listClients(ctx: StoreContext, options?: PageOptions): Promise<ListClientsResult> {
  const { cursor, limit } = readPageOptions(options);
  const page = await ctx.records.client.listIds({ limit, ...(cursor !== undefined && { cursor }) });
  const clients: ClientInfo[] = [];
  let unreadable = 0;
  for (const id of page.ids) {
    const record = await readForScan(ctx.records.client, id);
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
export async function authenticateClient(ctx: StoreContext, clientIdInput: unknown, secretInput: unknown, assertionInput?: unknown): Promise<ClientInfo> {
  const clientId = requireId('clientId', clientIdInput);
  const secret = optionalSecret('clientSecret', secretInput);
  const assertionVerified = assertionInput === undefined ? false : requireBoolean('clientAssertionVerified', assertionInput);
  const [record, candidates] = await Promise.all([
    readClient(ctx, clientId),
    ctx.keyring.lookupIds(LOOKUP.clientSecret(clientId), secret ?? ''),
  ]);
  const stored = record?.data.secretLookup ?? NO_SECRET;
  const secretMatches = matchesAny(stored, candidates);
  const keyed = record !== null && (record.data.jwks !== undefined || record.data.jwksUri !== undefined);
  // Keys (private_key_jwt): a verified assertion and no secret; a secret: that secret and no assertion; public: neither.
  const ok =
    record !== null &&
    (keyed
      ? assertionVerified && secret === undefined
      : !assertionVerified && (record.data.type === 'confidential' ? secret !== undefined && secretMatches : secret === undefined));
  if (!ok) throw new InvalidClientError('client authentication failed');
  const current = candidates[0]!;
  if (secret !== undefined && stored !== current && ctx.adapter.capabilities.atomic) {
    // Matched under an older key: move the lookup id to the current key now, the
    // only time the secret is at hand, so that key can be retired without locking
    // the client out. Only with a real compare-and-set: on KV a racing secret
    // rotation could be overwritten with this old secret (rotate secrets there instead).
    await ctx.records.client.compareAndSet(clientId, { ...record.data, secretLookup: current }, { ifVersion: record.version }).catch(() => null);
    ctx.clientCache.delete(clientId);
  }
  return toInfo(clientId, record.data);
}
