/**
 * Reads a required environment variable.
 * @throws Error "NAME is not set" — a deployment fault, surfaced at cold start
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}
