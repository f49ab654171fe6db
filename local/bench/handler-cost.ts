// Section 2: cost of the token handler per request on an L1 hit and an L2 hit (a sealed item), as the Lambda
// entrypoint builds it (the composition root, Powertools' injectLambdaContext and logMetrics, the audit line of every
// request), next to an empty middy handler; and the cost of opening a sealed item on its own.
// Every line any variant writes is formatted as in production and dropped instead of written (stdout and stderr are
// silenced while measuring), so the terminal's speed is not measured and I/O is the same for every variant.
import middy from '@middy/core';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';
import { parseBrokerConfig } from '../../contract/broker-config';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbTokenStore } from '../../lambda/adapters/dynamodb-token-store';
import { LocalDataKeys } from '../../lambda/adapters/local-data-keys';
import { fixedSigningKey } from '../../lambda/adapters/local-key-signer';
import { MemoryTokenStore } from '../../lambda/adapters/memory-token-store';
import { createTokenObservability } from '../../lambda/adapters/observability';
import { createTokenFunction, sealBindings, type TokenFunctionDeps } from '../../lambda/composition/token-function';
import { rotatingAssertions } from '../../lambda/core/rotating-assertions';
import { TokenSealer } from '../../lambda/core/token-sealing';
import { apiGatewayEvent, lambdaContext } from '../runtime/api-gateway-event';
import { ensureTokenTable } from '../runtime/ensure-table';
import { CLIENT, GRAPH, TENANT } from './exchanges';
import { percentile } from './stats';

/** What an L1 hit may cost of handler time on the benchmark machine (median). */
export const L1_HIT_BUDGET_US = 50;

export interface CostFigures {
  readonly name: string;
  readonly medianUs: number;
  readonly p99Us: number;
}

const event: APIGatewayProxyEventV2WithIAMAuthorizer = apiGatewayEvent({
  routeKey: 'GET /token/graph',
  rawPath: '/token/graph',
  headers: { host: 'broker.example', 'user-agent': 'bench' },
  apiId: 'bench',
  accountId: '123456789012',
  sourceIp: '10.0.0.1',
  requestId: 'bench',
  caller: { accessKey: 'AKID', accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/workload/bench' },
  now: 0,
});

/** An in-process stand-in for Entra that answers at once (only the first call of each store reaches it). */
const entraFetch = async () =>
  new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: 'x'.repeat(1200) }), { status: 200 });

const config = parseBrokerConfig({ tenantId: TENANT, clientId: CLIENT, scopes: { graph: GRAPH } }).runtime;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = await fixedSigningKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'bench.pem', 0);
const assertions = rotatingAssertions(
  {
    issuer: 'https://broker.example',
    subject: config.subject,
    audience: config.audience,
    lifetimeSeconds: config.assertionLifetimeSeconds,
  },
  { ...signing, clock: Date.now },
);

/** The production token route, as the Lambda entrypoint composes it, on `store`. */
function tokenHandler(store: TokenFunctionDeps['store']) {
  return createTokenFunction({
    config,
    assertions,
    store,
    api: { apiId: 'bench', stage: '$default' },
    observability: createTokenObservability({ deployment: 'bench' }),
    fetch: entraFetch,
  });
}

/** Drops everything written to stdout and stderr until the returned function is called. */
function silenceOutput(): () => void {
  const [out, err] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  const drop = (() => true) as typeof process.stdout.write;
  process.stdout.write = drop;
  process.stderr.write = drop;
  return () => {
    process.stdout.write = out;
    process.stderr.write = err;
  };
}

interface Variant {
  readonly name: string;
  readonly invoke: () => Promise<unknown>;
}

/**
 * Times each variant per invocation, interleaving them (a, b, c, a, b, c, …) so that JIT and GC state,
 * CPU frequency and other load fall on all of them alike.
 */
async function measureInterleaved(variants: readonly Variant[], iterations: number): Promise<CostFigures[]> {
  const samples = variants.map(() => new Float64Array(iterations));
  for (let i = -Math.min(2000, iterations); i < iterations; i++) {
    for (const [v, variant] of variants.entries()) {
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

/**
 * Measures the empty middy handler (the baseline), the L1 hit as deployed (its audit line and both middlewares), and
 * the L2 hit (against DynamoDB Local at `dynamodbEndpoint`). The first two are always first in the result.
 */
export async function measureHandlerCost(dynamodbEndpoint: string, iterations: number): Promise<CostFigures[]> {
  // Lambda's longest timeout: middy races each invocation against the remaining time, which must not run out here.
  const context: Context = lambdaContext({ functionName: 'bench', timeoutMs: 900_000 });
  const emptyHandler = middy(async () => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: '{}',
  }));
  const client = createDynamoDbClient({
    endpoint: dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTokenTable(client, 'bench-handler-cost');
  const restore = silenceOutput();
  try {
    const l1 = tokenHandler(new MemoryTokenStore());
    await l1(event, context);
    // Sealed as in a deployment; the local key stands in for KMS (see the last two rows for what opening costs).
    const store = { sealed: new DynamoDbTokenStore(client, 'bench-handler-cost'), dataKeys: new LocalDataKeys(randomBytes(32), 'bench') };
    await tokenHandler(store)(event, context); // puts the token into the table
    // A fresh container per request (built outside the timed part): its memory is empty, so each call is an L2 hit.
    const l2Iterations = Math.min(iterations, 2000);
    const fresh = Array.from({ length: l2Iterations + 2000 }, () => tokenHandler(store));

    const hits = await measureInterleaved(
      [
        { name: 'empty middy handler', invoke: () => emptyHandler(event, context) },
        { name: 'token handler, L1 hit as deployed (audit line, injectLambdaContext, logMetrics)', invoke: () => l1(event, context) },
      ],
      iterations,
    );
    // One GetItem per request: every call goes to a container that has not seen the token yet.
    // Each fresh container also opens the item's data key first (in AWS: one KMS Decrypt, then kept in memory).
    const [l2Hit] = await measureInterleaved(
      [{ name: 'token handler, L2 hit (DynamoDB Local, sealed item)', invoke: () => (fresh.pop() ?? tokenHandler(store))(event, context) }],
      l2Iterations,
    );
    return [...hits, l2Hit!, ...(await measureOpening(iterations))];
  } finally {
    restore();
    client.destroy();
  }
}

/**
 * What sealing adds to an L2 hit, without DynamoDB's round trip: opening a sealed item with its data key already in
 * the container's memory (a warm container), and with the data key unwrapped first (the local key here; one KMS
 * Decrypt round trip in AWS, once per data key and container).
 */
async function measureOpening(iterations: number): Promise<CostFigures[]> {
  const [binding] = [...sealBindings(config).values()];
  const issuedOn = Math.floor(Date.now() / 1000);
  const token = { accessToken: 'x'.repeat(1200), expiresOn: issuedOn + 3600, issuedOn, scope: GRAPH };
  const keys = new LocalDataKeys(randomBytes(32), 'bench');
  const warm = new TokenSealer({ keys, clock: Date.now });
  const sealed = await warm.seal(token, binding!);
  return measureInterleaved(
    [
      { name: 'opening a sealed item, data key in memory', invoke: () => warm.open(sealed, binding!) },
      {
        name: 'opening a sealed item, data key unwrapped first',
        invoke: () => new TokenSealer({ keys, clock: Date.now }).open(sealed, binding!),
      },
    ],
    iterations,
  );
}
