import { describe, expect, it } from 'vitest';
import { federatedCredentialCreateCommand } from '../../../contract/federated-credential';
import {
  ENTRA_HINTS,
  TRANSIENT_AADSTS_CODES,
  entraRejection,
  isTransientRefusal,
  readEntraError,
  type PresentedIdentity,
} from '../../../lambda/core/entra-error';

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
const DOC = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

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

const COMMAND = federatedCredentialCreateCommand(presented);
const DOCTOR = `npx --no-install broker-doctor --issuer ${presented.issuer}`;
const METADATA_HINT = `Fix: Entra could not read ${presented.issuer}/.well-known/openid-configuration or the jwks_uri it names. Both must answer publicly over https with JSON, and the document's "issuer" must be exactly "${presented.issuer}". Check as Entra reads them: ${DOCTOR}.`;
const BLOCKED_HINT = `Fix: workload identity federation is disabled or blocked by policy in tenant ${presented.tenantId}; a tenant administrator must allow federated identity credentials for app ${presented.clientId}.`;

/**
 * Every code issue 12 lists, with Entra's own text where a public answer quotes it (sources in entra-error.ts and
 * local/entra-emulator/aadsts.ts), and the whole fix the message must end with.
 */
const cases: readonly { code: number; status: number; error: string; text: string; fix: string }[] = [
  {
    code: 70021,
    status: 400,
    error: 'invalid_request',
    text: `No matching federated identity record found for presented assertion. Assertion Issuer: '${presented.issuer}'. Assertion Subject: 'aws-token-broker'. Assertion Audience: 'api://AzureADTokenExchange'. ${DOC}`,
    fix: `Fix: no federated credential on app ${presented.clientId} matches issuer "${presented.issuer}", subject "aws-token-broker" and audience "api://AzureADTokenExchange". If you created it in the last few minutes, wait: a new credential takes a few minutes to reach every Entra node. Otherwise create it: ${COMMAND}.`,
  },
  {
    code: 70025,
    status: 400,
    error: 'invalid_client',
    text: `The client '${presented.clientId}'(broker) has no configured federated identity credentials.`,
    fix: `Fix: app ${presented.clientId} in tenant ${presented.tenantId} has no federated credentials at all; create the broker's: ${COMMAND}.`,
  },
  {
    code: 700211,
    status: 401,
    error: 'invalid_client',
    text: `No matching federated identity record found for presented assertion issuer '${presented.issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${DOC}`,
    fix: `Fix: no federated credential on app ${presented.clientId} has the issuer "${presented.issuer}" (compared byte for byte: case and a trailing slash count); create one: ${COMMAND}.`,
  },
  {
    code: 700212,
    status: 401,
    error: 'invalid_client',
    text: `No matching federated identity record found for presented assertion audience 'api://AzureADTokenExchange'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${DOC}`,
    fix: `Fix: the federated credential's audience must be "api://AzureADTokenExchange" (a credential has exactly one audience; the broker's is the configuration's "audience"); create one: ${COMMAND}.`,
  },
  {
    code: 700213,
    status: 401,
    error: 'invalid_client',
    text: `No matching federated identity record found for presented assertion subject 'aws-token-broker'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${DOC}`,
    fix: `Fix: no federated credential on app ${presented.clientId} with issuer "${presented.issuer}" has the subject "aws-token-broker" (compared exactly); create one: ${COMMAND}.`,
  },
  {
    code: 7002138,
    status: 401,
    error: 'invalid_client',
    text: `No matching federated identity record found for presented assertion subject 'aws-token-broker'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: ${DOC}.`,
    fix: 'Fix: the federated credential\'s subject differs from the broker\'s subject "aws-token-broker" only in upper/lower case, and Entra compares subjects case-sensitively: set the credential\'s subject to exactly "aws-token-broker", or the configuration\'s "subject" to the credential\'s.',
  },
  {
    code: 70023,
    status: 400,
    error: 'invalid_request',
    text: 'External OIDC Provider token must have a lifetime of less than or equal to 1.01:00:00. Token issued at 0. Token expires on 1748779500.',
    fix: `Fix: Entra requires an "iat" claim and a lifetime (exp - iat) of at most 25 hours; the broker's assertions for issuer "${presented.issuer}" have both (assertionLifetimeSeconds, at most 600), so check that the assertion came from this broker.`,
  },
  {
    code: 700024,
    status: 401,
    error: 'invalid_client',
    text: 'Client assertion is not within its valid time range. Current time: 2025-06-01T12:10:00.0000000Z, assertion valid from 2025-06-01T12:00:00.0000000Z, expiry time of assertion 2025-06-01T12:05:00.0000000Z. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .',
    fix: 'Fix: the assertion was outside its valid time range when Entra read it; check the clock of this host (NTP) and assertionLifetimeSeconds.',
  },
  {
    code: 7000272,
    status: 401,
    error: 'invalid_client',
    text: `The certificate with identifier kid-1 used to sign the federated credential could not be found in the metadata of identity provider ${presented.issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.`,
    fix: `Fix: the key that signed the assertion is not among the keys Entra read from ${presented.issuer}'s jwks_uri: publish a key before it signs (keyRotation.publishLeadSeconds covers Entra's metadata cache). Check: ${DOCTOR}.`,
  },
  { code: 90061, status: 400, error: 'invalid_request', text: 'Request to External OIDC endpoint failed.', fix: METADATA_HINT },
  { code: 50166, status: 400, error: 'invalid_request', text: 'Request to External OIDC endpoint failed.', fix: METADATA_HINT },
  { code: 501661, status: 400, error: 'invalid_request', text: 'Request to External OIDC endpoint failed.', fix: METADATA_HINT },
  {
    code: 700223,
    status: 400,
    error: 'invalid_request',
    text: 'Federated identity credentials are disabled for this tenant.',
    fix: BLOCKED_HINT,
  },
  {
    code: 700238,
    status: 400,
    error: 'invalid_request',
    text: 'Use of federated identity credentials is blocked by a policy in this tenant.',
    fix: BLOCKED_HINT,
  },
  {
    code: 700016,
    status: 400,
    error: 'unauthorized_client',
    text: `Application with identifier '${presented.clientId}' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    fix: `Fix: no app ${presented.clientId} in tenant ${presented.tenantId}; check clientId and tenantId, and authorityHost for a sovereign cloud.`,
  },
  {
    code: 90002,
    status: 400,
    error: 'invalid_request',
    text: `Tenant '${presented.tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    fix: `Fix: tenant ${presented.tenantId} was not found; check tenantId, and authorityHost for a sovereign cloud.`,
  },
  {
    code: 1002012,
    status: 400,
    error: 'invalid_scope',
    text: 'The provided value for scope https://graph.microsoft.com/User.Read is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).',
    fix: 'Fix: the scope "https://graph.microsoft.com/.default" of alias "graph" is not valid for the client credentials grant; use "<resource>/.default", e.g. "https://graph.microsoft.com/.default".',
  },
];

describe('entraRejection: a hint for every code of issue 12', () => {
  it.each(cases)('AADSTS$code → 502 entra_rejected with Entra ids and the exact fix', ({ code, status, error, text, fix }) => {
    const rejected = entraRejection(status, entraBody(code, error, text), presented);

    expect(rejected).toMatchObject({ statusCode: 502, code: 'entra_rejected' });
    const described = `AADSTS${code}: ${text}`;
    const said = described.length > 300 ? `${described.slice(0, 297)}...` : described; // capped at 300 characters
    expect(rejected.message).toBe(`Entra ID rejected the token request for alias "graph": ${said} ${fix}`);
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
  });

  it('has a hint for every code listed, and none for the client-secret code 7000215 (the broker has no secret)', () => {
    expect(Object.keys(ENTRA_HINTS).map(Number)).toEqual(expect.arrayContaining(cases.map((c) => c.code)));
    expect(ENTRA_HINTS).not.toHaveProperty('7000215');
    const secret = entraRejection(
      401,
      entraBody(
        7000215,
        'invalid_client',
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.',
      ),
      presented,
    );
    expect(secret.message).not.toContain('Fix:');
  });

  it('gives 70025 and the mismatch codes a command that creates exactly the credential the broker needs', () => {
    for (const code of [70021, 70025, 700211, 700213]) {
      const message = entraRejection(400, entraBody(code, 'invalid_request', 'x'), presented).message;
      const json = message.slice(message.indexOf("--parameters '") + "--parameters '".length, message.lastIndexOf("'"));
      expect(JSON.parse(json)).toStrictEqual({
        name: 'aws-token-broker',
        issuer: presented.issuer,
        subject: presented.subject,
        audiences: [presented.audience],
      });
      expect(message).toContain(`az ad app federated-credential create --id ${presented.clientId} `);
    }
  });

  it('says how often a transient refusal was repeated when it persisted through the retries', () => {
    const rejected = entraRejection(400, entraBody(50166, 'invalid_request', 'Request to External OIDC endpoint failed.'), presented, {
      attempts: 3,
      elapsedMs: 1400,
    });
    expect(rejected.message).toBe(
      `Entra ID rejected the token request for alias "graph": AADSTS50166: Request to External OIDC endpoint failed. (the same answer to 3 attempts over 1400 ms) ${METADATA_HINT}`,
    );
  });

  it('says when a transient refusal could not be retried at all for lack of time', () => {
    const rejected = entraRejection(400, entraBody(90061, 'invalid_request', 'Request to External OIDC endpoint failed.'), presented, {
      attempts: 1,
      elapsedMs: 80,
    });
    expect(rejected.message).toContain(
      'Request to External OIDC endpoint failed. (no time was left before the request deadline to try again) Fix:',
    );
  });
});

describe('entraRejection: what Entra says, read safely', () => {
  it('cuts the trailer when Entra separates it with spaces instead of line breaks', () => {
    const rejected = entraRejection(400, entraBody(700213, 'invalid_request', cases[4]!.text, ' '), presented);
    expect(rejected.message).not.toMatch(/Trace ID:/);
    expect(rejected.toJSON()).toMatchObject({ aadsts: 'AADSTS700213', trace_id: TRACE_ID });
  });

  it('reads the AADSTS code from the description when error_codes is missing', () => {
    const body = JSON.parse(entraBody(700212, 'invalid_request', cases[3]!.text)) as Record<string, unknown>;
    delete body.error_codes;
    const rejected = entraRejection(400, JSON.stringify(body), presented);
    expect(rejected.toJSON()).toMatchObject({ error: 'entra_rejected', aadsts: 'AADSTS700212', error_codes: [700212] });
    expect(rejected.message).toContain(`Fix: the federated credential's audience must be "api://AzureADTokenExchange"`);
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

  it('shortens a very long description to 300 characters', () => {
    const rejected = entraRejection(
      400,
      entraBody(900144, 'invalid_request', `The request body must contain ${'x'.repeat(2000)}`),
      presented,
    );
    expect(rejected.message).toMatch(/\.\.\.$/);
    expect(rejected.message.length).toBeLessThan(400);
    expect(rejected.toJSON()).toMatchObject({ aadsts: 'AADSTS900144' });
  });

  it('turns a hostile body (markup, a JWT, 100 KB, ids that are not GUIDs, control characters) into a clean, bounded 502', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhd3MtdG9rZW4tYnJva2VyIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtbG9uZw';
    const hostile = JSON.stringify({
      error: '<script>alert(1)</script>',
      error_description: `AADSTS700213: <b>No</b> match\u0000 for <img src=x onerror=alert(1)> \u202Eevil\u202C ${jwt} \u001b[31mred ${'A'.repeat(100_000)}`,
      error_codes: [700213, 'x', -5, 1e12, 3.5],
      correlation_id: 'not-a-guid <script>',
      trace_id: `${CORRELATION_ID}\r\nSet-Cookie: x=1`,
    });
    const rejected = entraRejection(400, hostile, presented);
    const body = JSON.stringify(rejected.toJSON());

    expect(rejected.toJSON()).toStrictEqual({
      error: 'entra_rejected',
      message: rejected.message,
      entra_error: 'http_400',
      aadsts: 'AADSTS700213',
      error_codes: [700213],
    });
    expect(rejected.message).toMatch(
      /^Entra ID rejected the token request for alias "graph": AADSTS700213: No match for evil \[redacted-jwt\] \[31mred A+\.\.\. Fix: /,
    );
    expect(body).not.toMatch(/[<>]|eyJ|script|\\u00|\\u20|\\r|\\n/);
    expect(body.length).toBeLessThan(1500);
  });

  it('keeps GUID-shaped ids as they are, and drops anything else', () => {
    const upper = CORRELATION_ID.toUpperCase();
    const body = JSON.stringify({ error: 'invalid_client', error_codes: [700213], correlation_id: upper, trace_id: 42 });
    expect(entraRejection(401, body, presented).toJSON()).toMatchObject({ correlation_id: upper });
    expect(entraRejection(401, body, presented).toJSON()).not.toHaveProperty('trace_id');
  });
});

describe('isTransientRefusal', () => {
  it('is true for the "External OIDC endpoint failed" family and the codes Entra calls transient, false for the rest', () => {
    for (const code of [90061, 50166, 501661, 90006, 90024]) {
      expect(TRANSIENT_AADSTS_CODES.has(code)).toBe(true);
      expect(isTransientRefusal(readEntraError(400, entraBody(code, 'invalid_request', 'x')))).toBe(true);
    }
    for (const code of [70021, 700211, 700213, 7000272, 700024]) {
      expect(isTransientRefusal(readEntraError(400, entraBody(code, 'invalid_request', 'x')))).toBe(false);
    }
    expect(isTransientRefusal(readEntraError(400, 'not json'))).toBe(false);
  });
});

describe('ENTRA_HINTS with signer "aws-sts"', () => {
  const sts: PresentedIdentity = {
    ...presented,
    issuer: 'https://3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b.tokens.sts.global.api.aws',
    subject: 'arn:aws:iam::111122223333:role/broker-TokenFunctionRole-ABC',
    signer: 'aws-sts',
  };
  const hint = (code: number) => (ENTRA_HINTS[code] as (p: PresentedIdentity) => string)(sts);

  it('names the role ARN as the subject for AADSTS700213, and where it comes from, with the command that trusts it', () => {
    expect(hint(700213)).toBe(
      `no federated credential on app ${sts.clientId} with issuer "${sts.issuer}" has the subject "${sts.subject}" (compared exactly) ` +
        `(with signer "aws-sts" the subject is the token function's role ARN, which AWS STS writes in "sub": the stack's Subject output); ` +
        `create one: ${federatedCredentialCreateCommand(sts)}`,
    );
  });

  it("does not suggest changing the configuration's subject, which STS ignores (AADSTS7002138)", () => {
    expect(hint(7002138)).toContain(`set the credential's subject to exactly "${sts.subject}"`);
    expect(hint(7002138)).not.toContain("configuration's");
  });

  it("points signature failures at AWS's published keys and the account's issuer, not at a /jwks route the stack lacks", () => {
    for (const code of [700027, 7000272]) {
      expect(hint(code)).toContain(`${sts.issuer}/.well-known/jwks.json`);
      expect(hint(code)).toContain('aws iam get-outbound-web-identity-federation-info');
      expect(hint(code)).not.toContain(`${sts.issuer}/jwks `);
      expect(hint(code)).not.toContain('keyRotation');
    }
  });

  it('leaves the kms hints as they were', () => {
    expect((ENTRA_HINTS[700213] as (p: PresentedIdentity) => string)(presented)).not.toContain('aws-sts');
    expect((ENTRA_HINTS[700027] as (p: PresentedIdentity) => string)(presented)).toContain(`${presented.issuer}/jwks`);
  });
});
