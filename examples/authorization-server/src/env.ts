/** Bindings of the demo Worker (see ../wrangler.toml). */
export interface DemoEnv {
  /** Server secret: 32 random bytes, base64url (`.dev.vars` locally, `wrangler secret put` in production). */
  VAULT_SECRET: string;
  /** `kv` (default: KV, with single-use records in the Durable Object) or `d1` (D1, with single-use records in the Durable Object). */
  STORAGE?: string;
  /** Refresh-token grace window in seconds (0 = off, at most 60); the demo sets 30. */
  REFRESH_GRACE_SECONDS?: string;
  /**
   * Tests only: `https://origin=http://127.0.0.1:port` makes Client ID
   * Metadata Documents of that https origin come from that local server
   * (client ids keep their public https URLs and every other rule).
   */
  CIMD_TEST_ORIGIN?: string;
  KV: KVNamespace;
  DB: D1Database;
  VAULT_DO: DurableObjectNamespace;
  ASSETS?: Fetcher;
}
