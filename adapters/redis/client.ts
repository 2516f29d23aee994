import { Buffer } from 'node:buffer';
import { createClient } from '@redis/client';
import { utf8 } from '../../src/util/bytes.js';

/** Options of one command, as node-redis (`@redis/client`) takes them. */
export interface RedisCommandOptions {
  /** Reply types mapped to JavaScript types: `{ 36: Buffer }` returns bulk strings as bytes. */
  typeMapping?: { readonly [respType: number]: unknown };
  /** Milliseconds after which the command is rejected (it may still run on the server). */
  timeout?: number;
}

/**
 * The one client method the adapter calls. A node-redis client
 * (`createClient()` from `redis` or `@redis/client`, or {@link connectRedis})
 * fits as it is; another client fits behind a small wrapper that sends the
 * arguments as one command and returns bulk strings as bytes when asked.
 */
export interface RedisClientLike {
  sendCommand(args: readonly (string | Uint8Array)[], options?: RedisCommandOptions): Promise<unknown>;
}

/**
 * The same for Redis Cluster: node-redis's `createCluster()` fits as it is.
 * Commands are routed by their first key, which the adapter names.
 */
export interface RedisClusterLike {
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: readonly (string | Uint8Array)[], options?: RedisCommandOptions): Promise<unknown>;
}

/** One command to the node that holds `firstKey`. */
export type SendCommand = (firstKey: string, args: readonly (string | Uint8Array)[], options: RedisCommandOptions) => Promise<unknown>;

export function sendCommandOf(client: RedisClientLike | undefined, cluster: RedisClusterLike | undefined): SendCommand {
  if (cluster) {
    // Never "read-only": a cluster client allowed to read from replicas would then read stale entries.
    return (firstKey, args, options) => cluster.sendCommand(firstKey, false, args, options);
  }
  return (_, args, options) => client!.sendCommand(args, options);
}

/** RESP type of a bulk string (`$`). */
const BLOB_STRING = 36;

/** node-redis sends only `string` and `Buffer` arguments (it checks `instanceof Buffer`). */
export const toArgument = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Runs commands and scripts with the adapter's timeout; scripts by SHA1, loading them when Redis does not know them. */
export interface CommandRunner {
  /** A command on `key` whose bulk-string replies come back as bytes. */
  bytes(key: string, args: readonly (string | Uint8Array)[]): Promise<unknown>;
  /** A command on `key` whose bulk-string replies come back as strings. */
  text(key: string, args: readonly (string | Uint8Array)[]): Promise<unknown>;
  /** EVALSHA, or EVAL after a NOSCRIPT (a restarted server, SCRIPT FLUSH, a failover). `keys[0]` routes it. */
  script(source: string, keys: readonly string[], args: readonly (string | Uint8Array)[], replies: 'bytes' | 'text'): Promise<unknown>;
}

export function commandRunner(send: SendCommand, timeoutMs: number): CommandRunner {
  const bytes = { typeMapping: { [BLOB_STRING]: Buffer }, timeout: timeoutMs };
  const text = { timeout: timeoutMs };
  const digests = new Map<string, Promise<string>>();
  const sha1 = (source: string): Promise<string> => {
    let digest = digests.get(source);
    if (!digest) {
      digest = crypto.subtle.digest('SHA-1', utf8(source)).then((hash) => Array.from(new Uint8Array(hash), (byte) => byte.toString(16).padStart(2, '0')).join(''));
      digests.set(source, digest);
    }
    return digest;
  };
  return {
    bytes: (key, args) => send(key, args, bytes),
    text: (key, args) => send(key, args, text),
    async script(source, keys, args, replies) {
      const options = replies === 'bytes' ? bytes : text;
      const tail = [String(keys.length), ...keys, ...args];
      try {
        return await send(keys[0]!, ['EVALSHA', await sha1(source), ...tail], options);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return send(keys[0]!, ['EVAL', source, ...tail], options);
      }
    },
  };
}

export interface ConnectRedisOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://` for TLS. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Milliseconds to wait for a connection (default 5,000). */
  connectTimeoutMs?: number;
  /**
   * Receives connection errors (the client reconnects by itself). Default:
   * ignore them, since every command that fails meanwhile already rejects.
   */
  onError?: (error: unknown) => void;
}

/**
 * A connected node-redis client set up to fail fast: while the connection is
 * down, commands are rejected at once (no offline queue) instead of waiting
 * for a reconnect, and the client reconnects in the background with a
 * backoff capped at 2 s. Close it with `client.close()` (or `destroy()`).
 *
 * Ships from `oauth-vault/redis`.
 *
 * @example
 * ```ts
 * import { connectRedis, redisAdapter } from 'oauth-vault/redis';
 * const client = await connectRedis({ url: process.env.REDIS_URL });
 * const adapter = redisAdapter({ client });
 * ```
 */
export async function connectRedis(options: ConnectRedisOptions = {}) {
  let connected = false;
  const client = createClient({
    url: options.url ?? 'redis://127.0.0.1:6379',
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      // The first connection fails at once (a wrong URL should not hang the caller); later ones are retried.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, 2_000) : cause),
    },
  });
  // Without a listener an 'error' event would throw and end the process.
  client.on('error', options.onError ?? (() => undefined));
  await client.connect();
  connected = true;
  return client;
}
