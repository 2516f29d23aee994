import type { OAuthStore } from '../../oauth/oauth-store.js';

/**
 * One isolate's copy of the store's revocation list (revoked grant ids and
 * revoked JWT `jti`s): re-read at most every `ttlMs`, by one read at a
 * time, so validating a JWT costs no storage read per token. A revocation
 * reaches this isolate at most `ttlMs` after it was recorded. When the list
 * cannot be read, validation fails (closed) rather than trusting a stale one.
 */
export class RevocationCache {
  readonly #store: OAuthStore;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #ids: Set<string> | undefined;
  #until = 0;
  #reading: Promise<Set<string>> | undefined;
  /** Bumped by `invalidate`: a read that started before it does not count as fresh. */
  #generation = 0;

  constructor(store: OAuthStore, ttlMs: number, now: () => number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** Whether any of `ids` (a token's `jti`, its grant id) is revoked. */
  async isRevoked(ids: readonly string[]): Promise<boolean> {
    const revoked = await this.#current();
    return ids.some((id) => revoked.has(id));
  }

  /** Forgets the copy: the next check reads the list (after this isolate itself recorded a revocation). */
  invalidate(): void {
    this.#until = 0;
    this.#reading = undefined;
    this.#generation += 1;
  }

  #current(): Promise<Set<string>> {
    if (this.#ids && this.#until > this.#now()) return Promise.resolve(this.#ids);
    if (this.#reading) return this.#reading;
    const generation = this.#generation;
    const started = this.#now();
    const reading = this.#store.listRevocations().then(
      (list) => {
        const ids = new Set(list.map((revocation) => revocation.id));
        if (generation === this.#generation) {
          this.#ids = ids;
          this.#until = started + this.#ttlMs;
          this.#reading = undefined;
        }
        return ids;
      },
      (error: unknown) => {
        if (generation === this.#generation) this.#reading = undefined;
        throw error;
      },
    );
    this.#reading = reading;
    return reading;
  }
}
