/**
 * The identity endpoint: Azure App Service's managed-identity protocol on 127.0.0.1, backed by the broker, so that
 * every Azure SDK's `DefaultAzureCredential` / `ManagedIdentityCredential` gets Entra tokens on AWS with no code
 * change: the application only sees `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
 *
 *   const endpoint = await startIdentityEndpoint({
 *     brokerUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
 *     resources: { 'https://storage.azure.com': 'storage' },
 *   });
 *   // IDENTITY_ENDPOINT=endpoint.url, IDENTITY_HEADER=endpoint.identityHeader for the application
 *   await endpoint.close();
 *
 * A library first: configuration comes only from the arguments (the CLI and the Lambda extension read flags and
 * environment and pass them in), nothing is process-wide (each endpoint has its own server, cache and header, so
 * several can run in one process or several processes side by side, each with its own broker requests), and
 * starting is cheap: the AWS credential chain loads on the first token request.
 *
 * Tokens come from `BrokerCredential`: SigV4 with the AWS default credential chain (or `credentials`), one cached
 * token per alias until `refreshMarginSeconds` before it expires, one broker request shared by concurrent callers,
 * failures never cached. See token-request.ts for the protocol and the answers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerCredential } from '../broker-credential';
import type { CallerIdentityLookup, Fetch } from '../caller-identity';
import { BrokerClientError } from '../errors';
import type { CredentialsSource, Env } from '../sign-request';
import { IdentityEndpointError } from './identity-endpoint-error';
import { resourceMap, type ResourceMap } from './resource-map';
import { IDENTITY_PATH, answerTokenRequest, identityHeaderDigest, type IdentityResponse } from './token-request';

/** Where the endpoint reports each request: status, code, resource, alias, correlation id, duration; never a token. */
export interface IdentityEndpointLogger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface IdentityEndpointOptions {
  /** Broker base URL (see `fetchBrokerToken`). */
  readonly brokerUrl: string;
  /**
   * Azure resource → broker alias, e.g. `{ 'https://storage.azure.com': 'storage' }`; a resource matches with or
   * without a trailing slash or `/.default`.
   */
  readonly resources: Readonly<Record<string, string>> | ResourceMap;
  /**
   * TCP port on 127.0.0.1; 0 picks a free one.
   * @default 0
   */
  readonly port?: number;
  /**
   * The secret callers send in `X-IDENTITY-HEADER` (their `IDENTITY_HEADER`): at least 16 characters, letters,
   * digits and `-._~+/=` only.
   * @default - 32 random bytes, base64url (256 bits)
   */
  readonly identityHeader?: string;
  /**
   * Signing region.
   * @default - from an execute-api URL, else `AWS_REGION` / `AWS_DEFAULT_REGION` of `env`
   */
  readonly region?: string;
  /**
   * AWS credentials to sign broker requests with.
   * @default - the AWS SDK default chain (env, SSO/profile, web identity, ECS, EC2), loaded on the first request
   */
  readonly credentials?: CredentialsSource;
  /**
   * Fetch for broker requests.
   * @default - global fetch
   */
  readonly fetch?: Fetch;
  /**
   * Reports each request.
   * @default - nothing is reported
   */
  readonly logger?: IdentityEndpointLogger;
  /**
   * Per broker request, milliseconds.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * A cached token with less lifetime left than this is refreshed, never served (the SDKs refresh theirs 5
   * minutes ahead too).
   * @default 300
   */
  readonly refreshMarginSeconds?: number;
  /**
   * Milliseconds since the epoch.
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * For the region fallback and STS settings.
   * @default process.env
   */
  readonly env?: Env;
  /**
   * Names the caller in `forbidden` messages.
   * @default - STS GetCallerIdentity
   */
  readonly identify?: CallerIdentityLookup | false;
}

export interface IdentityEndpoint {
  /** `http://127.0.0.1:<port>/msi/token`: the application's `IDENTITY_ENDPOINT`. */
  readonly url: string;
  readonly port: number;
  /** The application's `IDENTITY_HEADER`. */
  readonly identityHeader: string;
  /** Stops listening, closes idle connections and resolves once the requests in flight are answered. */
  close(): Promise<void>;
}

/** What a header value may hold and still travel in an environment variable and an HTTP header unchanged. */
const IDENTITY_HEADER_VALUE = /^[A-Za-z0-9\-._~+/=]{16,512}$/;

const SILENT: IdentityEndpointLogger = { info: () => {}, warn: () => {}, error: () => {} };

/** 32 random bytes, base64url: what the endpoint uses when no header is given. */
export function randomIdentityHeader(): string {
  return randomBytes(32).toString('base64url');
}

function invalid(message: string, cause?: unknown): IdentityEndpointError {
  return new IdentityEndpointError('invalid_argument', message, cause === undefined ? undefined : { cause });
}

/**
 * Starts the endpoint on 127.0.0.1 and resolves once it listens.
 * @throws IdentityEndpointError `invalid_argument` (broker URL, region, resource map, identity header or port,
 *   named in the message), `listen_failed` (the port is taken or not allowed)
 */
export async function startIdentityEndpoint(options: IdentityEndpointOptions): Promise<IdentityEndpoint> {
  const port = options.port ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) throw invalid(`the port must be an integer from 0 to 65535, got ${port}`);
  const identityHeader = options.identityHeader ?? randomIdentityHeader();
  if (!IDENTITY_HEADER_VALUE.test(identityHeader)) {
    throw invalid(
      `the identity header must be 16 to 512 characters from A-Z a-z 0-9 - . _ ~ + / = (got ${identityHeader.length} characters${/^[A-Za-z0-9\-._~+/=]*$/.test(identityHeader) ? '' : ', some of them not allowed'}); leave it unset to get a random one`,
    );
  }
  const resources = 'aliasFor' in options.resources ? (options.resources as ResourceMap) : resourceMap(options.resources);
  const logger = options.logger ?? SILENT;

  let credential: BrokerCredential;
  try {
    credential = new BrokerCredential({
      url: options.brokerUrl,
      // The resource map has already chosen the alias, so each alias stands for itself as BrokerCredential's scope.
      scopes: Object.fromEntries(resources.entries.map(([, alias]) => [alias, alias])),
      ...(options.region !== undefined ? { region: options.region } : {}),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.refreshMarginSeconds !== undefined ? { refreshMarginSeconds: options.refreshMarginSeconds } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(options.identify !== undefined ? { identify: options.identify } : {}),
    });
  } catch (error) {
    if (error instanceof BrokerClientError) throw invalid(error.message, error);
    throw error;
  }

  const deps = {
    identityHeaderDigest: identityHeaderDigest(identityHeader),
    resources,
    tokenFor: (alias: string) => credential.getToken(alias),
    correlationId: randomUUID,
  };
  const clock = options.clock ?? Date.now;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const started = clock();
    // The body is never read (a GET has none); drain it so the connection can be reused.
    request.resume();
    const answer: IdentityResponse = await answerTokenRequest(
      { method: request.method ?? 'GET', target: request.url ?? '/', headers: request.headers },
      deps,
    );
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body);
    report(logger, answer, clock() - started);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error('identity endpoint failed to answer', { error: error instanceof Error ? error.message : String(error) });
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end('{"statusCode":500,"message":"internal: the identity endpoint failed unexpectedly.","error":"internal"}');
    });
  });
  // Loopback only, always: the endpoint hands out tokens to whoever knows the header.
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new IdentityEndpointError(
          'listen_failed',
          `cannot listen on 127.0.0.1:${port} (${error.code ?? error.message})${error.code === 'EADDRINUSE' ? ': the port is in use, choose another one or 0 for any' : ''}`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${bound}${IDENTITY_PATH}`,
    port: bound,
    identityHeader,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      })),
  };
}

function report(logger: IdentityEndpointLogger, answer: IdentityResponse, durationMs: number): void {
  const { code, unexpected, ...rest } = answer.outcome;
  const fields = { status: answer.status, code, ...rest, durationMs };
  if (answer.status === 200) logger.info('token served', fields);
  else if (code === 'internal') logger.error('token request failed', { ...fields, error: unexpected });
  else logger.warn('token request refused', fields);
}
