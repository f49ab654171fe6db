/**
 * Entra ID's refusals at the v2.0 token endpoint, as the emulator renders them: the AADSTS codes, OAuth
 * `error` values, HTTP statuses and description texts, each with where it comes from (a public Entra answer
 * quoted in a GitHub issue or a Microsoft doc) or "chosen" when Entra's behaviour is not documented.
 *
 * Descriptions quote only what Entra itself quotes (issuer, subject, audience, scope, ids), never the
 * client assertion or any token.
 */

import { randomUUID } from 'node:crypto';

export type OAuthError =
  | 'invalid_request'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_resource'
  | 'temporarily_unavailable'
  | 'server_error';

const WORKLOAD_IDENTITY_DOC = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

/**
 * One refusal, thrown by a validation step and rendered once by the server. `detail` says more for the
 * emulator's `lastError` (never in the HTTP answer, as Entra gives no more than its description).
 */
export class EntraRefusal extends Error {
  constructor(
    readonly code: number,
    readonly error: OAuthError,
    readonly text: string,
    readonly detail?: string,
  ) {
    super(`AADSTS${code}: ${text}`);
    this.name = 'EntraRefusal';
  }

  /** Entra answers `invalid_client` with 401 (RFC 6749 §5.2), everything else it refuses with 400. */
  get httpStatus(): number {
    if (this.error === 'invalid_client') return 401;
    if (this.error === 'server_error') return 500;
    if (this.error === 'temporarily_unavailable') return 503;
    return 400;
  }
}

/** The body of every Entra error answer (learn.microsoft.com/entra/identity-platform/reference-error-codes). */
export interface EntraErrorBody {
  readonly error: string;
  readonly error_description: string;
  readonly error_codes: readonly number[];
  readonly timestamp: string;
  readonly trace_id: string;
  readonly correlation_id: string;
  readonly error_uri: string;
}

/** The ids Entra stamps on an answer: trace id per request, correlation id from `client-request-id`. */
export interface AnswerIds {
  readonly traceId: string;
  readonly correlationId: string;
  /** True when the correlation id is the client's `client-request-id`, which Entra then echoes as a header. */
  readonly fromClient: boolean;
  readonly at: Date;
}

export function newAnswerIds(clientRequestId: string | undefined, at: Date): AnswerIds {
  const looksLikeGuid = clientRequestId !== undefined && /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(clientRequestId);
  return looksLikeGuid
    ? { traceId: randomUUID(), correlationId: clientRequestId, fromClient: true, at }
    : { traceId: randomUUID(), correlationId: randomUUID(), fromClient: false, at };
}

/** Entra's timestamp format: `2024-05-14 00:40:08Z`. */
export function entraTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Entra's long ISO format inside AADSTS700024: `2024-10-02T22:05:03.6750000Z` (7 fraction digits). */
export function entraLongTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** Renders a refusal as Entra does since 2023: ids appended to the description on one line. */
export function renderEntraError(refusal: EntraRefusal, ids: AnswerIds): EntraErrorBody {
  const timestamp = entraTimestamp(ids.at);
  return {
    error: refusal.error,
    error_description: `${refusal.message} Trace ID: ${ids.traceId} Correlation ID: ${ids.correlationId} Timestamp: ${timestamp}`,
    error_codes: [refusal.code],
    timestamp,
    trace_id: ids.traceId,
    correlation_id: ids.correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${refusal.code}`,
  };
}

/** The catalogue. Each entry names its source; "chosen" marks codes Entra does not document for the case. */
export const refuse = {
  /** github.com/MicrosoftDocs/azure-docs/issues/43780: invalid_request, 400. */
  missingParameter: (name: string) =>
    new EntraRefusal(900144, 'invalid_request', `The request body must contain the following parameter: '${name}'.`),

  /** github.com/AzureAD/microsoft-authentication-library-for-dotnet/pull/3023 (text); error per RFC 6749. */
  unsupportedGrantType: (grantType: string) =>
    new EntraRefusal(70003, 'unsupported_grant_type', `The app requested an unsupported grant type '${grantType}'.`),

  /** Chosen: AADSTS90100 "InvalidRequestParameter - The parameter is empty or not valid" (reference-error-codes). */
  invalidClientAssertionType: () =>
    new EntraRefusal(90100, 'invalid_request', "The 'client_assertion_type' parameter is empty or not valid."),

  /** github.com/MicrosoftDocs/azure-docs/issues/30777 (text); invalid_client chosen, as for AADSTS7000218. */
  missingClientCredential: () =>
    new EntraRefusal(
      7000216,
      'invalid_client',
      "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
    ),

  /** github.com/microsoftarchive/BatchAI/pull/31 (token endpoint: invalid_request) and azure-cli#22145 (text). */
  tenantNotFound: (tenant: string) =>
    new EntraRefusal(
      90002,
      'invalid_request',
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),

  /** github.com/vippsas/vipps-developers/pull/244: unauthorized_client, 400. */
  applicationNotFound: (clientId: string, tenant: string) =>
    new EntraRefusal(
      700016,
      'unauthorized_client',
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),

  /** github.com/FriedrichWeinmann/MiniGraph/issues/4: invalid_request, 400. */
  malformedAssertion: (detail: string) => new EntraRefusal(50027, 'invalid_request', 'JWT token is invalid or malformed.', detail),

  /** github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/4712: invalid_request. */
  unsupportedSigningAlgorithm: (alg: string) =>
    new EntraRefusal(
      5002730,
      'invalid_request',
      'Invalid JWT token. Unsupported key for the signing algorithm.',
      `alg "${alg}"; only RS256 is accepted`,
    ),

  /** github.com/Azure/azure-workload-identity/issues/1350: invalid_client, 401. */
  noIssuerMatch: (issuer: string) =>
    new EntraRefusal(
      700211,
      'invalid_client',
      `No matching federated identity record found for presented assertion issuer '${issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${WORKLOAD_IDENTITY_DOC}`,
    ),

  /** github.com/Azure/azure-workload-identity/issues/1200 and Azure/login#482: invalid_client. */
  noSubjectMatch: (subject: string) =>
    new EntraRefusal(
      700213,
      'invalid_client',
      `No matching federated identity record found for presented assertion subject '${subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${WORKLOAD_IDENTITY_DOC}`,
    ),

  /** Text modelled on AADSTS700211/700213 (no public quote of 700212 found); invalid_client. */
  noAudienceMatch: (audience: string) =>
    new EntraRefusal(
      700212,
      'invalid_client',
      `No matching federated identity record found for presented assertion audience '${audience}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${WORKLOAD_IDENTITY_DOC}`,
    ),

  /** Azure/azure-workload-identity docs/book/src/troubleshooting.md: invalid_request, 400. Used for every discovery/JWKS failure. */
  externalOidcEndpointFailed: (detail: string) =>
    new EntraRefusal(90061, 'invalid_request', 'Request to External OIDC endpoint failed.', detail),

  /**
   * The same text under the codes users report as intermittent: 50166 (github.com/Azure/azure-workload-identity/issues/642,
   * "Occasionally", invalid_request) and 501661 (github.com/Azure/AKS/issues/4029, "from time to time", invalid_request).
   * The emulator answers them only as injected faults (`{ aadsts: 50166 }`): when it really cannot read the metadata it
   * answers 90061, as above.
   */
  externalOidcEndpointFailedIntermittently: (code: 50166 | 501661) =>
    new EntraRefusal(code, 'invalid_request', 'Request to External OIDC endpoint failed.', 'injected fault'),

  /**
   * Text: public quotes of "AADSTS70025: The client '…' has no configured federated identity credentials." (e.g. in
   * Azure/login setups); Entra names the app there, the emulator its client id. invalid_client chosen, as for the other
   * credential refusals (no public JSON answer found).
   */
  noFederatedCredentials: (clientId: string) =>
    new EntraRefusal(70025, 'invalid_client', `The client '${clientId}' has no configured federated identity credentials.`),

  /** github.com/Azure/login/issues/515 (text, since Entra's August 2024 case-sensitive matching); invalid_client as 700213. */
  subjectCaseMismatch: (subject: string) =>
    new EntraRefusal(
      7002138,
      'invalid_client',
      `No matching federated identity record found for presented assertion subject '${subject}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: ${WORKLOAD_IDENTITY_DOC}. See breaking change notification and remediation at: https://learn.microsoft.com/en-us/entra/identity-platform/reference-breaking-changes#august-2024.`,
    ),

  /**
   * github.com/MicrosoftDocs/azure-docs/issues/86916 (lifetime over 25 h) and #86915 (no `iat`: "Token issued at 0"):
   * invalid_request, 400, the same text for both.
   */
  assertionLifetimeTooLong: (issuedAt: number, expiresAt: number) =>
    new EntraRefusal(
      70023,
      'invalid_request',
      `External OIDC Provider token must have a lifetime of less than or equal to 1.01:00:00. Token issued at ${issuedAt}. Token expires on ${expiresAt}.`,
    ),

  /** github.com/Azure/azure-workload-identity/issues/1232: invalid_client. */
  signingKeyNotFound: (kid: string, issuer: string, detail?: string) =>
    new EntraRefusal(
      7000272,
      'invalid_client',
      `The certificate with identifier ${kid} used to sign the federated credential could not be found in the metadata of identity provider ${issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.`,
      detail,
    ),

  /** reference-error-codes.md: "AADSTS700027 | Client assertion failed signature validation."; invalid_client. */
  signatureInvalid: (detail: string) => new EntraRefusal(700027, 'invalid_client', 'Client assertion failed signature validation.', detail),

  /** github.com/obikuro/Sato/issues/1 and AzureAD/microsoft-authentication-library-for-java#984: invalid_client. */
  outsideValidTimeRange: (nowMs: number, notBeforeSeconds: number, expirySeconds: number) =>
    new EntraRefusal(
      700024,
      'invalid_client',
      `Client assertion is not within its valid time range. Current time: ${entraLongTime(nowMs)}, assertion valid from ${entraLongTime(notBeforeSeconds * 1000)}, expiry time of assertion ${entraLongTime(expirySeconds * 1000)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
    ),

  /** github.com/databricks/databricks-sql-nodejs/issues/226 and microsoft/msticpy#923: invalid_scope, 400. */
  scopeNotDefault: (scope: string) =>
    new EntraRefusal(
      1002012,
      'invalid_scope',
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),

  /** reference-error-codes.md: "AADSTS700022 | InvalidMultipleResourcesScope"; invalid_scope. */
  multipleResources: (scope: string) =>
    new EntraRefusal(
      700022,
      'invalid_scope',
      `The provided value for the input parameter scope '${scope}' isn't valid because it contains more than one resource.`,
    ),

  /** reference-error-codes.md: "AADSTS500011 | InvalidResourceServicePrincipalNotFound"; error invalid_resource. */
  resourceNotFound: (resource: string, tenant: string) =>
    new EntraRefusal(
      500011,
      'invalid_resource',
      `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    ),

  /** reference-error-codes.md: "AADSTS900561 | BadResourceRequestInvalidRequest"; invalid_request. */
  methodNotAllowed: (method: string) =>
    new EntraRefusal(900561, 'invalid_request', `The endpoint only accepts POST, OPTIONS requests. Received a ${method} request.`),

  /** reference-error-codes.md: "AADSTS90004 | InvalidRequestFormat". */
  requestTooLarge: () =>
    new EntraRefusal(90004, 'invalid_request', "The request isn't properly formatted.", 'request body over the size limit'),

  /** Chosen default body for an injected 5xx/429: AADSTS90006 "ExternalServerRetryableError - The service is temporarily unavailable." */
  temporarilyUnavailable: () => new EntraRefusal(90006, 'temporarily_unavailable', 'The service is temporarily unavailable.'),

  /** reference-error-codes.md: "AADSTS50000 | TokenIssuanceError"; for a fault in the emulator itself. */
  internal: (detail: string) =>
    new EntraRefusal(50000, 'server_error', 'There was an error issuing a token or an issue with our sign-in service.', detail),
} as const;
