/**
 * The functions' code as the package ships it (`dist/functions/<entry>/index.mjs`, what a CDK app deploys) runs on
 * Lambda's Node.js 24: every entry loads with the variables the stack sets, and the discovery entry answers a request
 * exactly as a fresh bundle of the source does. test/lib/bundling.int.test.ts shows the shipped bytes are the stack's.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BROKER_ENV } from '../../contract/environment';
import { BUNDLE_FILE, LAMBDA_ENTRIES, LAMBDA_ESBUILD_OPTIONS } from '../../lib/lambda-bundling';
import { brokerStack } from '../lib/helpers';
import { repoRoot } from '../support/broker-process';
import { httpEvent } from '../support/http-events';
import { lambdaNode } from '../support/lambda-node';

const run = promisify(execFile);
const { packageDir } = inject('builtPackage');
const shipped = (entry: string) => join(packageDir, 'dist/functions', entry, BUNDLE_FILE);
const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';

/** What the entries read when they load; nothing is called at load, so no AWS endpoint is needed. */
const ENV = {
  PATH: process.env.PATH,
  AWS_REGION: 'eu-west-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  [BROKER_ENV.issuer]: ISSUER,
  [BROKER_ENV.signingKeyArn]: KEY_ARN,
  [BROKER_ENV.publishedKeyArns]: KEY_ARN,
  [BROKER_ENV.tableName]: 'cache',
  [BROKER_ENV.keyRotation]: JSON.stringify({ intervalSeconds: 7_776_000, publishLeadSeconds: 172_800, retireAfterSeconds: 86_400 }),
  [BROKER_ENV.signingKeyPolicy]: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
  [BROKER_ENV.tokenCacheKeyArn]: 'arn:aws:kms:eu-west-1:111122223333:key/cccccccc-2222-3333-4444-555555555555',
  [BROKER_ENV.rotationStateKeyArn]: 'arn:aws:kms:eu-west-1:111122223333:key/dddddddd-2222-3333-4444-555555555555',
  [BROKER_ENV.apiId]: 'abc123',
  [BROKER_ENV.apiStage]: '$default',
  [BROKER_ENV.deployment]: 'BrokerStack/TokenBroker',
  [BROKER_ENV.logLevel]: 'ERROR',
  [BROKER_ENV.serviceName]: 'aws-azure-token-broker',
  [BROKER_ENV.runtimeConfig]: JSON.stringify({
    tenantId: '11111111-1111-1111-1111-111111111111',
    clientId: '22222222-2222-2222-2222-222222222222',
    scopes: { graph: 'https://graph.microsoft.com/.default' },
  }),
};

/** Imports a bundle as Lambda does and, given an event, invokes its handler once; prints what it got as JSON. */
const INVOKE = `
  const [file, eventJson] = process.argv.slice(1);
  const { handler } = await import(file);
  if (!eventJson) { console.log(JSON.stringify({ handler: typeof handler })); process.exit(0); }
  const context = { functionName: 'fn', functionVersion: '$LATEST', awsRequestId: 'req-1', memoryLimitInMB: '256',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:fn', logGroupName: '/aws/lambda/fn',
    logStreamName: 'local', callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => 5000 };
  console.log(JSON.stringify(await handler(JSON.parse(eventJson), context)));
`;

let node: string;
let temp: string;
beforeAll(() => {
  node = lambdaNode();
  temp = mkdtempSync(join(tmpdir(), 'broker-bundles-'));
}, 120_000);
afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
});

async function invoke(file: string, event?: unknown): Promise<unknown> {
  const args = ['--input-type=module', '--eval', INVOKE, file, ...(event ? [JSON.stringify(event)] : [])];
  const { stdout } = await run(node, args, { env: ENV });
  return JSON.parse(stdout);
}

describe("the shipped function bundles on Lambda's Node.js 24", () => {
  it('runs on Node 24', async () => {
    const { stdout } = await run(node, ['-p', 'process.versions.node']);
    expect(stdout.trim()).toMatch(/^24\./);
  });

  it('sets every variable the stack sets on its functions (a variable the stack adds is added here too)', () => {
    const functions = Object.values(brokerStack().template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }[];
    const stackSets = new Set(functions.flatMap((fn) => Object.keys(fn.Properties.Environment?.Variables ?? {})));
    const missing = [...stackSets].filter((name) => !(name in ENV) && name !== 'NODE_OPTIONS' && !name.startsWith('AWS_'));
    expect(missing).toEqual([]);
  });

  it.each(LAMBDA_ENTRIES)('%s loads with the variables the stack sets and exports its handler', async (entry) => {
    expect(await invoke(shipped(entry))).toEqual({ handler: 'function' });
  });

  it('answers a discovery request exactly as a fresh bundle of the source does', async () => {
    const fresh = join(temp, 'discovery.mjs');
    await build({
      ...LAMBDA_ESBUILD_OPTIONS,
      absWorkingDir: repoRoot,
      entryPoints: ['lambda/entrypoints/discovery.ts'],
      outfile: fresh,
      bundle: true,
      platform: 'node',
      logLevel: 'error',
    });
    const event = httpEvent({ routeKey: 'GET /.well-known/openid-configuration', caller: null });
    const [fromPackage, fromSource] = await Promise.all([invoke(shipped('discovery'), event), invoke(fresh, event)]);

    expect(fromPackage).toEqual(fromSource);
    expect(fromPackage).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse((fromPackage as { body: string }).body)).toMatchObject({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` });
  });
});
