import { RecordStore, randomToken, type Keyring, type StorageAdapter } from '../../src/index.js';
import type { BatchOperation } from '../../src/storage/index.js';

/**
 * Seeds access tokens straight into storage, in the exact record format
 * OAuthStore writes: the grant and access records are copies of the data of
 * a grant and token that a real `exchangeAuthorizationCode` just wrote (read
 * back through the public RecordStore), sealed by RecordStore under the same
 * keyring, under keys `grant/<grantId>` and `access/<grantId>/<lookup id>`.
 * Only the grant id and the token differ. Callers check that seeded tokens
 * validate through `validateAccessToken`, which proves the format.
 *
 * Why not full OAuth flows: a flow also writes an authorization code, nine
 * audit records and their indexes; 10^5 of them would take minutes and
 * measure the audit trail's size rather than the tokens'.
 */

/** Token format `ova_<grantId>.<secret>`, grant id 16 random bytes base64url (src/oauth/tokens.ts). */
const ACCESS_TAG = 'ova_';
const ACCESS_LOOKUP_CONTEXT = 'oauth/access-token';

export interface SeedTemplate {
  grant: unknown;
  access: unknown;
  grantExpiresAt?: number;
  accessExpiresAt?: number;
}

/** Reads the records of the grant `grantId` (and its one access token) as templates. */
export async function readTemplate(adapter: StorageAdapter, keyring: Keyring, grantId: string): Promise<SeedTemplate> {
  const records = new RecordStore({ adapter, keyring });
  const grant = await records.collection<unknown>('grant').get(grantId);
  const accessIds = await records.collection<unknown>('access').listIds({ prefix: `${grantId}/`, limit: 1 });
  const accessId = accessIds.ids[0];
  const access = accessId === undefined ? null : await records.collection<unknown>('access').get(accessId);
  if (!grant || !access) throw new Error('template grant or access record not found');
  return {
    grant: grant.data,
    access: access.data,
    ...(grant.expiresAt !== undefined && { grantExpiresAt: grant.expiresAt }),
    ...(access.expiresAt !== undefined && { accessExpiresAt: access.expiresAt }),
  };
}

/** Seeds `count` tokens; writes in batches when the adapter has atomic batches. Returns the tokens. */
export async function seedTokens(
  adapter: StorageAdapter,
  keyring: Keyring,
  template: SeedTemplate,
  count: number,
  options: { batchSize?: number; concurrency?: number } = {},
): Promise<string[]> {
  const records = new RecordStore({ adapter, keyring });
  const grants = records.collection<unknown>('grant');
  const access = records.collection<unknown>('access');
  const batchSize = options.batchSize ?? 100;
  const concurrency = options.concurrency ?? 4;
  const tokens: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const size = Math.min(batchSize, count - next);
      next += size;
      const operations: BatchOperation[] = [];
      for (let index = 0; index < size; index++) {
        const grantId = randomToken(32).slice(0, 22);
        const token = `${ACCESS_TAG}${grantId}.${randomToken()}`;
        const lookup = await keyring.lookupId(ACCESS_LOOKUP_CONTEXT, token);
        const [grantOp, accessOp] = await Promise.all([
          grants.preparePut(grantId, template.grant, template.grantExpiresAt === undefined ? {} : { expiresAt: template.grantExpiresAt }),
          access.preparePut(`${grantId}/${lookup}`, template.access, template.accessExpiresAt === undefined ? {} : { expiresAt: template.accessExpiresAt }),
        ]);
        operations.push(grantOp, accessOp);
        tokens.push(token);
      }
      if (adapter.capabilities.atomicBatch && adapter.batch) {
        if (!(await adapter.batch(operations)).ok) throw new Error('seed batch refused');
      } else {
        for (const operation of operations) {
          if (operation.type === 'put') await adapter.put(operation.key, operation.value, operation.expiresAt === undefined ? undefined : { expiresAt: operation.expiresAt });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tokens;
}
