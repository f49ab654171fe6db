/**
 * The broker's logger: Powertools Logger with the scrubbing formatter, writing one JSON object per line to a
 * sink (stdout in Lambda, stderr in the local runtime, an array in tests), and the core `Logger` port on it.
 */
import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { LogItem } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ConstructorOptions, LogAttributes, LogLevel } from '@aws-lambda-powertools/logger/types';
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { SERVICE_NAME } from '../../contract/aws-names';
import type { Logger as LoggerPort } from '../core/ports';
import { ScrubbingLogFormatter } from './scrubbing-log-formatter';

/** Receives each finished line, without a newline. */
export type LogSink = (line: string) => void;

/** Lambda sends a function's stdout to CloudWatch Logs, one event per line. */
export const stdoutSink: LogSink = (line) => void process.stdout.write(`${line}\n`);
/** The local runtime keeps stdout for its `listening on …` line. */
export const stderrSink: LogSink = (line) => void process.stderr.write(`${line}\n`);

export interface BrokerLoggerOptions {
  /** Where lines go. @default stdoutSink */
  readonly sink?: LogSink;
  /** @default - `POWERTOOLS_LOG_LEVEL`, else INFO */
  readonly logLevel?: LogLevel;
  /** @default - `POWERTOOLS_SERVICE_NAME`, else SERVICE_NAME */
  readonly serviceName?: string;
  /** Keys on every line, e.g. `{ route: 'token' }`. @default {} */
  readonly persistentKeys?: Readonly<Record<string, string>>;
}

/**
 * Powertools Logger with three changes, none to what a line says:
 * - lines go to a sink instead of a private `Console` (tests and the local runtime choose where);
 * - the scrubbing formatter is always on, children included;
 * - `refreshSampleRateCalculation` (run by `injectLambdaContext` before every invocation) is skipped when no
 *   debug sample rate is configured: it then only re-applies the initial log level, which the broker never
 *   changes, and costs about 1 µs (an environment read and a scan of the level table), a third of an empty
 *   middy handler on the memory-hit path.
 * It also remembers which invocation was the cold start, so the audit line (token-audit-log.ts) can say so
 * exactly as Powertools' `cold_start` does.
 */
export class BrokerLogger extends Logger {
  /** Undefined only while Powertools' constructor runs (it may print then: those lines go to stdout). */
  private readonly lineSink: LogSink | undefined;
  private readonly sampling: boolean;
  private coldStartRequestId: string | undefined;
  private coldStartSeen = false;
  /** The invocation `beginInvocation` announced, and the one whose context the lines carry now. */
  private announced: Context | undefined;
  private applied: Context | undefined;

  constructor(options: ConstructorOptions = {}, sink: LogSink = stdoutSink) {
    super({ ...options, logFormatter: options.logFormatter ?? new ScrubbingLogFormatter() } as ConstructorOptions);
    this.lineSink = sink;
    const rate = options.sampleRateValue ?? Number(process.env.POWERTOOLS_LOGGER_SAMPLE_RATE ?? 0);
    this.sampling = rate > 0;
  }

  /** The sink this logger writes to (the audit writer writes its lines there too). */
  get sink(): LogSink {
    return this.lineSink ?? stdoutSink;
  }

  /**
   * Announces an invocation without paying for it: its Lambda context is added (as `injectLambdaContext` would)
   * only when a line is about to be written through the port (`asLoggerPort`), so a memory hit that writes only
   * its audit line costs one assignment here. One invocation at a time (a Lambda container); the local runtime,
   * which serves requests concurrently, uses `injectLambdaContext` per request instead.
   */
  beginInvocation(context: Context): void {
    this.announced = context;
    this.coldStartRequestId ??= context.awsRequestId;
  }

  /** Adds the announced invocation's context if it is not on the lines yet. */
  applyInvocation(): void {
    const announced = this.announced;
    if (announced !== undefined && announced !== this.applied) {
      this.applied = announced;
      this.addContext(announced);
    }
  }

  /** Whether the invocation with this request id was the container's cold start (Powertools' `cold_start`). */
  wasColdStart(awsRequestId: string): boolean {
    return awsRequestId === this.coldStartRequestId;
  }

  /**
   * The attributes Powertools would print now on an INFO line with this message (service, sampling rate,
   * persistent keys, Lambda context if any), scrubbed: the audit writer builds its lines from them.
   */
  infoLineAttributes(message: string): LogAttributes {
    const item = this.createAndPopulateLogItem(LogLevelThreshold.INFO, message, []);
    item.prepareForPrint();
    return item.getAttributes();
  }

  override getColdStart(): boolean {
    // With invocations announced, the cold start is the first one announced, whether or not it wrote a line.
    if (this.announced !== undefined) return this.applied?.awsRequestId === this.coldStartRequestId;
    const cold = super.getColdStart();
    this.coldStartSeen ||= cold;
    return cold;
  }

  override addContext(context: Context): void {
    super.addContext(context);
    if (this.coldStartSeen && this.coldStartRequestId === undefined) this.coldStartRequestId = context.awsRequestId;
  }

  override refreshSampleRateCalculation(): void {
    if (this.sampling) super.refreshSampleRateCalculation();
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    this.sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new BrokerLogger(options, this.sink);
  }
}

/** A BrokerLogger with the broker's defaults (service name, scrubbing, sink). */
export function createBrokerLogger(options: BrokerLoggerOptions = {}): BrokerLogger {
  const serviceName = options.serviceName ?? (process.env.POWERTOOLS_SERVICE_NAME ? undefined : SERVICE_NAME);
  return new BrokerLogger(
    {
      ...(serviceName ? { serviceName } : {}),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
      ...(options.persistentKeys ? { persistentKeys: { ...options.persistentKeys } } : {}),
    },
    options.sink,
  );
}

/** The core `Logger` port on a Powertools logger: message and fields, the fields as the line's own attributes. */
export function asLoggerPort(logger: Logger): LoggerPort {
  const apply = logger instanceof BrokerLogger ? () => logger.applyInvocation() : () => undefined;
  const level =
    (write: (message: string, ...extra: Record<string, unknown>[]) => void): LoggerPort['info'] =>
    (message, fields) => {
      apply();
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

/**
 * Powertools' `injectLambdaContext` middleware for middy: every line the logger writes during an invocation
 * carries its request id (`function_request_id`), `cold_start` and the function's name, ARN and memory.
 */
export function lambdaContextMiddleware(logger: Logger): MiddlewareObj {
  return injectLambdaContext(logger);
}
