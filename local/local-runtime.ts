import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createDynamoDbClient } from '../lambda/adapters/aws-clients';
import { DynamoDbTokenStore } from '../lambda/adapters/dynamodb-token-store';
import { createJsonLogger } from '../lambda/adapters/json-logger';
import { LocalKeySigner } from '../lambda/adapters/local-key-signer';
import { MemoryTokenStore } from '../lambda/adapters/memory-token-store';
import { normaliseIssuer } from '../lambda/core/discovery';
import { systemClock, type Clock, type Fetch, type Logger, type TokenStore } from '../lambda/core/ports';
import { sleep } from '../lambda/core/retry';
import { TokenCache, type TokenCacheOptions } from '../lambda/core/token-cache';
import { TokenService, type TokenCacheLike } from '../lambda/core/token-service';
import { createDiscoveryHandler } from '../lambda/handlers/discovery';
import { createJwksHandler } from '../lambda/handlers/jwks';
import { createTokenHandler } from '../lambda/handlers/token';
import { localContext, sendGatewayMessage, sendResult, toApiGatewayEvent, type LocalCaller } from './api-gateway-event';
import { ensureTokenTable } from './ensure-table';
import type { LocalConfig } from './local-config';
import { loadOrCreateSigningKey } from './signing-key-file';
import { verifySigV4Request } from './sigv4-verifier';

export const DEFAULT_PORT = 8787;
/** API Gateway's payload limit is 10 MB; a token GET has no body, so far less will do. */
const MAX_BODY_BYTES = 64 * 1024;
/** The same as the token function's timeout in the stack. */
const HANDLER_TIMEOUT_MS = 15_000;

export interface LocalRuntimeOptions {
  readonly config: LocalConfig;
  /** 0 picks a free port. @default 8787 */
  readonly port?: number;
  /** @default - JSON lines on stderr */
  readonly logger?: Logger;
  /** @default globalThis.fetch */
  readonly fetch?: Fetch;
  /** @default Date.now */
  readonly clock?: Clock;
  /** Tuning of the token cache, e.g. for tests. @default - the deployment's defaults */
  readonly cacheOptions?: Partial<
    Pick<TokenCacheOptions, 'refreshAheadSeconds' | 'leaseMs' | 'leaseWaitMs' | 'pollIntervalMs' | 'storeBackoffMs'>
  >;
  /** Builds the token cache (the benchmark swaps in an uncoordinated one). @default - a TokenCache */
  readonly createCache?: (options: TokenCacheOptions) => TokenCacheLike;
}

export interface LocalRuntime {
  /** `http://127.0.0.1:{port}` */
  readonly url: string;
  readonly issuer: string;
  /** Stops accepting requests, ends open connections and releases clients. */
  close(): Promise<void>;
}

type Handler<E> = (event: E, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

interface Route {
  readonly routeKey: string;
  readonly pathParameters?: Record<string, string>;
  readonly handler: 'discovery' | 'jwks' | 'token';
}

/** Matches a request as the stack's HTTP API would: a literal route per alias, then the `{alias}` catch-all. */
function matchRoute(method: string, rawPath: string, aliases: ReadonlySet<string>): Route | undefined {
  if (method !== 'GET') return undefined;
  if (rawPath === '/.well-known/openid-configuration') return { routeKey: `GET ${rawPath}`, handler: 'discovery' };
  if (rawPath === '/jwks') return { routeKey: 'GET /jwks', handler: 'jwks' };
  const match = /^\/token\/([^/]+)$/.exec(rawPath);
  if (!match?.[1]) return undefined;
  let alias: string;
  try {
    alias = decodeURIComponent(match[1]);
  } catch {
    alias = match[1];
  }
  if (aliases.has(alias)) return { routeKey: `GET /token/${alias}`, handler: 'token' };
  return { routeKey: 'GET /token/{alias}', pathParameters: { alias }, handler: 'token' };
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function openStore(config: LocalConfig, logger: Logger): Promise<{ store: TokenStore; close: () => void }> {
  if (!config.dynamodbEndpoint) return { store: new MemoryTokenStore(), close: () => undefined };
  const client = createDynamoDbClient({
    endpoint: config.dynamodbEndpoint,
    region: config.region,
    // DynamoDB Local accepts any credentials; these are not secrets.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTokenTable(client, config.tableName);
  logger.info('token cache in DynamoDB', { endpoint: config.dynamodbEndpoint, tableName: config.tableName });
  return { store: new DynamoDbTokenStore(client, config.tableName), close: () => client.destroy() };
}

/**
 * Serves the deployment's own handlers on 127.0.0.1: discovery and JWKS in the open, `/token/*` behind a
 * SigV4 check when `localCredentials` is set (403 `{"message":"Forbidden"}` otherwise, as API Gateway's
 * IAM authorization answers), signing with a local RSA key instead of KMS.
 * @throws ConfigError / Error for a bad signing key or an unreachable DynamoDB endpoint, before listening
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { config } = options;
  const logger =
    options.logger ?? createJsonLogger({ write: (line) => void process.stderr.write(`${line}\n`), base: { runtime: 'local' } });
  const clock = options.clock ?? systemClock;
  const key = await loadOrCreateSigningKey(config.signingKeyFile);
  if (key.created) logger.info('generated a local signing key', { path: key.path });
  if (key.tooOpen) logger.warn('the signing key file is readable by other users; chmod 600 it', { path: key.path });
  const signer = new LocalKeySigner(key.pem);
  const { store, close: closeStore } = await openStore(config, logger);
  if (!config.localCredentials) {
    logger.warn('localCredentials is not set: /token/* answers anyone on this machine without a SigV4 signature');
  }

  // A configured issuer is checked before the port opens, so a bad one cannot leave a half-started server.
  const configuredIssuer = config.issuer === undefined ? undefined : normaliseIssuer(config.issuer);

  const server = createServer();
  const port = options.port ?? DEFAULT_PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = configuredIssuer ?? url;

  const cacheOptions: TokenCacheOptions = {
    store,
    clock,
    logger,
    refreshMarginSeconds: config.broker.refreshMarginSeconds,
    ...options.cacheOptions,
  };
  const cache = options.createCache ? options.createCache(cacheOptions) : new TokenCache(cacheOptions);
  const service = new TokenService({
    config: config.broker,
    issuer,
    signer,
    cache,
    clock,
    entra: { fetch: options.fetch ?? fetch, sleep },
  });
  const handlers: Record<Route['handler'], Handler<APIGatewayProxyEventV2WithIAMAuthorizer>> = {
    discovery: createDiscoveryHandler({ issuer, logger }),
    jwks: createJwksHandler({ keys: signer, logger }),
    token: createTokenHandler({ service, logger, clock }),
  };
  const aliases = new Set(Object.keys(config.broker.scopes));

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const rawQueryString = queryAt === -1 ? '' : target.slice(queryAt + 1);
    const body = await readBody(request);
    if (body === undefined) return sendGatewayMessage(response, 413, 'Request Entity Too Large');
    const route = matchRoute(request.method ?? '', rawPath, aliases);
    if (!route) return sendGatewayMessage(response, 404, 'Not Found');

    let caller: LocalCaller | undefined;
    if (route.handler === 'token' && config.localCredentials) {
      const verdict = verifySigV4Request(
        { method: request.method ?? 'GET', path: rawPath, query: rawQueryString, headers: request.headers, body },
        { ...config.localCredentials, region: config.region, service: 'execute-api', now: clock },
      );
      if (!verdict.ok) {
        logger.info('request refused: SigV4 check failed', { path: rawPath, reason: verdict.reason });
        return sendGatewayMessage(response, 403, 'Forbidden');
      }
      caller = {
        accessKey: config.localCredentials.accessKeyId,
        accountId: '000000000000',
        userArn: 'arn:aws:iam::000000000000:user/local',
      };
    }
    const event = toApiGatewayEvent(request, route, rawPath, rawQueryString, caller, clock());
    const result = await handlers[route.handler](event, localContext(`broker-${route.handler}`, HANDLER_TIMEOUT_MS));
    sendResult(response, result);
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    serve(request, response).catch((error: unknown) => {
      // The handlers answer every error themselves; reaching here is a bug in this adapter.
      logger.error('local runtime failed to serve a request', { error: error instanceof Error ? error.name : 'unknown' });
      if (!response.headersSent) sendGatewayMessage(response, 500, 'Internal Server Error');
      else response.destroy();
    });
  });
  // No 'clientError' listener: Node then answers what it cannot parse itself (400, or 431 for a head over 16 KB).

  return {
    url,
    issuer,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      closeStore();
    },
  };
}
