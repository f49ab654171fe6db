/**
 * The broker's configuration schema (README, "Configure"): one validator for the CDK app (cdk.json
 * context `broker`), the TokenBroker construct, the token function (its `BROKER_CONFIG`) and the local runtime.
 * Every problem is collected, so one error names every bad field and the value it received.
 *
 * The configuration has two parts:
 * - `RuntimeConfig`: what the token function needs at run time (tenant, app, scopes, assertion shape, cache
 *   margin); the construct passes exactly this to the function, as JSON.
 * - `DeploymentSettings`: what only shapes the infrastructure (throttling, reserved concurrency).
 */
import { ConfigError, describeValue, isPlainObject } from './config-error';
import { MAX_CREDENTIAL_FIELD_LENGTH, checkAuthorityHost } from './url-policy';
import { unknownFieldProblem } from './unknown-field';

/** One configured alias, with its tenant and client resolved from the top-level defaults. */
export interface ScopeConfig {
  readonly alias: string;
  /** A `<resource>/.default` scope. */
  readonly scope: string;
  readonly tenantId: string;
  readonly clientId: string;
}

/**
 * Who signs the client assertions: the broker's own KMS keys (it is the OIDC issuer), or AWS STS outbound identity
 * federation (`sts:GetWebIdentityToken`: AWS is the issuer, the token role's ARN the subject).
 */
export type SignerKind = 'kms' | 'aws-sts';
export const SIGNER_KINDS: readonly SignerKind[] = ['kms', 'aws-sts'];

/** The `kms` signer's key schedule (docs/key-rotation.md), in seconds. */
export interface KeyRotationSettings {
  /** A new key becomes active this often. */
  readonly intervalSeconds: number;
  /** A key is in the JWKS at least this long before it signs. */
  readonly publishLeadSeconds: number;
  /** The previous key stays in the JWKS this long after it stopped signing. */
  readonly retireAfterSeconds: number;
}

/**
 * `proactiveRefresh`: every `periodSeconds` the refresher renews each token that has used about half its life, so
 * callers are served cached tokens only; `false` leaves refreshing to the first caller inside a token's refresh window.
 */
export type ProactiveRefresh = { readonly periodSeconds: number } | false;

/** What the token function needs at run time. */
export interface RuntimeConfig {
  readonly tenantId: string;
  readonly clientId: string;
  readonly scopes: Readonly<Record<string, ScopeConfig>>;
  /** An origin, without a trailing slash. */
  readonly authorityHost: string;
  readonly audience: string;
  readonly subject: string;
  readonly assertionLifetimeSeconds: number;
  readonly refreshMarginSeconds: number;
  readonly signer: SignerKind;
  readonly proactiveRefresh: ProactiveRefresh;
}

/** What only shapes the infrastructure. */
export interface DeploymentSettings {
  /** Steady-state requests per second across the API stage. */
  readonly throttlingRateLimit: number;
  /** Burst capacity of the API stage. */
  readonly throttlingBurstLimit: number;
  /**
   * Steady-state requests per second of each public route (discovery, JWKS), in place of the stage's figures: anonymous
   * traffic there cannot use up what the token routes and Entra's key fetches need.
   */
  readonly publicThrottlingRateLimit: number;
  /** Burst capacity of each public route. */
  readonly publicThrottlingBurstLimit: number;
  /** Reserved concurrency of the token function; undefined leaves it unreserved. */
  readonly tokenReservedConcurrency: number | undefined;
  /** The `kms` signer's key schedule, defaults applied. */
  readonly keyRotation: KeyRotationSettings;
  /** Where the token routes are served: the public HTTP API, or a private REST API (docs/private-endpoint.md). */
  readonly endpoint: EndpointSettings;
}

/**
 * Where the token routes are served (`endpoint`): on the public HTTP API beside discovery and JWKS, or on a PRIVATE
 * REST API that only the listed interface VPC endpoints (`com.amazonaws.{region}.execute-api`) reach.
 */
export type EndpointSettings = { readonly type: 'public' } | { readonly type: 'private'; readonly vpcEndpointIds: readonly string[] };
export const ENDPOINT_TYPES = ['public', 'private'] as const;
/** An interface VPC endpoint id as EC2 issues them: `vpce-` and 17 hexadecimal digits. */
export const VPC_ENDPOINT_ID_PATTERN = /^vpce-[0-9a-f]{17}$/;

export interface BrokerConfig {
  readonly runtime: RuntimeConfig;
  readonly deployment: DeploymentSettings;
}

/** A scope entry as written in the configuration: the scope string, or the scope with its own tenant or app. */
export type ScopeInput = string | { readonly scope: string; readonly tenantId?: string; readonly clientId?: string };

/** The configuration as written in cdk.json (`context.broker`) or a local config file. */
export interface BrokerConfigInput {
  readonly tenantId: string;
  readonly clientId: string;
  readonly scopes: Readonly<Record<string, ScopeInput>>;
  readonly authorityHost?: string;
  readonly audience?: string;
  readonly subject?: string;
  readonly assertionLifetimeSeconds?: number;
  readonly refreshMarginSeconds?: number;
  readonly signer?: SignerKind;
  readonly throttlingRateLimit?: number;
  readonly throttlingBurstLimit?: number;
  readonly publicThrottlingRateLimit?: number;
  readonly publicThrottlingBurstLimit?: number;
  readonly tokenReservedConcurrency?: number;
  readonly keyRotation?: Partial<KeyRotationSettings>;
  readonly proactiveRefresh?: { readonly periodSeconds: number } | false;
  readonly endpoint?: EndpointSettings;
}

const DAY = 86_400;

/** `proactiveRefresh` in a deployment when not set: a scheduled run every minute. */
export const PROACTIVE_REFRESH_DEFAULT_PERIOD_SECONDS = 60;
/**
 * The longest `proactiveRefresh.periodSeconds`: Entra's shortest token (10 minutes) is due at half its life and stops
 * being servable at a quarter, 150 s later; a run every 5 minutes at most still renews the longer-lived ones in time,
 * and the refresh decision brings a short token forward by two periods (lambda/core/token-freshness.ts).
 */
export const PROACTIVE_REFRESH_MAX_PERIOD_SECONDS = 300;

export const CONFIG_DEFAULTS = {
  authorityHost: 'https://login.microsoftonline.com',
  audience: 'api://AzureADTokenExchange',
  subject: 'aws-token-broker',
  assertionLifetimeSeconds: 300,
  refreshMarginSeconds: 300,
  throttlingRateLimit: 50,
  throttlingBurstLimit: 100,
  signer: 'kms',
  keyRotation: { intervalSeconds: 90 * DAY, publishLeadSeconds: 2 * DAY, retireAfterSeconds: DAY },
  // Entra fetches the discovery document and the JWKS when it validates an assertion, and caches them: a few
  // requests a minute per tenant. Ten a second is far above that and far below what would cost money or
  // concurrency worth noticing.
  publicThrottlingRateLimit: 10,
  publicThrottlingBurstLimit: 20,
} as const;

/**
 * The least a deployment accepts (the local runtime accepts any positive figures): a rotation at most daily, a
 * key published at least an hour before it signs (Entra's JWKS caching is undocumented; the default is 2 days),
 * and the previous key kept at least as long as an assertion it signed can be presented.
 */
export const KEY_ROTATION_MINIMUMS = { intervalSeconds: DAY, publishLeadSeconds: 3_600 } as const;

export const ALIAS_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN_PATTERN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
/** Multi-tenant aliases cannot hold a federated credential for client credentials. */
const NON_TENANTS = new Set(['common', 'organizations', 'consumers']);

const RUNTIME_FIELDS = [
  'tenantId',
  'clientId',
  'scopes',
  'authorityHost',
  'audience',
  'subject',
  'assertionLifetimeSeconds',
  'refreshMarginSeconds',
  'signer',
  'proactiveRefresh',
] as const;
const DEPLOYMENT_FIELDS = [
  'throttlingRateLimit',
  'throttlingBurstLimit',
  'publicThrottlingRateLimit',
  'publicThrottlingBurstLimit',
  'tokenReservedConcurrency',
  'keyRotation',
  'endpoint',
] as const;
const KEY_ROTATION_FIELDS = ['intervalSeconds', 'publishLeadSeconds', 'retireAfterSeconds'] as const;

export interface ConfigParseOptions {
  /** Where the configuration came from, for the error message. @default 'broker configuration' */
  readonly source?: string;
  /** Accept `http://` authority hosts on loopback addresses (local runtime only). @default false */
  readonly allowLoopbackHttp?: boolean;
  /** Further top-level fields the caller validates itself (the local runtime's). @default [] */
  readonly extraFields?: readonly string[];
  /** Accept any positive `keyRotation` figures (the local runtime, where a rotation is shown in seconds). @default false */
  readonly anyPositiveRotation?: boolean;
  /**
   * Read `proactiveRefresh` as the local runtime does: off unless set, and any period from a second (a timer, not a
   * schedule). @default false - on by default, whole minutes (an EventBridge schedule's rate)
   */
  readonly localRefreshTimer?: boolean;
}

export type ConfigValidation<T> =
  { readonly config: T; readonly problems: [] } | { readonly config: undefined; readonly problems: string[] };

/**
 * Collects problems while reading fields. A bad field yields a placeholder so reading can go on; the result is
 * discarded whenever a problem was recorded.
 */
class FieldReader {
  readonly problems: string[] = [];

  constructor(private readonly raw: Record<string, unknown>) {}

  tenant(field: string, value: unknown = this.raw[field]): string {
    if (typeof value === 'string' && NON_TENANTS.has(value.toLowerCase())) {
      this.problems.push(
        `${field}: "${value}" is not a tenant; use the tenant's GUID or a verified domain (federated credentials need one tenant)`,
      );
      return '';
    }
    if (typeof value === 'string' && (GUID_PATTERN.test(value) || DOMAIN_PATTERN.test(value))) return value;
    this.problems.push(`${field}: expected a tenant GUID or verified domain name, received ${describeValue(value)}`);
    return '';
  }

  clientId(field: string, value: unknown = this.raw[field]): string {
    if (typeof value === 'string' && GUID_PATTERN.test(value)) return value;
    this.problems.push(`${field}: expected a GUID (the app registration's application (client) ID), received ${describeValue(value)}`);
    return '';
  }

  credentialField(field: string, fallback: string): string {
    const value = this.raw[field];
    if (value === undefined) return fallback;
    if (typeof value === 'string' && value.length > 0 && value.length <= MAX_CREDENTIAL_FIELD_LENGTH && value.trim() === value)
      return value;
    this.problems.push(
      `${field}: expected a non-empty string of at most ${MAX_CREDENTIAL_FIELD_LENGTH} characters without surrounding spaces, received ${describeValue(value)}`,
    );
    return fallback;
  }

  integer(field: string, fallback: number, min: number, max: number): number {
    const value = this.raw[field];
    if (value === undefined) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.problems.push(`${field}: expected an integer from ${min} to ${max}, received ${describeValue(value)}`);
    return fallback;
  }

  signer(): SignerKind {
    const value = this.raw.signer;
    if (value === undefined) return CONFIG_DEFAULTS.signer;
    if (typeof value === 'string' && (SIGNER_KINDS as readonly string[]).includes(value)) return value as SignerKind;
    this.problems.push(`signer: expected one of ${SIGNER_KINDS.map((kind) => `"${kind}"`).join(', ')}, received ${describeValue(value)}`);
    return CONFIG_DEFAULTS.signer;
  }

  keyRotation(signer: SignerKind, assertionLifetimeSeconds: number, anyPositive: boolean): KeyRotationSettings {
    const value = this.raw.keyRotation;
    const defaults = CONFIG_DEFAULTS.keyRotation;
    if (value === undefined) return defaults;
    if (!isPlainObject(value)) {
      this.problems.push(
        `keyRotation: expected {"intervalSeconds", "publishLeadSeconds", "retireAfterSeconds"}, received ${describeValue(value)}`,
      );
      return defaults;
    }
    if (signer !== 'kms') {
      this.problems.push(
        `keyRotation: applies to the "kms" signer only (AWS rotates its own keys), received it with signer ${describeValue(signer)}`,
      );
    }
    for (const key of Object.keys(value)) {
      if (!(KEY_ROTATION_FIELDS as readonly string[]).includes(key)) {
        this.problems.push(unknownFieldProblem(`keyRotation.${key}`, key, KEY_ROTATION_FIELDS));
      }
    }
    const figure = (field: (typeof KEY_ROTATION_FIELDS)[number], min: number): number => {
      const received = value[field];
      if (received === undefined) return defaults[field];
      if (typeof received === 'number' && Number.isInteger(received) && received >= min && received <= 10 * 365 * DAY) return received;
      this.problems.push(
        `keyRotation.${field}: expected an integer of seconds from ${min} to ${10 * 365 * DAY}, received ${describeValue(received)}`,
      );
      return defaults[field];
    };
    const rotation = {
      intervalSeconds: figure('intervalSeconds', anyPositive ? 1 : KEY_ROTATION_MINIMUMS.intervalSeconds),
      publishLeadSeconds: figure('publishLeadSeconds', anyPositive ? 1 : KEY_ROTATION_MINIMUMS.publishLeadSeconds),
      retireAfterSeconds: figure('retireAfterSeconds', anyPositive ? 1 : assertionLifetimeSeconds),
    };
    if (rotation.publishLeadSeconds >= rotation.intervalSeconds) {
      this.problems.push(
        `keyRotation.publishLeadSeconds: expected less than intervalSeconds (${rotation.intervalSeconds}), so that a key is published before the next one is due, received ${rotation.publishLeadSeconds}`,
      );
    }
    return rotation;
  }

  proactiveRefresh(localTimer: boolean): ProactiveRefresh {
    const value = this.raw.proactiveRefresh;
    if (value === undefined) return localTimer ? false : { periodSeconds: PROACTIVE_REFRESH_DEFAULT_PERIOD_SECONDS };
    if (value === false) return false;
    const min = localTimer ? 1 : 60;
    const expected = localTimer
      ? `{"periodSeconds": <integer from ${min} to ${PROACTIVE_REFRESH_MAX_PERIOD_SECONDS}>} or false`
      : `{"periodSeconds": <whole minutes in seconds, from ${min} to ${PROACTIVE_REFRESH_MAX_PERIOD_SECONDS}>} or false`;
    if (!isPlainObject(value)) {
      this.problems.push(`proactiveRefresh: expected ${expected}, received ${describeValue(value)}`);
      return false;
    }
    for (const key of Object.keys(value)) {
      if (key !== 'periodSeconds') this.problems.push(unknownFieldProblem(`proactiveRefresh.${key}`, key, ['periodSeconds']));
    }
    const period = value.periodSeconds;
    const valid =
      typeof period === 'number' &&
      Number.isInteger(period) &&
      period >= min &&
      period <= PROACTIVE_REFRESH_MAX_PERIOD_SECONDS &&
      (localTimer || period % 60 === 0);
    if (!valid) {
      // The largest period still lands a run between half the life and the margin of Entra's shortest token (10 min).
      this.problems.push(`proactiveRefresh.periodSeconds: expected ${expected}, received ${describeValue(period)}`);
      return false;
    }
    return { periodSeconds: period };
  }

  endpoint(): EndpointSettings {
    const value = this.raw.endpoint;
    const fallback: EndpointSettings = { type: 'public' };
    if (value === undefined) return fallback;
    const shapes = '{"type": "public"} or {"type": "private", "vpcEndpointIds": ["vpce-…"]}';
    if (!isPlainObject(value) || !(ENDPOINT_TYPES as readonly unknown[]).includes(value.type)) {
      this.problems.push(`endpoint: expected ${shapes}, received ${describeValue(value)}`);
      return fallback;
    }
    const known = value.type === 'private' ? ['type', 'vpcEndpointIds'] : ['type'];
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      this.problems.push(
        key === 'vpcEndpointIds'
          ? `endpoint.vpcEndpointIds: applies to {"type": "private"} only, received it with type "public"`
          : unknownFieldProblem(`endpoint.${key}`, key, known),
      );
    }
    if (value.type === 'public') return fallback;
    const ids = value.vpcEndpointIds;
    if (!Array.isArray(ids) || ids.length === 0) {
      this.problems.push(
        `endpoint.vpcEndpointIds: expected at least one interface VPC endpoint id for execute-api, e.g. ["vpce-0123456789abcdef0"], received ${describeValue(ids)}`,
      );
      return fallback;
    }
    const seen = new Set<unknown>();
    ids.forEach((id: unknown, index) => {
      if (typeof id !== 'string' || !VPC_ENDPOINT_ID_PATTERN.test(id)) {
        this.problems.push(
          `endpoint.vpcEndpointIds[${index}]: expected "vpce-" and 17 lowercase hexadecimal digits (e.g. "vpce-0123456789abcdef0"), received ${describeValue(id)}`,
        );
      } else if (seen.has(id)) {
        this.problems.push(`endpoint.vpcEndpointIds[${index}]: ${describeValue(id)} is listed twice`);
      }
      seen.add(id);
    });
    return { type: 'private', vpcEndpointIds: ids as string[] };
  }

  authorityHost(allowLoopbackHttp: boolean): string {
    const value = this.raw.authorityHost;
    if (value === undefined) return CONFIG_DEFAULTS.authorityHost;
    const check = checkAuthorityHost(value, { allowLoopbackHttp });
    if (check.ok) return check.value;
    this.problems.push(`authorityHost: ${check.problem}`);
    return CONFIG_DEFAULTS.authorityHost;
  }

  private scopeString(where: string, value: unknown): string {
    if (typeof value === 'string' && /^\S+\/\.default$/.test(value) && value.length <= 1024) return value;
    this.problems.push(
      `${where}: expected one "<resource>/.default" scope (e.g. "https://graph.microsoft.com/.default"), received ${describeValue(value)}`,
    );
    return '';
  }

  scopes(defaultTenant: string, defaultClient: string): Record<string, ScopeConfig> {
    const value = this.raw.scopes;
    const result: Record<string, ScopeConfig> = {};
    if (!isPlainObject(value) || Object.keys(value).length === 0) {
      this.problems.push(
        `scopes: expected an object with at least one alias, e.g. {"graph": "https://graph.microsoft.com/.default"}, received ${describeValue(value)}`,
      );
      return result;
    }
    for (const [alias, entry] of Object.entries(value)) {
      const where = `scopes.${alias}`;
      if (!ALIAS_PATTERN.test(alias)) {
        this.problems.push(
          `scopes: alias ${describeValue(alias)} must match ${ALIAS_PATTERN.source} (lowercase letters, digits, hyphens; at most 63)`,
        );
        continue;
      }
      if (typeof entry === 'string') {
        result[alias] = { alias, scope: this.scopeString(where, entry), tenantId: defaultTenant, clientId: defaultClient };
        continue;
      }
      if (!isPlainObject(entry)) {
        this.problems.push(`${where}: expected a scope string or {"scope", "tenantId"?, "clientId"?}, received ${describeValue(entry)}`);
        continue;
      }
      for (const key of Object.keys(entry)) {
        if (key !== 'scope' && key !== 'tenantId' && key !== 'clientId') {
          this.problems.push(unknownFieldProblem(`${where}.${key}`, key, ['scope', 'tenantId', 'clientId']));
        }
      }
      result[alias] = {
        alias,
        scope: this.scopeString(`${where}.scope`, entry.scope),
        tenantId: entry.tenantId === undefined ? defaultTenant : this.tenant(`${where}.tenantId`, entry.tenantId),
        clientId: entry.clientId === undefined ? defaultClient : this.clientId(`${where}.clientId`, entry.clientId),
      };
    }
    return result;
  }

  unknownFields(known: readonly string[]): void {
    for (const field of Object.keys(this.raw)) {
      if (!known.includes(field)) this.problems.push(unknownFieldProblem(field, field, known));
    }
  }
}

function readRuntime(reader: FieldReader, options: ConfigParseOptions): RuntimeConfig {
  const tenantId = reader.tenant('tenantId');
  const clientId = reader.clientId('clientId');
  return {
    tenantId,
    clientId,
    authorityHost: reader.authorityHost(options.allowLoopbackHttp ?? false),
    audience: reader.credentialField('audience', CONFIG_DEFAULTS.audience),
    subject: reader.credentialField('subject', CONFIG_DEFAULTS.subject),
    assertionLifetimeSeconds: reader.integer('assertionLifetimeSeconds', CONFIG_DEFAULTS.assertionLifetimeSeconds, 60, 600),
    refreshMarginSeconds: reader.integer('refreshMarginSeconds', CONFIG_DEFAULTS.refreshMarginSeconds, 0, 1800),
    signer: reader.signer(),
    scopes: reader.scopes(tenantId, clientId),
    proactiveRefresh: reader.proactiveRefresh(options.localRefreshTimer ?? false),
  };
}

function readDeployment(
  reader: FieldReader,
  raw: Record<string, unknown>,
  runtime: RuntimeConfig,
  options: ConfigParseOptions,
): DeploymentSettings {
  return {
    keyRotation: reader.keyRotation(runtime.signer, runtime.assertionLifetimeSeconds, options.anyPositiveRotation ?? false),
    endpoint: reader.endpoint(),
    throttlingRateLimit: reader.integer('throttlingRateLimit', CONFIG_DEFAULTS.throttlingRateLimit, 1, 10_000),
    throttlingBurstLimit: reader.integer('throttlingBurstLimit', CONFIG_DEFAULTS.throttlingBurstLimit, 1, 5_000),
    publicThrottlingRateLimit: reader.integer('publicThrottlingRateLimit', CONFIG_DEFAULTS.publicThrottlingRateLimit, 1, 10_000),
    publicThrottlingBurstLimit: reader.integer('publicThrottlingBurstLimit', CONFIG_DEFAULTS.publicThrottlingBurstLimit, 1, 5_000),
    tokenReservedConcurrency:
      raw.tokenReservedConcurrency === undefined ? undefined : reader.integer('tokenReservedConcurrency', 1, 1, 1000),
  };
}

/**
 * Validates a configuration as written (cdk.json, a local config file) and applies defaults.
 * @returns the configuration, or the list of problems (never both)
 */
export function validateBrokerConfig(raw: unknown, options: ConfigParseOptions = {}): ConfigValidation<BrokerConfig> {
  if (!isPlainObject(raw)) return { config: undefined, problems: [`expected an object, received ${describeValue(raw)}`] };
  const reader = new FieldReader(raw);
  reader.unknownFields([...RUNTIME_FIELDS, ...DEPLOYMENT_FIELDS, ...(options.extraFields ?? [])]);
  const runtime = readRuntime(reader, options);
  const config: BrokerConfig = { runtime, deployment: readDeployment(reader, raw, runtime, options) };
  return reader.problems.length > 0 ? { config: undefined, problems: reader.problems } : { config, problems: [] };
}

/**
 * Validates a configuration as written and applies defaults.
 * @throws ConfigError naming every bad field and the value received
 */
export function parseBrokerConfig(raw: unknown, options: ConfigParseOptions = {}): BrokerConfig {
  const result = validateBrokerConfig(raw, options);
  if (result.config === undefined) throw new ConfigError(options.source ?? 'broker configuration', result.problems);
  return result.config;
}

/**
 * Validates the token function's runtime configuration (`runtimeConfigJson`'s output); deployment fields are
 * unknown here, so a construct that passed them would be caught.
 * @throws ConfigError naming every bad field and the value received
 */
export function parseRuntimeConfig(raw: unknown, options: ConfigParseOptions = {}): RuntimeConfig {
  const source = options.source ?? 'runtime configuration';
  if (!isPlainObject(raw)) throw new ConfigError(source, [`expected an object, received ${describeValue(raw)}`]);
  const reader = new FieldReader(raw);
  reader.unknownFields([...RUNTIME_FIELDS, ...(options.extraFields ?? [])]);
  const runtime = readRuntime(reader, options);
  if (reader.problems.length > 0) throw new ConfigError(source, reader.problems);
  return runtime;
}

/** The runtime configuration as the token function receives it (`BROKER_CONFIG`), in the input schema. */
export function runtimeConfigJson(runtime: RuntimeConfig): string {
  const { tenantId, clientId, authorityHost, audience, subject, assertionLifetimeSeconds, refreshMarginSeconds, signer, proactiveRefresh } =
    runtime;
  const scopes = Object.fromEntries(
    Object.values(runtime.scopes).map((s) => [s.alias, { scope: s.scope, tenantId: s.tenantId, clientId: s.clientId }]),
  );
  return JSON.stringify({
    tenantId,
    clientId,
    scopes,
    authorityHost,
    audience,
    subject,
    assertionLifetimeSeconds,
    refreshMarginSeconds,
    signer,
    proactiveRefresh,
  });
}
