import type { CachedToken, TokenStore } from '../../lambda/core/ports';
import type { CacheResult, TokenCacheOptions } from '../../lambda/core/token-cache';
import type { TokenCacheLike } from '../../lambda/core/token-service';

/**
 * The baseline the benchmark compares against: a plain read-through DynamoDB cache with no memory tier,
 * no single flight and no lease. Every miss exchanges. Not used by the broker.
 */
export class UncoordinatedCache implements TokenCacheLike {
  private readonly store: TokenStore;

  constructor(private readonly options: TokenCacheOptions) {
    this.store = options.store;
  }

  async get(key: string, exchange: () => Promise<CachedToken>): Promise<CacheResult> {
    const cached = await this.store.get(key);
    if (cached && cached.expiresOn - this.options.clock() / 1000 > this.options.refreshMarginSeconds)
      return { token: cached, outcome: 'l2' };
    const token = await exchange();
    await this.store.put(key, token);
    return { token, outcome: 'exchange' };
  }
}
