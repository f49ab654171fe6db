/**
 * An authority that answers the token POST with a redirect: the broker (as a process) never follows it, so the
 * client assertion never reaches the host the redirect names, and the caller gets a 503 that says what to check.
 * Both servers are plain listeners on 127.0.0.1; the second one only counts what reaches it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
};

describe.each([307, 308])('an authority answering the token POST with %i', (status) => {
  const reachedTarget: Array<{ method?: string; url?: string }> = [];
  const authorityRequests: IncomingMessage[] = [];
  const target = createServer((request, response) => {
    reachedTarget.push({ method: request.method, url: request.url });
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const authority = createServer((request, response) => {
    authorityRequests.push(request);
    request.resume();
    response.writeHead(status, { location: `${targetUrl}${request.url ?? '/'}` }).end();
  });
  let targetUrl = '';
  let broker: BrokerProcess;

  beforeAll(async () => {
    targetUrl = await listen(target);
    const authorityUrl = await listen(authority);
    broker = await startBroker(
      { tenantId: TENANT, clientId: CLIENT, scopes: { graph: 'https://graph.microsoft.com/.default' }, authorityHost: authorityUrl },
      await reservePort(),
    );
  });

  afterAll(async () => {
    await broker?.stop();
    for (const server of [target, authority]) {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    }
  });

  it('answers 503 naming the redirect and authorityHost, after one attempt; the redirect target receives nothing', async () => {
    const answer = await getJson(`${broker.url}/token/graph`);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      error: 'upstream_unavailable',
      upstream: 'entra',
      message: expect.stringMatching(
        new RegExp(`answered a redirect \\(HTTP ${String(status)}\\) instead of a token.*Check authorityHost\\.$`),
      ) as string,
    });
    expect(answer.text).not.toMatch(/eyJ/);
    expect(authorityRequests).toHaveLength(1);
    expect(authorityRequests[0]?.method).toBe('POST');
    expect(reachedTarget).toEqual([]);
  });
});
