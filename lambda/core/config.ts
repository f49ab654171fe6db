/**
 * The broker's configuration schema (DESIGN.md, "Configuration"): one validator shared by the CDK app
 * (cdk.json context `broker`), the token Lambda (its `BROKER_CONFIG` variable) and the local runtime.
 * Every problem is collected, so one error names every bad field and the value it received.
 */

/** One configured alias, with its tenant and client resolved from the top-level defaults. */
export interface ScopeConfig {
  readonly alias: string;
  readonly scope: string;
  readonly tenantId: string;
  readonly clientId: string;
}

export interface BrokerConfig {
  readonly tenantId: string;
  readonly clientId: string;
  readonly scopes: Readonly<Record<string, ScopeConfig>>;
  /** Without a trailing slash. */
  readonly authorityHost: string;
  readonly audience: string;
  readonly subject: string;
  readonly assertionLifetimeSeconds: number;
  readonly refreshMarginSeconds: number;
  /** Deployment only: steady-state requests per second across the API stage. */
  readonly throttlingRateLimit: number;
  /** Deployment only: burst capacity of the API stage. */
  readonly throttlingBurstLimit: number;
  /** Deployment only: reserved concurrency of the token function; undefined leaves it unreserved. */
  readonly tokenReservedConcurrency: number | undefined;
}

export const CONFIG_DEFAULTS = {
  authorityHost: 'https://login.microsoftonline.com',
  audience: 'api://AzureADTokenExchange',
  subject: 'aws-token-broker',
  assertionLifetimeSeconds: 300,
  refreshMarginSeconds: 300,
  throttlingRateLimit: 50,
  throttlingBurstLimit: 100,
} as const;

export const ALIAS_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN_PATTERN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
/** Multi-tenant aliases cannot hold a federated credential for client credentials. */
const NON_TENANTS = new Set(['common', 'organizations', 'consumers']);
/** Entra's limit on a federated credential's issuer, subject and audience. */
const MAX_CREDENTIAL_FIELD_LENGTH = 600;

const KNOWN_FIELDS = [
  'tenantId',
  'clientId',
  'scopes',
  'authorityHost',
  'audience',
  'subject',
  'assertionLifetimeSeconds',
  'refreshMarginSeconds',
  'throttlingRateLimit',
  'throttlingBurstLimit',
  'tokenReservedConcurrency',
] as const;

export interface ConfigParseOptions {
  /** Where the configuration came from, for the error message. @default 'broker configuration' */
  readonly source?: string;
  /** Accept `http://` authority hosts on loopback addresses (local runtime only). @default false */
  readonly allowLoopbackHttp?: boolean;
  /** Further top-level fields the caller validates itself (the local runtime's). @default [] */
  readonly extraFields?: readonly string[];
}

/** Thrown when a configuration is invalid; `problems` holds one line per bad field. */
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

/** Renders a received value for an error message: JSON, shortened. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON.stringify returns undefined for functions and symbols, despite its declared type.
  const text = (JSON.stringify(value) as string | undefined) ?? String(value as string);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** True for `localhost`, `127.0.0.0/8` and `[::1]`. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a raw configuration object and applies defaults.
 * @returns the configuration, or the list of problems (never both)
 */
export function validateBrokerConfig(
  raw: unknown,
  options: ConfigParseOptions = {},
): { config: BrokerConfig; problems: [] } | { config: undefined; problems: string[] } {
  const problems: string[] = [];
  if (!isPlainObject(raw)) {
    return { config: undefined, problems: [`expected an object, received ${describeValue(raw)}`] };
  }
  const allowed = new Set<string>([...KNOWN_FIELDS, ...(options.extraFields ?? [])]);
  for (const field of Object.keys(raw)) {
    if (!allowed.has(field)) problems.push(`${field}: unknown field (known: ${[...allowed].join(', ')})`);
  }

  const tenantId = tenant('tenantId', raw.tenantId, problems);
  const clientId = guid('clientId', raw.clientId, problems);
  const authorityHost = authority(raw.authorityHost, options.allowLoopbackHttp ?? false, problems);
  const audience = credentialField('audience', raw.audience, CONFIG_DEFAULTS.audience, problems);
  const subject = credentialField('subject', raw.subject, CONFIG_DEFAULTS.subject, problems);
  const assertionLifetimeSeconds = integer(
    'assertionLifetimeSeconds',
    raw.assertionLifetimeSeconds,
    CONFIG_DEFAULTS.assertionLifetimeSeconds,
    60,
    600,
    problems,
  );
  const refreshMarginSeconds = integer(
    'refreshMarginSeconds',
    raw.refreshMarginSeconds,
    CONFIG_DEFAULTS.refreshMarginSeconds,
    0,
    1800,
    problems,
  );
  const throttlingRateLimit = integer(
    'throttlingRateLimit',
    raw.throttlingRateLimit,
    CONFIG_DEFAULTS.throttlingRateLimit,
    1,
    10_000,
    problems,
  );
  const throttlingBurstLimit = integer(
    'throttlingBurstLimit',
    raw.throttlingBurstLimit,
    CONFIG_DEFAULTS.throttlingBurstLimit,
    1,
    5_000,
    problems,
  );
  const tokenReservedConcurrency =
    raw.tokenReservedConcurrency === undefined
      ? undefined
      : integer('tokenReservedConcurrency', raw.tokenReservedConcurrency, 0, 1, 1000, problems);
  const scopes = scopeMap(raw.scopes, tenantId, clientId, problems);

  if (problems.length > 0) return { config: undefined, problems };
  return {
    config: {
      tenantId: tenantId!,
      clientId: clientId!,
      scopes: scopes!,
      authorityHost: authorityHost!,
      audience: audience!,
      subject: subject!,
      assertionLifetimeSeconds: assertionLifetimeSeconds!,
      refreshMarginSeconds: refreshMarginSeconds!,
      throttlingRateLimit: throttlingRateLimit!,
      throttlingBurstLimit: throttlingBurstLimit!,
      tokenReservedConcurrency,
    },
    problems: [],
  };
}

/**
 * Validates a raw configuration object and applies defaults.
 * @throws ConfigError naming every bad field and the value received
 */
export function parseBrokerConfig(raw: unknown, options: ConfigParseOptions = {}): BrokerConfig {
  const result = validateBrokerConfig(raw, options);
  if (result.config === undefined) throw new ConfigError(options.source ?? 'broker configuration', result.problems);
  return result.config;
}

function tenant(field: string, value: unknown, problems: string[]): string | undefined {
  if (typeof value === 'string' && NON_TENANTS.has(value.toLowerCase())) {
    problems.push(
      `${field}: "${value}" is not a tenant; use the tenant's GUID or a verified domain (federated credentials need one tenant)`,
    );
    return undefined;
  }
  if (typeof value === 'string' && (GUID_PATTERN.test(value) || DOMAIN_PATTERN.test(value))) return value;
  problems.push(`${field}: expected a tenant GUID or verified domain name, received ${describeValue(value)}`);
  return undefined;
}

function guid(field: string, value: unknown, problems: string[]): string | undefined {
  if (typeof value === 'string' && GUID_PATTERN.test(value)) return value;
  problems.push(`${field}: expected a GUID (the app registration's application (client) ID), received ${describeValue(value)}`);
  return undefined;
}

function authority(value: unknown, allowLoopbackHttp: boolean, problems: string[]): string | undefined {
  if (value === undefined) return CONFIG_DEFAULTS.authorityHost;
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined) {
    problems.push(`authorityHost: expected a URL such as ${CONFIG_DEFAULTS.authorityHost}, received ${describeValue(value)}`);
    return undefined;
  }
  if (url.protocol === 'http:') {
    if (!allowLoopbackHttp || !isLoopbackHost(url.hostname)) {
      problems.push(
        `authorityHost: http:// is allowed only for loopback hosts in the local runtime; use https://, received ${describeValue(value)}`,
      );
      return undefined;
    }
  } else if (url.protocol !== 'https:') {
    problems.push(`authorityHost: expected an https:// URL, received ${describeValue(value)}`);
    return undefined;
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    problems.push(`authorityHost: expected a bare origin with no path, query or credentials, received ${describeValue(value)}`);
    return undefined;
  }
  return url.origin;
}

function credentialField(field: string, value: unknown, fallback: string, problems: string[]): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_CREDENTIAL_FIELD_LENGTH && value.trim() === value) {
    return value;
  }
  problems.push(
    `${field}: expected a non-empty string of at most ${MAX_CREDENTIAL_FIELD_LENGTH} characters without surrounding spaces, received ${describeValue(value)}`,
  );
  return undefined;
}

function integer(field: string, value: unknown, fallback: number, min: number, max: number, problems: string[]): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  problems.push(`${field}: expected an integer from ${min} to ${max}, received ${describeValue(value)}`);
  return undefined;
}

function scopeString(where: string, value: unknown, problems: string[]): string | undefined {
  if (typeof value === 'string' && /^\S+\/\.default$/.test(value) && value.length <= 1024) return value;
  problems.push(
    `${where}: expected one "<resource>/.default" scope (e.g. "https://graph.microsoft.com/.default"), received ${describeValue(value)}`,
  );
  return undefined;
}

function scopeMap(
  value: unknown,
  defaultTenant: string | undefined,
  defaultClient: string | undefined,
  problems: string[],
): Record<string, ScopeConfig> | undefined {
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    problems.push(
      `scopes: expected an object with at least one alias, e.g. {"graph": "https://graph.microsoft.com/.default"}, received ${describeValue(value)}`,
    );
    return undefined;
  }
  const result: Record<string, ScopeConfig> = {};
  const before = problems.length;
  for (const [alias, entry] of Object.entries(value)) {
    const where = `scopes.${alias}`;
    if (!ALIAS_PATTERN.test(alias)) {
      problems.push(
        `scopes: alias ${describeValue(alias)} must match ${ALIAS_PATTERN.source} (lowercase letters, digits, hyphens; at most 63)`,
      );
      continue;
    }
    if (typeof entry === 'string') {
      const scope = scopeString(where, entry, problems);
      if (scope && defaultTenant && defaultClient) result[alias] = { alias, scope, tenantId: defaultTenant, clientId: defaultClient };
      continue;
    }
    if (!isPlainObject(entry)) {
      problems.push(`${where}: expected a scope string or {"scope", "tenantId"?, "clientId"?}, received ${describeValue(entry)}`);
      continue;
    }
    for (const key of Object.keys(entry)) {
      if (key !== 'scope' && key !== 'tenantId' && key !== 'clientId')
        problems.push(`${where}.${key}: unknown field (known: scope, tenantId, clientId)`);
    }
    const scope = scopeString(`${where}.scope`, entry.scope, problems);
    const tenantId = entry.tenantId === undefined ? defaultTenant : tenant(`${where}.tenantId`, entry.tenantId, problems);
    const clientId = entry.clientId === undefined ? defaultClient : guid(`${where}.clientId`, entry.clientId, problems);
    if (scope && tenantId && clientId) result[alias] = { alias, scope, tenantId, clientId };
  }
  return problems.length === before ? result : undefined;
}

/** The part of the configuration the token function needs at run time (its `BROKER_CONFIG`). */
export function runtimeConfigJson(config: BrokerConfig): string {
  const { tenantId, clientId, authorityHost, audience, subject, assertionLifetimeSeconds, refreshMarginSeconds } = config;
  const scopes = Object.fromEntries(
    Object.values(config.scopes).map((s) => [s.alias, { scope: s.scope, tenantId: s.tenantId, clientId: s.clientId }]),
  );
  return JSON.stringify({ tenantId, clientId, scopes, authorityHost, audience, subject, assertionLifetimeSeconds, refreshMarginSeconds });
}
