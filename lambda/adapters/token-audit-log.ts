/**
 * The audit trail: who obtained which token (caller ARN and account; Entra's `uti` and the exchange's correlation
 * id), through which request (API Gateway's and Lambda's request ids), from which cache tier — never the token.
 *
 * What is written:
 * - a `token served` line whenever a token comes from anywhere but this container's memory (an exchange, the
 *   shared table, a refresh shared with other requests, a stale serve), and the first time this container
 *   serves a token to a caller from memory;
 * - further memory hits of the same token by the same caller are counted rather than written one by one: a
 *   `token served again` line gives their number and first/last time, written when that caller is next served
 *   another token for the alias, or once the oldest uncounted repeat in the container is a minute old (checked
 *   on the next repeat). A memory hit then costs a counter, not a line: a line costs more than the whole hit
 *   (`npm run bench -- --only handler`). Repeats counted in a container that is then shut down are never
 *   written; every request, repeats included, is still in the API access log with the caller's ARN.
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
/** The message of the line that counts repeated memory hits of one token by one caller. */
export const TOKEN_SERVED_AGAIN_MESSAGE = 'token served again';
/** How long repeats may stay uncounted in the log, at most (as long as requests keep coming). */
export const REPEATS_WRITTEN_AFTER_MS = 60_000;
/** Callers remembered per container; past this, pending repeats are written and the memory starts afresh. */
const MAX_REMEMBERED_CALLERS = 10_000;

/** What the container served one caller under one alias last, and the memory hits since its line. */
interface Served {
  token: CachedToken;
  callerAccount: string;
  count: number;
  firstAt: number;
  lastAt: number;
}

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
  /** The same for `token served again`. */
  private readonly headAgain: string;
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
  /** Per alias, per caller ARN: the last token served and the repeats not written yet. */
  private readonly served = new Map<string, Map<string, Served>>();
  private remembered = 0;
  /** When the oldest repeat not written yet was counted; Infinity when none is pending. */
  private oldestPendingAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly logger: BrokerLogger,
    options: TokenAuditLogOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    const template = logger.infoLineAttributes(TOKEN_SERVED_MESSAGE);
    this.head = `{"level":"INFO","message":${JSON.stringify(TOKEN_SERVED_MESSAGE)},"timestamp":"`;
    this.headAgain = `{"level":"INFO","message":${JSON.stringify(TOKEN_SERVED_AGAIN_MESSAGE)},"timestamp":"`;
    const service = typeof template.service === 'string' ? template.service : SERVICE_NAME;
    this.service = `","service":${jsonString(service)},"cold_start":`;
    this.rest = members(Object.fromEntries(Object.entries(template).filter(([key]) => !PER_LINE_KEYS.has(key))));
  }

  tokenServed(served: TokenServed): void {
    const byCaller = this.served.get(served.alias);
    const last = byCaller?.get(served.callerArn);
    if (served.cache === 'l1' && last?.token === served.token) {
      const now = this.clock();
      if (last.count === 0) {
        last.firstAt = now;
        if (now < this.oldestPendingAt) this.oldestPendingAt = now;
      }
      last.count++;
      last.lastAt = now;
      if (now - this.oldestPendingAt >= REPEATS_WRITTEN_AFTER_MS) this.writeAllRepeats(served.invocation);
      return;
    }
    if (last !== undefined && last.count > 0) this.writeRepeats(served.alias, served.callerArn, last, served.invocation);
    this.writeServed(served);
    this.remember(served, byCaller);
  }

  private remember(served: TokenServed, byCaller: Map<string, Served> | undefined): void {
    let callers = byCaller;
    if (callers === undefined) {
      callers = new Map();
      this.served.set(served.alias, callers);
    }
    if (!callers.has(served.callerArn)) {
      if (this.remembered >= MAX_REMEMBERED_CALLERS) {
        this.writeAllRepeats(served.invocation);
        this.served.clear();
        this.remembered = 0;
        callers = new Map();
        this.served.set(served.alias, callers);
      }
      this.remembered++;
    }
    callers.set(served.callerArn, { token: served.token, callerAccount: served.callerAccount, count: 0, firstAt: 0, lastAt: 0 });
  }

  /** Writes every pending repeat count. */
  private writeAllRepeats(invocation: InvocationIds): void {
    for (const [alias, callers] of this.served) {
      for (const [callerArn, entry] of callers) if (entry.count > 0) this.writeRepeats(alias, callerArn, entry, invocation);
    }
    this.oldestPendingAt = Number.POSITIVE_INFINITY;
  }

  /** One `token served again` line for the repeats counted in `entry`, which starts counting afresh. */
  private writeRepeats(alias: string, callerArn: string, entry: Served, invocation: InvocationIds): void {
    const line =
      this.start(this.headAgain, invocation) +
      this.tokenPart(alias, entry.token) +
      CACHE_MEMBER.l1 +
      members({
        callerArn: callerArn || undefined,
        callerAccount: entry.callerAccount || undefined,
        count: entry.count,
        firstAt: new Date(entry.firstAt).toISOString(),
        lastAt: new Date(entry.lastAt).toISOString(),
      });
    this.logger.sink(line + '}');
    entry.count = 0;
  }

  private writeServed(served: TokenServed): void {
    let line = this.start(this.head, served.invocation) + this.tokenPart(served.alias, served.token) + CACHE_MEMBER[served.cache];
    if (served.callerArn) line += ',"callerArn":' + this.callerArnJson(served.callerArn);
    if (served.callerAccount) line += ',"callerAccount":' + this.callerAccountJson(served.callerAccount);
    if (served.apiRequestId) line += ',"apiRequestId":' + jsonString(served.apiRequestId);
    if (served.durationMs !== undefined) line += `,"durationMs":${served.durationMs}`;
    this.logger.sink(line + '}');
  }

  /** What every audit line starts with: level, message, time, service and the invocation, as Powertools writes them. */
  private start(head: string, invocation: InvocationIds): string {
    return (
      head +
      this.timestamp() +
      this.service +
      (this.logger.wasColdStart(invocation.awsRequestId) ? 'true' : 'false') +
      this.functionPart(invocation) +
      ',"function_request_id":' +
      jsonString(invocation.awsRequestId) +
      this.rest
    );
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
