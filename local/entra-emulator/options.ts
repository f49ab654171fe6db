/**
 * The emulator's configuration: the app registrations it knows, token lifetime, clock and limits. Validated at
 * start, with errors that name the field.
 */
import type { FederatedCredential } from './assertion';
import type { ManagedIdentityEndpointOptions } from './managed-identity';
import type { IssuerMetadataCacheOptions } from './issuer-keys';

/**
 * Entra's limits on an app's federated credentials (learn.microsoft.com/entra/workload-id/
 * workload-identity-federation-considerations): at most 20 per app, issuer and subject unique together, exactly one
 * audience, issuer, subject and audience at most 600 characters each.
 */
export const MAX_CREDENTIALS_PER_APP = 20;
export const MAX_CREDENTIAL_FIELD_LENGTH = 600;

/** An app registration in a tenant, with the federated credentials Entra would match assertions against. */
export interface EntraAppRegistration {
  readonly tenantId: string;
  readonly clientId: string;
  readonly federatedCredentials: readonly FederatedCredential[];
  /** Resources (the scope without `/.default`) tokens may be issued for; any resource when omitted. */
  readonly allowedResources?: readonly string[];
  /** Application permissions granted to the app, issued as the `roles` claim (omitted when empty, as Entra does). */
  readonly roles?: readonly string[];
}

export interface EntraEmulatorOptions {
  readonly apps: readonly EntraAppRegistration[];
  /** `expires_in` of issued tokens. @default 3599 (what Entra answers for a 1-hour token) */
  readonly tokenLifetimeSeconds?: number;
  /**
   * Tolerance on the assertion's nbf/exp/iat. @default 300: Entra does not document its value; 5 minutes is the
   * default `ClockSkew` of Microsoft.IdentityModel's TokenValidationParameters, the library Entra's stack uses.
   */
  readonly clockSkewSeconds?: number;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Upper bound for each discovery/JWKS fetch; a slower issuer gets AADSTS90061. @default 5000 */
  readonly issuerFetchTimeoutMs?: number;
  /** Also play the App Service managed-identity endpoint (./managed-identity.ts). @default - not served */
  readonly managedIdentity?: ManagedIdentityEndpointOptions;
  /**
   * Keep each issuer's discovery and JWKS this long, refetching on an unknown kid or not (./issuer-keys.ts).
   * @default - fetched for every assertion
   */
  readonly issuerMetadataCache?: IssuerMetadataCacheOptions;
}

/** @throws TypeError / RangeError naming the first invalid field */
export function validateOptions(options: EntraEmulatorOptions): void {
  // Checked for JavaScript callers; the type says it is an array already.
  const apps: unknown = options.apps;
  if (!Array.isArray(apps)) throw new TypeError(`apps must be an array of app registrations, got ${typeof apps}`);
  const seen = new Set<string>();
  options.apps.forEach((app, index) => {
    const where = `apps[${index}]`;
    requireNonEmpty(app.tenantId, `${where}.tenantId`);
    requireNonEmpty(app.clientId, `${where}.clientId`);
    const key = `${app.tenantId.toLowerCase()} ${app.clientId.toLowerCase()}`;
    if (seen.has(key)) throw new RangeError(`${where}: client ${app.clientId} is registered twice in tenant ${app.tenantId}`);
    seen.add(key);
    const credentials: readonly FederatedCredential[] = app.federatedCredentials;
    if (!Array.isArray(credentials)) throw new TypeError(`${where}.federatedCredentials must be an array`);
    if (credentials.length > MAX_CREDENTIALS_PER_APP) {
      throw new RangeError(
        `${where}.federatedCredentials holds ${credentials.length} credentials; Entra allows at most ${MAX_CREDENTIALS_PER_APP} per app`,
      );
    }
    const issuerSubjects = new Set<string>();
    credentials.forEach((credential: FederatedCredential, i: number) => {
      const at = `${where}.federatedCredentials[${i}]`;
      requireCredentialField(credential.issuer, `${at}.issuer`);
      requireCredentialField(credential.subject, `${at}.subject`);
      const audiences: unknown = credential.audiences;
      if (!Array.isArray(audiences) || audiences.length !== 1) {
        throw new RangeError(`${at}.audiences must hold exactly one audience (Entra's rule), got ${JSON.stringify(audiences)}`);
      }
      requireCredentialField(audiences[0], `${at}.audiences[0]`);
      const pair = JSON.stringify([credential.issuer, credential.subject]);
      if (issuerSubjects.has(pair)) throw new RangeError(`${at}: issuer and subject are already used by another credential of this app`);
      issuerSubjects.add(pair);
    });
  });
  if (options.tokenLifetimeSeconds !== undefined) requirePositiveInteger(options.tokenLifetimeSeconds, 'tokenLifetimeSeconds');
  if (options.clockSkewSeconds !== undefined) requireNonNegativeInteger(options.clockSkewSeconds, 'clockSkewSeconds');
  if (options.issuerFetchTimeoutMs !== undefined) requirePositiveInteger(options.issuerFetchTimeoutMs, 'issuerFetchTimeoutMs');
  if (options.issuerMetadataCache !== undefined) {
    requirePositiveInteger(options.issuerMetadataCache.seconds, 'issuerMetadataCache.seconds');
    if (typeof options.issuerMetadataCache.refetchOnUnknownKid !== 'boolean') {
      throw new TypeError(`issuerMetadataCache.refetchOnUnknownKid must be true or false`);
    }
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
    throw new RangeError(`port must be an integer 0-65535, got ${String(options.port)}`);
  }
}

export function requireNonEmpty(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${field} must be a non-empty string, got ${JSON.stringify(value)}`);
}

function requireCredentialField(value: unknown, field: string): void {
  requireNonEmpty(value, field);
  if ((value as string).length > MAX_CREDENTIAL_FIELD_LENGTH) {
    throw new RangeError(`${field} is ${(value as string).length} characters long; Entra allows at most ${MAX_CREDENTIAL_FIELD_LENGTH}`);
  }
}

export function requirePositiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${field} must be a positive integer, got ${String(value)}`);
}

export function requireNonNegativeInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${field} must be a non-negative integer, got ${String(value)}`);
}
