import type { RuntimeConfig, ScopeConfig } from '../../contract/broker-config';
import type { TokenResponseBody } from '../../contract/http-api';
import { requestEntraToken, type EntraClientDeps } from './entra-client';
import type { PresentedIdentity } from './entra-error';
import { UnknownScopeError } from './errors';
import type { CacheOutcome, CachedToken, ClientAssertionSource, Clock } from './ports';
import { tokenCacheKey, type RefreshAheadOutcome, type TokenCache } from './token-cache';

export type { TokenResponseBody };

export interface TokenAnswer {
  readonly body: TokenResponseBody;
  readonly outcome: CacheOutcome;
  /** What the body was made from, with the identifiers the audit trail records. */
  readonly token: CachedToken;
}

export interface TokenServiceDeps {
  readonly config: RuntimeConfig;
  /** Where each exchange's client assertion comes from (`rotatingAssertions`, or AWS STS). */
  readonly assertions: ClientAssertionSource;
  readonly cache: TokenCache;
  readonly clock: Clock;
  readonly entra: Omit<EntraClientDeps, 'clock'>;
}

/** What the refresher did for one cache key: the aliases that share it, and the outcome or the error. */
export type KeyRefresh =
  | { readonly aliases: readonly string[]; readonly outcome: RefreshAheadOutcome }
  | { readonly aliases: readonly string[]; readonly outcome: 'failed'; readonly error: unknown };

/** Serves Entra access tokens by alias: from the cache, or through a freshly signed client assertion. */
export class TokenService {
  /** The cache key of each alias, computed once. */
  private readonly cacheKeys: ReadonlyMap<string, string>;

  constructor(private readonly deps: TokenServiceDeps) {
    this.cacheKeys = new Map(
      Object.values(deps.config.scopes).map((scope) => [
        scope.alias,
        tokenCacheKey({ authorityHost: deps.config.authorityHost, ...scope }),
      ]),
    );
  }

  /** The scope configured under `alias`, or undefined. Own properties only: "constructor" is not an alias. */
  scopeFor(alias: string): ScopeConfig | undefined {
    return Object.hasOwn(this.deps.config.scopes, alias) ? this.deps.config.scopes[alias] : undefined;
  }

  /**
   * The answer from the container's memory, synchronously, or undefined (not cached, nearing expiry, or an
   * unknown alias: `getToken` then says which).
   */
  cached(alias: string): TokenAnswer | undefined {
    const key = this.cacheKeys.get(alias);
    const hit = key === undefined ? undefined : this.deps.cache.peek(key);
    return hit && this.answer(hit.token, hit.outcome);
  }

  /**
   * A token for the alias with more than the refresh margin left.
   * @param deadline ms since the epoch by which an exchange must have given up (the Lambda's remaining time)
   * @throws UnknownScopeError (404) for an alias that is not configured
   * @throws EntraRejectedError (502) or UpstreamUnavailableError (503) from the exchange
   */
  async getToken(alias: string, deadline?: number): Promise<TokenAnswer> {
    const scope = this.scopeFor(alias);
    const key = this.cacheKeys.get(alias);
    if (!scope || key === undefined) throw new UnknownScopeError(alias);
    const { token, outcome } = await this.deps.cache.get(key, () => this.exchange(scope, deadline));
    return this.answer(token, outcome);
  }

  /**
   * The refresher's run: each distinct cache key (tenant, client, scope) once, however many aliases share it, all at
   * once; a failure of one key does not stop the others.
   * @param deadline ms since the epoch by which an exchange must have given up
   */
  async refreshAhead(deadline?: number): Promise<KeyRefresh[]> {
    const byKey = new Map<string, ScopeConfig[]>();
    for (const scope of Object.values(this.deps.config.scopes)) {
      const key = this.cacheKeys.get(scope.alias) as string;
      byKey.set(key, [...(byKey.get(key) ?? []), scope]);
    }
    return Promise.all(
      [...byKey].map(async ([key, scopes]): Promise<KeyRefresh> => {
        const aliases = scopes.map((scope) => scope.alias);
        const [scope] = scopes as [ScopeConfig];
        try {
          return { aliases, outcome: await this.deps.cache.refreshAhead(key, () => this.exchange(scope, deadline)) };
        } catch (error) {
          return { aliases, outcome: 'failed', error };
        }
      }),
    );
  }

  private answer(token: CachedToken, outcome: CacheOutcome): TokenAnswer {
    const nowSecond = Math.floor(this.deps.clock() / 1000);
    return {
      outcome,
      token,
      body: {
        access_token: token.accessToken,
        token_type: 'Bearer',
        expires_in: Math.max(0, token.expiresOn - nowSecond),
        expires_on: token.expiresOn,
        scope: token.scope,
      },
    };
  }

  private async exchange(scope: ScopeConfig, deadline: number | undefined) {
    const { config, assertions, clock } = this.deps;
    const presented: PresentedIdentity = {
      alias: scope.alias,
      issuer: assertions.issuer,
      subject: assertions.subject,
      audience: config.audience,
      tenantId: scope.tenantId,
      clientId: scope.clientId,
      scope: scope.scope,
      signer: config.signer,
    };
    const clientAssertion = await assertions.create();
    return requestEntraToken({ authorityHost: config.authorityHost, presented, clientAssertion }, { ...this.deps.entra, clock, deadline });
  }
}
