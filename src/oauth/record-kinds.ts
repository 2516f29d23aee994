import { InvalidRequestError } from '../errors.js';
import type { RecordCollection, RecordStore } from '../records/record-store.js';
import type { ClientInfo, GrantType, PkceMethod, SessionInfo } from './types.js';

/**
 * Every kind of record the store keeps, registered once. `resealAll`,
 * `cleanupExpired` and `stats` iterate this registry, so a new kind (a custom
 * grant's own records) is covered without editing any list by hand.
 *
 * Layout. On `adapter` (may be KV): `client/<clientId>`. On
 * `singleUseAdapter` (atomic, batches per partition), everything that changes
 * with a grant or a session, partitioned by grant id (or session id) so one
 * transition is one atomic batch in one place:
 *
 *   grant/<grantId>                       GrantRecord (immutable; expires at the grant's end)
 *   code/<grantId>/<binding>              an authorization code bound to client, redirect URI and PKCE
 *   code-ttl/<grantId>                    the code's redemption window
 *   grant-live/<grantId>                  the grant is active (created exactly once: the code's single use)
 *   grant-revoked/<grantId>               the grant is revoked
 *   access/<grantId>/<lookup(token)>      an access token
 *   refresh/<grantId>/<lookup(token)>     the live refresh token (deleted exactly once by its rotation)
 *   rotated/<grantId>/<lookup(token)>     a rotated refresh token: presenting it again is reuse
 *   client-grant/<clientId>/~<grantId>    the grant's client (index for deleteClient; checked by refresh)
 *   user-grant/<lookup(userId)>/~<grantId> the grant's user (index for listGrants and audit by user)
 *   session/<sessionId>/<lookup(handle)>  an authorization request waiting for the user
 *   session-draft/…, session-done/…       what the app set on it, and its single-use completion
 *   audit/<eventId>/~<partition>          one sealed event record per operation, in the operation's batch
 *   once/<lookup(id)>                     a single-use identifier (DPoP proof, client assertion jti), until it expires
 *   pushed/<id>/<lookup(handle)>          a pushed authorization request (RFC 9126), taken once
 *
 * A `~` segment names the partition (see `partitionOf`): an index entry lives,
 * and is written atomically, with the grant it indexes.
 */

/** A kind of record. */
export interface RecordKind {
  /** Key prefix (`<kind>/...`): lowercase letters, digits and dashes. */
  readonly kind: string;
  /** Where it lives: `"single-use"` (with grants and sessions) or `"main"` (with clients). */
  readonly store: 'main' | 'single-use';
  /**
   * What it belongs to, named by its key's partition: `"grant"` records go
   * when their grant is revoked, expired or never redeemed; `"session"`
   * records with their session. Records of no owner go when they expire.
   */
  readonly ownedBy?: 'grant' | 'session';
}

export type ClientRecord = Omit<ClientInfo, 'clientId'> & {
  /** Lookup id of the secret (confidential clients). */
  secretLookup?: string;
};

/** How a grant began: a tagged union, one member per grant type that creates grants. */
export type GrantOrigin =
  | {
      type: 'authorization_code';
      redirectUri: string;
      /** `false` when the authorization request left redirect_uri out. */
      redirectUriExplicit?: false;
      codeChallenge?: string;
      codeChallengeMethod?: PkceMethod;
      codeExpiresAt: number;
    }
  | { type: 'client_credentials' }
  /** A custom grant's origin: its own fields under its own type. */
  | { type: Exclude<GrantType, 'authorization_code' | 'client_credentials'>; [field: string]: unknown };

export type CodeOrigin = Extract<GrantOrigin, { type: 'authorization_code'; codeExpiresAt: number }>;

/** The origin of a grant that began with an authorization code, or undefined. */
export function codeOrigin(grant: GrantRecord): CodeOrigin | undefined {
  return grant.origin.type === 'authorization_code' ? (grant.origin as CodeOrigin) : undefined;
}

/** What a grant is: written once when it is created, never changed. */
export interface GrantRecord {
  origin: GrantOrigin;
  clientId: string;
  /** The subject: a user id, or for `client_credentials` the client id. */
  userId: string;
  scope: string[];
  resources?: string[];
  props?: unknown;
  createdAt: number;
  /** Absolute end of the grant (the record expires then). */
  expiresAt: number;
}

export interface LiveRecord {
  activatedAt: number;
  /** A refresh token was issued with the activation. */
  refresh: boolean;
}

export interface RevokedRecord {
  revokedAt: number;
  reason: string;
}

export interface AccessRecord {
  clientId: string;
  issuedAt: number;
  /** RFC 9449: the thumbprint of the DPoP key the token is bound to. */
  jkt?: string;
  /** Present when narrower than the grant's. */
  scope?: string[];
  /** Present when narrower than the grant's. */
  resources?: string[];
}

export interface RefreshRecord {
  issuedAt: number;
}

export interface RotatedRecord {
  rotatedAt: number;
  /** Scope the rotation's access token was issued with, when narrowed (a grace retry must ask the same). */
  scope?: string[];
  resources?: string[];
  /** Grace answers given for this token since its rotation. */
  graceUses: number;
}

/** A session as stored: the authorization request. Its id and lookup are the key. */
export type SessionRecord = Omit<SessionInfo, 'sessionId' | 'userId' | 'props' | 'completed'>;

/** What the app set on a session before or at completion. */
export interface SessionUpdate {
  userId?: string;
  scope?: string[];
  props?: unknown;
}

export type SessionDone = SessionUpdate & { completedAt: number };

/** A pushed authorization request (RFC 9126), as checked when it was pushed. */
export type PushedRecord = Omit<SessionRecord, 'createdAt' | 'expiresAt'> & { expiresAt: number };

export interface RevocationRecord {
  revokedAt: number;
}

/** An index entry or marker: the key is the information. */
export type Marker = Record<string, never>;

/** The built-in kinds, with the shape of their records. */
export const BUILT_IN_RECORD_KINDS = {
  client: { kind: 'client', store: 'main' },
  grant: { kind: 'grant', store: 'single-use', ownedBy: 'grant' },
  code: { kind: 'code', store: 'single-use', ownedBy: 'grant' },
  codeTtl: { kind: 'code-ttl', store: 'single-use', ownedBy: 'grant' },
  live: { kind: 'grant-live', store: 'single-use', ownedBy: 'grant' },
  revoked: { kind: 'grant-revoked', store: 'single-use', ownedBy: 'grant' },
  access: { kind: 'access', store: 'single-use', ownedBy: 'grant' },
  refresh: { kind: 'refresh', store: 'single-use', ownedBy: 'grant' },
  // A bound refresh token's key: `refresh-key/<grantId>/<lookup(token, jkt)>`, checked by its rotation.
  refreshKey: { kind: 'refresh-key', store: 'single-use', ownedBy: 'grant' },
  rotated: { kind: 'rotated', store: 'single-use', ownedBy: 'grant' },
  clientGrant: { kind: 'client-grant', store: 'single-use', ownedBy: 'grant' },
  // Outlives its grant (until the audit retention has passed): audit by user finds a grant's events through it.
  userGrant: { kind: 'user-grant', store: 'single-use' },
  session: { kind: 'session', store: 'single-use', ownedBy: 'session' },
  sessionDraft: { kind: 'session-draft', store: 'single-use', ownedBy: 'session' },
  sessionDone: { kind: 'session-done', store: 'single-use', ownedBy: 'session' },
  audit: { kind: 'audit', store: 'single-use' },
  once: { kind: 'once', store: 'single-use' },
  pushed: { kind: 'pushed', store: 'single-use' },
  // Recently revoked grants (and JWT access tokens): what a JWT validator must refuse, kept as long as such a token lives.
  revocation: { kind: 'revocation', store: 'single-use' },
  // Sealed key pairs that sign JWT access tokens (signing-keys.ts).
  signingKey: { kind: 'signing-key', store: 'single-use' },
} as const satisfies Record<string, RecordKind>;

type Shapes = {
  client: ClientRecord;
  grant: GrantRecord;
  code: Marker;
  codeTtl: Marker;
  live: LiveRecord;
  revoked: RevokedRecord;
  access: AccessRecord;
  refresh: RefreshRecord;
  refreshKey: Marker;
  rotated: RotatedRecord;
  clientGrant: Marker;
  userGrant: Marker;
  session: SessionRecord;
  sessionDraft: SessionUpdate;
  sessionDone: SessionDone;
  audit: unknown;
  once: Marker;
  pushed: PushedRecord;
  revocation: RevocationRecord;
  signingKey: unknown;
};

/** Typed collections of the built-in kinds. */
export type BuiltInCollections = { [name in keyof Shapes]: RecordCollection<Shapes[name]> };

/** One registered kind with its collection. */
export interface RegisteredKind {
  readonly definition: RecordKind;
  readonly collection: RecordCollection<unknown>;
}

/** The registry: every kind once, with its collection on its store. */
export class RecordKinds {
  readonly builtIn: BuiltInCollections;
  readonly #byKind = new Map<string, RegisteredKind>();

  constructor(stores: { main: RecordStore; singleUse: RecordStore }, extra: readonly RecordKind[]) {
    const collections: Partial<Record<keyof Shapes, RecordCollection<unknown>>> = {};
    for (const [name, definition] of Object.entries(BUILT_IN_RECORD_KINDS) as [keyof Shapes, RecordKind][]) {
      collections[name] = this.#register(stores, definition, `kinds`);
    }
    this.builtIn = collections as BuiltInCollections;
    extra.forEach((definition, index) => this.#register(stores, checkKind(`records[${index}]`, definition), `records[${index}]`));
  }

  #register(stores: { main: RecordStore; singleUse: RecordStore }, definition: RecordKind, field: string): RecordCollection<unknown> {
    if (this.#byKind.has(definition.kind)) throw new InvalidRequestError(`${field}.kind`, 'is already registered');
    const collection = (definition.store === 'main' ? stores.main : stores.singleUse).collection<unknown>(definition.kind);
    this.#byKind.set(definition.kind, { definition, collection });
    return collection;
  }

  /** Every registered kind, built-in first. */
  all(): RegisteredKind[] {
    return [...this.#byKind.values()];
  }

  /** The collection of a registered kind. */
  collection<T>(kind: string): RecordCollection<T> {
    const found = this.#byKind.get(kind);
    if (!found) throw new InvalidRequestError('kind', 'is not a registered record kind');
    return found.collection as RecordCollection<T>;
  }
}

function checkKind(field: string, value: unknown): RecordKind {
  if (typeof value !== 'object' || value === null) throw new InvalidRequestError(field, 'must be an object');
  const { kind, store, ownedBy } = value as Partial<RecordKind>;
  if (typeof kind !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(kind)) {
    throw new InvalidRequestError(`${field}.kind`, 'must be lowercase letters, digits and dashes (at most 32)');
  }
  if (store !== 'main' && store !== 'single-use') throw new InvalidRequestError(`${field}.store`, 'must be "main" or "single-use"');
  if (ownedBy !== undefined && ownedBy !== 'grant' && ownedBy !== 'session') {
    throw new InvalidRequestError(`${field}.ownedBy`, 'must be "grant" or "session"');
  }
  return { kind, store, ...(ownedBy !== undefined && { ownedBy }) };
}
