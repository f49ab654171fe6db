/**
 * Text that came from upstream (Entra's `error`, `error_description`, `correlation_id`, `trace_id`), made fit for
 * an error body and a log line: whoever answered (Entra, a proxy, an attacker on a broken TLS path), what reaches a
 * caller is short, plain, single-line text without anything that looks like a token, and ids that look like ids.
 */

/** The longest description an error body carries, in characters (Entra's own run to about 300 before the trailer). */
export const MAX_DESCRIPTION_CHARS = 300;
/** How much of a description is looked at at all: the rest cannot reach the capped result. */
const MAX_SCANNED_CHARS = 4 * MAX_DESCRIPTION_CHARS;

/** What a JWT-looking part of upstream text reads as. */
export const REDACTED_TOKEN = '[redacted-jwt]';

/**
 * JWT-looking text: anything starting like a JSON header or payload in base64url (`eyJ`), with or without its other
 * segments (a cut-off token too), and any three dot-separated base64url runs of 10+ characters (a JWS whose header
 * does not start with `{"`).
 */
const JWT_LIKE = /eyJ[\w-]*(?:\.[\w-]*)*|[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/g;
/** Markup: tags (an HTML page, `<script>`, comments) up to 200 characters long; any angle bracket left over goes too. */
const TAG = /<[^<>]{0,200}>/g;
const ANGLE_BRACKET = /[<>]/g;
/** C0 and C1 controls, DEL, and the invisible format characters (zero-width, bidi overrides) that can disguise text. */
// eslint-disable-next-line no-control-regex -- these are exactly the characters removed
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;
/** A GUID in its usual 8-4-4-4-12 hex form: what Entra's correlation and trace ids are. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An OAuth `error` code: RFC 6749 §5.2 values are ASCII words such as `invalid_client`. */
const OAUTH_ERROR = /^[a-z][a-z0-9_.-]{0,63}$/i;

/**
 * Upstream free text as one plain line: JWT-looking parts replaced by `[redacted-jwt]`, markup and invisible or
 * control characters removed, whitespace collapsed, cut to `maxChars` (with `...`). Undefined when nothing is left
 * or the input is not a string. Never throws.
 */
export function plainUpstreamText(value: unknown, maxChars = MAX_DESCRIPTION_CHARS): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value
    .slice(0, MAX_SCANNED_CHARS)
    .replace(JWT_LIKE, REDACTED_TOKEN)
    .replace(TAG, ' ')
    .replace(ANGLE_BRACKET, ' ')
    .replace(INVISIBLE, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return undefined;
  const chars = Array.from(text); // code points: a cut never splits a surrogate pair
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 3).join('')}...` : text;
}

/** The value when it is a GUID, else undefined: an id that does not look like one is dropped. Never throws. */
export function upstreamGuid(value: unknown): string | undefined {
  return typeof value === 'string' && GUID.test(value) ? value : undefined;
}

/** The value when it looks like an OAuth `error` code, else undefined. Never throws. */
export function upstreamOAuthError(value: unknown): string | undefined {
  return typeof value === 'string' && OAUTH_ERROR.test(value) ? value : undefined;
}
