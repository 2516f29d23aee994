import { TimeoutError } from '../errors.js';

/** The part of the Web Locks API the vault uses (`navigator.locks`). */
export interface LockManagerLike {
  request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T>;
}

/** What crosses tabs on the BroadcastChannel: a change kind and a storage version. Never a token. */
export interface TabMessage<K extends string = 'saved' | 'refreshed' | 'cleared'> {
  readonly kind: K;
  /** Adapter version of the record after the change; `null` after a removal or a clear. */
  readonly version: string | null;
}

/** The default lock manager, looked up per call (absent in Node, old browsers, some workers). */
export function defaultLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : undefined;
}

/**
 * Runs `task` holding the exclusive Web Lock `name`, giving up the wait after
 * `timeoutMs` with a `TimeoutError`. A lock held by a closed tab is released
 * by the browser; a live holder bounds its own work with the same timeout, so
 * no holder can keep the others waiting forever.
 */
export async function withWebLock<T>(locks: LockManagerLike, name: string, timeoutMs: number, task: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let granted = false;
  try {
    return await locks.request(name, { signal: controller.signal }, () => {
      granted = true;
      clearTimeout(timer);
      return task();
    });
  } catch (error) {
    if (!granted && controller.signal.aborted) {
      throw new TimeoutError(`waited more than ${timeoutMs} ms for the refresh lock held by another tab`, { cause: error });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Settles with `work`, or rejects with `signal.reason` as soon as `signal`
 * aborts (then `work` is abandoned: its late result is ignored).
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The part of BroadcastChannel the vault uses (declared here: not every runtime's typings have it). */
export interface TabChannel {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
}

type TabChannelConstructor = new (name: string) => TabChannel;

/** Opens the tab channel if this runtime has BroadcastChannel (looked up per call); only messages of `kinds` are passed on. */
export function openChannel<K extends string>(name: string, kinds: readonly K[], onMessage: (message: TabMessage<K>) => void): TabChannel | undefined {
  const Channel = (globalThis as { BroadcastChannel?: TabChannelConstructor }).BroadcastChannel;
  if (typeof Channel !== 'function') return undefined;
  const channel = new Channel(name);
  channel.onmessage = (event) => {
    const data = event.data as Partial<TabMessage<string>> | null;
    // Only well-formed messages; anything else on the channel is ignored.
    if (data && kinds.includes(data.kind as K) && (typeof data.version === 'string' || data.version === null)) {
      onMessage({ kind: data.kind as K, version: data.version });
    }
  };
  return channel;
}
