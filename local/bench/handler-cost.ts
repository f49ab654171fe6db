// Section 2: cost of the token handler per request on an L1 hit and an L2 hit, next to an empty middy handler.
import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbTokenStore } from '../../lambda/adapters/dynamodb-token-store';
import { createJsonLogger } from '../../lambda/adapters/json-logger';
import { LocalKeySigner } from '../../lambda/adapters/local-key-signer';
import { MemoryTokenStore } from '../../lambda/adapters/memory-token-store';
import { parseBrokerConfig } from '../../lambda/core/config';
import type { TokenStore } from '../../lambda/core/ports';
import { systemClock } from '../../lambda/core/ports';
import { sleep } from '../../lambda/core/retry';
import { TokenCache } from '../../lambda/core/token-cache';
import { TokenService } from '../../lambda/core/token-service';
import { createTokenHandler } from '../../lambda/handlers/token';
import { localContext } from '../api-gateway-event';
import { ensureTokenTable } from '../ensure-table';
import { generateKeyPairSync } from 'node:crypto';
import { CLIENT, GRAPH, TENANT } from './exchanges';
import { percentile } from './stats';

export interface CostFigures {
  readonly name: string;
  readonly medianUs: number;
  readonly p99Us: number;
}

const event = {
  version: '2.0',
  routeKey: 'GET /token/graph',
  rawPath: '/token/graph',
  rawQueryString: '',
  headers: { host: 'broker.example' },
  isBase64Encoded: false,
  requestContext: {
    accountId: '123456789012',
    apiId: 'bench',
    domainName: 'broker.example',
    domainPrefix: 'broker',
    http: { method: 'GET', path: '/token/graph', protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'bench' },
    requestId: 'bench',
    routeKey: 'GET /token/graph',
    stage: '$default',
    time: '',
    timeEpoch: 0,
    authorizer: {
      iam: {
        accessKey: 'AKID',
        accountId: '123456789012',
        callerId: 'AKID',
        cognitoIdentity: null,
        principalOrgId: '',
        userArn: 'arn:aws:sts::123456789012:assumed-role/workload/bench',
        userId: 'AKID',
      },
    },
  },
} as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;

/** An in-process stand-in for Entra that answers at once (only the first call of each store reaches it). */
const entraFetch = async () =>
  new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: 'x'.repeat(1200) }), { status: 200 });

function tokenHandler(store: TokenStore) {
  const config = parseBrokerConfig({ tenantId: TENANT, clientId: CLIENT, scopes: { graph: GRAPH } });
  // Log lines are formatted as in production and dropped instead of written: I/O is the same for any handler.
  const logger = createJsonLogger({ write: () => undefined });
  const cache = new TokenCache({ store, clock: systemClock, logger, refreshMarginSeconds: config.refreshMarginSeconds });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const service = new TokenService({
    config,
    issuer: 'https://broker.example',
    signer: new LocalKeySigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    cache,
    clock: systemClock,
    entra: { fetch: entraFetch, sleep },
  });
  return { handler: createTokenHandler({ service, logger, clock: systemClock }), cache };
}

interface Variant {
  readonly name: string;
  readonly invoke: () => Promise<unknown>;
  /** Runs before each invocation, outside the timed part. */
  readonly before?: () => void;
}

/**
 * Times each variant per invocation, interleaving them (a, b, c, a, b, c, …) so that JIT and GC state,
 * CPU frequency and other load fall on all of them alike.
 */
async function measureInterleaved(variants: readonly Variant[], iterations: number): Promise<CostFigures[]> {
  const samples = variants.map(() => new Float64Array(iterations));
  for (let i = -Math.min(2000, iterations); i < iterations; i++) {
    for (const [v, variant] of variants.entries()) {
      variant.before?.();
      const t0 = process.hrtime.bigint();
      await variant.invoke();
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (i >= 0) samples[v]![i] = us; // negative i: warm-up
    }
  }
  return variants.map((variant, v) => {
    const sorted = Array.from(samples[v]!).sort((a, b) => a - b);
    return { name: variant.name, medianUs: percentile(sorted, 50), p99Us: percentile(sorted, 99) };
  });
}

/** Measures empty, L1 hit and L2 hit (against DynamoDB Local at `dynamodbEndpoint`). */
export async function measureHandlerCost(dynamodbEndpoint: string, iterations: number): Promise<CostFigures[]> {
  const context: Context = localContext('bench', 15_000);
  const emptyHandler = middy(async () => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: '{}',
  }));
  const l1 = tokenHandler(new MemoryTokenStore());
  await l1.handler(event, context);

  const client = createDynamoDbClient({
    endpoint: dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTokenTable(client, 'bench-handler-cost');
  const l2 = tokenHandler(new DynamoDbTokenStore(client, 'bench-handler-cost'));
  await l2.handler(event, context);

  const [empty, l1Hit] = await measureInterleaved(
    [
      { name: 'empty middy handler', invoke: () => emptyHandler(event, context) },
      { name: 'token handler, L1 hit', invoke: () => l1.handler(event, context) },
    ],
    iterations,
  );
  // One GetItem per request: L1 is emptied before each call, outside the timed part.
  const [l2Hit] = await measureInterleaved(
    [{ name: 'token handler, L2 hit (DynamoDB Local)', invoke: () => l2.handler(event, context), before: () => l2.cache.clearMemory() }],
    Math.min(iterations, 2000),
  );
  const results = [empty!, l1Hit!, l2Hit!];
  client.destroy();
  return results;
}
