import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createPipelineRequest,
} from '@azure/core-rest-pipeline';
import { isTokenCredential } from '@azure/core-auth';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerCredentialOptions } from '../../client/broker-credential';
import { BrokerCredential, scopeKey } from '../../client/broker-credential';
import { BrokerClientError } from '../../client/errors';
import type { FakeBroker, FakeBrokerOptions } from './fake-broker';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, startFakeBroker } from './fake-broker';

const GRAPH = 'https://graph.example/.default';
const STORAGE = 'https://storage.example/.default';
const SCOPES = { [GRAPH]: 'graph', [STORAGE]: 'storage' };

const brokers: FakeBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function setup(brokerOptions: FakeBrokerOptions = {}, options: Partial<BrokerCredentialOptions> = {}) {
  const broker = await startFakeBroker(brokerOptions);
  brokers.push(broker);
  const credential = new BrokerCredential({
    url: broker.url,
    scopes: SCOPES,
    region: REGION,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    identify: false,
    ...options,
  });
  return { broker, credential };
}

async function rejection(promise: Promise<unknown>): Promise<BrokerClientError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerClientError);
  return error as BrokerClientError;
}

describe('BrokerCredential', () => {
  it('is a TokenCredential and returns the broker token with ms timestamps', async () => {
    const { broker, credential } = await setup();
    expect(isTokenCredential(credential)).toBe(true);
    const before = Math.floor(Date.now() / 1000);
    const token = await credential.getToken(GRAPH);
    const after = Math.floor(Date.now() / 1000);
    expect(token).toEqual({
      token: `${TOKEN_PREFIX}-graph-1`,
      tokenType: 'Bearer',
      expiresOnTimestamp: expect.any(Number),
      refreshAfterTimestamp: expect.any(Number),
    });
    // The broker answered expires_on = its now + 3600 s, some time between `before` and `after`.
    expect(token.expiresOnTimestamp % 1000).toBe(0);
    expect(token.expiresOnTimestamp / 1000).toBeGreaterThanOrEqual(before + 3600);
    expect(token.expiresOnTimestamp / 1000).toBeLessThanOrEqual(after + 3600);
    expect(token.refreshAfterTimestamp).toBe(token.expiresOnTimestamp - 300_000);
    expect(broker.tokenRequests('graph')).toBe(1);
  });

  it('serves the second getToken from the cache, per alias', async () => {
    const { broker, credential } = await setup();
    const first = await credential.getToken(GRAPH);
    const second = await credential.getToken([GRAPH]);
    expect(second).toEqual(first);
    expect(broker.tokenRequests('graph')).toBe(1);
    const storage = await credential.getToken(STORAGE);
    expect(storage.token).toBe(`${TOKEN_PREFIX}-storage-1`);
    expect(broker.tokenRequests('storage')).toBe(1);
  });

  it('refreshes once the token is within the refresh margin (default 300 s)', async () => {
    let now = Date.UTC(2025, 5, 1, 8, 0, 0);
    const clock = () => now;
    const { broker, credential } = await setup({ now: clock, lifetimeSeconds: 3600 }, { clock });
    expect((await credential.getToken(GRAPH)).token).toBe(`${TOKEN_PREFIX}-graph-1`);
    now += (3600 - 301) * 1000; // 301 s left: still served from the cache
    expect((await credential.getToken(GRAPH)).token).toBe(`${TOKEN_PREFIX}-graph-1`);
    expect(broker.tokenRequests('graph')).toBe(1);
    now += 2000; // 299 s left: refreshed
    expect((await credential.getToken(GRAPH)).token).toBe(`${TOKEN_PREFIX}-graph-2`);
    expect(broker.tokenRequests('graph')).toBe(2);
  });

  it('honours a custom refreshMarginSeconds', async () => {
    let now = Date.UTC(2025, 5, 1, 8, 0, 0);
    const clock = () => now;
    const { broker, credential } = await setup({ now: clock, lifetimeSeconds: 3600 }, { clock, refreshMarginSeconds: 60 });
    await credential.getToken(GRAPH);
    now += (3600 - 100) * 1000;
    await credential.getToken(GRAPH);
    expect(broker.tokenRequests('graph')).toBe(1);
    now += 50_000; // 50 s left < 60 s margin
    await credential.getToken(GRAPH);
    expect(broker.tokenRequests('graph')).toBe(2);
  });

  it('shares one in-flight request between concurrent callers (single flight)', async () => {
    const { broker, credential } = await setup({ delayMs: 100 });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => credential.getToken(GRAPH)));
    expect(new Set(tokens.map((t) => t.token))).toEqual(new Set([`${TOKEN_PREFIX}-graph-1`]));
    expect(broker.tokenRequests('graph')).toBe(1);
  });

  it('does not cache a failure: concurrent callers share it, the next call retries', async () => {
    const { broker, credential } = await setup({ delayMs: 50 });
    broker.failNext('graph');
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => credential.getToken(GRAPH)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const [first] = results;
    expect(first?.status === 'rejected' && (first.reason as BrokerClientError).code).toBe('upstream_unavailable');
    expect(broker.tokenRequests('graph')).toBe(1);
    expect((await credential.getToken(GRAPH)).token).toBe(`${TOKEN_PREFIX}-graph-2`);
    expect(broker.tokenRequests('graph')).toBe(2);
  });

  it('maps a scope with or without /.default and trailing slashes to the same alias', async () => {
    expect(scopeKey('https://management.azure.com//.default')).toBe('https://management.azure.com');
    expect(scopeKey('https://management.azure.com/')).toBe('https://management.azure.com');
    expect(scopeKey('api://my-app/.default')).toBe('api://my-app');
    const { broker, credential } = await setup();
    for (const scope of [
      'https://graph.example/.default',
      'https://graph.example',
      'https://graph.example/',
      'https://graph.example//.default',
    ]) {
      expect((await credential.getToken(scope)).token, scope).toBe(`${TOKEN_PREFIX}-graph-1`);
    }
    expect(broker.tokenRequests('graph')).toBe(1);
  });

  it('refuses an unmapped scope, naming it and the configured ones', async () => {
    const { broker, credential } = await setup();
    const error = await rejection(credential.getToken('https://vault.azure.net/.default'));
    expect(error.code).toBe('unmapped_scope');
    expect(error.message).toBe(
      `BrokerCredential for ${broker.url} has no alias for scope "https://vault.azure.net/.default". Configured scopes: ${GRAPH}, ${STORAGE}.`,
    );
    expect(broker.requests).toHaveLength(0);
  });

  it('requires exactly one scope', async () => {
    const { credential } = await setup();
    const none = await rejection(credential.getToken([]));
    expect([none.code, none.message]).toEqual([
      'invalid_argument',
      'BrokerCredential.getToken needs exactly one scope, got 0 (); the broker issues one token per scope.',
    ]);
    const two = await rejection(credential.getToken([GRAPH, STORAGE]));
    expect([two.code, two.message]).toEqual([
      'invalid_argument',
      `BrokerCredential.getToken needs exactly one scope, got 2 (${GRAPH}, ${STORAGE}); the broker issues one token per scope.`,
    ]);
  });

  it('honours abortSignal for its caller only; the shared request completes for the others', async () => {
    const { broker, credential } = await setup();
    const held = broker.hold();
    const controller = new AbortController();
    const aborted = credential.getToken(GRAPH, { abortSignal: controller.signal });
    const other = credential.getToken(GRAPH);
    await held.arrived; // the shared request is at the broker, unanswered
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', message: 'BrokerCredential.getToken was aborted.' });
    held.release();
    expect((await other).token).toBe(`${TOKEN_PREFIX}-graph-1`);
    await expect(credential.getToken(STORAGE, { abortSignal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(broker.tokenRequests('graph')).toBe(1);
    expect(broker.tokenRequests('storage')).toBe(0);
  });

  it('validates its options up front', () => {
    const base = { url: 'https://abc123.execute-api.eu-west-1.amazonaws.com', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
    const attempt = (options: BrokerCredentialOptions): BrokerClientError => {
      try {
        new BrokerCredential(options);
      } catch (error) {
        return error as BrokerClientError;
      }
      throw new Error('expected the constructor to throw');
    };
    expect(attempt({ ...base, scopes: {} })).toMatchObject({
      code: 'invalid_argument',
      message: `BrokerCredential for ${base.url} needs at least one scope → alias mapping in "scopes".`,
    });
    expect(attempt({ ...base, scopes: { 'https://graph.example/.default': 'graph', 'https://graph.example': 'other' } })).toMatchObject({
      code: 'invalid_argument',
      message: `BrokerCredential for ${base.url}: scope "https://graph.example" maps to both "graph" and "other".`,
    });
    expect(attempt({ ...base, url: 'https://broker.example.com', scopes: SCOPES, env: {} })).toMatchObject({
      code: 'invalid_argument',
      message: 'Cannot tell the region of https://broker.example.com/: pass --region or set AWS_REGION.',
    });
    expect(attempt({ ...base, scopes: SCOPES, refreshMarginSeconds: -1 })).toMatchObject({ code: 'invalid_argument' });
  });
});

describe('BrokerCredential in an Azure SDK pipeline', () => {
  it('is refused by the policy on plain http, before any token is fetched', async () => {
    const { broker, credential } = await setup();
    const pipeline = createEmptyPipeline();
    pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: GRAPH }));
    const request = createPipelineRequest({ url: 'http://127.0.0.1:1/x', allowInsecureConnection: true });
    await expect(pipeline.sendRequest(createDefaultHttpClient(), request)).rejects.toThrow(
      'Bearer token authentication is not permitted for non-TLS protected (non-https) URLs.',
    );
    expect(broker.requests).toHaveLength(0);
  });
});
