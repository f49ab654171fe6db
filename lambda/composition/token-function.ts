/**
 * The composition root of the token route: builds the cache, the token service and the middy handler from the
 * adapters it is given, and wraps the handler in the middlewares it is given (Powertools' injectLambdaContext,
 * the metrics flush). The Lambda entrypoint passes KMS, DynamoDB and Powertools adapters; the local runtime
 * and the benchmark pass local ones. One builder, so they cannot drift apart (metrics, allowed callers, audit).
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { AllowedCallers } from '../../contract/allowed-callers';
import type { RuntimeConfig } from '../../contract/broker-config';
import type {
  BrokerMetrics,
  ClientAssertionSource,
  Clock,
  DataKeyProvider,
  Fetch,
  Logger,
  SealedTokenStore,
  TokenAudit,
  TokenStore,
} from '../core/ports';
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
  readonly logger: Logger;
  /** The audit trail: who obtained which token (docs/operations-audit.md). */
  readonly audit: TokenAudit;
  readonly metrics: BrokerMetrics;
  /**
   * Wrapped around the handler in this order, e.g. injectLambdaContext (request id and cold start on every
   * line), then the metrics flush. @default []
   */
  readonly middlewares?: readonly MiddlewareObj[];
  /** @default Date.now */
  readonly clock?: Clock;
  /** @default globalThis.fetch */
  readonly fetch?: Fetch;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default - every caller IAM allowed */
  readonly allowedCallers?: AllowedCallers;
  /** Told of each invocation first, for the ids on its log lines (see `TokenHandlerDeps`). @default - nothing */
  readonly beginInvocation?: (context: Context) => void;
}

/** The token route's handler and what it was built from, for callers that inspect the cache (tests, bench). */
export interface TokenFunction {
  readonly handler: ReturnType<typeof createTokenHandler>;
  readonly service: TokenService;
  readonly cache: TokenCache;
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
    logger: deps.logger,
    metrics: deps.metrics,
  });
}

/** Wires the token route from its adapters. */
export function createTokenFunction(deps: TokenFunctionDeps): TokenFunction {
  const clock = deps.clock ?? systemClock;
  const cache = new TokenCache({
    store: tokenStore(deps, clock),
    clock,
    logger: deps.logger,
    metrics: deps.metrics,
    refreshMarginSeconds: deps.config.refreshMarginSeconds,
  });
  const service = new TokenService({
    config: deps.config,
    assertions: deps.assertions,
    cache,
    clock,
    entra: { fetch: deps.fetch ?? ((input, init) => fetch(input, init)), sleep: deps.sleep ?? realSleep },
  });
  const handler = createTokenHandler({
    service,
    api: deps.api,
    logger: deps.logger,
    audit: deps.audit,
    metrics: deps.metrics,
    clock,
    ...(deps.allowedCallers ? { allowedCallers: deps.allowedCallers } : {}),
    ...(deps.beginInvocation ? { beginInvocation: deps.beginInvocation } : {}),
  }).use([...(deps.middlewares ?? [])]);
  return { handler, service, cache };
}
