/** Thrown when a configuration is invalid; `problems` holds one line per bad field, each naming the value received. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Renders a received value for an error message: JSON, shortened to 80 characters. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let json: string | undefined;
  try {
    // Undefined for functions and symbols, despite the declared type; throws for a bigint.
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  const text = json ?? `a ${typeof value}`;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** True for a plain JSON-style object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
