import { describe, expect, it } from 'vitest';
import { entraRejection, type PresentedIdentity } from '../../../lambda/core/entra-error';

const presented: PresentedIdentity = {
  alias: 'graph',
  issuer: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  subject: 'aws-token-broker',
  audience: 'api://AzureADTokenExchange',
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-4333-8444-555555555555',
  scope: 'https://graph.microsoft.com/.default',
};

const TRACE_ID = '0c5d3c7e-3b8a-4f6e-9a4a-6f1d2b3c4d00';
const CORRELATION_ID = 'f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2910';
const TIMESTAMP = '2025-06-01 12:00:03Z';

/** An error answer shaped exactly like Entra's v2.0 token endpoint's. */
function entraBody(code: number, error: string, text: string, separator = '\r\n'): string {
  return JSON.stringify({
    error,
    error_description: `AADSTS${code}: ${text}${separator}Trace ID: ${TRACE_ID}${separator}Correlation ID: ${CORRELATION_ID}${separator}Timestamp: ${TIMESTAMP}`,
    error_codes: [code],
    timestamp: TIMESTAMP,
    trace_id: TRACE_ID,
    correlation_id: CORRELATION_ID,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

const cases = [
  {
    code: 700211,
    status: 400,
    error: 'invalid_request',
    text: "No matching federated identity record found for presented assertion issuer 'https://abc123.execute-api.eu-west-1.amazonaws.com'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
    hint: /Fix: the federated credential's issuer must be exactly "https:\/\/abc123\.execute-api\.eu-west-1\.amazonaws\.com" \(no trailing slash\)\.$/,
  },
  {
    code: 700213,
    status: 400,
    error: 'invalid_request',
    text: "No matching federated identity record found for presented assertion subject 'aws-token-broker'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
    hint: /Fix: the federated credential's subject must be exactly "aws-token-broker"\.$/,
  },
  {
    code: 700212,
    status: 400,
    error: 'invalid_request',
    text: "No matching federated identity record found for presented assertion audience 'api://AzureADTokenExchange'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.",
    hint: /Fix: the federated credential's audience must be "api:\/\/AzureADTokenExchange"\.$/,
  },
  {
    code: 700024,
    status: 400,
    error: 'invalid_client',
    text: 'Client assertion is not within its valid time range. Current time: 2025-06-01T12:10:00.0000000Z, assertion valid from 2025-06-01T12:00:00.0000000Z, expiry time of assertion 2025-06-01T12:05:00.0000000Z. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .',
    hint: /Fix: the assertion was outside its valid time range; check the clock and assertionLifetimeSeconds\.$/,
  },
  {
    code: 7000215,
    status: 401,
    error: 'invalid_client',
    text: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-4333-8444-555555555555'.",
    hint: /Fix: Entra did not accept the credential for app 11111111-2222-4333-8444-555555555555; check that the app registration holds the broker's federated credential\.$/,
  },
  {
    code: 700016,
    status: 400,
    error: 'unauthorized_client',
    text: "Application with identifier '11111111-2222-4333-8444-555555555555' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
    hint: /Fix: no app 11111111-2222-4333-8444-555555555555 in tenant 72f988bf-86f1-41af-91ab-2d7cd011db47; check clientId and tenantId\.$/,
  },
] as const;

describe('entraRejection', () => {
  it.each(cases)('maps AADSTS$code to 502 entra_rejected with Entra ids and a fix', ({ code, status, error, text, hint }) => {
    const rejected = entraRejection(status, entraBody(code, error, text), presented);

    expect(rejected).toMatchObject({
      statusCode: 502,
      code: 'entra_rejected',
      message: expect.stringMatching(new RegExp(`^Entra ID rejected the token request for alias "graph": AADSTS${code}: `)),
    });
    expect(rejected.message).toMatch(hint);
    expect(rejected.toJSON()).toStrictEqual({
      error: 'entra_rejected',
      message: rejected.message,
      entra_error: error,
      aadsts: `AADSTS${code}`,
      error_codes: [code],
      correlation_id: CORRELATION_ID,
      trace_id: TRACE_ID,
    });
    // Entra's trailer is carried as separate fields, not repeated in the message.
    expect(rejected.message).not.toMatch(/Trace ID:|Correlation ID:|Timestamp:/);
    expect(rejected.message).not.toContain(TRACE_ID);
    expect(rejected.message.length).toBeLessThan(700);
  });

  it('cuts the trailer when Entra separates it with spaces instead of line breaks', () => {
    const rejected = entraRejection(400, entraBody(700213, 'invalid_request', cases[1].text, ' '), presented);
    expect(rejected.message).not.toMatch(/Trace ID:/);
    expect(rejected.toJSON()).toMatchObject({ aadsts: 'AADSTS700213', trace_id: TRACE_ID });
  });

  it('reads the AADSTS code from the description when error_codes is missing', () => {
    const body = JSON.parse(entraBody(700212, 'invalid_request', cases[2].text)) as Record<string, unknown>;
    delete body.error_codes;
    const rejected = entraRejection(400, JSON.stringify(body), presented);
    expect(rejected.toJSON()).toMatchObject({ error: 'entra_rejected', aadsts: 'AADSTS700212', error_codes: [700212] });
    expect(rejected.message).toMatch(/Fix: the federated credential's audience must be "api:\/\/AzureADTokenExchange"/);
  });

  it('maps a body that is not JSON (a proxy page) by its status, without echoing the page', () => {
    const rejected = entraRejection(403, '<html><body><h1>403 Forbidden</h1>Request blocked by proxy</body></html>', presented);
    expect(rejected).toMatchObject({
      statusCode: 502,
      code: 'entra_rejected',
      message: 'Entra ID rejected the token request for alias "graph": http_403 (HTTP 403)',
    });
    expect(rejected.toJSON()).toStrictEqual({ error: 'entra_rejected', message: rejected.message, entra_error: 'http_403' });
  });

  it('shortens a very long description', () => {
    const rejected = entraRejection(
      400,
      entraBody(900144, 'invalid_request', `The request body must contain ${'x'.repeat(2000)}`),
      presented,
    );
    expect(rejected.message).toMatch(/\.\.\.$/);
    expect(rejected.message.length).toBeLessThan(400);
    expect(rejected.toJSON()).toMatchObject({ aadsts: 'AADSTS900144' });
  });
});
