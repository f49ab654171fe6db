import { describe, expect, it } from 'vitest';
import { captureLogsForFile } from '../../support/log-capture';
import { createLogging } from '../../../lambda/adapters/observability';
import { createDiscoveryHandler } from '../../../lambda/handlers/discovery';
import { httpEvent, jsonBody, lambdaContext } from '../../support/http-events';

const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
captureLogsForFile(); // the lines, kept out of the test output
const { logger } = createLogging({ route: 'discovery' });

describe('GET /.well-known/openid-configuration', () => {
  it('answers 200 JSON, cacheable, with the issuer byte for byte and its jwks_uri', async () => {
    const handler = createDiscoveryHandler({ issuer: ISSUER, logger });
    const response = await handler(httpEvent({ routeKey: 'GET /.well-known/openid-configuration', caller: null }), lambdaContext());

    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'application/json',
      'cache-control': expect.stringMatching(/^public, max-age=\d+$/),
    });
    expect(jsonBody(response)).toStrictEqual({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'],
    });
  });
});
