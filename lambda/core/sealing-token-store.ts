/**
 * The TokenStore the cache uses, over a store of sealed items: tokens are sealed on the way in and opened and checked
 * on the way out. An item that does not open, or whose claims fail the checks, reads as a miss (the cache then
 * exchanges once), with a warning and a `CacheItemsRejected` count: never a 5xx, never served, never kept in memory.
 */
import { createHash } from 'node:crypto';
import { outlivesEntraMaximum } from '../../contract/token-lifetime';
import type { BrokerMetrics, CachedToken, Clock, Logger, SealedTokenStore, TokenStore } from './ports';
import { SealedItemRejectedError, type SealBinding, type TokenSealer } from './token-sealing';

export interface SealingTokenStoreOptions {
  readonly store: SealedTokenStore;
  readonly sealer: TokenSealer;
  /** What a cache key is the token of (one of the configured scopes); a key without one is never read nor written. */
  readonly bindingOf: (key: string) => SealBinding | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
}

/** Why an opened item was still not served. */
type ClaimRejection = 'other-scope' | 'lifetime-beyond-entra-maximum';

export class SealingTokenStore implements TokenStore {
  /**
   * Per key, the digest of the last item rejected: the cache reads a key twice on a miss (before and after taking
   * the lease), and one bad item is one warning and one count. One entry per configured scope at most.
   */
  private readonly rejected = new Map<string, string>();

  constructor(private readonly options: SealingTokenStoreOptions) {}

  /**
   * The token under `key`, opened and checked; undefined when there is none, it has expired, or it is rejected.
   * @throws what the sealed store or the key service throw when unavailable (the cache counts a store failure)
   */
  async get(key: string): Promise<CachedToken | undefined> {
    const binding = this.options.bindingOf(key);
    if (binding === undefined) return undefined;
    const sealed = await this.options.store.get(key);
    if (sealed === undefined) return undefined;
    let token: CachedToken;
    try {
      token = await this.options.sealer.open(sealed, binding);
    } catch (error) {
      if (error instanceof SealedItemRejectedError) {
        this.reject(key, sealed, error.reason);
        return undefined;
      }
      throw error;
    }
    const problem = this.claimProblem(token, binding);
    if (problem !== undefined) {
      this.reject(key, sealed, problem);
      return undefined;
    }
    // Expired: DynamoDB's TTL deletes lazily, so this is routine, not tampering. A miss all the same.
    if (token.expiresOn <= this.options.clock() / 1000) return undefined;
    return token;
  }

  /**
   * Seals and stores the token. A token that claims a lifetime Entra never issues is not stored (it could only be
   * rejected on the way out), and one for another scope is a caller bug.
   * @throws what the key service or the sealed store throw when unavailable
   */
  async put(key: string, token: CachedToken): Promise<void> {
    const binding = this.options.bindingOf(key);
    if (binding === undefined) return;
    const problem = this.claimProblem(token, binding);
    if (problem !== undefined) {
      this.options.logger.warn('not caching a token whose claims fail the checks', { reason: problem, cacheKey: key });
      return;
    }
    await this.options.store.put(key, await this.options.sealer.seal(token, binding), token.expiresOn);
  }

  tryAcquireLease(key: string, holder: string, expiresAtMs: number): Promise<boolean> {
    return this.options.store.tryAcquireLease(key, holder, expiresAtMs);
  }

  releaseLease(key: string, holder: string): Promise<void> {
    return this.options.store.releaseLease(key, holder);
  }

  private claimProblem(token: CachedToken, binding: SealBinding): ClaimRejection | undefined {
    if (token.scope !== binding.scope) return 'other-scope';
    if (outlivesEntraMaximum(token.expiresOn, this.options.clock() / 1000)) return 'lifetime-beyond-entra-maximum';
    return undefined;
  }

  private reject(key: string, sealed: Uint8Array, reason: string): void {
    const digest = createHash('sha256').update(sealed).digest('base64url');
    if (this.rejected.get(key) === digest) return;
    this.rejected.set(key, digest);
    this.options.metrics.count('cacheItemsRejected');
    this.options.logger.warn(
      'rejected a cached token item; treating it as a miss (was the token cache table written by anyone but the broker?)',
      {
        reason,
        cacheKey: key,
      },
    );
  }
}
