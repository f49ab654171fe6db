/**
 * BrokerCredential inside a real Azure SDK pipeline against an HTTPS resource server, whose throwaway certificate
 * comes from the `openssl` command (a child process: hence the integration project).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createPipelineRequest,
} from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerCredential } from '../../client/broker-credential';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, startFakeBroker } from './fake-broker';

const GRAPH = 'https://graph.example/.default';

describe('BrokerCredential in an Azure SDK pipeline', () => {
  // bearerTokenAuthenticationPolicy refuses non-https URLs outright (core-rest-pipeline 1.24, no opt-out), so the
  // resource server is HTTPS with a throwaway self-signed certificate that the request's agent trusts.
  let dir: string;
  let cert: string;
  let resource: Server;
  let resourceUrl: string;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'broker-credential-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    resource = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(request.headers.authorization ? 200 : 401, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => resource.listen(0, '127.0.0.1', resolve));
    resourceUrl = `https://127.0.0.1:${(resource.address() as AddressInfo).port}/v1.0/me`;
  });
  afterAll(async () => {
    resource.closeAllConnections();
    await new Promise<void>((resolve) => resource.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts the broker token into the Authorization header of an Azure SDK request', async () => {
    const broker = await startFakeBroker();
    const credential = new BrokerCredential({
      url: broker.url,
      scopes: { [GRAPH]: 'graph' },
      region: REGION,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      identify: false,
    });
    const agent = new Agent({ ca: cert });
    try {
      const pipeline = createEmptyPipeline();
      pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: GRAPH }));
      const httpClient = createDefaultHttpClient();
      for (let i = 0; i < 2; i++) {
        const request = createPipelineRequest({ url: resourceUrl });
        // Set after creation: createPipelineRequest does not copy `agent` from its options.
        request.agent = agent;
        const response = await pipeline.sendRequest(httpClient, request);
        expect(response.status).toBe(200);
      }
      expect(seen).toEqual([`Bearer ${TOKEN_PREFIX}-graph-1`, `Bearer ${TOKEN_PREFIX}-graph-1`]);
      expect(broker.tokenRequests('graph')).toBe(1);
    } finally {
      agent.destroy();
      await broker.close();
    }
  });
});
