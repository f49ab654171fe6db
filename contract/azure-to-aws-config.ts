/**
 * The `azureToAws` schema (docs/reverse-direction.md): Azure workloads (managed identities) into AWS
 * roles through an IAM OIDC provider for the Entra tenant. Validated like `broker`: every problem is collected and
 * names the field and the value received.
 *
 * Entra issues the access token version the resource app (the API) asks for in its manifest
 * (`accessTokenAcceptedVersion`; null or 1 means v1): "the client gets a token that indicates which token version
 * the web API accepts" (Microsoft identity platform docs, "Access tokens" and the web API scenario's accepted token
 * versions):
 * - v1 (the default): `iss` = `https://sts.windows.net/{tenantId}/`, `aud` = the resource as requested (the app ID
 *   URI, e.g. `api://aws-federation`), `appid` = the caller.
 * - v2: `iss` = `https://login.microsoftonline.com/{tenantId}/v2.0`, `aud` = the resource app's client id, `azp` =
 *   the caller's client id. When a token has `azp`, IAM matches `azp`, not `aud`, against the provider's client IDs
 *   and the `:aud` condition key (AWS Security Blog, "How to access AWS resources from Microsoft Entra ID tenants
 *   using AWS STS", 2024 update). The trust then names the caller, never the resource: any v2 token issued to that
 *   client, for any resource, is accepted, so an API that receives one can replay it to AWS. That is why v2 needs
 *   `dangerouslyAllowV2TokensForAnyResource`; it also works only where the caller's client id is the audience, so
 *   managed identities use v1.
 */
import { ConfigError, describeValue, isPlainObject } from './config-error';
import {
  FEDERATED_ROLE_FIELDS,
  ProblemCollector,
  type ConfigReadOptions,
  type FederatedRoleInput,
  type FederatedRoleSettings,
} from './federated-role-config';

export const AZURE_TO_AWS_CONTEXT_KEY = 'azureToAws';

export type EntraTokenVersion = 1 | 2;

export interface AzureWorkloadRoleInput extends FederatedRoleInput {
  /**
   * Object (principal) ids of the managed identities (or service principals) that may assume the role: the `sub`
   * (and `oid`) of their tokens. A system-assigned identity's object id changes when it is disabled and enabled.
   */
  readonly managedIdentityObjectIds: readonly string[];
}

/** `azureToAws` as written in cdk.json. */
export interface AzureToAwsConfigInput {
  /** The Entra tenant's GUID: it is part of the issuer URL, so a domain name cannot stand in. */
  readonly tenantId: string;
  /**
   * The token audience IAM checks: for v1 tokens the app ID URI the workload requests a token for
   * (`api://aws-federation`); for v2, the client id IAM sees (see the module comment).
   */
  readonly audience: string;
  /** Entra access token version (the resource app's `accessTokenAcceptedVersion`). @default 1 */
  readonly tokenVersion?: EntraTokenVersion;
  /**
   * Accept `tokenVersion: 2`: IAM then compares the caller's client id (`azp`) instead of the token's resource
   * (`aud`), so any v2 token issued to that client, for any resource, assumes the roles.
   * @default false
   */
  readonly dangerouslyAllowV2TokensForAnyResource?: boolean;
  /**
   * Use this existing IAM OIDC provider instead of creating one (IAM holds one provider per URL and account); its
   * client ID list must contain `audience`.
   * @default - a provider is created
   */
  readonly providerArn?: string;
  readonly roles: Readonly<Record<string, AzureWorkloadRoleInput>>;
}

export interface AzureWorkloadRoleConfig extends FederatedRoleSettings {
  readonly managedIdentityObjectIds: readonly string[];
}

export interface AzureToAwsConfig {
  readonly tenantId: string;
  readonly audience: string;
  readonly tokenVersion: EntraTokenVersion;
  /** The provider URL: `https://sts.windows.net/{tenantId}/` (v1) or `https://login.microsoftonline.com/{tenantId}/v2.0` (v2). */
  readonly issuerUrl: string;
  readonly providerArn: string | undefined;
  readonly roles: readonly AzureWorkloadRoleConfig[];
}

const FIELDS = ['tenantId', 'audience', 'tokenVersion', 'dangerouslyAllowV2TokensForAnyResource', 'providerArn', 'roles'] as const;
const ROLE_FIELDS = ['managedIdentityObjectIds', ...FEDERATED_ROLE_FIELDS] as const;
/** IAM's limit on a client ID (audience) of an OIDC provider. */
const MAX_AUDIENCE_LENGTH = 255;
/** IAM's limit on the values of one condition key is the policy size; 100 identities per role keeps it readable. */
const MAX_OBJECT_IDS = 100;

/** The issuer URL Entra puts in `iss` for a token version: the IAM OIDC provider's URL. */
export function entraIssuerUrl(tenantId: string, tokenVersion: EntraTokenVersion): string {
  return tokenVersion === 1 ? `https://sts.windows.net/${tenantId}/` : `https://login.microsoftonline.com/${tenantId}/v2.0`;
}

function readAudience(collector: ProblemCollector, value: unknown, tokenVersion: EntraTokenVersion): string {
  if (tokenVersion === 2) {
    return collector.guid(
      'audience',
      value,
      'with tokenVersion 2, the client id IAM matches (v2 tokens carry the app client id in aud and the caller in azp)',
    );
  }
  const isUri = typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\S+$/i.test(value);
  const isGuid = typeof value === 'string' && /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(value);
  if ((isUri || isGuid) && typeof value === 'string' && value.length <= MAX_AUDIENCE_LENGTH && !value.endsWith('/.default')) return value;
  collector.add(
    `audience: expected the app ID URI the workload requests a token for (e.g. "api://aws-federation", without "/.default"; at most ${MAX_AUDIENCE_LENGTH} characters), received ${describeValue(value)}`,
  );
  return '';
}

function readObjectIds(collector: ProblemCollector, where: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    collector.add(`${where}: expected a non-empty list of managed identity object (principal) ids, received ${describeValue(value)}`);
    return [];
  }
  if (value.length > MAX_OBJECT_IDS) collector.add(`${where}: expected at most ${MAX_OBJECT_IDS} object ids, received ${value.length}`);
  const ids = value.map((id: unknown, index) => collector.guid(`${where}[${index}]`, id, "a managed identity's object (principal) id"));
  const seen = new Set<string>();
  ids.forEach((id, index) => {
    if (id !== '' && seen.has(id)) collector.add(`${where}[${index}]: ${describeValue(id)} is listed twice`);
    seen.add(id);
  });
  return ids;
}

/**
 * Validates `azureToAws` as written and applies defaults.
 * @returns the configuration, or every problem (never both)
 */
export function validateAzureToAwsConfig(
  raw: unknown,
  options: ConfigReadOptions = {},
): { readonly config: AzureToAwsConfig; readonly problems: [] } | { readonly config: undefined; readonly problems: string[] } {
  if (!isPlainObject(raw)) return { config: undefined, problems: [`expected an object, received ${describeValue(raw)}`] };
  const collector = new ProblemCollector(options);
  collector.unknownFields('', raw, FIELDS);
  const tenantId = collector.guid('tenantId', raw.tenantId, 'the Entra tenant id (the issuer URL holds the GUID, not a domain name)');
  let tokenVersion: EntraTokenVersion = 1;
  if (raw.tokenVersion !== undefined) {
    if (raw.tokenVersion === 1 || raw.tokenVersion === 2) tokenVersion = raw.tokenVersion;
    else collector.add(`tokenVersion: expected 1 or 2 (the app's accessTokenAcceptedVersion), received ${describeValue(raw.tokenVersion)}`);
  }
  const allowV2 = collector.boolean('dangerouslyAllowV2TokensForAnyResource', raw.dangerouslyAllowV2TokensForAnyResource);
  if (tokenVersion === 2 && !allowV2) {
    collector.add(
      "tokenVersion: 2 makes IAM compare the token's azp (the calling client's id) with the audience instead of its aud (the resource), so any v2 token issued to that client, for any resource, would be accepted; keep tokenVersion 1 with an app ID URI for AWS alone, or set dangerouslyAllowV2TokensForAnyResource: true to accept that risk",
    );
  }
  const audience = readAudience(collector, raw.audience, tokenVersion);
  const providerArn = collector.optionalProviderArn('providerArn', raw.providerArn);
  const roles = collector
    .roles('roles', raw.roles, '{"reader": {"managedIdentityObjectIds": ["<GUID>"]}}')
    .map(([name, entry]): AzureWorkloadRoleConfig => {
      const where = `roles.${name}`;
      collector.unknownFields(where, entry, ROLE_FIELDS);
      return {
        ...collector.roleSettings(where, name, entry),
        managedIdentityObjectIds: readObjectIds(collector, `${where}.managedIdentityObjectIds`, entry.managedIdentityObjectIds),
      };
    });
  if (collector.problems.length > 0) return { config: undefined, problems: collector.problems };
  return {
    config: { tenantId, audience, tokenVersion, issuerUrl: entraIssuerUrl(tenantId, tokenVersion), providerArn, roles },
    problems: [],
  };
}

/**
 * Validates `azureToAws` as written and applies defaults.
 * @throws ConfigError naming every bad field and the value received
 */
export function parseAzureToAwsConfig(
  raw: unknown,
  source = `context '${AZURE_TO_AWS_CONTEXT_KEY}'`,
  options: ConfigReadOptions = {},
): AzureToAwsConfig {
  const result = validateAzureToAwsConfig(raw, options);
  if (result.config === undefined) throw new ConfigError(source, result.problems);
  return result.config;
}
