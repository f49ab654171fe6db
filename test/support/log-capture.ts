/**
 * The deployment's logger (Powertools with the scrubbing formatter), its audit trail and metrics, writing into
 * arrays instead of stdout: tests read exactly the lines CloudWatch would receive.
 */
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { asLoggerPort, createBrokerLogger, lambdaContextMiddleware } from '../../lambda/adapters/powertools-logger';
import { PowertoolsBrokerMetrics } from '../../lambda/adapters/powertools-metrics';
import { TokenAuditLog } from '../../lambda/adapters/token-audit-log';
import type { Clock } from '../../lambda/core/ports';

export type LogEntry = Record<string, unknown>;

export interface CaptureOptions {
  /** @default 'DEBUG' */
  readonly logLevel?: LogLevel;
  readonly persistentKeys?: Readonly<Record<string, string>>;
  /** The audit lines' clock. @default Date.now */
  readonly clock?: Clock;
  /** The metrics' `Deployment`. @default 'TestStack/Broker' */
  readonly deployment?: string;
}

export function captureLogs(options: CaptureOptions = {}) {
  const lines: string[] = [];
  const metricLines: string[] = [];
  const powertools = createBrokerLogger({
    sink: (line) => lines.push(line),
    logLevel: options.logLevel ?? 'DEBUG',
    ...(options.persistentKeys ? { persistentKeys: options.persistentKeys } : {}),
  });
  const metrics = new PowertoolsBrokerMetrics({
    deployment: options.deployment ?? 'TestStack/Broker',
    sink: (line) => metricLines.push(line),
  });
  return {
    powertools,
    logger: asLoggerPort(powertools),
    audit: new TokenAuditLog(powertools, options.clock ? { clock: options.clock } : {}),
    metrics,
    /** injectLambdaContext, then the metrics flush: what the entrypoint wraps the token handler in. */
    middlewares: [lambdaContextMiddleware(powertools), metrics.middleware()],
    lines,
    metricLines,
    entries: (): LogEntry[] => lines.map((line) => JSON.parse(line) as LogEntry),
    metricEntries: (): LogEntry[] => metricLines.map((line) => JSON.parse(line) as LogEntry),
  };
}
