/**
 * What the reverse direction's client tests share: a JWT-shaped Entra token, an Azure credential that counts its
 * calls, and an STS answer. STS itself is mocked at the SDK client by each test file (aws-sdk-client-mock), so the
 * SDK's own exception classes reach the code under test.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';

export const ROLE = 'arn:aws:iam::123456789012:role/reader';
export const AUDIENCE = 'api://aws-federation';
export const OBJECT_ID = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
export const TENANT = '11111111-1111-1111-1111-111111111111';
export const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);

/** A JWT-shaped token (the client only reads its claims; STS checks the signature). */
export function entraToken(claims: Record<string, unknown> = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: `https://sts.windows.net/${TENANT}/`, aud: AUDIENCE, oid: OBJECT_ID, sub: OBJECT_ID, ...claims })}.c2ln`;
}

/** An Azure credential that records the scopes it is asked for and answers `behaviour()`. */
export class FakeAzureCredential implements TokenCredential {
  calls: string[] = [];
  constructor(private readonly behaviour: () => string = () => entraToken()) {}
  async getToken(scopes: string | string[]): Promise<AccessToken> {
    this.calls.push(String(scopes));
    return { token: this.behaviour(), expiresOnTimestamp: NOW_MS + 3600_000 };
  }
}

/** An AssumeRoleWithWebIdentity answer with credentials that expire at `expirationMs`. */
export function credentialsAnswer(expirationMs = NOW_MS + 3600_000) {
  return {
    Credentials: {
      AccessKeyId: 'ASIAEXAMPLE000000001',
      SecretAccessKey: 'secret-key-value',
      SessionToken: 'session-token-value',
      Expiration: new Date(expirationMs),
    },
    AssumedRoleUser: { Arn: `arn:aws:sts::123456789012:assumed-role/reader/azure-${OBJECT_ID}`, AssumedRoleId: 'AROA:x' },
  };
}
