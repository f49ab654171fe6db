import { describe, expect, it } from 'vitest';
import { checkAuthorityHost, checkBrokerBaseUrl, checkIssuerUrl, checkServiceEndpoint, isLoopbackHost } from '../../contract/url-policy';

const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';

describe('checkIssuerUrl', () => {
  it.each([ISSUER, 'https://Broker.Example.com/prod', 'https://broker.example.com:8443/a/b'])('keeps %s byte for byte', (value) => {
    expect(checkIssuerUrl(value)).toStrictEqual({ ok: true, value });
  });

  it('accepts http:// on loopback only when the caller allows it (the local runtime)', () => {
    expect(checkIssuerUrl('http://127.0.0.1:8787', { allowLoopbackHttp: true })).toStrictEqual({
      ok: true,
      value: 'http://127.0.0.1:8787',
    });
    expect(checkIssuerUrl('http://127.0.0.1:8787')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/loopback hosts in the local runtime/),
    });
    expect(checkIssuerUrl('http://broker.example.com', { allowLoopbackHttp: true })).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/expected an https:\/\/ URL .*received "http:\/\/broker.example.com"/),
    });
  });

  it.each([
    [`${ISSUER}/`, /no trailing slash .*byte for byte.*received "https:\/\/abc123/],
    ['https://broker.example.com/prod/', /no trailing slash/],
    ['not a url', /expected an absolute https:\/\/ URL, received "not a url"/],
    [`${ISSUER}?stage=prod`, /no query, fragment or credentials, received ".*\?stage=prod"/],
    [`${ISSUER}#frag`, /no query, fragment or credentials/],
    ['https://user@broker.example.com', /credentials, received "https:\/\/user@broker.example.com"/],
    ['ftp://broker.example.com', /expected an https:\/\/ URL/],
    [`https://broker.example.com/${'a'.repeat(600)}`, /at most 600 characters \(Entra's limit\), received 627/],
    [42, /received 42/],
    [` ${ISSUER}`, /expected no leading or trailing whitespace \(Entra blocks such an issuer\), received " https:/],
    [`${ISSUER}\n`, /expected no leading or trailing whitespace/],
  ])('refuses %s, naming the value', (value, problem) => {
    const check = checkIssuerUrl(value);
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.problem).toMatch(problem);
  });
});

describe('checkIssuerUrl for issuers other than the broker (broker-doctor)', () => {
  it('accepts a trailing slash only when asked: AKS and Entra v1 issuers end with one', () => {
    const aks = 'https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/';
    expect(checkIssuerUrl(aks, { allowTrailingSlash: true })).toStrictEqual({ ok: true, value: aks });
    expect(checkIssuerUrl(aks).ok).toBe(false);
    expect(checkIssuerUrl(` ${aks}`, { allowTrailingSlash: true }).ok).toBe(false);
  });
});

describe('checkAuthorityHost', () => {
  it('normalises to the origin: the host is only ever called, never compared', () => {
    expect(checkAuthorityHost('https://login.microsoftonline.us/')).toStrictEqual({ ok: true, value: 'https://login.microsoftonline.us' });
    expect(checkAuthorityHost('http://localhost:8788', { allowLoopbackHttp: true })).toStrictEqual({
      ok: true,
      value: 'http://localhost:8788',
    });
  });

  it.each([
    ['https://login.microsoftonline.com/tenant', /bare origin with no path/],
    ['http://login.microsoftonline.com', /expected an https:\/\/ URL/],
    ['login.microsoftonline.com', /expected a URL such as https:\/\/login.microsoftonline.com/],
  ])('refuses %s', (value, problem) => {
    const check = checkAuthorityHost(value);
    expect(check.ok ? '' : check.problem).toMatch(problem);
  });
});

describe('checkBrokerBaseUrl', () => {
  it('drops trailing slashes and keeps a base path', () => {
    expect(checkBrokerBaseUrl('https://broker.example.com/prod/')).toStrictEqual({ ok: true, value: 'https://broker.example.com/prod' });
    expect(checkBrokerBaseUrl(`${ISSUER}/`)).toStrictEqual({ ok: true, value: ISSUER });
  });

  it('allows http:// only on loopback: elsewhere the token would cross the network in clear', () => {
    expect(checkBrokerBaseUrl('http://[::1]:8787').ok).toBe(true);
    const check = checkBrokerBaseUrl('http://broker.internal:8787');
    expect(check.ok ? '' : check.problem).toMatch(
      /https:\/\/ URL \(the answer carries an access token\), received "http:\/\/broker.internal:8787"/,
    );
  });
});

describe('checkServiceEndpoint', () => {
  it('accepts a bare http(s) origin on any host', () => {
    expect(checkServiceEndpoint('http://dynamodb:8000/')).toStrictEqual({ ok: true, value: 'http://dynamodb:8000' });
    expect(checkServiceEndpoint('ftp://x').ok).toBe(false);
    expect(checkServiceEndpoint('http://x/path').ok).toBe(false);
  });
});

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(['example.com', '10.0.0.1', '128.0.0.1', 'localhost.example.com', '0.0.0.0'])('%s is not', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
