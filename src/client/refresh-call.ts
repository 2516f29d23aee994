import { TimeoutError } from '../errors.js';
import { untilAborted } from './tab-sync.js';
import type { TokenResponse } from './token-set.js';

/** What a {@link RefreshFunction} is given besides the refresh token. */
export interface RefreshContext {
  /** Aborts on timeout, `clear()` and `close()`: pass it to `fetch`. */
  readonly signal: AbortSignal;
  /**
   * `fetch` with a DPoP proof (and the server's nonce) when the vault has
   * `dpop`, plain `fetch` otherwise: call the token endpoint with it so a
   * DPoP-bound refresh token is presented with its proof.
   */
  readonly fetch: typeof fetch;
}

/** Calls the token endpoint with `grant_type=refresh_token`; resolves with its JSON response. */
export type RefreshFunction = (refreshToken: string, context: RefreshContext) => Promise<TokenResponse>;

export interface RefreshCallOptions {
  /** Longest the call may take before it is abandoned with a `TimeoutError`. */
  timeoutMs: number;
  /** Aborts when the vault is cleared or closed. */
  vaultSignal: AbortSignal;
  /**
   * Receives a response that arrives after the timeout (a refresh function
   * that ignores its signal, or an answer already on its way). The server may
   * have rotated the refresh token; dropping this answer would leave the vault
   * presenting the old one.
   */
  onLateResponse: (response: TokenResponse) => void;
  /** Handed to the refresh function as `context.fetch`. */
  fetch: typeof fetch;
}

/**
 * Calls the caller's refresh function with a signal that aborts on timeout (so
 * a hung request cannot hold the refresh lock) and when the vault is cleared
 * or closed. Rejects with `TimeoutError` after `timeoutMs`, and with the
 * vault signal's reason when that aborts first.
 */
export async function callRefresh(refresh: RefreshFunction, refreshToken: string, options: RefreshCallOptions): Promise<TokenResponse> {
  const { vaultSignal, timeoutMs } = options;
  const controller = new AbortController();
  const onVaultAbort = (): void => controller.abort(vaultSignal.reason);
  vaultSignal.addEventListener('abort', onVaultAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new TimeoutError(`the refresh took more than ${timeoutMs} ms`)), timeoutMs);
  const work = Promise.resolve().then(() => refresh(refreshToken, { signal: controller.signal, fetch: options.fetch }));
  try {
    return await untilAborted(work, controller.signal);
  } catch (error) {
    if (error instanceof TimeoutError && error === controller.signal.reason) {
      // Abandoned, not forgotten: a success that still arrives is handed over (unless the vault is gone by then).
      work.then(
        (response) => {
          if (!vaultSignal.aborted) options.onLateResponse(response);
        },
        () => undefined,
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    vaultSignal.removeEventListener('abort', onVaultAbort);
  }
}
