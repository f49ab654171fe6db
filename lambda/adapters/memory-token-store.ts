/**
 * In-process `TokenStore` for the local runtime without DynamoDB, with the same semantics as
 * `DynamoDbTokenStore`: expired tokens are returned as stored (the cache policy checks `expiresOn`,
 * just as it must with DynamoDB's lazy TTL), leases are judged by the injected clock.
 *
 * Nothing is pruned: there is one token and at most one lease per configured alias, so the maps stay small.
 */
import { InternalError } from '../core/errors';
import { systemClock, type CachedToken, type Clock, type TokenStore } from '../core/ports';

export interface MemoryTokenStoreOptions {
  /** Decides whether a lease has expired; default Date.now. */
  readonly clock?: Clock;
}

interface Lease {
  readonly holder: string;
  readonly expiresAtMs: number;
}

/** `TokenStore` in a Map; shared only within this process. Never throws except for caller bugs. */
export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly leases = new Map<string, Lease>();
  private readonly clock: Clock;

  constructor(options: MemoryTokenStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** @returns a copy of the stored token, or undefined */
  async get(key: string): Promise<CachedToken | undefined> {
    const token = this.tokens.get(key);
    return token && { ...token };
  }

  /**
   * Stores (overwrites) a copy of the token.
   * @throws InternalError when expiresOn is not a finite number (a caller bug), as DynamoDbTokenStore does
   */
  async put(key: string, token: CachedToken): Promise<void> {
    if (!Number.isFinite(token.expiresOn)) throw new InternalError('A token with an invalid expiry cannot be cached.');
    const { accessToken, expiresOn, issuedOn, scope, uti, correlationId } = token;
    this.tokens.set(key, {
      accessToken,
      expiresOn,
      issuedOn,
      scope,
      ...(uti ? { uti } : {}),
      ...(correlationId ? { correlationId } : {}),
    });
  }

  /**
   * Succeeds when there is no lease, it has expired (`expiresAtMs < now`), or `holder` already holds it.
   * Atomic: the check and the write happen in one synchronous step.
   */
  async tryAcquireLease(key: string, holder: string, expiresAtMs: number): Promise<boolean> {
    const current = this.leases.get(key);
    if (current && current.holder !== holder && !(current.expiresAtMs < this.clock())) return false;
    this.leases.set(key, { holder, expiresAtMs });
    return true;
  }

  /** Deletes the lease only if `holder` still holds it. */
  async releaseLease(key: string, holder: string): Promise<void> {
    if (this.leases.get(key)?.holder === holder) this.leases.delete(key);
  }
}
