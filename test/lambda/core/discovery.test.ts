import { describe, expect, it } from 'vitest';
import { discoveryDocument, normaliseIssuer } from '../../../lambda/core/discovery';

const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';

describe('discoveryDocument', () => {
  it('has the fields Entra reads, per DESIGN.md', () => {
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

describe('normaliseIssuer', () => {
  it.each([
    [`${ISSUER}/`, ISSUER],
    [`${ISSUER}//`, ISSUER],
    [ISSUER, ISSUER],
    ['https://broker.example.com/prod/', 'https://broker.example.com/prod'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
  ])('turns %s into %s', (value, expected) => {
    expect(normaliseIssuer(value)).toBe(expected);
  });

  it.each([
    ['not a url', /issuer: expected an absolute URL, received "not a url"/],
    ['/relative/path', /issuer: expected an absolute URL, received "\/relative\/path"/],
    [`${ISSUER}/?stage=prod`, /issuer: expected an https URL .*with no query, fragment or credentials, received ".*\?stage=prod"/],
    ['http://broker.example.com', /issuer: expected an https URL \(http only on loopback\).*received "http:\/\/broker.example.com"/],
    [`${ISSUER}/#frag`, /issuer: .*received ".*#frag"/],
    ['https://user@broker.example.com', /issuer: .*credentials, received "https:\/\/user@broker.example.com"/],
    ['https://:pw@broker.example.com', /issuer: .*credentials, received "https:\/\/:pw@broker.example.com"/],
    ['ftp://broker.example.com', /issuer: .*received "ftp:\/\/broker.example.com"/],
  ])('refuses %s with a TypeError naming the value', (value, message) => {
    expect(() => normaliseIssuer(value)).toThrow(TypeError);
    expect(() => normaliseIssuer(value)).toThrow(message);
  });
});
