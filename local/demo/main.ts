// `npm run demo`: the whole flow on this machine, with no account. Starts DynamoDB Local, the Entra
// emulator and the local runtime, walks discovery → JWKS → first token (an exchange) → second token
// (a cache hit) → the decoded token, and stops everything it started. Without Java 17+ it says so in one
// line and caches tokens in memory instead of in DynamoDB Local.
// `npm run demo -- --signer aws-sts`: the same with AWS STS outbound identity federation signing (its local stand-in):
// Entra reads AWS's issuer instead of the broker's, and trusts the token function's role ARN.
// `npm run demo -- --rotation`: a signing key's life instead (./rotation.ts).
// `npm run demo -- --reverse`: the reverse direction, an Azure workload into an AWS role (./reverse.ts).
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fetchBrokerToken } from '../../client/broker-client';
import { silenceAwsSdkNodeWarning } from '../../contract/aws-sdk-node-warning';
import {
  JAVA_INSTALL_EXAMPLE,
  JavaMissingError,
  MIN_JAVA_VERSION,
  startDynamoDbLocal,
  type DynamoDbLocal,
} from '../dynamodb-local/launcher';
import { freePort } from '../free-port';
import { startEntraEmulator, type EntraEmulator } from '../entra-emulator/emulator';
import { parseLocalConfig } from '../runtime/local-config';
import { LOCAL_TOKEN_ROLE_ARN, startLocalRuntime, type LocalRuntime } from '../runtime/local-runtime';
import { tapLogLines } from '../runtime/log-tap';
import { DEMO_EXIT, DEMO_USAGE as USAGE } from './demo-usage';
import { reverseDemo } from './reverse';
import { rotationDemo } from './rotation';

silenceAwsSdkNodeWarning();

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const GRAPH = 'https://graph.microsoft.com/.default';
const REGION = 'us-east-1';

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (n: number, title: string) => process.stdout.write(`\n${bold(`${n}. ${title}`)}\n`);
const show = (text: string) => process.stdout.write(`${text.replace(/^/gm, '   ')}\n`);

/** Decodes a JWT's claims for display (no verification: the emulator's signature was checked by the tests). */
function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** DynamoDB Local, or undefined (after one line saying so) when Java is missing or too old. */
async function startDynamoDbLocalUnlessNoJava(): Promise<DynamoDbLocal | undefined> {
  try {
    return await startDynamoDbLocal();
  } catch (error) {
    if (!(error instanceof JavaMissingError)) throw error;
    process.stdout.write(
      `Skipping DynamoDB Local (it needs Java ${MIN_JAVA_VERSION}+, and "${error.java}" ${error.found}): tokens are cached in memory. ` +
        `For the DynamoDB part, install Java ${MIN_JAVA_VERSION}+ (e.g. ${JAVA_INSTALL_EXAMPLE}) and run the demo again.\n`,
    );
    return undefined;
  }
}

async function demo(signer: 'kms' | 'aws-sts'): Promise<void> {
  const started: Array<{ name: string; stop: () => Promise<unknown> }> = [];
  // The broker runs in this process: its log lines (on stdout and stderr, as in Lambda) are kept, shown on a failure.
  const brokerLog: string[] = [];
  let stopTap: (() => void) | undefined = tapLogLines((line) => void brokerLog.push(line));
  const stopCollecting = () => {
    stopTap?.();
    stopTap = undefined;
  };
  try {
    process.stdout.write(bold(`AWS-to-Azure token broker: local demo${signer === 'aws-sts' ? ' (signer aws-sts)' : ''}`) + '\n');
    process.stdout.write('Starting DynamoDB Local, the Entra ID emulator and the broker on 127.0.0.1 ...\n');
    const dynamodb = await startDynamoDbLocalUnlessNoJava();
    if (dynamodb) started.push({ name: 'DynamoDB Local', stop: () => dynamodb.stop() });

    const brokerPort = await freePort();
    // kms: the broker is the issuer. aws-sts: the local STS stand-in is, on a port of its own.
    const issuer = `http://127.0.0.1:${signer === 'aws-sts' ? await freePort() : brokerPort}`;
    const subject = signer === 'aws-sts' ? LOCAL_TOKEN_ROLE_ARN : 'aws-token-broker';
    const entra: EntraEmulator = await startEntraEmulator({
      apps: [
        {
          tenantId: TENANT,
          clientId: CLIENT,
          federatedCredentials: [{ issuer, subject, audiences: ['api://AzureADTokenExchange'] }],
        },
      ],
    });
    started.push({ name: 'Entra emulator', stop: () => entra.close() });

    // Throwaway SigV4 keys: the runtime checks every /token call against them, as API Gateway's IAM auth would.
    const credentials = {
      accessKeyId: `AKIDDEMO${randomBytes(6).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
    };
    const config = parseLocalConfig({
      tenantId: TENANT,
      clientId: CLIENT,
      scopes: { graph: GRAPH },
      authorityHost: entra.url,
      ...(dynamodb ? { dynamodbEndpoint: dynamodb.endpoint } : {}),
      region: REGION,
      localCredentials: credentials,
      ...(signer === 'aws-sts' ? { signer, issuer } : {}),
    });
    const runtime: LocalRuntime = await startLocalRuntime({
      config,
      port: brokerPort,
    });
    started.push({ name: 'broker', stop: () => runtime.close() });
    show(
      `${dynamodb ? `DynamoDB Local  ${dynamodb.endpoint}` : 'token cache     in memory'}\nEntra emulator  ${entra.url}  (trusts issuer ${issuer}, subject ${subject})\n${
        signer === 'aws-sts' ? `AWS STS (local) ${issuer}  (outbound identity federation stand-in: issuer and GetWebIdentityToken)\n` : ''
      }broker          ${runtime.url}`,
    );

    // kms: the broker publishes both documents. aws-sts: AWS's issuer does (here its local stand-in), the broker neither.
    const discoveryUrl = `${issuer}/.well-known/openid-configuration`;
    step(
      1,
      signer === 'aws-sts' ? "Entra reads the discovery document (public, AWS's issuer)" : 'Entra reads the discovery document (public)',
    );
    const discovery = await fetch(discoveryUrl);
    show(`GET ${discoveryUrl} → ${discovery.status}, Cache-Control: ${discovery.headers.get('cache-control')}`);
    const document = (await discovery.json()) as { jwks_uri: string };
    show(JSON.stringify(document, null, 2));

    step(2, signer === 'aws-sts' ? "Entra reads the signing keys (public, AWS's issuer)" : 'Entra reads the signing keys (public)');
    const jwks = (await (await fetch(document.jwks_uri)).json()) as {
      keys: Array<{ kid: string; kty: string; alg?: string; n?: string; crv?: string }>;
    };
    for (const key of jwks.keys) {
      show(`kid ${key.kid}  ${key.kty} ${key.n ? `${Buffer.from(key.n, 'base64url').length * 8}-bit` : (key.crv ?? '')}  ${key.alg ?? ''}`);
    }
    if (signer === 'aws-sts') {
      const own = await fetch(`${runtime.url}/.well-known/openid-configuration`);
      show(`the broker itself: GET ${runtime.url}/.well-known/openid-configuration → ${own.status} (no public routes with signer aws-sts)`);
    }

    const callBroker = async () => {
      const before = Date.now();
      const token = await fetchBrokerToken({ url: runtime.url, alias: 'graph', region: REGION, credentials, identify: false });
      return { token, ms: Date.now() - before };
    };

    step(3, 'A workload asks for a Graph token (SigV4-signed GET /token/graph)');
    const first = await callBroker();
    show(
      `200 in ${first.ms} ms: ${
        signer === 'aws-sts'
          ? 'the broker got a client assertion from AWS STS (GetWebIdentityToken, sub = its role ARN)'
          : 'the broker signed a client assertion'
      } and exchanged it at Entra\n` +
        `Entra token requests so far: ${entra.requests.exchanges}\n` +
        `expires_in ${first.token.expiresIn} s, scope ${first.token.scope}, access_token: ${first.token.accessToken.length} characters (not shown)`,
    );

    step(4, 'The same request again');
    const second = await callBroker();
    const same = second.token.accessToken === first.token.accessToken;
    show(
      `200 in ${second.ms} ms: ${same ? 'the same token, from the cache' : 'a different token'}\n` +
        `Entra token requests so far: ${entra.requests.exchanges} (no new exchange)`,
    );

    step(5, 'An unsigned request');
    const unsigned = await fetch(`${runtime.url}/token/graph`);
    show(`GET /token/graph without SigV4 → ${unsigned.status} ${await unsigned.text()}`);

    step(6, 'What the access token says (decoded claims)');
    const claims = claimsOf(first.token.accessToken);
    const shown = ['aud', 'iss', 'appid', 'tid', 'idtyp', 'iat', 'exp'];
    show(JSON.stringify(Object.fromEntries(shown.filter((c) => c in claims).map((c) => [c, claims[c]])), null, 2));

    if (!same || entra.requests.exchanges !== 1 || unsigned.status !== 403) throw new Error('the demo did not behave as expected');
    process.stdout.write(`\n${bold('Done.')} Stopping everything.\n`);
  } catch (error) {
    stopCollecting();
    process.stderr.write(`\ndemo failed: ${(error as Error).message}\n`);
    if (brokerLog.length > 0) process.stderr.write(`broker log:\n${brokerLog.join('\n')}\n`);
    process.exitCode = DEMO_EXIT.failed;
  } finally {
    for (const { name, stop } of started.reverse()) {
      await stop().catch((error: unknown) => process.stderr.write(`could not stop ${name}: ${(error as Error).message}\n`));
    }
    stopCollecting();
  }
}

let signer: string | undefined;
let rotation: boolean | undefined;
let reverse: boolean | undefined;
let help: boolean | undefined;
try {
  ({
    values: { signer, rotation, reverse, help },
  } = parseArgs({
    options: {
      signer: { type: 'string' },
      rotation: { type: 'boolean' },
      reverse: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(DEMO_EXIT.usage);
}
if (help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(DEMO_EXIT.ok);
}
if (reverse === true && (rotation === true || signer !== undefined)) {
  process.stderr.write(`--reverse: goes alone (it shows Azure into AWS, not the broker's signer or keys)\n${USAGE}\n`);
  process.exit(DEMO_EXIT.usage);
}
if (signer !== undefined && signer !== 'kms' && signer !== 'aws-sts') {
  process.stderr.write(`--signer: expected "kms" or "aws-sts", received ${JSON.stringify(signer)}\n${USAGE}\n`);
  process.exit(DEMO_EXIT.usage);
}
if (rotation === true && signer === 'aws-sts') {
  process.stderr.write(`--rotation: shows the kms signer's keys; AWS rotates the aws-sts signer's own keys\n${USAGE}\n`);
  process.exit(DEMO_EXIT.usage);
}
if (reverse === true) {
  const ok = await reverseDemo().catch((error: unknown) => {
    process.stderr.write(`\ndemo failed: ${(error as Error).message}\n`);
    return false;
  });
  if (!ok) process.exitCode = DEMO_EXIT.failed;
} else if (rotation === true) {
  const ok = await rotationDemo().catch((error: unknown) => {
    process.stderr.write(`\ndemo failed: ${(error as Error).message}\n`);
    return false;
  });
  if (!ok) process.exitCode = DEMO_EXIT.failed;
} else {
  await demo(signer ?? 'kms');
}
