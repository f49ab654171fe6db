/**
 * The broker's logger: stock Powertools Logger (one JSON object per line on stdout, as Lambda expects) with the
 * scrubbing formatter, a documented Powertools extension point (scrubbing-log-formatter.ts), and the core `Logger`
 * port on it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { SERVICE_NAME } from '../../contract/aws-names';
import type { Logger as LoggerPort } from '../core/ports';
import { ScrubbingLogFormatter } from './scrubbing-log-formatter';

export interface BrokerLoggerOptions {
  /** @default - `POWERTOOLS_LOG_LEVEL`, else INFO */
  readonly logLevel?: LogLevel;
  /** Keys on every line, e.g. `{ route: 'token' }`. @default {} */
  readonly persistentKeys?: Readonly<Record<string, string>>;
}

/** A Powertools Logger with the broker's service name (unless `POWERTOOLS_SERVICE_NAME` names one) and scrubbing. */
export function createBrokerLogger(options: BrokerLoggerOptions = {}): Logger {
  return new Logger({
    ...(process.env.POWERTOOLS_SERVICE_NAME ? {} : { serviceName: SERVICE_NAME }),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    ...(options.persistentKeys ? { persistentKeys: { ...options.persistentKeys } } : {}),
    logFormatter: new ScrubbingLogFormatter(),
  });
}

/** The core `Logger` port on a Powertools logger: message and fields, the fields as the line's own attributes. */
export function asLoggerPort(logger: Logger): LoggerPort {
  const level =
    (write: (message: string, ...extra: Record<string, unknown>[]) => void): LoggerPort['info'] =>
    (message, fields) => {
      if (fields) write(message, fields);
      else write(message);
    };
  return {
    debug: level((message, ...extra) => logger.debug(message, ...extra)),
    info: level((message, ...extra) => logger.info(message, ...extra)),
    warn: level((message, ...extra) => logger.warn(message, ...extra)),
    error: level((message, ...extra) => logger.error(message, ...extra)),
  };
}
