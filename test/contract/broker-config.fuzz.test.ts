/**
 * Property-based fuzz of the configuration schema (the README's "Configure" and docs/local-runtime.md):
 * `validateBrokerConfig` / `parseBrokerConfig` and `parseLocalConfig`, with arbitrary values and with
 * valid configurations that have exactly one field broken. Seeds are fixed; fast-check prints the seed and
 * the shrunk input of a failure.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseBrokerConfig,
  parseRuntimeConfig,
  runtimeConfigJson,
  validateBrokerConfig,
  type BrokerConfig,
  type ConfigParseOptions,
} from '../../contract/broker-config';
import { ConfigError, describeValue } from '../../contract/config-error';
import { AWS_REGION_PATTERN } from '../../contract/aws-region';
import { checkIssuerUrl } from '../../contract/url-policy';
import { parseLocalConfig, type LocalConfig } from '../../local/runtime/local-config';

/** The contract's own patterns (as the docs state them), written out rather than imported from the code under test. */
const ALIAS = /^[a-z0-9][a-z0-9-]{0,62}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOP_LEVEL = [
  'tenantId',
  'clientId',
  'scopes',
  'authorityHost',
  'audience',
  'subject',
  'assertionLifetimeSeconds',
  'refreshMarginSeconds',
  'throttlingRateLimit',
  'throttlingBurstLimit',
  'publicThrottlingRateLimit',
  'publicThrottlingBurstLimit',
  'tokenReservedConcurrency',
];
const LOCAL = ['issuer', 'signingKeyFile', 'sealingKeyFile', 'dynamodbEndpoint', 'tableName', 'region', 'localCredentials'];
const RUNS = 1000;

// ---------------------------------------------------------------------------------------------------------------
// Checks on an accepted configuration

const isLoopback = (hostname: string) => hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);

/** What the docs promise about a configuration the validator accepted. */
function expectWithinContract({ runtime: config, deployment }: BrokerConfig, allowLoopbackHttp: boolean): void {
  expect(config.tenantId).toEqual(expect.any(String));
  expect(['common', 'organizations', 'consumers']).not.toContain(config.tenantId.toLowerCase());
  expect(config.clientId).toMatch(GUID);
  const aliases = Object.keys(config.scopes);
  expect(aliases.length).toBeGreaterThanOrEqual(1);
  for (const alias of aliases) {
    const scope = config.scopes[alias]!;
    expect(alias).toMatch(ALIAS);
    expect(scope.alias).toBe(alias);
    expect(scope.scope).toMatch(/^\S+\/\.default$/);
    expect(scope.clientId).toMatch(GUID);
    expect(['common', 'organizations', 'consumers']).not.toContain(scope.tenantId.toLowerCase());
  }
  expect(config.assertionLifetimeSeconds).toSatisfy((n: number) => Number.isInteger(n) && n >= 60 && n <= 600);
  expect(config.refreshMarginSeconds).toSatisfy((n: number) => Number.isInteger(n) && n >= 0);
  expect(deployment.throttlingRateLimit).toSatisfy((n: number) => Number.isInteger(n) && n >= 1);
  expect(deployment.throttlingBurstLimit).toSatisfy((n: number) => Number.isInteger(n) && n >= 1);
  expect(deployment.publicThrottlingRateLimit).toSatisfy((n: number) => Number.isInteger(n) && n >= 1 && n <= 10_000);
  expect(deployment.publicThrottlingBurstLimit).toSatisfy((n: number) => Number.isInteger(n) && n >= 1 && n <= 5000);
  expect(deployment.tokenReservedConcurrency).toSatisfy((n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 1));
  for (const field of [config.audience, config.subject])
    expect(field).toSatisfy((s: string) => s.length > 0 && s.length <= 600 && s.trim() === s);

  // A bare origin: what `{authorityHost}/{tenant}/oauth2/v2.0/token` is built on.
  expect(config.authorityHost).not.toMatch(/\/$/);
  const url = new URL(config.authorityHost);
  expect(url.origin).toBe(config.authorityHost);
  if (url.protocol !== 'https:') {
    expect(url.protocol).toBe('http:');
    expect(allowLoopbackHttp && isLoopback(url.hostname), `http authority ${config.authorityHost}`).toBe(true);
  }
}

/**
 * Strict deep equality, by node:util: Vitest's toStrictEqual also compares `.constructor`, which is an own
 * property (the alias's entry) when an alias is named "constructor".
 */
function expectSame(actual: unknown, expected: unknown): void {
  if (isDeepStrictEqual(actual, expected)) return;
  expect(actual).toEqual(expected);
  throw new Error('equal, but not strictly (prototypes or undefined fields differ)');
}

/** The token function re-reads the configuration from `runtimeConfigJson`: it must come back the same. */
function expectRoundTrip(config: BrokerConfig, options: ConfigParseOptions): void {
  expectSame(parseRuntimeConfig(JSON.parse(runtimeConfigJson(config.runtime)), options), config.runtime);
}

function expectLocalWithinContract(config: LocalConfig): void {
  expectWithinContract(config.broker, true);
  expectRoundTrip(config.broker, { allowLoopbackHttp: true });
  expect(config.region).toMatch(AWS_REGION_PATTERN);
  // Open mode (no SigV4 check) only in front of a loopback emulator, never real Entra.
  if (config.localCredentials === undefined) expect(isLoopback(new URL(config.broker.runtime.authorityHost).hostname)).toBe(true);
  expect(config.tableName).toMatch(/^[A-Za-z0-9_.-]{3,255}$/);
  if (config.issuer !== undefined) {
    expect(config.issuer).not.toMatch(/\/$/);
    // An accepted issuer passes the one issuer policy unchanged.
    expect(checkIssuerUrl(config.issuer, { allowLoopbackHttp: true })).toStrictEqual({ ok: true, value: config.issuer });
  }
  if (config.dynamodbEndpoint !== undefined) expect(['http:', 'https:']).toContain(new URL(config.dynamodbEndpoint).protocol);
  if (config.localCredentials !== undefined) {
    expect(Object.keys(config.localCredentials).sort()).toEqual(['accessKeyId', 'secretAccessKey']);
  }
}

/** The field path a problem line starts with: the text before its first `: `. */
const pathOf = (problem: string) => problem.slice(0, problem.indexOf(': '));

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries: valid values

const guid = fc.tuple(fc.uuid(), fc.boolean()).map(([id, upper]) => (upper ? id.toUpperCase() : id));
const domain = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/),
    fc.constantFrom('onmicrosoft.com', 'contoso.com', 'example.co.uk', 'partner.io'),
  )
  .map(([label, rest]) => `${label}.${rest}`);
const tenant = fc.oneof(guid, domain);
const alias = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(ALIAS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'graph',
      'constructor',
      'tostring',
      'valueof',
      'hasownproperty',
      'a',
      '0',
      'a'.repeat(63),
      'x-'.repeat(31) + 'x',
    ),
  },
);
const scopeString = fc.oneof(
  fc.constantFrom(
    'https://graph.microsoft.com/.default',
    'https://storage.azure.com/.default',
    'api://partner-api/.default',
    'https://management.azure.com//.default',
  ),
  fc.stringMatching(/^[!-~]{1,60}\/\.default$/),
  guid.map((id) => `api://${id}/.default`),
);
const scopeEntry = fc.oneof(
  { weight: 3, arbitrary: scopeString },
  {
    weight: 2,
    arbitrary: fc.record({ scope: scopeString, tenantId: tenant, clientId: guid }, { requiredKeys: ['scope'], noNullPrototype: true }),
  },
);
const trimmedText = fc.oneof(
  fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && s.length <= 600),
  fc.constantFrom('api://AzureADTokenExchange', 'aws-token-broker', 'x'.repeat(600), 'a b'),
);
const authorityHost = (allowLoopbackHttp: boolean) =>
  fc.constantFrom(
    'https://login.microsoftonline.com',
    'https://login.microsoftonline.us/',
    'https://login.chinacloudapi.cn',
    'https://LOGIN.Example.com:8443',
    'https://login.example.com:443/',
    'https://xn--bcher-kva.example',
    'https://bücher.example',
    ...(allowLoopbackHttp ? ['http://127.0.0.1:9000', 'http://localhost:1', 'http://[::1]:9000/', 'http://127.9.8.7'] : []),
  );

/** A valid broker configuration, optional fields present or not. */
const brokerConfig = (allowLoopbackHttp: boolean) =>
  fc.record(
    {
      tenantId: tenant,
      clientId: guid,
      scopes: fc.dictionary(alias, scopeEntry, { minKeys: 1, maxKeys: 4, noNullPrototype: true }),
      authorityHost: authorityHost(allowLoopbackHttp),
      audience: trimmedText,
      subject: trimmedText,
      assertionLifetimeSeconds: fc.integer({ min: 60, max: 600 }),
      refreshMarginSeconds: fc.integer({ min: 0, max: 1800 }),
      throttlingRateLimit: fc.integer({ min: 1, max: 10_000 }),
      throttlingBurstLimit: fc.integer({ min: 1, max: 5000 }),
      publicThrottlingRateLimit: fc.integer({ min: 1, max: 10_000 }),
      publicThrottlingBurstLimit: fc.integer({ min: 1, max: 5000 }),
      tokenReservedConcurrency: fc.integer({ min: 1, max: 1000 }),
    },
    { requiredKeys: ['tenantId', 'clientId', 'scopes'], noNullPrototype: true },
  );

const secret = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+'),
  minLength: 24,
  maxLength: 40,
});
const localFields = fc.record(
  {
    issuer: fc.constantFrom(
      'http://127.0.0.1:8787',
      'http://localhost:9',
      'https://broker.example.com',
      'https://abc123.execute-api.us-east-1.amazonaws.com',
      'https://x.example/base',
    ),
    signingKeyFile: fc.constantFrom('/tmp/key.pem', 'keys/signing.pem', 'C:\\keys\\k.pem'),
    sealingKeyFile: fc.constantFrom('/tmp/sealing-key', 'keys/sealing', 'C:\\keys\\sealing'),
    dynamodbEndpoint: fc.constantFrom('http://127.0.0.1:8000', 'http://dynamodb:8000/', 'https://dynamodb.us-east-1.amazonaws.com'),
    tableName: fc.stringMatching(/^[A-Za-z0-9_.-]{3,40}$/),
    region: fc.oneof(
      fc.constantFrom('us-east-1', 'eu-central-1', 'us-gov-west-1', 'ap-southeast-2'),
      fc.stringMatching(/^[a-z]{2}(-[a-z]{1,9}){1,2}-\d$/),
    ),
    localCredentials: fc.record(
      { accessKeyId: fc.stringMatching(/^AKIA[A-Z0-9]{16}$/), secretAccessKey: secret },
      { noNullPrototype: true },
    ),
  },
  { requiredKeys: [], noNullPrototype: true },
);

const someCredentials = fc.record(
  { accessKeyId: fc.stringMatching(/^AKIA[A-Z0-9]{16}$/), secretAccessKey: secret },
  { noNullPrototype: true },
);

/**
 * A valid local configuration: the broker's and the local fields, with credentials whenever the authority is not a
 * loopback emulator (the runtime refuses open mode in front of real Entra).
 */
const validLocal = fc.tuple(brokerConfig(true), localFields, someCredentials).map(([broker, local, credentials]) => {
  const authority = (broker as { authorityHost?: unknown }).authorityHost;
  const loopbackAuthority = typeof authority === 'string' && isLoopback(new URL(authority).hostname);
  const needsCredentials = local.localCredentials === undefined && !loopbackAuthority;
  return { broker, local: needsCredentials ? { ...local, localCredentials: credentials } : local };
});

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries: one broken field

interface Broken {
  readonly raw: Record<string, unknown>;
  /** The field path every problem line must start with. */
  readonly path: string;
  /** The value the problem must quote, when the field's message quotes one. */
  readonly quoted?: unknown;
}

const notString = fc.anything().filter((value) => typeof value !== 'string' && value !== undefined);
const notObject = fc
  .anything()
  .filter((value) => value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value)));
const notInteger = (min: number, max: number) =>
  fc.oneof(
    fc.constantFrom(min - 1, max + 1, min + 0.5, Number.NaN, Number.POSITIVE_INFINITY, -0.1, null, true, '300', [300]),
    fc.integer().filter((n) => n < min || n > max),
    fc.double().filter((n) => !Number.isInteger(n)),
  );
const badTenant = fc.oneof(
  notString,
  fc.constantFrom(
    'common',
    'Organizations',
    'CONSUMERS',
    '',
    'not a tenant',
    'contoso',
    ' contoso.com',
    'contoso.com ',
    'a..b.com',
    '-a.com',
    'a.b',
    'x.123',
  ),
  guid.map((id) => `{${id}}`),
  guid.map((id) => `${id}0`),
);
const badGuid = fc.oneof(
  notString,
  fc.constantFrom('', 'app-123', 'contoso.onmicrosoft.com'),
  guid.map((id) => id.slice(1)),
  guid.map((id) => ` ${id}`),
  guid.map((id) => id.replace(/-/g, '')),
);
const badScope = fc.oneof(
  notString,
  fc.constantFrom(
    'https://graph.microsoft.com',
    'https://graph.microsoft.com/.default ',
    ' x/.default',
    'a b/.default',
    '/.default',
    'x/.DEFAULT',
    'x/.default/',
    '',
    `${'x'.repeat(1020)}/.default`,
  ),
);
const badAlias = fc.oneof(
  fc.constantFrom('Graph', 'GRAPH', '-graph', 'a_b', '', 'a'.repeat(64), 'graph.', '__proto__', 'gräph', 'a b', 'graph/x', '%67raph'),
  fc.string({ maxLength: 70 }).filter((s) => !ALIAS.test(s)),
);
const badAuthority = (allowLoopbackHttp: boolean) =>
  fc.oneof(
    notString,
    fc.constantFrom(
      'http://login.microsoftonline.com',
      'ftp://login.example.com',
      'login.microsoftonline.com',
      'https://login.example.com/common',
      'https://login.example.com?x=1',
      'https://login.example.com#f',
      'https://user:pw@login.example.com',
      'http://127.0.0.1.nip.io',
      'http://localhost.example.com',
      '',
      'https://',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'http://[::2]:9000',
      ...(allowLoopbackHttp ? [] : ['http://127.0.0.1:9000', 'http://localhost:1', 'http://[::1]:9000']),
    ),
  );
const badCredentialField = fc.oneof(notString, fc.constantFrom('', ' x', 'x ', '\tx', 'x\n', 'x'.repeat(601)));
const unknownField = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,15}$/).filter((name) => !TOP_LEVEL.includes(name) && !LOCAL.includes(name));

/** One top-level broker field broken; the rest of a valid configuration untouched. */
const brokenTopLevel = (allowLoopbackHttp: boolean) =>
  fc
    .tuple(
      brokerConfig(allowLoopbackHttp),
      fc.oneof(
        badTenant.map((value) => ({ path: 'tenantId', value, quoted: value })),
        badGuid.map((value) => ({ path: 'clientId', value, quoted: value })),
        notObject.map((value) => ({ path: 'scopes', value, quoted: value })),
        fc.constant({ path: 'scopes', value: {}, quoted: {} }),
        badAuthority(allowLoopbackHttp).map((value) => ({ path: 'authorityHost', value, quoted: value })),
        badCredentialField.map((value) => ({ path: 'audience', value, quoted: value })),
        badCredentialField.map((value) => ({ path: 'subject', value, quoted: value })),
        notInteger(60, 600).map((value) => ({ path: 'assertionLifetimeSeconds', value, quoted: value })),
        notInteger(0, 1800).map((value) => ({ path: 'refreshMarginSeconds', value, quoted: value })),
        notInteger(1, 10_000).map((value) => ({ path: 'throttlingRateLimit', value, quoted: value })),
        notInteger(1, 5000).map((value) => ({ path: 'throttlingBurstLimit', value, quoted: value })),
        notInteger(1, 10_000).map((value) => ({ path: 'publicThrottlingRateLimit', value, quoted: value })),
        notInteger(1, 5000).map((value) => ({ path: 'publicThrottlingBurstLimit', value, quoted: value })),
        notInteger(1, 1000).map((value) => ({ path: 'tokenReservedConcurrency', value, quoted: value })),
        fc.tuple(unknownField, fc.anything()).map(([name, value]) => ({ path: name, value, quoted: undefined })),
      ),
    )
    .map(([config, { path, value, quoted }]): Broken => ({ raw: { ...config, [path]: value }, path, quoted }));

/** One alias, or one field of one alias, broken. */
const brokenScope = (allowLoopbackHttp: boolean) =>
  fc.tuple(brokerConfig(allowLoopbackHttp), fc.nat(), fc.nat()).chain(([config, pick, variant]) => {
    const aliases = Object.keys(config.scopes);
    const target = aliases[pick % aliases.length]!;
    const entry = config.scopes[target]!;
    const objectForm = typeof entry === 'string' ? { scope: entry } : entry;
    const withEntry = (value: unknown): Record<string, unknown> => {
      // defineProperty: the alias may be "__proto__", which must be an own key, as JSON.parse makes it.
      const scopes: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(config.scopes))
        Object.defineProperty(scopes, key, { value: inner, enumerable: true, writable: true, configurable: true });
      Object.defineProperty(scopes, target, { value, enumerable: true, writable: true, configurable: true });
      return { ...config, scopes };
    };
    const where = `scopes.${target}`;
    switch (variant % 6) {
      case 0:
        return badAlias.map((bad): Broken => {
          const scopes: Record<string, unknown> = {};
          for (const [key, inner] of Object.entries(config.scopes)) if (key !== target) scopes[key] = inner;
          Object.defineProperty(scopes, bad, { value: entry, enumerable: true, writable: true });
          return { raw: { ...config, scopes }, path: 'scopes', quoted: bad };
        });
      case 1:
        return fc
          .oneof(
            badScope.filter((v) => typeof v === 'string'),
            notObject.filter((v) => typeof v !== 'string'),
          )
          .map((bad): Broken => ({ raw: withEntry(bad), path: where, quoted: bad }));
      case 2:
        return badScope.map((bad): Broken => ({ raw: withEntry({ ...objectForm, scope: bad }), path: `${where}.scope`, quoted: bad }));
      case 3:
        return badTenant.map((bad): Broken => ({
          raw: withEntry({ ...objectForm, tenantId: bad }),
          path: `${where}.tenantId`,
          quoted: bad,
        }));
      case 4:
        return badGuid.map((bad): Broken => ({ raw: withEntry({ ...objectForm, clientId: bad }), path: `${where}.clientId`, quoted: bad }));
      default:
        return fc
          .tuple(
            unknownField.filter((k) => !['scope', 'tenantId', 'clientId'].includes(k)),
            fc.anything(),
          )
          .map(([key, value]): Broken => ({ raw: withEntry({ ...objectForm, [key]: value }), path: `${where}.${key}` }));
    }
  });

/** One local-only field broken, in an otherwise valid local configuration. */
const brokenLocal = fc.tuple(validLocal, fc.nat()).chain(([{ broker: config, local }, variant]) => {
  const raw = { ...config, ...local };
  const field = (path: string, bad: fc.Arbitrary<unknown>, quotes = true) =>
    bad.map((value): Broken => ({ raw: { ...raw, [path]: value }, path, quoted: quotes ? value : undefined }));
  switch (variant % 7) {
    case 0:
      return field(
        'issuer',
        fc.oneof(
          notString,
          fc.constantFrom(
            'ftp://x.example',
            'http://broker.example.com',
            'https://x.example?q=1',
            'https://x.example#f',
            'not a url',
            '',
            'http://127.0.0.1.nip.io',
            'https://x.example/',
          ),
          fc.constantFrom('https://user:pw@broker.example.com', 'http://me@127.0.0.1:8787'),
        ),
      );
    case 1:
      return field('signingKeyFile', fc.oneof(notString, fc.constant('')));
    case 2:
      return field('dynamodbEndpoint', fc.oneof(notString, fc.constantFrom('ftp://x', 'https://x.example?q', 'x', '', 'dynamodb:8000')));
    case 3:
      return field('tableName', fc.oneof(notString, fc.constantFrom('ab', 'a b c', 'x'.repeat(256), '', 'tab/le')));
    case 4:
      return field(
        'region',
        fc.oneof(notString, fc.constantFrom('US-EAST-1', 'useast1', 'us-east', '', 'us-east-1 ', 'us_east_1', 'evil.example/x-1')),
      );
    case 5:
      return field('sealingKeyFile', fc.oneof(notString, fc.constant('')));
    default:
      return field('localCredentials', badCredentials, false);
  }
});

/** Malformed `localCredentials`, each holding a recognisable secret somewhere. */
const badCredentials = secret.chain((key) =>
  fc.constantFrom<unknown>(
    key,
    [key],
    { accessKeyId: 'AKIAFUZZ', secretAccessKey: key, sessionToken: 'x' },
    { accessKeyId: 'AKIAFUZZ', secretKey: key },
    { accessKeyId: '', secretAccessKey: key },
    { accessKeyId: 42, secretAccessKey: key },
    { secretAccessKey: key },
    { accessKeyId: key, secretAccessKey: '' },
    { accessKeyId: 'AKIAFUZZ', secretAccessKey: [key] },
    { accessKeyId: 'AKIAFUZZ', secretAccessKey: { value: key } },
    null,
  ),
);

// ---------------------------------------------------------------------------------------------------------------
// Properties

/** Calls `parse` and returns what it threw, failing the property on anything but a ConfigError. */
function configErrorOf(parse: () => unknown): ConfigError | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw new Error(`threw ${String(error)} instead of a ConfigError`, { cause: error });
    return error;
  }
}

function expectOneBrokenField(problems: readonly string[], broken: Broken): void {
  expect(problems.length).toBeGreaterThan(0);
  for (const problem of problems) expect(pathOf(problem), problem).toBe(broken.path);
  if (broken.quoted !== undefined)
    expect(
      problems.some((p) => p.includes(describeValue(broken.quoted))),
      `no problem quotes ${describeValue(broken.quoted)}`,
    ).toBe(true);
}

describe('validateBrokerConfig / parseBrokerConfig under fuzzing', () => {
  it('never throw on any value: validate returns a config or problems, parse throws only ConfigError', () => {
    const raw = fc.oneof(
      fc.anything(),
      fc.jsonValue(),
      // Every known field present with an arbitrary value: each field check sees garbage.
      fc.record(Object.fromEntries(TOP_LEVEL.map((field) => [field, fc.anything()])), { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(raw, fc.boolean(), (value, allowLoopbackHttp) => {
        const result = validateBrokerConfig(value, { allowLoopbackHttp });
        if (result.config) {
          expect(result.problems).toEqual([]);
          expectWithinContract(result.config, allowLoopbackHttp);
        } else {
          expect(result.problems.length).toBeGreaterThan(0);
          for (const problem of result.problems) expect(problem).toMatch(/^(expected an object, |[^\n]*: )/);
        }
        const error = configErrorOf(() => parseBrokerConfig(value, { allowLoopbackHttp, source: 'fuzz' }));
        expect(error?.problems).toEqual(result.config ? undefined : result.problems);
        expect(error?.code ?? 'invalid_config').toBe('invalid_config');
      }),
      { numRuns: RUNS, seed: 7_001 },
    );
  });

  it.each([false, true])(
    'accepts every valid configuration within the contract, and it round-trips (allowLoopbackHttp %s)',
    (allowLoopbackHttp) => {
      fc.assert(
        fc.property(brokerConfig(allowLoopbackHttp), (raw) => {
          const parsed = parseBrokerConfig(raw, { allowLoopbackHttp });
          expectWithinContract(parsed, allowLoopbackHttp);
          expectRoundTrip(parsed, { allowLoopbackHttp });
          const config = parsed.runtime;
          // What was asked for is what is used: defaults only for absent fields, per-alias overrides win.
          expect(config.tenantId).toBe(raw.tenantId);
          expect(config.clientId).toBe(raw.clientId);
          expect(config.audience).toBe(raw.audience ?? 'api://AzureADTokenExchange');
          expect(config.subject).toBe(raw.subject ?? 'aws-token-broker');
          expect(config.assertionLifetimeSeconds).toBe(raw.assertionLifetimeSeconds ?? 300);
          expect(config.authorityHost).toBe(new URL(raw.authorityHost ?? 'https://login.microsoftonline.com').origin);
          expect(Object.keys(config.scopes).sort()).toEqual(Object.keys(raw.scopes).sort());
          for (const [alias, entry] of Object.entries(raw.scopes)) {
            const expected = typeof entry === 'string' ? { scope: entry } : entry;
            expectSame(config.scopes[alias], {
              alias,
              scope: expected.scope,
              tenantId: expected.tenantId ?? raw.tenantId,
              clientId: expected.clientId ?? raw.clientId,
            });
          }
        }),
        { numRuns: RUNS, seed: allowLoopbackHttp ? 7_003 : 7_002 },
      );
    },
  );

  it.each([false, true])('names the one broken top-level field and the value it received (allowLoopbackHttp %s)', (allowLoopbackHttp) => {
    fc.assert(
      fc.property(brokenTopLevel(allowLoopbackHttp), (broken) => {
        const result = validateBrokerConfig(broken.raw, { allowLoopbackHttp });
        expect(result.config).toBeUndefined();
        expectOneBrokenField(result.problems, broken);
        const error = configErrorOf(() => parseBrokerConfig(broken.raw, { allowLoopbackHttp, source: 'cdk.json context "broker"' }));
        expect(error?.message).toMatch(/^Invalid cdk\.json context "broker":\n {2}- /);
        expect(error?.problems).toEqual(result.problems);
      }),
      { numRuns: RUNS, seed: allowLoopbackHttp ? 7_005 : 7_004 },
    );
  });

  it('names the broken alias or the broken field of an alias (scopes.<alias>…)', () => {
    fc.assert(
      fc.property(brokenScope(false), (broken) => {
        const result = validateBrokerConfig(broken.raw);
        expect(result.config).toBeUndefined();
        expectOneBrokenField(result.problems, broken);
      }),
      { numRuns: RUNS, seed: 7_006 },
    );
  });
});

describe('parseLocalConfig under fuzzing', () => {
  it('throws only ConfigError on any value, and whatever it accepts is within the contract', () => {
    const raw = fc.oneof(
      fc.anything(),
      fc.record(Object.fromEntries([...TOP_LEVEL, ...LOCAL].map((field) => [field, fc.anything()])), { requiredKeys: [] }),
      fc
        .tuple(brokerConfig(true), fc.record(Object.fromEntries(LOCAL.map((field) => [field, fc.anything()])), { requiredKeys: [] }))
        .map(([b, l]) => ({ ...b, ...l })),
    );
    fc.assert(
      fc.property(raw, (value) => {
        let config: LocalConfig | undefined;
        const error = configErrorOf(() => {
          config = parseLocalConfig(value, 'fuzz.json');
        });
        if (error) {
          expect(error.message.startsWith('Invalid fuzz.json:\n')).toBe(true);
          expect(error.problems.length).toBeGreaterThan(0);
        } else {
          expectLocalWithinContract(config!);
        }
      }),
      { numRuns: RUNS, seed: 7_007 },
    );
  });

  it('accepts every valid local configuration within the contract', () => {
    fc.assert(
      fc.property(validLocal, ({ broker, local }) => {
        const config = parseLocalConfig({ ...broker, ...local });
        expectLocalWithinContract(config);
        expectSame(config.broker, parseBrokerConfig(broker, { allowLoopbackHttp: true, localRefreshTimer: true }));
        expectSame(config.localCredentials, local.localCredentials);
      }),
      { numRuns: RUNS, seed: 7_008 },
    );
  });

  it('names the one broken field, broker or local, and never echoes a secret access key', () => {
    fc.assert(
      fc.property(fc.oneof(brokenTopLevel(true), brokenScope(true), brokenLocal), (broken) => {
        const error = configErrorOf(() => parseLocalConfig(broken.raw, 'local.json'));
        expect(error, 'accepted a broken configuration').toBeDefined();
        expectOneBrokenField(error!.problems, broken);
        const creds = JSON.stringify(broken.raw.localCredentials ?? null);
        for (const key of creds.match(/[A-Za-z0-9/+]{24,}/g) ?? []) {
          expect(error!.message).not.toContain(key);
          expect(error!.message).not.toContain(JSON.stringify(key).slice(1, -1));
        }
      }),
      { numRuns: RUNS, seed: 7_009 },
    );
  });
});

describe('notable cases the fuzzing found', () => {
  it('refuses an issuer with credentials in parseLocalConfig, since the runtime refuses it only after binding its port', () => {
    const raw = {
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      clientId: '11111111-2222-4333-8444-555555555555',
      scopes: { graph: 'https://graph.microsoft.com/.default' },
      localCredentials: { accessKeyId: 'AKIAFUZZ', secretAccessKey: 'local-secret' },
    };
    for (const issuer of ['https://user:pw@broker.example.com', 'http://me@127.0.0.1:8787']) {
      expect(checkIssuerUrl(issuer, { allowLoopbackHttp: true }).ok).toBe(false);
      expect(configErrorOf(() => parseLocalConfig({ ...raw, issuer }))?.problems).toEqual([
        expect.stringMatching(/^issuer: expected no query, fragment or credentials, received /),
      ]);
    }
  });

  it('keeps an alias named "constructor" as an ordinary alias through the runtime JSON', () => {
    const config = parseBrokerConfig({
      tenantId: 'contoso.onmicrosoft.com',
      clientId: '11111111-2222-4333-8444-555555555555',
      scopes: { constructor: 'api://x/.default' },
    });
    expect(Object.keys(config.runtime.scopes)).toEqual(['constructor']);
    expectRoundTrip(config, {});
  });
});
