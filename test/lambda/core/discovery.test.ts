import { describe, expect, it } from 'vitest';
import { discoveryDocument } from '../../../lambda/core/discovery';

const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';

describe('discoveryDocument', () => {
  it('has the fields Entra reads, as Entra reads them', () => {
    expect(discoveryDocument(ISSUER)).toStrictEqual({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'],
    });
  });

  it('keeps the issuer byte for byte (custom domain with a base path) and puts jwks under it', () => {
    const issuer = 'https://Broker.Example.com/prod';
    const doc = discoveryDocument(issuer);
    expect(doc.issuer).toBe(issuer);
    expect(doc.jwks_uri).toBe('https://Broker.Example.com/prod/jwks');
  });
});
