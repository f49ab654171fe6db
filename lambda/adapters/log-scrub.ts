/**
 * The last line of defence of every log line: whoever passes a secret, it is not written. Callers pass no
 * secrets; this catches the ones they pass by mistake (an Error whose message quotes a token, a header map).
 */

/** Field names whose values are never written, whoever passes them. */
const SECRET_FIELD = /token|assertion|authorization|secret|password|signature|private/i;
/** Compact JWS/JWT anywhere in a string. */
const JWT_LIKE = /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{10,}/g;

/** What a withheld value reads as. */
export const REDACTED = '[redacted]';
/** What a JWT-looking part of a string reads as. */
export const REDACTED_JWT = '[redacted-jwt]';

/** Under a secret field name, anything but a number, boolean or nothing (a string, a list, an object) is withheld. */
const isRedactable = (value: unknown): boolean =>
  value !== null && value !== undefined && typeof value !== 'number' && typeof value !== 'boolean';

/** Whether values under this field name are withheld (numbers and booleans excepted: counts are not secrets). */
export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/** The string with every JWT-looking part replaced by `[redacted-jwt]`. */
export function scrubString(value: string): string {
  return value.includes('eyJ') ? value.replace(JWT_LIKE, REDACTED_JWT) : value;
}

/**
 * A copy of `value` fit for a log line: strings lose their JWT-looking parts, fields with secret-looking names
 * lose their value, at any depth. Errors are turned into plain objects first by `formatError` (their message
 * and stack are not enumerable, so they would otherwise escape the scrub); cycles are cut.
 */
export function scrub(value: unknown, formatError: (error: Error) => unknown = plainError): unknown {
  return scrubValue(value, formatError, new Set());
}

function scrubValue(value: unknown, formatError: (error: Error) => unknown, seen: Set<object>): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (value instanceof Error) return scrubValue(formatError(value), formatError, seen);
    if (Array.isArray(value)) return value.map((item: unknown) => scrubValue(item, formatError, seen));
    if (value instanceof Date) return value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = isSecretFieldName(key) && isRedactable(inner) ? REDACTED : scrubValue(inner, formatError, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function plainError(error: Error): Record<string, unknown> {
  return { name: error.name, message: error.message, stack: error.stack, cause: error.cause };
}
