/**
 * The local runtime's request handler serving concurrent requests: the token function as deployed (composition root,
 * Powertools middlewares, audit logger, metrics), one logger and one metrics object for all requests, and nothing of
 * one request on another's lines. IAM's verdict is a stand-in here, so that each request has a caller of its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../../contract/broker-config';
import { fixedSigningKey } from '../../../lambda/adapters/local-key-signer';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import { createLogging, createTokenObservability } from '../../../lambda/adapters/observability';
import { createTokenFunction } from '../../../lambda/composition/token-function';
import type { Fetch } from '../../../lambda/core/ports';
import { rotatingAssertions } from '../../../lambda/core/rotating-assertions';
import { LOCAL_API } from '../../../local/runtime/api-gateway-event';
import { invocationScope } from '../../../local/runtime/invocation-scope';
import { createRequestHandler } from '../../../local/runtime/request-handler';
import { captureLogs } from '../../support/log-capture';
import { rsaKeyPair } from '../../support/rsa-keys';

const ALIASES = ['graph', 'storage', 'vault', 'bus'] as const;
const config = parseBrokerConfig({
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-4333-8444-555555555555',
  scopes: Object.fromEntries(ALIASES.map((alias) => [alias, `api://${alias}/.default`])),
}).runtime;
const callerArn = (alias: string) =>
  `arn:aws:sts::11112222${String(ALIASES.indexOf(alias as never)).padStart(4, '0')}:assumed-role/${alias}-app/fn`;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
});

/**
 * An Entra that holds every exchange until all of `ALIASES` have one in flight, then answers them: the requests'
 * invocations interleave for certain.
 */
function barrierEntra(): Fetch {
  let arrived = 0;
  let releaseAll!: () => void;
  const allIn = new Promise<void>((resolve) => (releaseAll = resolve));
  return async (_url, init) => {
    const scope = new URLSearchParams(String(init?.body)).get('scope') ?? '';
    if (++arrived === ALIASES.length) releaseAll();
    await allIn;
    return new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: `opaque-token-for-${scope}` }), {
      status: 200,
    });
  };
}

describe('the local runtime, concurrent requests', () => {
  it('gives each request audit and log lines with its own request id and caller, and its own metric line', async () => {
    const logs = captureLogs();
    const signing = await fixedSigningKey(rsaKeyPair('active').privateKeyPem, 'signing-key.pem', Math.floor(Date.now() / 1000));
    const token = createTokenFunction({
      config,
      assertions: rotatingAssertions(
        { issuer: 'http://127.0.0.1:1', subject: config.subject, audience: config.audience, lifetimeSeconds: 300 },
        { ...signing, clock: Date.now },
      ),
      store: new MemoryTokenStore(),
      api: LOCAL_API,
      observability: createTokenObservability({ deployment: 'local', persistentKeys: { runtime: 'local' } }),
      fetch: barrierEntra(),
    });
    const own = createLogging({ route: 'local-runtime' });
    const server = createServer(
      createRequestHandler({
        handlers: { token },
        aliases: new Set(ALIASES),
        issuer: undefined,
        // IAM's stand-in: the caller a request names (the local runtime's own check verifies a SigV4 signature).
        authorize: (request) => {
          const arn = String(request.headers['x-test-caller']);
          return { accessKey: 'AKID', accountId: arn.split(':')[4] ?? '', userArn: arn };
        },
        logger: own.logger,
        powertools: own.powertools,
        inScope: invocationScope(),
        clock: Date.now,
      }),
    );
    servers.push(server);
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

    const answers = await Promise.all(
      ALIASES.map(async (alias) => {
        const response = await fetch(`${url}/token/${alias}`, { headers: { 'x-test-caller': callerArn(alias) } });
        return { alias, status: response.status, apiRequestId: response.headers.get('apigw-requestid') };
      }),
    );

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    const audit = logs.entries().filter((entry) => entry.message === 'token served');
    expect(audit).toHaveLength(ALIASES.length);
    for (const answer of answers) {
      const line = audit.find((entry) => entry.apiRequestId === answer.apiRequestId);
      expect(line).toMatchObject({
        alias: answer.alias,
        callerArn: callerArn(answer.alias),
        callerAccount: callerArn(answer.alias).split(':')[4],
        cache: 'exchange',
        function_name: 'broker-token',
        runtime: 'local',
      });
    }
    // Four invocations, four request ids: no line carries another request's.
    expect(new Set(audit.map((entry) => entry.function_request_id)).size).toBe(ALIASES.length);
    // Each invocation published its own count, as four Lambda invocations would.
    expect(logs.metricEntries().map((entry) => entry.EntraExchanges)).toEqual([1, 1, 1, 1]);
  });
});
