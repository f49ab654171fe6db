/**
 * Entra's refusals: reading its error answer (only scrubbed, bounded text leaves here: upstream-text.ts), deciding
 * which ones are worth another attempt, and a hint per AADSTS code that names the exact values to configure.
 *
 * Sources of the codes (docs/entra-errors.md lists them with their fixes):
 * - learn.microsoft.com/entra/identity-platform/reference-error-codes (700016, 700024, 700027, 90002, 90006, 90024, …)
 * - learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations: 70021 for a few minutes after
 *   a credential is created ("It takes time for the federated identity credential to be propagated").
 * - github.com/Azure/azure-workload-identity/issues/616 (70021 text), Azure/login#515 (7002138 "matches with
 *   case-insensitive comparison, but not with case-sensitive comparison"), azure-workload-identity#1350 (700211),
 *   #1200 (700213), #1232 (7000272), #605 and docs/book/src/troubleshooting.md (90061: "the OIDC issuer endpoint is
 *   not exposed to the internet or is inaccessible"), #642 (50166 "occasionally"), Azure/AKS#4029 (501661 "from time
 *   to time"), MicrosoftDocs/azure-docs#86915 and #86916 (70023: `iat` required, lifetime ≤ 1.01:00:00),
 *   learn.microsoft.com/azure/devops/pipelines/release/troubleshoot-workload-identity (700223/700238: "workload
 *   identity federation was disabled in your Microsoft Entra tenant").
 */
import type { SignerKind } from '../../contract/broker-config';
import { federatedCredentialCreateCommand } from '../../contract/federated-credential';
import { EntraRejectedError, type EntraRejection } from './errors';
import { plainUpstreamText, upstreamGuid, upstreamOAuthError } from './upstream-text';

/** What the broker presented, so a rejection can say which side to fix. Nothing secret. */
export interface PresentedIdentity {
  readonly alias: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly scope: string;
  /**
   * Who signed: the broker (`kms`: it is the issuer, `subject` is configured) or AWS STS (`aws-sts`: AWS's issuer,
   * the token function's role ARN as subject). @default 'kms'
   */
  readonly signer?: SignerKind;
}

const isSts = (p: PresentedIdentity): boolean => p.signer === 'aws-sts';
/** With signer "aws-sts", where the subject and the keys come from, for the hints that name them. */
const stsSubject = (p: PresentedIdentity): string =>
  isSts(p)
    ? ` (with signer "aws-sts" the subject is the token function's role ARN, which AWS STS writes in "sub": the stack's Subject output)`
    : '';
const stsKeys = (p: PresentedIdentity): string =>
  `AWS STS signs with the keys it publishes at ${p.issuer}/.well-known/jwks.json; check that the credential's issuer is this account's outbound identity federation issuer (the stack's IssuerUrl output, \`aws iam get-outbound-web-identity-federation-info\`)`;

/**
 * Refusals that say Entra could not do its part right now rather than that the configuration is wrong: retried
 * within the request's deadline. 90061, 50166 and 501661 are the "Request to External OIDC endpoint failed" family
 * (Entra could not read the issuer's discovery document or JWKS), reported as intermittent; 90006
 * (ExternalServerRetryableError) and 90024 (RequestBudgetExceededError, "A transient error has occurred. Try again.")
 * are transient by Entra's own reference.
 */
export const TRANSIENT_AADSTS_CODES: ReadonlySet<number> = new Set([90061, 50166, 501661, 90006, 90024]);

const credentialCommand = (p: PresentedIdentity): string =>
  federatedCredentialCreateCommand({ clientId: p.clientId, issuer: p.issuer, subject: p.subject, audience: p.audience });
const doctor = (p: PresentedIdentity): string => `npx --no-install broker-doctor --issuer ${p.issuer}`;
const issuerMetadata = (p: PresentedIdentity): string =>
  `Entra could not read ${p.issuer}/.well-known/openid-configuration or the jwks_uri it names. Both must answer publicly over ` +
  `https with JSON, and the document's "issuer" must be exactly "${p.issuer}". Check as Entra reads them: ${doctor(p)}`;
const federationBlocked = (p: PresentedIdentity): string =>
  `workload identity federation is disabled or blocked by policy in tenant ${p.tenantId}; a tenant administrator must allow ` +
  `federated identity credentials for app ${p.clientId}`;
const invalidScope = (p: PresentedIdentity): string =>
  `the scope "${p.scope}" of alias "${p.alias}" is not valid for the client credentials grant; use "<resource>/.default", e.g. "https://graph.microsoft.com/.default"`;

/**
 * The fix for each AADSTS code a federated-credential setup meets, naming the values to configure. A hint is a
 * sentence without the final full stop.
 */
export const ENTRA_HINTS: Readonly<Record<number, (p: PresentedIdentity) => string>> = {
  70021: (p) =>
    `no federated credential on app ${p.clientId} matches issuer "${p.issuer}", subject "${p.subject}" and audience ` +
    `"${p.audience}". If you created it in the last few minutes, wait: a new credential takes a few minutes to reach ` +
    `every Entra node. Otherwise create it: ${credentialCommand(p)}`,
  70025: (p) =>
    `app ${p.clientId} in tenant ${p.tenantId} has no federated credentials at all; create the broker's: ${credentialCommand(p)}`,
  700211: (p) =>
    `no federated credential on app ${p.clientId} has the issuer "${p.issuer}" (compared byte for byte: case and a ` +
    `trailing slash count); create one: ${credentialCommand(p)}`,
  700212: (p) =>
    `the federated credential's audience must be "${p.audience}" (a credential has exactly one audience; the broker's ` +
    `is the configuration's "audience"); create one: ${credentialCommand(p)}`,
  700213: (p) =>
    `no federated credential on app ${p.clientId} with issuer "${p.issuer}" has the subject "${p.subject}" (compared ` +
    `exactly)${stsSubject(p)}; create one: ${credentialCommand(p)}`,
  7002138: (p) =>
    isSts(p)
      ? `the federated credential's subject differs from the token function's role ARN "${p.subject}" only in upper/lower case, and Entra compares subjects case-sensitively: set the credential's subject to exactly "${p.subject}"`
      : `the federated credential's subject differs from the broker's subject "${p.subject}" only in upper/lower case, and ` +
        `Entra compares subjects case-sensitively: set the credential's subject to exactly "${p.subject}", or the ` +
        `configuration's "subject" to the credential's`,
  70023: (p) =>
    `Entra requires an "iat" claim and a lifetime (exp - iat) of at most 25 hours; the broker's assertions for issuer ` +
    `"${p.issuer}" have both (assertionLifetimeSeconds, at most 600), so check that the assertion came from this broker`,
  700024: () =>
    'the assertion was outside its valid time range when Entra read it; check the clock of this host (NTP) and assertionLifetimeSeconds',
  700027: (p) =>
    isSts(p)
      ? `Entra could not verify the assertion's signature; ${stsKeys(p)}`
      : `Entra could not verify the assertion's signature; check that ${p.issuer}/jwks publishes the signing key (${doctor(p)})`,
  7000272: (p) =>
    isSts(p)
      ? `the key that signed the assertion is not among the keys Entra read from ${p.issuer}'s jwks_uri; ${stsKeys(p)}`
      : `the key that signed the assertion is not among the keys Entra read from ${p.issuer}'s jwks_uri: publish a key ` +
        `before it signs (keyRotation.publishLeadSeconds covers Entra's metadata cache). Check: ${doctor(p)}`,
  90061: issuerMetadata,
  50166: issuerMetadata,
  501661: issuerMetadata,
  700223: federationBlocked,
  700238: federationBlocked,
  700016: (p) => `no app ${p.clientId} in tenant ${p.tenantId}; check clientId and tenantId, and authorityHost for a sovereign cloud`,
  90002: (p) => `tenant ${p.tenantId} was not found; check tenantId, and authorityHost for a sovereign cloud`,
  1002012: invalidScope,
  70011: invalidScope,
  500011: (p) => `the resource of "${p.scope}" is not in tenant ${p.tenantId}; check the scope of alias "${p.alias}" and tenantId`,
};

/** Entra's error answer as read: only scrubbed, bounded values. */
export interface EntraErrorAnswer {
  readonly httpStatus: number;
  /** Entra's OAuth `error`, or `http_<status>` when the body has none that looks like one. */
  readonly entraError: string;
  /** Entra's `error_codes` (at most 10 plausible AADSTS numbers), or the code in the description. */
  readonly errorCodes: readonly number[];
  /** The first code: what the hint and the retry decision go by. */
  readonly code: number | undefined;
  /** Entra's description without its "Trace ID: … Correlation ID: … Timestamp: …" trailer, scrubbed and capped. */
  readonly description: string | undefined;
  readonly correlationId: string | undefined;
  readonly traceId: string | undefined;
}

interface EntraErrorBody {
  error?: unknown;
  error_description?: unknown;
  error_codes?: unknown;
  correlation_id?: unknown;
  trace_id?: unknown;
}

/** An AADSTS number as Entra uses them: positive, at most 9 digits. */
const isAadstsCode = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0 && (value as number) < 1e9;

/**
 * Reads an Entra error answer, whatever the body is (JSON from Entra, an HTML page from a proxy, garbage): only
 * scrubbed text (plainUpstreamText) and GUID-shaped ids come out. Never throws.
 */
export function readEntraError(httpStatus: number, bodyText: string): EntraErrorAnswer {
  let body: EntraErrorBody = {};
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed;
  } catch {
    // Not JSON (a proxy page, say): the status alone has to do.
  }
  const raw = typeof body.error_description === 'string' ? body.error_description : undefined;
  // Entra appends "Trace ID: … Correlation ID: … Timestamp: …" (after a line break or, since 2023, a space): separate fields.
  const description = plainUpstreamText(raw?.split(/\s*(?:\r?\n|Trace ID:)/)[0]);
  const listed = Array.isArray(body.error_codes) ? body.error_codes.filter(isAadstsCode).slice(0, 10) : [];
  const described = Number(/AADSTS(\d{1,9})\b/.exec(raw?.slice(0, 200) ?? '')?.[1] ?? Number.NaN);
  const errorCodes = listed.length > 0 ? listed : isAadstsCode(described) ? [described] : [];
  return {
    httpStatus,
    entraError: upstreamOAuthError(body.error) ?? `http_${httpStatus}`,
    errorCodes,
    code: errorCodes[0],
    description,
    correlationId: upstreamGuid(body.correlation_id),
    traceId: upstreamGuid(body.trace_id),
  };
}

/** Whether the refusal is one Entra may not repeat on another attempt (TRANSIENT_AADSTS_CODES). */
export function isTransientRefusal(answer: EntraErrorAnswer): boolean {
  return answer.code !== undefined && TRANSIENT_AADSTS_CODES.has(answer.code);
}

/** How the exchange went before this answer, when it took several attempts. */
export interface RejectionAttempts {
  readonly attempts: number;
  readonly elapsedMs: number;
}

/**
 * Maps a refusal to `entra_rejected` (502), carrying Entra's `error`, AADSTS code, correlation and trace ids (all
 * scrubbed), what Entra said, and the hint for the fix. Works on a body that is not JSON too.
 * @param attempts when a transient refusal persisted through retries: said in the message
 */
export function entraRejection(
  httpStatus: number,
  bodyText: string,
  presented: PresentedIdentity,
  attempts?: RejectionAttempts,
): EntraRejectedError {
  const answer = readEntraError(httpStatus, bodyText);
  const rejection: EntraRejection = {
    entraError: answer.entraError,
    aadsts: answer.code === undefined ? undefined : `AADSTS${answer.code}`,
    errorCodes: answer.errorCodes,
    correlationId: answer.correlationId,
    traceId: answer.traceId,
    httpStatus,
  };
  const said = answer.description ?? `${answer.entraError} (HTTP ${httpStatus})`;
  const persisted = !attempts
    ? ''
    : attempts.attempts === 1
      ? ' (no time was left before the request deadline to try again)'
      : ` (the same answer to ${attempts.attempts} attempts over ${attempts.elapsedMs} ms)`;
  const hint = answer.code === undefined ? undefined : ENTRA_HINTS[answer.code]?.(presented);
  const message = `Entra ID rejected the token request for alias "${presented.alias}": ${said}${persisted}${hint ? ` Fix: ${hint}.` : ''}`;
  return new EntraRejectedError(message, rejection);
}
