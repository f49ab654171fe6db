/**
 * The emulator's configuration: the app registrations it knows, token lifetime, clock and limits. Validated at
 * start, with errors that name the field.
 */
import type { FederatedCredential } from './assertion';
import type { ManagedIdentityEndpointOptions } from './managed-identity';

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
    credentials.forEach((credential: FederatedCredential, i: number) => {
      requireNonEmpty(credential.issuer, `${where}.federatedCredentials[${i}].issuer`);
      requireNonEmpty(credential.subject, `${where}.federatedCredentials[${i}].subject`);
      if (!Array.isArray(credential.audiences) || credential.audiences.length === 0) {
        throw new TypeError(`${where}.federatedCredentials[${i}].audiences must be a non-empty array`);
      }
    });
  });
  if (options.tokenLifetimeSeconds !== undefined) requirePositiveInteger(options.tokenLifetimeSeconds, 'tokenLifetimeSeconds');
  if (options.clockSkewSeconds !== undefined) requireNonNegativeInteger(options.clockSkewSeconds, 'clockSkewSeconds');
  if (options.issuerFetchTimeoutMs !== undefined) requirePositiveInteger(options.issuerFetchTimeoutMs, 'issuerFetchTimeoutMs');
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
    throw new RangeError(`port must be an integer 0-65535, got ${String(options.port)}`);
  }
}

export function requireNonEmpty(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${field} must be a non-empty string, got ${JSON.stringify(value)}`);
}

export function requirePositiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${field} must be a positive integer, got ${String(value)}`);
}

export function requireNonNegativeInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${field} must be a non-negative integer, got ${String(value)}`);
}
