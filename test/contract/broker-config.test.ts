import { describe, expect, it } from 'vitest';
import { parseBrokerConfig, parseRuntimeConfig, runtimeConfigJson, type BrokerConfig } from '../../contract/broker-config';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const OTHER_TENANT = 'contoso.onmicrosoft.com';
const OTHER_CLIENT = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const GRAPH = 'https://graph.microsoft.com/.default';

const minimal = { tenantId: TENANT, clientId: CLIENT, scopes: { graph: GRAPH } };

describe('parseBrokerConfig', () => {
  it('applies the documented defaults', () => {
    expect(parseBrokerConfig(minimal)).toStrictEqual<BrokerConfig>({
      runtime: {
        tenantId: TENANT,
        clientId: CLIENT,
        scopes: { graph: { alias: 'graph', scope: GRAPH, tenantId: TENANT, clientId: CLIENT } },
        authorityHost: 'https://login.microsoftonline.com',
        audience: 'api://AzureADTokenExchange',
        subject: 'aws-token-broker',
        assertionLifetimeSeconds: 300,
        refreshMarginSeconds: 300,
        signer: 'kms',
        proactiveRefresh: { periodSeconds: 60 },
      },
      deployment: {
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
        publicThrottlingRateLimit: 10,
        publicThrottlingBurstLimit: 20,
        tokenReservedConcurrency: undefined,
        keyRotation: { intervalSeconds: 90 * 86_400, publishLeadSeconds: 2 * 86_400, retireAfterSeconds: 86_400 },
        endpoint: { type: 'public' },
      },
    });
  });

  it('accepts the string and the object form of a scope, with a per-alias tenant and client', () => {
    const config = parseBrokerConfig({
      ...minimal,
      scopes: {
        graph: GRAPH,
        storage: { scope: 'https://storage.azure.com/.default' },
        'partner-api': { scope: 'api://partner-api/.default', tenantId: OTHER_TENANT, clientId: OTHER_CLIENT },
      },
    });
    expect(config.runtime.scopes).toStrictEqual({
      graph: { alias: 'graph', scope: GRAPH, tenantId: TENANT, clientId: CLIENT },
      storage: { alias: 'storage', scope: 'https://storage.azure.com/.default', tenantId: TENANT, clientId: CLIENT },
      'partner-api': { alias: 'partner-api', scope: 'api://partner-api/.default', tenantId: OTHER_TENANT, clientId: OTHER_CLIENT },
    });
  });

  it('names every bad field and the value it received in one error', () => {
    const raw = {
      tenantId: 'not a tenant',
      clientId: 'app-123',
      scopes: { Graph: GRAPH, storage: 'https://storage.azure.com' },
      assertionLifetimeSeconds: 30,
      colour: 'blue',
    };
    expect(() => parseBrokerConfig(raw, { source: 'cdk.json context "broker"' })).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: expect.stringMatching(/^Invalid cdk.json context "broker":\n/),
        problems: [
          expect.stringMatching(/^colour: unknown field \(known: tenantId, clientId, scopes, /),
          'tenantId: expected a tenant GUID or verified domain name, received "not a tenant"',
          'clientId: expected a GUID (the app registration\'s application (client) ID), received "app-123"',
          'assertionLifetimeSeconds: expected an integer from 60 to 600, received 30',
          expect.stringMatching(/^scopes: alias "Graph" must match/),
          expect.stringMatching(/^scopes\.storage: expected one "<resource>\/\.default" scope .*received "https:\/\/storage\.azure\.com"$/),
        ],
      }),
    );
    // The message lists the same lines, so a user sees them all at once.
    expect(() => parseBrokerConfig(raw)).toThrow(
      /tenantId[\s\S]*clientId[\s\S]*assertionLifetimeSeconds: .*received 30[\s\S]*"Graph"[\s\S]*scopes\.storage/,
    );
  });

  it.each(['common', 'organizations', 'Consumers'])('refuses the multi-tenant alias %s as tenantId', (tenantId) => {
    expect(() => parseBrokerConfig({ ...minimal, tenantId })).toThrow(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringContaining(`tenantId: "${tenantId}" is not a tenant`) }),
    );
  });

  it('refuses a per-alias tenant "common" naming the alias', () => {
    expect(() => parseBrokerConfig({ ...minimal, scopes: { graph: { scope: GRAPH, tenantId: 'common' } } })).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: expect.stringContaining('scopes.graph.tenantId: "common" is not a tenant'),
      }),
    );
  });

  it('refuses an http:// authorityHost in a deployment', () => {
    expect(() => parseBrokerConfig({ ...minimal, authorityHost: 'http://127.0.0.1:9000' })).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: expect.stringMatching(
          /authorityHost: http:\/\/ is allowed only for loopback hosts .*received "http:\/\/127\.0\.0\.1:9000"/,
        ),
      }),
    );
  });

  it('accepts an http:// loopback authorityHost only with allowLoopbackHttp, and never a remote one', () => {
    for (const host of ['http://127.0.0.1:9000', 'http://localhost:9000', 'http://[::1]:9000']) {
      expect(parseBrokerConfig({ ...minimal, authorityHost: host }, { allowLoopbackHttp: true }).runtime.authorityHost).toBe(host);
    }
    expect(() => parseBrokerConfig({ ...minimal, authorityHost: 'http://entra.example.com' }, { allowLoopbackHttp: true })).toThrow(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringContaining('received "http://entra.example.com"') }),
    );
  });

  it('removes a trailing slash from authorityHost (the token endpoint would get a double slash)', () => {
    expect(parseBrokerConfig({ ...minimal, authorityHost: 'https://login.microsoftonline.us/' }).runtime.authorityHost).toBe(
      'https://login.microsoftonline.us',
    );
  });

  it('refuses an authorityHost with a path', () => {
    expect(() => parseBrokerConfig({ ...minimal, authorityHost: `https://login.microsoftonline.com/${TENANT}` })).toThrow(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringContaining('authorityHost: expected a bare origin') }),
    );
  });

  it("takes the public routes' own throttles, and names a bad one with the value received", () => {
    expect(parseBrokerConfig({ ...minimal, publicThrottlingRateLimit: 2, publicThrottlingBurstLimit: 4 }).deployment).toMatchObject({
      publicThrottlingRateLimit: 2,
      publicThrottlingBurstLimit: 4,
    });
    expect(() => parseBrokerConfig({ ...minimal, publicThrottlingRateLimit: 0, publicThrottlingBurstLimit: 5001 })).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(
          /publicThrottlingRateLimit: expected an integer from 1 to 10000, received 0\n.*publicThrottlingBurstLimit: expected an integer from 1 to 5000, received 5001/,
        ),
      }),
    );
  });

  it('refuses a configuration without any alias', () => {
    expect(() => parseBrokerConfig({ tenantId: TENANT, clientId: CLIENT, scopes: {} })).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: expect.stringMatching(/scopes: expected an object with at least one alias.*received \{\}/),
      }),
    );
  });
});

describe('runtimeConfigJson and parseRuntimeConfig', () => {
  const config = parseBrokerConfig({
    ...minimal,
    authorityHost: 'https://login.chinacloudapi.cn',
    audience: 'api://AzureADTokenExchangeChina',
    subject: 'broker-prod',
    assertionLifetimeSeconds: 120,
    refreshMarginSeconds: 600,
    throttlingRateLimit: 5,
    scopes: { graph: GRAPH, partner: { scope: 'api://partner/.default', tenantId: OTHER_TENANT, clientId: OTHER_CLIENT } },
  });

  it('round-trip the runtime part, and only that, to the token function', () => {
    const json = runtimeConfigJson(config.runtime);
    expect(parseRuntimeConfig(JSON.parse(json), { source: 'BROKER_CONFIG' })).toStrictEqual(config.runtime);
    expect(json).not.toMatch(/throttling|ReservedConcurrency/);
  });

  it('refuse deployment settings at run time: a construct that passed them would be caught', () => {
    expect(() => parseRuntimeConfig({ ...minimal, throttlingRateLimit: 5 }, { source: 'BROKER_CONFIG' })).toThrow(
      /Invalid BROKER_CONFIG:\n {2}- throttlingRateLimit: unknown field/,
    );
  });
});

describe('signer and keyRotation', () => {
  it('takes "aws-sts" as the signer and refuses anything else, naming the value', () => {
    expect(parseBrokerConfig({ ...minimal, signer: 'aws-sts' }).runtime.signer).toBe('aws-sts');
    expect(() => parseBrokerConfig({ ...minimal, signer: 'sts' })).toThrow(/signer: expected one of "kms", "aws-sts", received "sts"/);
  });

  it('fills the rotation schedule field by field and keeps what was given', () => {
    expect(parseBrokerConfig({ ...minimal, keyRotation: { intervalSeconds: 30 * 86_400 } }).deployment.keyRotation).toStrictEqual({
      intervalSeconds: 30 * 86_400,
      publishLeadSeconds: 2 * 86_400,
      retireAfterSeconds: 86_400,
    });
  });

  it.each([
    [{ intervalSeconds: 3_600 }, /keyRotation.intervalSeconds: expected an integer of seconds from 86400 .*received 3600/],
    [{ publishLeadSeconds: 60 }, /keyRotation.publishLeadSeconds: expected an integer of seconds from 3600 .*received 60/],
    [{ retireAfterSeconds: 120 }, /keyRotation.retireAfterSeconds: expected an integer of seconds from 300 .*received 120/],
    [
      { intervalSeconds: 86_400, publishLeadSeconds: 86_400 },
      /publishLeadSeconds: expected less than intervalSeconds \(86400\).*received 86400/,
    ],
    [{ every: 86_400 }, /keyRotation.every: unknown field \(known: intervalSeconds, publishLeadSeconds, retireAfterSeconds\)/],
    ['90d', /keyRotation: expected \{"intervalSeconds", "publishLeadSeconds", "retireAfterSeconds"\}, received "90d"/],
  ])('refuses a schedule below the minimums a deployment keeps: %j', (keyRotation, message) => {
    expect(() => parseBrokerConfig({ ...minimal, keyRotation })).toThrow(message);
  });

  it('accepts any positive figures where asked (the local runtime), still refusing a lead as long as the interval', () => {
    const local = parseBrokerConfig(
      { ...minimal, keyRotation: { intervalSeconds: 15, publishLeadSeconds: 5, retireAfterSeconds: 5 } },
      { anyPositiveRotation: true },
    );
    expect(local.deployment.keyRotation).toStrictEqual({ intervalSeconds: 15, publishLeadSeconds: 5, retireAfterSeconds: 5 });
    expect(() =>
      parseBrokerConfig({ ...minimal, keyRotation: { intervalSeconds: 5, publishLeadSeconds: 5 } }, { anyPositiveRotation: true }),
    ).toThrow(/publishLeadSeconds: expected less than intervalSeconds/);
  });

  it('refuses a rotation schedule for the aws-sts signer: AWS rotates its own keys', () => {
    expect(() => parseBrokerConfig({ ...minimal, signer: 'aws-sts', keyRotation: { intervalSeconds: 86_400 * 30 } })).toThrow(
      /keyRotation: applies to the "kms" signer only/,
    );
  });
});

describe('proactiveRefresh', () => {
  it('is on in a deployment (a run a minute) and off in the local runtime unless set', () => {
    expect(parseBrokerConfig(minimal).runtime.proactiveRefresh).toStrictEqual({ periodSeconds: 60 });
    expect(parseBrokerConfig(minimal, { localRefreshTimer: true }).runtime.proactiveRefresh).toBe(false);
    expect(parseBrokerConfig({ ...minimal, proactiveRefresh: false }).runtime.proactiveRefresh).toBe(false);
    expect(
      parseBrokerConfig({ ...minimal, proactiveRefresh: { periodSeconds: 5 } }, { localRefreshTimer: true }).runtime.proactiveRefresh,
    ).toStrictEqual({
      periodSeconds: 5,
    });
  });

  it('takes whole minutes up to 5 in a deployment (a schedule rate), naming the field and the value otherwise', () => {
    expect(parseBrokerConfig({ ...minimal, proactiveRefresh: { periodSeconds: 300 } }).runtime.proactiveRefresh).toStrictEqual({
      periodSeconds: 300,
    });
    expect(() => parseBrokerConfig({ ...minimal, proactiveRefresh: { periodSeconds: 90 } })).toThrow(
      /proactiveRefresh\.periodSeconds: expected .*whole minutes.* received 90/,
    );
    expect(() => parseBrokerConfig({ ...minimal, proactiveRefresh: { periodSeconds: 360 } })).toThrow(
      /proactiveRefresh\.periodSeconds: .*received 360/,
    );
    expect(() => parseBrokerConfig({ ...minimal, proactiveRefresh: { periodSeconds: 0 } }, { localRefreshTimer: true })).toThrow(
      /proactiveRefresh\.periodSeconds: expected .*from 1 to 300.* received 0/,
    );
  });

  it('refuses true, a bare number and unknown fields, naming each', () => {
    expect(() => parseBrokerConfig({ ...minimal, proactiveRefresh: true })).toThrow(
      /proactiveRefresh: expected .* or false, received true/,
    );
    expect(() => parseBrokerConfig({ ...minimal, proactiveRefresh: 60 })).toThrow(/proactiveRefresh: expected .* received 60/);
    expect(() => parseBrokerConfig({ ...minimal, proactiveRefresh: { periodSeconds: 60, periodSecs: 60 } })).toThrow(
      /proactiveRefresh\.periodSecs/,
    );
  });

  it('reaches the token function as configured', () => {
    for (const proactiveRefresh of [false, { periodSeconds: 120 }] as const) {
      const { runtime } = parseBrokerConfig({ ...minimal, proactiveRefresh });
      expect(parseRuntimeConfig(JSON.parse(runtimeConfigJson(runtime))).proactiveRefresh).toStrictEqual(proactiveRefresh);
    }
  });
});
