// A real redis-server for tests: started on a free 127.0.0.1 port in a temp
// folder, stopped (and its folder removed) by the test that started it.
// Also a real Redis Cluster of a few such servers.
import { createClient } from '@redis/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RedisServerOptions {
  /**
   * `'none'` (default): nothing on disk, a restart starts empty.
   * `'aof-always'`: every write is in the append-only file, fsynced before
   * Redis answers, so a SIGKILL loses nothing that was acknowledged.
   */
  persistence?: 'none' | 'aof-always';
  /** More redis-server arguments (e.g. cluster mode). */
  extraArgs?: string[];
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the process dies at once, mid-command if need be. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and folder (after `kill`). */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** Where redis-server is: /usr/bin first (Debian's package), then PATH. Throws a clear error when missing. */
export function redisServerPath(): string {
  const candidates = ['/usr/bin/redis-server', ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'redis-server'))];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error('redis-server is not installed: `apt-get install -y redis-server` (bash .ci/run installs it). The Redis tests need a real server.');
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once the server answers PING with PONG (not LOADING); rejects after `timeoutMs`. */
async function waitUntilReady(port: number, exited: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('redis-server exited during start');
    const answer = await new Promise<string>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let data = '';
      socket.setTimeout(500, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk) => {
        data += chunk.toString();
        if (data.includes('\r\n')) socket.end();
      });
      socket.on('close', () => resolve(data));
      socket.on('error', () => undefined);
    });
    if (answer.startsWith('+PONG')) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on 127.0.0.1:${port} did not become ready in ${timeoutMs} ms`);
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = redisServerPath();
  const dir = mkdtempSync(join(tmpdir(), 'oauth-vault-redis-'));
  const port = await freePort();
  const persistence =
    options.persistence === 'aof-always' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--loglevel', 'warning', ...(options.extraArgs ?? [])];
  let child: ChildProcess | undefined;
  let exited = true;
  // Never leave a server behind, even when the test process ends without afterAll.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const launch = async (): Promise<void> => {
    const started = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    exited = false;
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    started.once('exit', () => void (exited = true));
    try {
      await waitUntilReady(port, () => exited);
    } catch (error) {
      started.kill('SIGKILL');
      throw new Error(`${(error as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
    }
  };
  const killWith = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (!running || exited) return;
    const gone = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    await gone;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => killWith('SIGKILL'),
    restart: launch,
    async stop() {
      await killWith('SIGTERM');
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly nodes: RedisServer[];
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `size` primaries on 127.0.0.1, no replicas: the 16384
 * slots split evenly, the nodes introduced to each other, and ready once
 * every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async () => void (await Promise.all(nodes.map((node) => node.stop())));
  try {
    for (let index = 0; index < size; index++) {
      nodes.push(await startRedisServer({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'] }));
    }
    const clients = await Promise.all(nodes.map(async (node) => {
      const client = createClient({ url: node.url });
      client.on('error', () => undefined);
      return client.connect();
    }));
    try {
      const per = Math.ceil(16384 / size);
      await Promise.all(clients.map((client, index) => client.sendCommand(['CLUSTER', 'ADDSLOTSRANGE', String(index * per), String(Math.min(16383, (index + 1) * per - 1))])));
      for (const node of nodes.slice(1)) await clients[0]!.sendCommand(['CLUSTER', 'MEET', '127.0.0.1', String(node.port)]);
      const deadline = Date.now() + 20_000;
      for (;;) {
        const states = await Promise.all(clients.map(async (client) => String(await client.sendCommand(['CLUSTER', 'INFO']))));
        if (states.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${size}`))) break;
        if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok in 20 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}
