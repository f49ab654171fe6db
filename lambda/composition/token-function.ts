/**
 * The composition root of the token route: builds the cache, the token service and the middy handler from the
 * adapters it is given, wrapped in the observability's middlewares (Powertools' injectLambdaContext and logMetrics).
 * The Lambda entrypoint passes KMS, DynamoDB and Powertools adapters; the local runtime, the benchmark and the tests
 * pass local stores and keys, and the same observability. One builder, so they cannot drift apart. With
 * `proactiveRefresh` the same handler runs the refresher on a refresh event (contract/refresh-event.ts).
 */
import type { AllowedCallers } from '../../contract/allowed-callers';
import type { RuntimeConfig } from '../../contract/broker-config';
import type { TokenObservability } from '../adapters/observability';
import type { ClientAssertionSource, Clock, DataKeyProvider, Fetch, SealedTokenStore, TokenStore } from '../core/ports';
import { systemClock } from '../core/ports';
import { sleep as realSleep } from '../core/retry';
import { SealingTokenStore } from '../core/sealing-token-store';
import { TokenCache, tokenCacheKey } from '../core/token-cache';
import { TokenSealer, type SealBinding } from '../core/token-sealing';
import { TokenService } from '../core/token-service';
import { createTokenHandler, type ExpectedApi } from '../handlers/token';

/**
 * A shared store that other processes (and other principals) can read: every token goes in sealed with data keys
 * from `dataKeys`, and comes out only if it opens and its claims check out (lambda/core/sealing-token-store.ts).
 */
export interface SealedStoreDeps {
  readonly sealed: SealedTokenStore;
  readonly dataKeys: DataKeyProvider;
}

export interface TokenFunctionDeps {
  readonly config: RuntimeConfig;
  /**
   * Who makes the client assertions: the broker's rotation state (`rotatingAssertions`: KMS keys, or the local
   * runtime's key files), or AWS STS outbound identity federation.
   */
  readonly assertions: ClientAssertionSource;
  /**
   * The shared (second-tier) cache: a store of sealed items with the keys that seal them (DynamoDB), or a store in
   * this process's own memory, which nobody else reads.
   */
  readonly store: SealedStoreDeps | TokenStore;
  /** The API Gateway stage whose events are served; any other event is refused (the direct-invocation tripwire). */
  readonly api: ExpectedApi;
  /** Logs, audit trail and metrics, and the middlewares that go with them (createTokenObservability). */
  readonly observability: TokenObservability;
  /** @default Date.now */
  readonly clock?: Clock;
  /** @default globalThis.fetch */
  readonly fetch?: Fetch;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default - every caller IAM allowed */
  readonly allowedCallers?: AllowedCallers;
}

/** What each configured scope's cache key is the token of: what a sealed item is bound to. */
export function sealBindings(config: RuntimeConfig): Map<string, SealBinding> {
  const bindings = new Map<string, SealBinding>();
  for (const { scope, tenantId, clientId } of Object.values(config.scopes)) {
    const parts = { authorityHost: config.authorityHost, tenantId, clientId, scope };
    const cacheKey = tokenCacheKey(parts);
    bindings.set(cacheKey, { cacheKey, ...parts });
  }
  return bindings;
}

function tokenStore(deps: TokenFunctionDeps, clock: Clock): TokenStore {
  const { store } = deps;
  if (!('sealed' in store)) return store;
  const bindings = sealBindings(deps.config);
  return new SealingTokenStore({
    store: store.sealed,
    sealer: new TokenSealer({ keys: store.dataKeys, clock }),
    bindingOf: (key) => bindings.get(key),
    clock,
    logger: deps.observability.logger,
    metrics: deps.observability.metrics,
  });
}

/** Wires the token route from its adapters: the handler as deployed. */
export function createTokenFunction(deps: TokenFunctionDeps): ReturnType<typeof createTokenHandler> {
  const clock = deps.clock ?? systemClock;
  const { logger, audit, metrics, middlewares } = deps.observability;
  // With proactive refresh, refresh events (the schedule's, the local timer's) run the refresher in this handler.
  const proactive = deps.config.proactiveRefresh;
  const cache = new TokenCache({
    store: tokenStore(deps, clock),
    clock,
    logger,
    metrics,
    refreshMarginSeconds: deps.config.refreshMarginSeconds,
    ...(proactive ? { proactiveRefreshPeriodSeconds: proactive.periodSeconds } : {}),
  });
  const service = new TokenService({
    config: deps.config,
    assertions: deps.assertions,
    cache,
    clock,
    entra: { fetch: deps.fetch ?? ((input, init) => fetch(input, init)), sleep: deps.sleep ?? realSleep },
  });
  return createTokenHandler({
    service,
    api: deps.api,
    logger,
    audit,
    metrics,
    clock,
    ...(deps.allowedCallers ? { allowedCallers: deps.allowedCallers } : {}),
    acceptRefreshEvents: proactive !== false,
  }).use([...middlewares]);
}
