/**
 * Fault injection for the emulator's token endpoint: queued answers that replace (or delay) the next token
 * requests, so tests see throttling, outages, hangs and malformed bodies exactly as a client would.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuse, type EntraRefusal } from './aadsts';
import { sendRaw, sleep } from './http';
import { requireNonNegativeInteger, requirePositiveInteger } from './options';

/**
 * One injected answer for the next token request(s). With `status`: that status, `body` (an Entra-style
 * `temporarily_unavailable` error by default) and `headers` exactly. With `malformedJson`: a truncated JSON
 * body (status 200 unless given). With `hang`: no answer at all; the connection is dropped after `delayMs`,
 * or held until the client gives up or the emulator closes. With only `delayMs`: the request is handled
 * normally after the delay (at once if the client gave up meanwhile). `delayMs` also delays the status and malformed answers. Faults apply to token
 * requests only; the JWKS endpoint is never faulted. With `aadsts`: Entra's own error answer for that code
 * (INJECTABLE_REFUSALS), with its status and fresh ids, as if the exchange had been checked and refused.
 */
export interface EntraFault {
  /** Answer Entra's refusal with this code instead of checking the request. */
  readonly aadsts?: InjectableRefusal;
  readonly status?: number;
  readonly body?: string | Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly delayMs?: number;
  /** How many consecutive requests get this fault. @default 1 */
  readonly times?: number;
  readonly malformedJson?: boolean;
  readonly hang?: boolean;
}

/**
 * The refusals a fault can inject: the ones the emulator cannot cause by itself on a healthy issuer. 50166 and 501661
 * are what users see "occasionally" (sources in ./aadsts.ts); 90061 is also answered for real when the issuer's
 * metadata is unreadable; 90006 is Entra's transient 503.
 */
export const INJECTABLE_REFUSALS = {
  50166: () => refuse.externalOidcEndpointFailedIntermittently(50166),
  501661: () => refuse.externalOidcEndpointFailedIntermittently(501661),
  90061: () => refuse.externalOidcEndpointFailed('injected fault'),
  90006: () => refuse.temporarilyUnavailable(),
} as const satisfies Record<number, () => EntraRefusal>;

export type InjectableRefusal = keyof typeof INJECTABLE_REFUSALS;

/**
 * Entra's throttling answer: `429`, plain text `Too Many Requests` and `Retry-After` in seconds, not JSON
 * (github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/2855: "StatusCode: 429 ResponseBody: Too Many
 * Requests Headers: Retry-After: 60").
 */
export function plainTextThrottle(retryAfterSeconds: number, times = 1): EntraFault {
  return {
    status: 429,
    body: 'Too Many Requests',
    headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(retryAfterSeconds) },
    times,
  };
}

/** Queued faults, consumed in order, each for `times` requests. */
export class FaultQueue {
  private readonly faults: { fault: EntraFault; remaining: number }[] = [];

  /** @throws RangeError for an invalid fault; then none of `faults` is queued */
  push(faults: readonly EntraFault[]): void {
    faults.forEach(validateFault);
    for (const fault of faults) this.faults.push({ fault, remaining: fault.times ?? 1 });
  }

  /** The fault for the next request, if any. */
  take(): EntraFault | undefined {
    const next = this.faults[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) this.faults.shift();
    return next.fault;
  }

  clear(): void {
    this.faults.length = 0;
  }
}

/**
 * Plays a fault on a token request. Its waits end early when `signal` aborts: the request's connection ended
 * (the client gave up, or the emulator closed); a request only delayed is then handled at once, for nobody.
 * @param signal aborts when this request's connection ends (per request: never a signal shared by all requests)
 * @param defaultBody the body of a status fault that gives none (Entra's `temporarily_unavailable` answer)
 * @returns true when the fault answered (or dropped) the request; false when it only delayed it
 */
export async function applyFault(
  fault: EntraFault,
  req: IncomingMessage,
  res: ServerResponse,
  options: {
    readonly signal: AbortSignal;
    readonly defaultBody: () => unknown;
    /** Answers a refusal exactly as the emulator answers its own. */
    readonly refuse: (refusal: EntraRefusal) => void;
  },
): Promise<boolean> {
  if (fault.hang) {
    await sleep(fault.delayMs, options.signal);
    req.socket.destroy();
    return true;
  }
  if (fault.delayMs !== undefined) await sleep(fault.delayMs, options.signal);
  if (fault.aadsts !== undefined) {
    options.refuse(INJECTABLE_REFUSALS[fault.aadsts]());
    return true;
  }
  if (fault.malformedJson) {
    sendRaw(res, fault.status ?? 200, '{"token_type":"Bearer","expires_in":35', {
      'content-type': 'application/json; charset=utf-8',
      ...fault.headers,
    });
    return true;
  }
  if (fault.status === undefined) return false;
  const body = typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body ?? options.defaultBody());
  sendRaw(res, fault.status, body, { 'content-type': 'application/json; charset=utf-8', ...fault.headers });
  return true;
}

function validateFault(fault: EntraFault, index: number): void {
  const where = `fault[${index}]`;
  if (fault.status !== undefined && !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)) {
    throw new RangeError(`${where}.status must be an HTTP status 100-599, got ${String(fault.status)}`);
  }
  if (fault.times !== undefined) requirePositiveInteger(fault.times, `${where}.times`);
  if (fault.delayMs !== undefined) requireNonNegativeInteger(fault.delayMs, `${where}.delayMs`);
  if (fault.hang && (fault.malformedJson || fault.status !== undefined || fault.aadsts !== undefined)) {
    throw new RangeError(`${where}: a hang sends no answer, so it takes no status, malformedJson or aadsts`);
  }
  if (fault.aadsts !== undefined) {
    if (!Object.hasOwn(INJECTABLE_REFUSALS, fault.aadsts)) {
      throw new RangeError(`${where}.aadsts must be one of ${Object.keys(INJECTABLE_REFUSALS).join(', ')}, got ${String(fault.aadsts)}`);
    }
    if (fault.status !== undefined || fault.body !== undefined || fault.malformedJson) {
      throw new RangeError(`${where}: aadsts answers Entra's own refusal, so it takes no status, body or malformedJson`);
    }
  }
}
