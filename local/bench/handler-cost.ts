// Section 2: cost of the token handler per request on an L1 hit and an L2 hit (a sealed item), next to an empty
// middy handler, and the cost of opening a sealed item on its own.
// The token handler is built as the Lambda entrypoint builds it (Powertools logger with injectLambdaContext,
// metrics flush, audit line); every line any variant writes goes to the same no-op sink.
import middy from '@middy/core';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';
import { parseBrokerConfig } from '../../contract/broker-config';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbTokenStore } from '../../lambda/adapters/dynamodb-token-store';
import { LocalDataKeys } from '../../lambda/adapters/local-data-keys';
import { fixedSigningKey } from '../../lambda/adapters/local-key-signer';
import { MemoryTokenStore } from '../../lambda/adapters/memory-token-store';
import { lambdaContextMiddleware, type LogSink } from '../../lambda/adapters/powertools-logger';
import { createTokenObservability } from '../../lambda/adapters/token-observability';
import { createTokenFunction, sealBindings, type TokenFunctionDeps } from '../../lambda/composition/token-function';
import { rotatingAssertions } from '../../lambda/core/rotating-assertions';
import { TokenSealer } from '../../lambda/core/token-sealing';
import { apiGatewayEvent, lambdaContext } from '../runtime/api-gateway-event';
import { ensureTokenTable } from '../runtime/ensure-table';
import { CLIENT, GRAPH, TENANT } from './exchanges';
import { percentile } from './stats';

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

/** Lines are formatted as in production and dropped instead of written: I/O is the same for every variant. */
const dropLine: LogSink = () => undefined;

/**
 * The production token route, as the Lambda entrypoint composes it, on `store`. To show what each part costs,
 * `withoutAudit` swaps the audit trail for a no-op, and `withInjectLambdaContext` adds Powertools' middleware
 * the route does without (what it would cost).
 */
function tokenHandler(store: TokenFunctionDeps['store'], options: { withoutAudit?: boolean; withInjectLambdaContext?: boolean } = {}) {
  const observability = createTokenObservability({ deployment: 'bench', sink: dropLine });
  return createTokenFunction({
    config,
    assertions,
    store,
    api: { apiId: 'bench', stage: '$default' },
    ...observability,
    ...(options.withoutAudit ? { audit: { tokenServed: () => undefined } } : {}),
    ...(options.withInjectLambdaContext ? { middlewares: [lambdaContextMiddleware(observability.powertools)] } : {}),
    fetch: entraFetch,
  }).handler;
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
 * Measures the empty middy handler (the baseline), the L1 hit as deployed (with its audit line), the L1 hit
 * without its audit line (the broker code alone), the L1 hit with Powertools' injectLambdaContext added (why the
 * route does without it), and the L2 hit (against DynamoDB Local at `dynamodbEndpoint`). The first two are always
 * first in the result.
 */
export async function measureHandlerCost(dynamodbEndpoint: string, iterations: number): Promise<CostFigures[]> {
  const context: Context = lambdaContext({ functionName: 'bench', timeoutMs: 15_000 });
  const emptyHandler = middy(async () => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: '{}',
  }));
  const l1 = tokenHandler(new MemoryTokenStore());
  await l1(event, context);
  const l1WithoutAudit = tokenHandler(new MemoryTokenStore(), { withoutAudit: true });
  await l1WithoutAudit(event, context);
  const l1WithMiddleware = tokenHandler(new MemoryTokenStore(), { withInjectLambdaContext: true });
  await l1WithMiddleware(event, context);

  const client = createDynamoDbClient({
    endpoint: dynamodbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTokenTable(client, 'bench-handler-cost');
  // Sealed as in a deployment; the local key stands in for KMS (see the last two rows for what opening costs).
  const store = { sealed: new DynamoDbTokenStore(client, 'bench-handler-cost'), dataKeys: new LocalDataKeys(randomBytes(32), 'bench') };
  await tokenHandler(store)(event, context); // puts the token into the table
  // A fresh container per request (built outside the timed part): its memory is empty, so each call is an L2 hit.
  const l2Iterations = Math.min(iterations, 2000);
  const fresh = Array.from({ length: l2Iterations + 2000 }, () => tokenHandler(store));

  const hits = await measureInterleaved(
    [
      { name: 'empty middy handler', invoke: () => emptyHandler(event, context) },
      { name: 'token handler, L1 hit as deployed (the audit trail counts the repeat)', invoke: () => l1(event, context) },
      { name: 'token handler, L1 hit without the audit line', invoke: () => l1WithoutAudit(event, context) },
      { name: 'token handler, L1 hit with Powertools injectLambdaContext added', invoke: () => l1WithMiddleware(event, context) },
    ],
    iterations,
  );
  // One GetItem per request: every call goes to a container that has not seen the token yet.
  // Each fresh container also opens the item's data key first (in AWS: one KMS Decrypt, then kept in memory).
  const [l2Hit] = await measureInterleaved(
    [{ name: 'token handler, L2 hit (DynamoDB Local, sealed item)', invoke: () => (fresh.pop() ?? tokenHandler(store))(event, context) }],
    l2Iterations,
  );
  client.destroy();
  return [...hits, l2Hit!, ...(await measureOpening(iterations))];
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
