/**
 * The local runtime with signer "aws-sts", in process: it runs the STS outbound-federation stand-in, asks it for each
 * assertion through the real STS client, and sends that assertion to Entra untouched; it serves no issuer documents.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fetch } from '../../../lambda/core/ports';
import { parseLocalConfig } from '../../../local/runtime/local-config';
import { LOCAL_TOKEN_ROLE_ARN, startLocalRuntime, type LocalRuntime } from '../../../local/runtime/local-runtime';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const GRAPH = 'https://graph.microsoft.com/.default';
const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const ACCESS_TOKEN = `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ aud: 'https://graph.microsoft.com' })}.c2lnbmF0dXJl`;

const runtimes: LocalRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
});

/** A fake Entra that keeps every client assertion it receives and issues a token. */
function recordingEntra() {
  const assertions: string[] = [];
  const fetch: Fetch = (_url, init) => {
    assertions.push(new URLSearchParams(String(init?.body)).get('client_assertion') ?? '');
    return Promise.resolve(
      new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: ACCESS_TOKEN }), { status: 200 }),
    );
  };
  return { fetch, assertions };
}

function config(extra: Record<string, unknown> = {}) {
  return parseLocalConfig({
    tenantId: TENANT,
    clientId: CLIENT,
    scopes: { graph: GRAPH },
    authorityHost: 'http://127.0.0.1:9',
    signer: 'aws-sts',
    assertionLifetimeSeconds: 180,
    ...extra,
  });
}

describe('startLocalRuntime with signer "aws-sts"', () => {
  it("sends Entra the stand-in's token: AWS's claims, the local role ARN as subject, verifiable with the stand-in's keys", async () => {
    const entra = recordingEntra();
    const runtime = await startLocalRuntime({ config: config(), port: 0, fetch: entra.fetch });
    runtimes.push(runtime);
    expect(runtime.aws).toEqual({ issuer: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), subject: LOCAL_TOKEN_ROLE_ARN });
    expect(runtime.issuer).toBe(runtime.aws?.issuer);
    expect(runtime.aws?.issuer).not.toBe(runtime.url);

    const answer = await fetch(`${runtime.url}/token/graph`);
    expect(answer.status).toBe(200);
    expect(entra.assertions).toHaveLength(1);
    const issuer = runtime.aws?.issuer as string;
    const { payload } = await jwtVerify(entra.assertions[0] as string, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), {
      issuer,
      subject: LOCAL_TOKEN_ROLE_ARN,
      audience: 'api://AzureADTokenExchange',
      algorithms: ['RS256'],
    });
    expect(payload.nbf).toBeUndefined();
    expect((payload.exp as number) - (payload.iat as number)).toBe(180);
    expect(payload['https://sts.amazonaws.com/']).toMatchObject({ aws_account: '000000000000', source_region: 'us-east-1' });
  });

  it('asks STS again for every exchange (a fresh jti), never reusing an assertion', async () => {
    const entra = recordingEntra();
    const runtime = await startLocalRuntime({
      config: config({ scopes: { graph: GRAPH, other: 'https://storage.azure.com/.default' } }),
      port: 0,
      fetch: entra.fetch,
    });
    runtimes.push(runtime);
    expect((await fetch(`${runtime.url}/token/graph`)).status).toBe(200);
    expect((await fetch(`${runtime.url}/token/other`)).status).toBe(200);
    expect(new Set(entra.assertions.map((a) => decodeJwt(a).jti)).size).toBe(2);
  });

  it('serves no discovery document or JWKS of its own (404, as the stack has no such routes)', async () => {
    const runtime = await startLocalRuntime({ config: config(), port: 0 });
    runtimes.push(runtime);
    for (const path of ['/.well-known/openid-configuration', '/jwks']) {
      const answer = await fetch(`${runtime.url}${path}`);
      expect(answer.status).toBe(404);
      expect(await answer.json()).toEqual({ message: 'Not Found' });
    }
  });

  it('listens for the stand-in on the configured issuer port, and stops it on close', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const runtime = await startLocalRuntime({ config: config({ issuer: `http://127.0.0.1:${port}` }), port: 0 });
    expect(runtime.aws?.issuer).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).status).toBe(200);
    await runtime.close();
    await expect(fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).rejects.toThrow();
  });

  it('refuses to start (EADDRINUSE) when the issuer port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      await expect(startLocalRuntime({ config: config({ issuer: `http://127.0.0.1:${port}` }), port: 0 })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
