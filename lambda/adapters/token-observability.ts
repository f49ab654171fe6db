/**
 * Logs, audit trail and metrics of the token route on Powertools, as one bundle: the Lambda entrypoint and the
 * benchmark build the route from the same parts, so the benchmark measures what runs in Lambda.
 */
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { BrokerMetrics, Clock, Logger, TokenAudit } from '../core/ports';
import { asLoggerPort, createBrokerLogger, type BrokerLogger, type LogSink } from './powertools-logger';
import { PowertoolsBrokerMetrics } from './powertools-metrics';
import { TokenAuditLog } from './token-audit-log';

export interface TokenObservabilityOptions {
  /** The `Deployment` dimension of the metrics (`BROKER_DEPLOYMENT`). */
  readonly deployment: string;
  /** Where log, audit and metric lines go. @default stdoutSink */
  readonly sink?: LogSink;
  /** @default - `POWERTOOLS_LOG_LEVEL`, else INFO */
  readonly logLevel?: LogLevel;
  /** The audit lines' clock. @default Date.now */
  readonly clock?: Clock;
}

export interface TokenObservability {
  /** The Powertools logger behind `logger` and `audit`. */
  readonly powertools: BrokerLogger;
  readonly logger: Logger;
  readonly audit: TokenAudit;
  readonly metrics: BrokerMetrics;
  /**
   * None: the token route's memory hit must cost about an empty handler, and any middy middleware costs a
   * good part of that. The request id and cold start reach every line through `beginInvocation` instead, and
   * the handler flushes the metrics itself when it counted something.
   */
  readonly middlewares: readonly MiddlewareObj[];
  /** Announces each invocation to the logger (its context is added when a line is written). */
  readonly beginInvocation: (context: Context) => void;
}

/** The token route's logger (route `token`), audit trail and metrics, with the middlewares that go around it. */
export function createTokenObservability(options: TokenObservabilityOptions): TokenObservability {
  const powertools = createBrokerLogger({
    persistentKeys: { route: 'token' },
    ...(options.sink ? { sink: options.sink } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  });
  const metrics = new PowertoolsBrokerMetrics({
    deployment: options.deployment,
    logger: powertools,
    ...(options.sink ? { sink: options.sink } : {}),
  });
  return {
    powertools,
    logger: asLoggerPort(powertools),
    audit: new TokenAuditLog(powertools, options.clock ? { clock: options.clock } : {}),
    metrics,
    middlewares: [],
    beginInvocation: (context) => {
      powertools.beginInvocation(context);
    },
  };
}
