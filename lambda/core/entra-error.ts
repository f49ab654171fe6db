import { EntraRejectedError, type EntraRejection } from './errors';

/** What the broker presented, so a rejection can say which side to fix. Nothing secret. */
export interface PresentedIdentity {
  readonly alias: string;
  readonly issuer: string;
  readonly subject: string;
  readonly audience: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly scope: string;
}

/** Fixes for the AADSTS codes a federated-credential setup typically hits. */
const HINTS: Readonly<Record<number, (p: PresentedIdentity) => string>> = {
  700211: (p) => `the federated credential's issuer must be exactly "${p.issuer}" (no trailing slash)`,
  700213: (p) => `the federated credential's subject must be exactly "${p.subject}"`,
  700212: (p) => `the federated credential's audience must be "${p.audience}"`,
  700024: () => 'the assertion was outside its valid time range; check the clock and assertionLifetimeSeconds',
  700016: (p) => `no app ${p.clientId} in tenant ${p.tenantId}; check clientId and tenantId`,
  90002: (p) => `tenant ${p.tenantId} was not found; check tenantId and authorityHost`,
  7000215: (p) =>
    `Entra did not accept the credential for app ${p.clientId}; check that the app registration holds the broker's federated credential`,
  700027: (p) => `Entra could not verify the assertion's signature; check that ${p.issuer}/jwks publishes the signing key`,
  7000272: (p) => `the signing key's kid is not in ${p.issuer}/jwks; publish the key before signing with it`,
  90061: (p) =>
    `Entra could not fetch ${p.issuer}/.well-known/openid-configuration or its JWKS, or their issuer differs; check that both are public`,
  1002012: (p) => `the scope "${p.scope}" is not valid; use "<resource>/.default"`,
  70011: (p) => `the scope "${p.scope}" is not valid; use "<resource>/.default"`,
  500011: (p) => `the resource of "${p.scope}" is not in tenant ${p.tenantId}`,
};

interface EntraErrorBody {
  error?: unknown;
  error_description?: unknown;
  error_codes?: unknown;
  correlation_id?: unknown;
  trace_id?: unknown;
}

const asString = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

/** Entra's description without its trailing "Trace ID: … Correlation ID: … Timestamp: …" (those are separate fields). */
function firstSentences(description: string | undefined): string | undefined {
  if (!description) return undefined;
  const cut = description.split(/\s*(?:\r?\n|Trace ID:)/)[0]?.trim();
  return cut && cut.length > 300 ? `${cut.slice(0, 297)}...` : cut;
}

/**
 * Maps a non-retryable Entra error answer to `entra_rejected`, carrying Entra's `error`, AADSTS code,
 * correlation and trace ids, and a hint for the usual fix. Works on a body that is not JSON too.
 */
export function entraRejection(httpStatus: number, bodyText: string, presented: PresentedIdentity): EntraRejectedError {
  let body: EntraErrorBody = {};
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (typeof parsed === 'object' && parsed !== null) body = parsed;
  } catch {
    // Not JSON (a proxy page, say): the status alone has to do.
  }
  const description = asString(body.error_description);
  const errorCodes = Array.isArray(body.error_codes) ? body.error_codes.filter((c): c is number => Number.isInteger(c)) : [];
  const aadstsCode = errorCodes[0] ?? Number(/AADSTS(\d+)/.exec(description ?? '')?.[1] ?? Number.NaN);
  const aadsts = Number.isNaN(aadstsCode) ? undefined : `AADSTS${aadstsCode}`;
  const rejection: EntraRejection = {
    entraError: asString(body.error) ?? `http_${httpStatus}`,
    aadsts,
    errorCodes: errorCodes.length > 0 ? errorCodes : aadsts ? [aadstsCode] : [],
    correlationId: asString(body.correlation_id),
    traceId: asString(body.trace_id),
    httpStatus,
  };
  const said = firstSentences(description) ?? `${rejection.entraError} (HTTP ${httpStatus})`;
  const hint = HINTS[aadstsCode]?.(presented);
  const message = `Entra ID rejected the token request for alias "${presented.alias}": ${said}${hint ? ` Fix: ${hint}.` : ''}`;
  return new EntraRejectedError(message, rejection);
}
