/**
 * What every broker function is wrapped in, on stock Powertools: `injectLambdaContext` (request id, cold start and
 * the function on every line) and, for the functions that publish metrics, `logMetrics` (one EMF line per invocation
 * that counted something). The Lambda entrypoints, the local runtime, the benchmark and the tests build each function
 * with these, so what is tested is what runs.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { MiddlewareObj } from '@middy/core';
import type { Logger as LoggerPort, RotatorMetrics, TokenAudit } from '../core/ports';
import { asLoggerPort, createBrokerLogger } from './powertools-logger';
import { createBrokerMetrics, PowertoolsMetricsPort } from './powertools-metrics';
import { TokenAuditLog } from './token-audit-log';

export interface ObservabilityOptions {
  /** The route (or function) on every line: `token`, `jwks`, `discovery`, `rotator`. */
  readonly route: string;
  /** @default - `POWERTOOLS_LOG_LEVEL`, else INFO */
  readonly logLevel?: LogLevel;
  /** More keys on every line (the local runtime adds `runtime: local`). @default {} */
  readonly persistentKeys?: Readonly<Record<string, string>>;
}

export interface LoggingObservability {
  readonly logger: LoggerPort;
  /** The Powertools logger behind `logger` (the runtime's own lines about a request go through it too). */
  readonly powertools: Logger;
  /** Wrapped around the handler: injectLambdaContext. */
  readonly middlewares: readonly MiddlewareObj[];
}

export interface FunctionObservability extends LoggingObservability {
  readonly metrics: RotatorMetrics;
  /** Wrapped around the handler: injectLambdaContext, then logMetrics. */
  readonly middlewares: readonly MiddlewareObj[];
}

export interface TokenObservability extends FunctionObservability {
  /** The audit trail (docs/operations-audit.md). */
  readonly audit: TokenAudit;
}

/** Logs only: the discovery function, which counts nothing. */
export function createLogging(options: ObservabilityOptions): LoggingObservability {
  const powertools = createBrokerLogger({
    persistentKeys: { route: options.route, ...options.persistentKeys },
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  });
  return { logger: asLoggerPort(powertools), powertools, middlewares: [injectLambdaContext(powertools)] };
}

/** Logs and metrics with the `Deployment` dimension: the JWKS and rotator functions. */
export function createObservability(options: ObservabilityOptions & { readonly deployment: string }): FunctionObservability {
  const logging = createLogging(options);
  const metrics = createBrokerMetrics({ deployment: options.deployment, logger: logging.powertools });
  return { ...logging, metrics: new PowertoolsMetricsPort(metrics), middlewares: [...logging.middlewares, logMetrics(metrics)] };
}

/**
 * The token route's: logs, metrics, and the audit trail, which is written at every log level: through the function's
 * logger when that writes INFO lines (the default), else through a second logger pinned to INFO. Every logger that
 * writes gets the invocation's context; one logger is one context to set per request instead of two.
 */
export function createTokenObservability(
  options: Omit<ObservabilityOptions, 'route'> & { readonly deployment: string },
): TokenObservability {
  const observability = createObservability({ ...options, route: 'token' });
  if (writesInfo(observability.powertools)) return { ...observability, audit: new TokenAuditLog(observability.powertools) };
  const auditLogger = createBrokerLogger({ logLevel: 'INFO', persistentKeys: { route: 'token', ...options.persistentKeys } });
  return {
    ...observability,
    audit: new TokenAuditLog(auditLogger),
    middlewares: [injectLambdaContext([observability.powertools, auditLogger]), ...observability.middlewares.slice(1)],
  };
}

/** Whether the logger writes INFO lines: its level is INFO or more verbose. */
function writesInfo(logger: Logger): boolean {
  const level = logger.getLevelName();
  return level === 'INFO' || level === 'DEBUG' || level === 'TRACE';
}
