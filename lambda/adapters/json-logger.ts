import type { Logger } from '../core/ports';

type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Readonly<Record<Level, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never written, whoever passes them: a last line of defence. */
const SECRET_FIELD = /token|assertion|authorization|secret|password|signature|private/i;
/** Compact JWS/JWT anywhere in a string. */
const JWT_LIKE = /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{10,}/g;

/** Under a secret field name, anything but a number, boolean or nothing (a string, a list, an object) is withheld. */
const isRedactable = (value: unknown): boolean =>
  value !== null && value !== undefined && typeof value !== 'number' && typeof value !== 'boolean';

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(JWT_LIKE, '[redacted-jwt]');
  if (Array.isArray(value)) return value.map(scrub);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, SECRET_FIELD.test(key) && isRedactable(inner) ? '[redacted]' : scrub(inner)]),
    );
  }
  return value;
}

export interface JsonLoggerOptions {
  /** @default 'info' */
  readonly level?: Level;
  /** Where lines go. @default process.stdout */
  readonly write?: (line: string) => void;
  /** Fields on every line, e.g. `{ service: 'token' }`. @default {} */
  readonly base?: Record<string, unknown>;
}

/** One JSON object per line (CloudWatch Logs Insights can query it), with secret-looking values redacted. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const log =
    (level: Level) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (LEVELS[level] < threshold) return;
      const entry = scrub({ time: new Date().toISOString(), level, message: message, ...options.base, ...fields });
      write(JSON.stringify(entry));
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Reads a log level name, falling back to info for anything else. */
export function parseLogLevel(value: string | undefined): Level {
  const level = value?.toLowerCase();
  return level !== undefined && Object.hasOwn(LEVELS, level) ? (level as Level) : 'info';
}
