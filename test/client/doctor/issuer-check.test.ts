import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkIssuer, type Finding } from '../../../client/doctor/issuer-check';
import { startOutboundFederation } from '../../../local/sts-outbound/outbound-federation';
import { publicJwk, startFakeIssuer, type FakeIssuer } from '../../support/fake-issuer';
import { rsaKeyPair } from '../../support/rsa-keys';

const KID = 'active-key';
let issuer: FakeIssuer;
let goodKey: Record<string, unknown>;
let deadUrl: string;

beforeAll(async () => {
  goodKey = publicJwk(rsaKeyPair().publicKey, KID);
  issuer = await startFakeIssuer([goodKey]);
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => dead.close(() => resolve()));
});

afterAll(async () => {
  await issuer?.close();
});

beforeEach(() => {
  issuer.discovery = {};
  issuer.jwks = {};
  issuer.keys = [goodKey];
  issuer.discoveryIssuer = undefined;
  issuer.jwksUri = undefined;
});

const problems = (findings: readonly Finding[]) => findings.filter((f) => f.level === 'problem').map((f) => `${f.subject}: ${f.message}`);
const warnings = (findings: readonly Finding[]) => findings.filter((f) => f.level === 'warning').map((f) => `${f.subject}: ${f.message}`);
const LOOPBACK_WARNING = /is http:\/\/ on a loopback host: fine for the local runtime and the Entra emulator/;

describe('checkIssuer: an issuer Entra would accept', () => {
  it('accepts a correct issuer with a warning for each loopback http URL, and reports its key and the credential', async () => {
    const report = await checkIssuer({ issuer: issuer.url });
    expect(problems(report.findings)).toStrictEqual([]);
    expect(warnings(report.findings)).toHaveLength(2); // the issuer and the jwks_uri are loopback http
    expect(warnings(report.findings)[0]).toMatch(LOOPBACK_WARNING);
    expect(report).toMatchObject({
      accepted: true,
      keys: [{ kid: KID, modulusBits: 2048 }],
      credential: { issuer: issuer.url, subject: 'aws-token-broker', audience: 'api://AzureADTokenExchange' },
    });
  });

  it('warns about a slow answer and still accepts', async () => {
    // The clock advances by a fixed step per reading: each fetch (read before and after) takes that step.
    let now = 0;
    const report = await checkIssuer({ issuer: issuer.url, now: () => (now += 700) });
    expect(report.accepted).toBe(true);
    expect(warnings(report.findings).filter((w) => /took \d+ ms/.test(w))).toHaveLength(0);
    let slow = 0;
    const slowReport = await checkIssuer({ issuer: issuer.url, now: () => (slow += 1500) });
    expect(slowReport.accepted).toBe(true);
    expect(warnings(slowReport.findings)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^discovery: GET .*openid-configuration took 1500 ms; Entra reads it on a token request/),
      ]),
    );
  });
});

describe('checkIssuer: the issuer URL', () => {
  it('refuses http on a public host, without fetching anything', async () => {
    const report = await checkIssuer({ issuer: 'http://issuer.example.com' });
    expect(problems(report.findings)).toStrictEqual([
      'issuer: expected an https:// URL (Entra fetches the discovery document over TLS), received "http://issuer.example.com"',
    ]);
    expect(report.accepted).toBe(false);
  });

  it('refuses whitespace around the issuer, a query, and an issuer, subject or audience over 600 characters', async () => {
    expect(problems((await checkIssuer({ issuer: ` ${issuer.url}` })).findings)).toStrictEqual([
      `issuer: expected no leading or trailing whitespace (Entra blocks such an issuer), received " ${issuer.url}"`,
    ]);
    expect(problems((await checkIssuer({ issuer: `${issuer.url}?a=1` })).findings)[0]).toMatch(
      /expected no query, fragment or credentials, received/,
    );
    const long = await checkIssuer({ issuer: issuer.url, subject: 's'.repeat(601), audience: '' });
    expect(problems(long.findings)).toStrictEqual([
      'subject: the subject is 601 characters long; Entra allows at most 600',
      'audience: the audience is empty; Entra requires one',
    ]);
    expect(problems((await checkIssuer({ issuer: `https://example.com/${'x'.repeat(600)}`, timeoutMs: 1 })).findings)[0]).toMatch(
      /^issuer: expected at most 600 characters \(Entra's limit\), received 620$/,
    );
  });
});

describe('checkIssuer: the discovery document', () => {
  it('names a trailing-slash difference between the document and the URL', async () => {
    issuer.discoveryIssuer = `${issuer.url}/`;
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)).toStrictEqual([
      `discovery: "issuer" is "${issuer.url}/" but the URL is "${issuer.url}": they differ by a trailing slash (Entra compares them byte for byte; use the same spelling in the issuer URL, the document and the credential)`,
    ]);
  });

  it('names a case difference, and any other difference', async () => {
    issuer.discoveryIssuer = issuer.url.toUpperCase();
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)[0]).toMatch(/they differ in upper\/lower case/);
    issuer.discoveryIssuer = 'https://elsewhere.example.com';
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)[0]).toMatch(/the document must name the URL it is served under/);
    issuer.discoveryIssuer = undefined;
    issuer.discovery = { body: { jwks_uri: `${issuer.url}/jwks` } };
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)[0]).toMatch(/the discovery document has no "issuer"/);
  });

  it('reads {issuer}/.well-known/openid-configuration without the trailing slash of an issuer that has one', async () => {
    issuer.discoveryIssuer = `${issuer.url}/`;
    const report = await checkIssuer({ issuer: `${issuer.url}/` });
    expect(problems(report.findings)).toStrictEqual([]);
  });

  it.each([
    [{ status: 404 }, /answered HTTP 404; Entra needs 200/],
    [
      { status: 302, headers: { location: 'https://elsewhere.example.com/doc' } },
      /answered HTTP 302 \(to https:\/\/elsewhere\.example\.com\/doc\): serve the document at this URL, without a redirect/,
    ],
    [{ contentType: 'text/plain' }, /answered Content-Type "text\/plain"; serve it as application\/json/],
    [{ body: '<html>not json</html>', contentType: 'text/html' }, /did not answer JSON/],
    [{ body: '[1,2]' }, /did not answer a JSON object/],
  ])('refuses a discovery answer that is not a JSON document at its URL: %o', async (document, message) => {
    issuer.discovery = document;
    const report = await checkIssuer({ issuer: issuer.url });
    expect(report.accepted).toBe(false);
    expect(problems(report.findings).join('\n')).toMatch(message);
  });

  it('refuses an issuer nothing answers at, and one that never answers (timeout)', async () => {
    expect(problems((await checkIssuer({ issuer: deadUrl })).findings)[0]).toMatch(
      new RegExp(`^discovery: GET ${deadUrl}/\\.well-known/openid-configuration: failed \\(fetch failed: .*\\); Entra must reach it$`),
    );
    issuer.discovery = { hang: true };
    expect(problems((await checkIssuer({ issuer: issuer.url, timeoutMs: 200 })).findings)[0]).toMatch(
      /no answer within 200 ms; Entra must reach it/,
    );
  });

  it('refuses a missing or unreachable jwks_uri, and one on http for a public host', async () => {
    issuer.discovery = { body: { issuer: issuer.url } };
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)[0]).toMatch(/has no "jwks_uri": Entra finds the keys there/);
    issuer.discovery = {};
    issuer.jwksUri = `${deadUrl}/jwks`;
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)[0]).toMatch(new RegExp(`^jwks: GET ${deadUrl}/jwks: failed`));
    issuer.jwksUri = 'http://keys.example.com/jwks';
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)[0]).toMatch(
      /jwks_uri http:\/\/keys\.example\.com\/jwks must be an https:\/\/ URL/,
    );
  });
});

describe('checkIssuer: the keys', () => {
  const keyProblems = async (keys: unknown[]) => {
    issuer.keys = keys;
    return problems((await checkIssuer({ issuer: issuer.url })).findings);
  };

  it('names each RSA signing key Entra could not use, and why', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const found = await keyProblems([
      goodKey,
      { ...goodKey, kid: undefined },
      publicJwk(small, 'small'),
      { ...goodKey, kid: 'no-n', n: undefined },
      'not an object',
    ]);
    expect(found).toStrictEqual([
      'key #2: has no "kid": Entra finds the signing key by the assertion\'s kid',
      'key small: has a 1024-bit modulus; use at least 2048 bits',
      'key no-n: has no valid "n" and "e" (base64url): the RSA public key is incomplete',
      'key #5: is not a JSON object',
    ]);
  });

  it('warns about keys Entra never uses for RS256 (other types, algorithms, uses) and accepts the issuer for its RSA key', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    issuer.keys = [
      { ...ec, kid: 'es384', alg: 'ES384', use: 'sig' },
      goodKey,
      { ...goodKey, kid: 'enc', use: 'enc' },
      { ...goodKey, kid: 'rs512', alg: 'RS512' },
    ];
    const report = await checkIssuer({ issuer: issuer.url });
    expect(problems(report.findings)).toStrictEqual([]);
    expect(warnings(report.findings).filter((w) => w.startsWith('key '))).toStrictEqual([
      'key es384: has "kty" "EC": Entra verifies RS256 assertions with RSA signing keys only, so it never uses this key (fine next to one it does use)',
      'key enc: has "use" "enc": Entra verifies RS256 assertions with RSA signing keys only, so it never uses this key (fine next to one it does use)',
      'key rs512: has "alg" "RS512": Entra verifies RS256 assertions with RSA signing keys only, so it never uses this key (fine next to one it does use)',
    ]);
    expect(report).toMatchObject({ accepted: true, keys: [{ kid: KID, modulusBits: 2048 }] });
    // Without the RSA key, nothing is left for Entra.
    issuer.keys = [{ ...ec, kid: 'es384', alg: 'ES384', use: 'sig' }];
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)).toStrictEqual([
      `jwks: ${issuer.url}/jwks publishes no key Entra can verify an RS256 assertion with`,
    ]);
  });

  it("accepts AWS STS's outbound-federation issuer (the local stand-in): its RS256 key, with its ES384 key a warning", async () => {
    const roleArn = 'arn:aws:iam::123456789012:role/broker-token';
    const standIn = await startOutboundFederation({
      roleArn,
      credentials: { accessKeyId: 'ASIALOCALDOCTOR00000', secretAccessKey: 'local-secret' },
      region: 'eu-west-1',
    });
    try {
      const report = await checkIssuer({ issuer: standIn.url, subject: roleArn });
      const jwks = (await (await fetch(`${standIn.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string; kty: string }[] };
      const rsa = jwks.keys.find((key) => key.kty === 'RSA');
      const ecKey = jwks.keys.find((key) => key.kty === 'EC');
      expect(problems(report.findings)).toStrictEqual([]);
      expect(warnings(report.findings)).toStrictEqual([
        expect.stringMatching(/^issuer: the issuer http:\/\/127\.0\.0\.1:\d+ is http:\/\/ on a loopback host/),
        expect.stringMatching(/^jwks: jwks_uri http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json is http:\/\/ on a loopback host/),
        `key ${ecKey?.kid ?? ''}: has "kty" "EC": Entra verifies RS256 assertions with RSA signing keys only, so it never uses this key (fine next to one it does use)`,
      ]);
      expect(report).toMatchObject({
        accepted: true,
        keys: [{ kid: rsa?.kid, modulusBits: 2048 }],
        credential: { issuer: standIn.url, subject: roleArn, audience: 'api://AzureADTokenExchange' },
      });
    } finally {
      await standIn.close();
    }
  });

  it('refuses duplicate kids and more than 100 keys; warns about a key without use', async () => {
    expect(await keyProblems([goodKey, goodKey])).toStrictEqual([`key ${KID}: appears twice: each "kid" must name one key`]);
    const many = Array.from({ length: 101 }, (_, i) => ({ ...goodKey, kid: `k${i}` }));
    expect((await keyProblems(many))[0]).toMatch(/publishes 101 keys; Entra looks at the first 100 only: remove retired keys/);
    issuer.keys = [{ ...goodKey, use: undefined }];
    const report = await checkIssuer({ issuer: issuer.url });
    expect(report.accepted).toBe(true);
    expect(warnings(report.findings)).toContain(`key ${KID}: has no "use"; Entra expects "sig" on a signing key`);
  });

  it('refuses a JWKS without a usable key or without "keys"', async () => {
    expect(await keyProblems([])).toStrictEqual([`jwks: ${issuer.url}/jwks publishes no key Entra can verify an RS256 assertion with`]);
    issuer.jwks = { body: { notKeys: [] } };
    expect(problems((await checkIssuer({ issuer: issuer.url })).findings)).toStrictEqual([`jwks: ${issuer.url}/jwks has no "keys" array`]);
  });
});
