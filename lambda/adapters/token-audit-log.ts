/**
 * The audit trail: one JSON line per token served, with who obtained it (caller ARN and account), which request
 * (API Gateway's and Lambda's request ids) and which token by Entra's own identifiers (`uti`, the exchange's
 * correlation id), never the token.
 *
 * The line is the one Powertools would print for `logger.info('token served', fields)`, byte for byte (a test
 * holds them equal) but for `xray_trace_id`, left out as it would cost an environment read per line; it is
 * assembled from pre-serialized parts because Powertools' logger costs several µs a line, more than a whole
 * memory hit. What is fixed per logger (service, sampling rate, persistent keys), per function
 * (name, ARN, memory) and per token (alias, uti, correlation id, expiry) is serialized once; per request only the
 * timestamp, the request ids, the caller and the cache tier are appended, JSON-escaped and scrubbed.
 */
import { SERVICE_NAME } from '../../contract/aws-names';
import {
  systemClock,
  type CacheOutcome,
  type CachedToken,
  type Clock,
  type InvocationIds,
  type TokenAudit,
  type TokenServed,
} from '../core/ports';
import { scrub, scrubString } from './log-scrub';
import type { BrokerLogger } from './powertools-logger';
import { ScrubbingLogFormatter } from './scrubbing-log-formatter';

/** The message of every audit line: what the queries in docs/operations-audit.md filter on. */
export const TOKEN_SERVED_MESSAGE = 'token served';

/** Keys Powertools computes per line or per invocation; the audit writer fills these itself. */
const PER_LINE_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'xray_trace_id',
  'tenant_id',
]);

/**
 * What JSON cannot hold between two quotes as it is (a quote, a backslash, a control character), or the start
 * of a JWT: one scan decides whether a value needs more than quotes around it.
 */
// eslint-disable-next-line no-control-regex -- JSON escaping is about exactly these characters
const NEEDS_WORK = /["\\\u0000-\u001f]|eyJ/;

/** A JSON string literal of `value`, with JWT-looking parts replaced. */
function jsonString(value: string): string {
  return NEEDS_WORK.test(value) ? JSON.stringify(scrubString(value)) : `"${value}"`;
}

/** The JSON of the last value seen, for fields that repeat from one request to the next (the caller). */
function lastJsonString(): (value: string) => string {
  let last = '';
  let json = '""';
  return (value) => {
    if (value !== last) {
      last = value;
      json = jsonString(value);
    }
    return json;
  };
}

/** `"key":value` pairs of an object's JSON, without the braces, with a leading comma unless empty. */
function members(attributes: Record<string, unknown>): string {
  const json = JSON.stringify(scrub(attributes));
  return json === '{}' ? '' : `,${json.slice(1, -1)}`;
}

const MILLIS = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, '0'));
const CACHE_MEMBER: Readonly<Record<CacheOutcome, string>> = {
  l1: ',"cache":"l1"',
  l2: ',"cache":"l2"',
  exchange: ',"cache":"exchange"',
  shared: ',"cache":"shared"',
  stale: ',"cache":"stale"',
};

export interface TokenAuditLogOptions {
  /** @default Date.now */
  readonly clock?: Clock;
}

/**
 * Writes the audit line through the logger's sink, whatever the log level: the audit trail is not a diagnostic
 * an operator turns down. Assumes one invocation at a time per logger (a Lambda container; the local runtime
 * scopes per request what Powertools keeps, and this writer keeps nothing per request).
 */
export class TokenAuditLog implements TokenAudit {
  private readonly clock: Clock;
  private readonly formatter = new ScrubbingLogFormatter();
  /** `{"level":"INFO","message":"token served","timestamp":"` */
  private readonly head: string;
  /** `","service":"…"` up to `"cold_start":` */
  private readonly service: string;
  /** sampling_rate and the persistent keys, after the Lambda context. */
  private readonly rest: string;
  private second = Number.NaN;
  private secondPrefix = '';
  private secondSuffix = '';
  private lastFunction: InvocationIds | undefined;
  private functionMembers = '';
  /** Per alias, the last token served and its members: a token lives about an hour, so this rarely changes. */
  private readonly tokenMembers = new Map<string, { token: CachedToken; json: string }>();
  private readonly callerArnJson = lastJsonString();
  private readonly callerAccountJson = lastJsonString();

  constructor(
    private readonly logger: BrokerLogger,
    options: TokenAuditLogOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    const template = logger.infoLineAttributes(TOKEN_SERVED_MESSAGE);
    this.head = `{"level":"INFO","message":${JSON.stringify(TOKEN_SERVED_MESSAGE)},"timestamp":"`;
    const service = typeof template.service === 'string' ? template.service : SERVICE_NAME;
    this.service = `","service":${jsonString(service)},"cold_start":`;
    this.rest = members(Object.fromEntries(Object.entries(template).filter(([key]) => !PER_LINE_KEYS.has(key))));
  }

  tokenServed(served: TokenServed): void {
    const { invocation } = served;
    let line =
      this.head +
      this.timestamp() +
      this.service +
      (this.logger.wasColdStart(invocation.awsRequestId) ? 'true' : 'false') +
      this.functionPart(invocation) +
      ',"function_request_id":' +
      jsonString(invocation.awsRequestId) +
      this.rest +
      this.tokenPart(served.alias, served.token) +
      CACHE_MEMBER[served.cache];
    if (served.callerArn) line += ',"callerArn":' + this.callerArnJson(served.callerArn);
    if (served.callerAccount) line += ',"callerAccount":' + this.callerAccountJson(served.callerAccount);
    if (served.apiRequestId) line += ',"apiRequestId":' + jsonString(served.apiRequestId);
    if (served.durationMs !== undefined) line += `,"durationMs":${served.durationMs}`;
    this.logger.sink(line + '}');
  }

  /** Powertools' timestamp, built once a second and completed with the milliseconds. */
  private timestamp(): string {
    const now = this.clock();
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      // e.g. 2025-06-01T12:00:00.000Z, or 2025-06-01T14:00:00.000+02:00 with a TZ other than UTC
      const whole = this.formatter.formatTimestamp(new Date(second * 1000));
      this.second = second;
      this.secondPrefix = whole.slice(0, 20);
      this.secondSuffix = whole.slice(23);
    }
    return this.secondPrefix + (MILLIS[now - second * 1000] ?? '000') + this.secondSuffix;
  }

  private functionPart(invocation: InvocationIds): string {
    const last = this.lastFunction;
    if (
      last?.invokedFunctionArn !== invocation.invokedFunctionArn ||
      last.functionName !== invocation.functionName ||
      last.memoryLimitInMB !== invocation.memoryLimitInMB
    ) {
      this.lastFunction = {
        awsRequestId: '',
        invokedFunctionArn: invocation.invokedFunctionArn,
        functionName: invocation.functionName,
        memoryLimitInMB: invocation.memoryLimitInMB,
      };
      this.functionMembers = members({
        function_arn: invocation.invokedFunctionArn || undefined,
        function_memory_size: invocation.memoryLimitInMB || undefined,
        function_name: invocation.functionName || undefined,
      });
    }
    return this.functionMembers;
  }

  private tokenPart(alias: string, token: CachedToken): string {
    const seen = this.tokenMembers.get(alias);
    if (seen?.token === token) return seen.json;
    const json = members({ alias, uti: token.uti, entraCorrelationId: token.correlationId, expiresOn: token.expiresOn });
    this.tokenMembers.set(alias, { token, json });
    return json;
  }
}
