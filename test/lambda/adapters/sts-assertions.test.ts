/**
 * The `aws-sts` signer's assertion source: what it asks STS for, what it returns, and how STS's refusals and outages
 * reach the contract. Against the real SDK: aws-sdk-client-mock for the command and each STS error, and the local
 * outbound-federation stand-in (a real Query-protocol server) for the SDK's own retries and a real signature.
 */
import { createSign, randomBytes } from 'node:crypto';
import {
  GetWebIdentityTokenCommand,
  OutboundWebIdentityFederationDisabledException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createStsClient } from '../../../lambda/adapters/aws-clients';
import { StsAssertions } from '../../../lambda/adapters/sts-assertions';
import { AWS_CLAIMS_KEY, startOutboundFederation, type OutboundFederation } from '../../../local/sts-outbound/outbound-federation';
import { rsaKeyPair } from '../../support/rsa-keys';

const ROLE_ARN = 'arn:aws:iam::111122223333:role/broker-TokenFunctionRole-ABC';
const ISSUER = 'https://3f1e2d4c-5b6a-4798-8a9b-0c1d2e3f4a5b.tokens.sts.global.api.aws';
const OPTIONS = { issuer: ISSUER, subject: ROLE_ARN, audience: 'api://AzureADTokenExchange', lifetimeSeconds: 240 };

/** A JWT signed for real with node:crypto, as STS would return it (RS256). */
function stsSignedJwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'RS256', kid: 'sts-key', typ: 'JWT' })}.${encode(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(rsaKeyPair('sts').privateKey).toString('base64url')}`;
}

function stsError(name: string, httpStatusCode: number): STSServiceException {
  return new STSServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
    message: `User: ${ROLE_ARN} is not authorized (${name})`,
  });
}

/** Nothing internal (the role ARN, the account, SDK text) in what a caller could see. */
function expectNoInternals(error: unknown): void {
  const seen = JSON.stringify({ message: (error as Error).message, json: (error as { toJSON(): unknown }).toJSON() });
  expect(seen).not.toContain(ROLE_ARN);
  expect(seen).not.toContain('111122223333');
  expect(seen).not.toContain('is not authorized');
}

describe('StsAssertions (aws-sdk-client-mock)', () => {
  it('asks for the configured audience, RS256 and assertionLifetimeSeconds, no tags, and returns the token as STS signed it', async () => {
    const sts = new STSClient({ region: 'eu-west-1' });
    const mock = mockClient(sts);
    const jwt = stsSignedJwt({ iss: ISSUER, sub: ROLE_ARN, aud: 'api://AzureADTokenExchange' });
    mock.on(GetWebIdentityTokenCommand).resolves({ WebIdentityToken: jwt, Expiration: new Date() });
    const source = new StsAssertions(sts, OPTIONS);

    expect(await source.create()).toBe(jwt);
    expect(mock.commandCalls(GetWebIdentityTokenCommand).map((call) => call.args[0].input)).toStrictEqual([
      { Audience: ['api://AzureADTokenExchange'], SigningAlgorithm: 'RS256', DurationSeconds: 240 },
    ]);
    expect(source.issuer).toBe(ISSUER);
    expect(source.subject).toBe(ROLE_ARN);
  });

  it('maps disabled outbound federation to 500 internal, saying how to enable it', async () => {
    const sts = new STSClient({ region: 'eu-west-1' });
    mockClient(sts)
      .on(GetWebIdentityTokenCommand)
      .rejects(
        new OutboundWebIdentityFederationDisabledException({ $metadata: { httpStatusCode: 403 }, message: `disabled for ${ROLE_ARN}` }),
      );
    const error = await new StsAssertions(sts, OPTIONS).create().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'internal', statusCode: 500 });
    expect((error as Error).message).toMatch(
      /outbound identity federation is disabled for this account; run `aws iam enable-outbound-web-identity-federation`/,
    );
    expectNoInternals(error);
  });

  it.each([
    [
      'AccessDenied',
      403,
      /check the token function role's sts:GetWebIdentityToken grant \(its audience, RS256 and DurationSeconds conditions/,
    ],
    ['SessionDurationEscalationException', 403, /outlive the function's own role session; lower assertionLifetimeSeconds/],
    ['JWTPayloadSizeExceededException', 400, /too large/],
    ['SomethingNew', 400, /refused GetWebIdentityToken \(SomethingNew\)/],
  ])('maps %s to 500 internal with what to check', async (name, status, message) => {
    const sts = new STSClient({ region: 'eu-west-1' });
    mockClient(sts).on(GetWebIdentityTokenCommand).rejects(stsError(name, status));
    const error = await new StsAssertions(sts, OPTIONS).create().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'internal', statusCode: 500 });
    expect((error as Error).message).toMatch(message);
    expectNoInternals(error);
  });

  it.each([
    ['Throttling', 400],
    ['ServiceUnavailable', 503],
    ['InternalFailure', 500],
  ])('maps %s to 503 upstream_unavailable (sts)', async (name, status) => {
    const sts = new STSClient({ region: 'eu-west-1' });
    mockClient(sts).on(GetWebIdentityTokenCommand).rejects(stsError(name, status));
    const error = await new StsAssertions(sts, OPTIONS).create().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_unavailable', statusCode: 503, upstream: 'sts' });
    expectNoInternals(error);
  });

  it('refuses an answer without a token as internal', async () => {
    const sts = new STSClient({ region: 'eu-west-1' });
    mockClient(sts).on(GetWebIdentityTokenCommand).resolves({});
    await expect(new StsAssertions(sts, OPTIONS).create()).rejects.toMatchObject({
      code: 'internal',
      message: 'AWS STS GetWebIdentityToken returned no token.',
    });
  });
});

describe('createStsClient', () => {
  /** The host a GetWebIdentityToken request would be sent to, caught before it leaves. */
  async function hostFor(region: string): Promise<string> {
    const sts = createStsClient({ region, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
    let host = '';
    sts.middlewareStack.add(
      () => (args) => {
        host = (args.request as { hostname: string }).hostname;
        return Promise.reject(new Error('caught before sending'));
      },
      { step: 'finalizeRequest', priority: 'low', name: 'catchHost' },
    );
    await new StsAssertions(sts, OPTIONS).create().catch(() => undefined);
    return host;
  }

  it.each(['us-east-1', 'eu-west-1', 'us-gov-west-1', 'cn-north-1'])(
    'calls the regional STS endpoint in %s, never the global one, which does not serve GetWebIdentityToken',
    async (region) => {
      const host = await hostFor(region);
      expect(host).toMatch(new RegExp(`^sts\\.${region}\\.amazonaws\\.com(\\.cn)?$`));
      expect(host).not.toBe('sts.amazonaws.com');
    },
  );
});

describe('StsAssertions against the local outbound-federation stand-in (the real SDK over HTTP)', () => {
  const credentials = {
    accessKeyId: `AKIDLOCAL${randomBytes(4).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
  let standIn: OutboundFederation | undefined;
  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });

  async function setUp(roleArn = ROLE_ARN) {
    standIn = await startOutboundFederation({ roleArn, credentials, region: 'eu-west-1' });
    const sts = createStsClient({ region: 'eu-west-1', endpoint: standIn.url, credentials });
    return { standIn, source: new StsAssertions(sts, { ...OPTIONS, issuer: standIn.url }) };
  }

  it("returns an AWS-shaped token that verifies against the issuer's published keys", async () => {
    const { standIn, source } = await setUp();
    const before = Math.floor(Date.now() / 1000);
    const token = await source.create();
    const discovery = (await (await fetch(`${standIn.url}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery).toMatchObject({ issuer: standIn.url, jwks_uri: `${standIn.url}/.well-known/jwks.json` });

    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: standIn.url,
      audience: 'api://AzureADTokenExchange',
      algorithms: ['RS256'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub', AWS_CLAIMS_KEY].sort());
    expect(payload).toMatchObject({ sub: ROLE_ARN, aud: 'api://AzureADTokenExchange' });
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect((payload.exp as number) - (payload.iat as number)).toBe(240);
    expect(payload[AWS_CLAIMS_KEY]).toMatchObject({ aws_account: '111122223333', source_region: 'eu-west-1', principal_id: ROLE_ARN });
    expect(standIn.lastRequest).toStrictEqual({
      audiences: ['api://AzureADTokenExchange'],
      signingAlgorithm: 'RS256',
      durationSeconds: 240,
    });
    // A fresh token (new jti) each time.
    expect(decodeProtectedHeader(await source.create()).kid).toBe(protectedHeader.kid);
    expect(standIn.calls).toBe(2);
  });

  it('retries throttling within the SDK (3 attempts) and succeeds when STS recovers', async () => {
    const { standIn, source } = await setUp();
    standIn.failNext({ httpStatus: 400, code: 'Throttling' }, 2);
    await expect(source.create()).resolves.toMatch(/^ey/);
    expect(standIn.calls).toBe(3);
  });

  it('answers 503 upstream_unavailable after 3 throttled attempts', async () => {
    const { standIn, source } = await setUp();
    standIn.failNext({ httpStatus: 400, code: 'Throttling' }, 3);
    await expect(source.create()).rejects.toMatchObject({ code: 'upstream_unavailable', upstream: 'sts' });
    expect(standIn.calls).toBe(3);
  });

  it('answers 500 internal at once (no retry) while outbound federation is disabled', async () => {
    const { standIn, source } = await setUp();
    standIn.setFederationEnabled(false);
    const error = await source.create().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'internal', statusCode: 500 });
    expect((error as Error).message).toContain('aws iam enable-outbound-web-identity-federation');
    expect(standIn.calls).toBe(1);
    expect(standIn.lastError?.code).toBe('OutboundWebIdentityFederationDisabledException');
  });

  it('is refused (internal) when signed with other credentials, as STS refuses a bad signature', async () => {
    standIn = await startOutboundFederation({ roleArn: ROLE_ARN, credentials, region: 'eu-west-1' });
    const sts = createStsClient({ region: 'eu-west-1', endpoint: standIn.url, credentials: { ...credentials, secretAccessKey: 'wrong' } });
    await expect(new StsAssertions(sts, { ...OPTIONS, issuer: standIn.url }).create()).rejects.toMatchObject({ code: 'internal' });
    expect(standIn.lastError?.code).toBe('SignatureDoesNotMatch');
  });
});
