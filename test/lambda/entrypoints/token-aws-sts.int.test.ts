/**
 * The Lambda entrypoint of the token route with signer "aws-sts", imported as Lambda imports it: configuration from the
 * environment the stack sets (BROKER_CONFIG, BROKER_ISSUER, BROKER_ASSERTION_SUBJECT, no signing key), the real STS
 * client on its regional-endpoint override (AWS_ENDPOINT_URL_STS → the local outbound-federation stand-in, signed
 * with the function's credentials), DynamoDB Local for the cache. Entra is the one part replaced: the entrypoint
 * refuses http authority hosts, so `fetch` answers for it and keeps the assertion it received.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { parseBrokerConfig, runtimeConfigJson } from '../../../contract/broker-config';
import { BROKER_ENV } from '../../../contract/environment';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { startOutboundFederation, type OutboundFederation } from '../../../local/sts-outbound/outbound-federation';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { TEST_API, httpEvent, jsonBody, lambdaContext } from '../../support/http-events';

const ROLE_ARN = 'arn:aws:iam::111122223333:role/AwsAzureTokenBroker-TokenBrokerTokenFunctionRole-ABC';
const REGION = 'eu-west-1';
const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const ACCESS_TOKEN = `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ aud: 'https://graph.microsoft.com' })}.c2lnbmF0dXJl`;

const credentials = {
  accessKeyId: `ASIAFN${randomBytes(6).toString('hex').toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString('base64'),
};
let standIn: OutboundFederation;
const sentToEntra: Array<{ url: string; body: URLSearchParams }> = [];

beforeAll(async () => {
  standIn = await startOutboundFederation({ roleArn: ROLE_ARN, credentials, region: REGION });
  const tableName = uniqueTableName('entrypoint-sts');
  await ensureTokenTable(localDynamoDbClient(inject('dynamodbEndpoint')), tableName);
  const config = parseBrokerConfig({
    tenantId: '11111111-1111-1111-1111-111111111111',
    clientId: '22222222-2222-2222-2222-222222222222',
    scopes: { graph: 'https://graph.microsoft.com/.default', storage: 'https://storage.azure.com/.default' },
    signer: 'aws-sts',
    assertionLifetimeSeconds: 200,
  });
  const env: Record<string, string> = {
    [BROKER_ENV.runtimeConfig]: runtimeConfigJson(config.runtime),
    [BROKER_ENV.issuer]: standIn.url,
    [BROKER_ENV.assertionSubject]: ROLE_ARN,
    [BROKER_ENV.tableName]: tableName,
    // No KMS here: sealing a cached item fails and the cache degrades to memory, as with KMS unreachable.
    [BROKER_ENV.tokenCacheKeyArn]: 'arn:aws:kms:eu-west-1:111122223333:key/cccccccc-cccc-4ccc-8ccc-cccccccccccc',
    [BROKER_ENV.deployment]: 'entrypoint-test',
    [BROKER_ENV.apiId]: TEST_API.apiId,
    [BROKER_ENV.apiStage]: TEST_API.stage,
    [BROKER_ENV.logLevel]: 'ERROR',
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_STS: standIn.url,
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbEndpoint'),
    AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9',
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.stubGlobal('fetch', (url: string, init?: RequestInit) => {
    sentToEntra.push({ url, body: new URLSearchParams(String(init?.body)) });
    return Promise.resolve(
      new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: ACCESS_TOKEN }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      }),
    );
  });
});

afterAll(async () => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  await standIn.close();
});

describe('lambda/entrypoints/token.ts with signer "aws-sts"', () => {
  it('gets the assertion from STS GetWebIdentityToken (audience, RS256, lifetime) and exchanges it at Entra', async () => {
    const { handler } = await import('../../../lambda/entrypoints/token');
    const response = await handler(httpEvent({ routeKey: 'GET /token/graph' }), lambdaContext());
    expect(response.statusCode, JSON.stringify(jsonBody(response))).toBe(200);
    expect(jsonBody(response)).toMatchObject({ token_type: 'Bearer', scope: 'https://graph.microsoft.com/.default' });

    expect(standIn.calls).toBe(1);
    expect(standIn.lastRequest).toStrictEqual({
      audiences: ['api://AzureADTokenExchange'],
      signingAlgorithm: 'RS256',
      durationSeconds: 200,
    });
    expect(sentToEntra).toHaveLength(1);
    expect(sentToEntra[0]?.url).toBe('https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token');
    const assertion = sentToEntra[0]?.body.get('client_assertion') ?? '';
    expect(decodeJwt(assertion)).toMatchObject({ iss: standIn.url, sub: ROLE_ARN, aud: 'api://AzureADTokenExchange' });
    expect(sentToEntra[0]?.body.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  it("answers 500 internal naming the fix when the account's outbound federation is off, without the role ARN", async () => {
    const { handler } = await import('../../../lambda/entrypoints/token');
    standIn.setFederationEnabled(false);
    try {
      const response = await handler(httpEvent({ routeKey: 'GET /token/storage' }), lambdaContext());
      expect(response.statusCode).toBe(500);
      expect(jsonBody(response)).toMatchObject({ error: 'internal' });
      expect(String(jsonBody(response).message)).toContain('run `aws iam enable-outbound-web-identity-federation` in this AWS account');
      expect(response.body).not.toContain(ROLE_ARN);
      expect(sentToEntra).toHaveLength(1);
    } finally {
      standIn.setFederationEnabled(true);
    }
  });
});
