import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createStsClient } from '../../lambda/adapters/aws-clients';
import { LocalDataKeys } from '../../lambda/adapters/local-data-keys';
import { fixedSigningKey } from '../../lambda/adapters/local-key-signer';
import {
  asLoggerPort,
  createBrokerLogger,
  lambdaContextMiddleware,
  stderrSink,
  type LogSink,
} from '../../lambda/adapters/powertools-logger';
import { TokenAuditLog } from '../../lambda/adapters/token-audit-log';
import { PowertoolsBrokerMetrics, PowertoolsRotatorMetrics } from '../../lambda/adapters/powertools-metrics';
import { StsAssertions } from '../../lambda/adapters/sts-assertions';
import { createTokenFunction, type TokenFunctionDeps } from '../../lambda/composition/token-function';
import {
  systemClock,
  type BrokerMetrics,
  type Clock,
  type Fetch,
  type KeySigner,
  type Logger,
  type RotationStateSource,
  type RotatorMetrics,
} from '../../lambda/core/ports';
import { rotatingAssertions, rotationPublicKeys } from '../../lambda/core/rotating-assertions';
import { jwksCacheControl } from '../../lambda/core/rotation-state-reader';
import { createDiscoveryHandler } from '../../lambda/handlers/discovery';
import { createJwksHandler } from '../../lambda/handlers/jwks';
import { apiGatewayEvent, lambdaContext, LOCAL_API, type VerifiedIamCaller } from './api-gateway-event';
import { isAllowedHost } from './host-check';
import { flattenHeaders, readBody, sendGatewayMessage, sendResult } from './http-bridge';
import { invocationScope } from './invocation-scope';
import type { LocalConfig } from './local-config';
import { matchRoute, type MatchedRoute } from './routes';
import { startLocalRotation } from './local-rotation';
import { loadOrCreateSigningKey } from './signing-key-file';
import { verifySigV4Request } from './sigv4-verifier';
import { loadOrCreateRotationStateKey, loadOrCreateSealingKey } from './secret-key-file';
import { openTokenStore } from './token-store';
import { startOutboundFederation, type OutboundFederation } from '../sts-outbound/outbound-federation';

export const DEFAULT_PORT = 8787;
/** The same as the token function's timeout in the stack. */
const HANDLER_TIMEOUT_MS = 15_000;
/** The identity the runtime vouches for after a valid SigV4 signature with `localCredentials`. */
const LOCAL_ACCOUNT = '000000000000';
/**
 * With signer "aws-sts": the role the local runtime plays, as a deployed token function's role ARN is the `sub` STS
 * writes. The account is the local one above; the name says what it stands for (docs/signers.md).
 */
export const LOCAL_TOKEN_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:role/broker-local-token-function`;

export interface LocalRuntimeOptions {
  readonly config: LocalConfig;
  /** 0 picks a free port. @default 8787 */
  readonly port?: number;
  /**
   * Where the log lines go: the deployment's logger (Powertools, scrubbed JSON lines), each line about a request
   * with that request's id. @default - stderr, so stdout keeps only the `listening on …` line
   */
  readonly logSink?: LogSink;
  /** @default - `POWERTOOLS_LOG_LEVEL`, else INFO */
  readonly logLevel?: LogLevel;
  /** @default globalThis.fetch */
  readonly fetch?: Fetch;
  /** @default Date.now */
  readonly clock?: Clock;
}

export interface LocalRuntime {
  /** `http://127.0.0.1:{port}` */
  readonly url: string;
  /** The assertions' `iss`: the broker's own (signer "kms"), or the local STS stand-in's (signer "aws-sts"). */
  readonly issuer: string;
  /** With signer "aws-sts": the local STS outbound-federation stand-in's issuer and the role ARN it writes in `sub`. */
  readonly aws: { readonly issuer: string; readonly subject: string } | undefined;
  /** Stops accepting requests, ends open connections and releases clients. */
  close(): Promise<void>;
}

type Handler = (event: APIGatewayProxyEventV2WithIAMAuthorizer, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Serves the deployment's own handlers on 127.0.0.1: discovery and JWKS in the open, `/token/*` behind a
 * SigV4 check when `localCredentials` is set (403 `{"message":"Forbidden"}` otherwise, as API Gateway's
 * IAM authorization answers), signing with a local RSA key instead of KMS.
 * @throws ConfigError / Error for a bad signing key or an unreachable DynamoDB endpoint, before listening
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { config } = options;
  const inScope = invocationScope();
  const powertools = createBrokerLogger({
    sink: options.logSink ?? stderrSink,
    persistentKeys: { runtime: 'local' },
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  });
  const logger = asLoggerPort(powertools);
  const withLambdaContext = lambdaContextMiddleware(powertools);
  const clock = options.clock ?? systemClock;
  // The same EMF lines a deployment writes, in the log: what would reach CloudWatch is visible locally.
  const metrics = new PowertoolsBrokerMetrics({ deployment: 'local', sink: options.logSink ?? stderrSink, logger: powertools });
  const opened = await openTokenStore(config, logger);
  let store: TokenFunctionDeps['store'];
  if (opened.kind === 'dynamodb') {
    // The table is readable by anyone who can reach DynamoDB (Local): items are sealed, as in a deployment.
    const sealing = await loadOrCreateSealingKey(config.sealingKeyFile);
    if (sealing.created) logger.info('generated a local sealing key', { path: sealing.path });
    if (sealing.tooOpen) logger.warn('the sealing key file is readable by other users; chmod 600 it', { path: sealing.path });
    store = { sealed: opened.sealed, dataKeys: new LocalDataKeys(sealing.key, `local/${config.tableName}`) };
  } else {
    store = opened.store;
  }
  const closeStore = opened.close;
  let signing: Signing;
  try {
    signing = await startSigning(config, {
      logger,
      metrics,
      rotatorMetrics: new PowertoolsRotatorMetrics({ deployment: 'local', sink: options.logSink ?? stderrSink, logger: powertools }),
      clock,
    });
  } catch (error) {
    closeStore();
    throw error;
  }
  if (!config.localCredentials) {
    logger.warn('localCredentials is not set: /token/* answers anyone on this machine without a SigV4 signature');
  }

  const server = createServer();
  const port = options.port ?? DEFAULT_PORT;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        resolve();
      });
    });
  } catch (error) {
    await signing.close();
    closeStore();
    throw error;
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = signing.kind === 'aws-sts' ? signing.assertions.issuer : (config.issuer ?? url);

  const { runtime } = config.broker;
  const assertions =
    signing.kind === 'aws-sts'
      ? signing.assertions
      : rotatingAssertions(
          { issuer, subject: runtime.subject, audience: runtime.audience, lifetimeSeconds: runtime.assertionLifetimeSeconds },
          { state: signing.state, signer: signing.signer, clock },
        );
  const token = createTokenFunction({
    config: runtime,
    assertions,
    store,
    api: LOCAL_API,
    logger,
    audit: new TokenAuditLog(powertools, { clock }),
    metrics,
    middlewares: [withLambdaContext],
    clock,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  // With signer "aws-sts" the stack has no discovery or JWKS route: the STS stand-in is the issuer.
  const handlers: Partial<Record<MatchedRoute['handler'], Handler>> = {
    ...(signing.kind === 'aws-sts'
      ? {}
      : {
          discovery: createDiscoveryHandler({ issuer, logger }).use(withLambdaContext),
          jwks: createJwksHandler({
            keys: rotationPublicKeys(signing.state),
            ...(signing.jwksCacheControl ? { cacheControl: signing.jwksCacheControl } : {}),
            logger,
          })
            .use(withLambdaContext)
            .use(logMetrics(metrics.metrics)),
        }),
    token: token.handler,
  };
  const aliases = new Set(Object.keys(config.broker.runtime.scopes));

  const serve = async (request: IncomingMessage, response: ServerResponse, awsRequestId: string): Promise<void> => {
    // The runtime's own lines about this request (a refused signature, say) carry its id too.
    powertools.addContext(lambdaContext({ functionName: 'broker-local-runtime', timeoutMs: HANDLER_TIMEOUT_MS, awsRequestId, clock }));
    // API Gateway's request id, in the event and, as HTTP APIs answer it, in the `apigw-requestid` header.
    const apiRequestId = randomBytes(11).toString('base64');
    response.setHeader('apigw-requestid', apiRequestId);
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const rawQueryString = queryAt === -1 ? '' : target.slice(queryAt + 1);
    if (!isAllowedHost(request.headers.host, config.issuer)) {
      logger.warn('request refused: Host is not a loopback name or address (DNS rebinding?)', {
        host: (request.headers.host ?? '').slice(0, 128),
        path: rawPath.slice(0, 256),
      });
      sendGatewayMessage(
        response,
        403,
        'Forbidden: the local runtime answers only requests addressed to 127.0.0.1, localhost or [::1] (or to the configured issuer)',
      );
      return;
    }
    const body = await readBody(request);
    if (body === undefined) {
      sendGatewayMessage(response, 413, 'Request Entity Too Large');
      return;
    }
    const route = matchRoute(request.method ?? '', rawPath, aliases);
    const handler = route === undefined ? undefined : handlers[route.handler];
    if (!route || !handler) {
      sendGatewayMessage(response, 404, 'Not Found');
      return;
    }

    let caller: VerifiedIamCaller | undefined;
    if (route.handler === 'token') {
      if (config.localCredentials) {
        const verdict = verifySigV4Request(
          { method: request.method ?? 'GET', path: rawPath, query: rawQueryString, headers: request.headers, body },
          { ...config.localCredentials, region: config.region, service: 'execute-api', now: clock },
        );
        if (!verdict.ok) {
          logger.info('request refused: SigV4 check failed', { path: rawPath, reason: verdict.reason });
          sendGatewayMessage(response, 403, 'Forbidden');
          return;
        }
        caller = {
          accessKey: config.localCredentials.accessKeyId,
          accountId: LOCAL_ACCOUNT,
          userArn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/local`,
        };
      } else {
        // Open mode: nobody was verified, so the caller is anonymous (and any allowedCallers would refuse it).
        caller = { accessKey: '', accountId: '', userArn: '' };
      }
    }
    const event = apiGatewayEvent({
      routeKey: route.routeKey,
      rawPath,
      rawQueryString,
      method: request.method ?? 'GET',
      headers: flattenHeaders(request),
      ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
      ...(caller ? { caller } : {}),
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      protocol: `HTTP/${request.httpVersion}`,
      requestId: apiRequestId,
      now: clock(),
    });
    const result = await handler(
      event,
      lambdaContext({ functionName: `broker-${route.handler}`, timeoutMs: HANDLER_TIMEOUT_MS, awsRequestId, clock }),
    );
    sendResult(response, result);
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    // One id per request, as Lambda gives one per invocation, and its own scope for what Powertools keeps.
    const awsRequestId = randomUUID();
    void inScope(awsRequestId, () =>
      serve(request, response, awsRequestId).catch((error: unknown) => {
        // The handlers answer every error themselves; reaching here is a bug in this adapter.
        logger.error('local runtime failed to serve a request', { error: error instanceof Error ? error.name : 'unknown' });
        if (!response.headersSent) sendGatewayMessage(response, 500, 'Internal Server Error');
        else response.destroy();
      }),
    );
  });
  // No 'clientError' listener: Node then answers what it cannot parse itself (400, or 431 for a head over 16 KB).

  return {
    url,
    issuer,
    aws: signing.kind === 'aws-sts' ? { issuer: signing.assertions.issuer, subject: signing.assertions.subject } : undefined,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      await signing.close();
      closeStore();
    },
  };
}

type Signing =
  /** The broker signs: a key file is a rotation state of one key; `signingKeyDir` rotates. */
  | {
      readonly kind: 'kms';
      readonly state: RotationStateSource;
      readonly signer: KeySigner;
      /** @default - the discovery document's (a fixed key never changes) */
      readonly jwksCacheControl?: string;
      close(): Promise<void>;
    }
  | { readonly kind: 'aws-sts'; readonly assertions: StsAssertions; readonly standIn: OutboundFederation; close(): Promise<void> };

/**
 * Who signs locally: signer "aws-sts", the STS stand-in; signer "kms", one key file, or the rotation over
 * `signingKeyDir` (started, with an active key, before the runtime listens).
 */
async function startSigning(
  config: LocalConfig,
  { logger, metrics, rotatorMetrics, clock }: { logger: Logger; metrics: BrokerMetrics; rotatorMetrics: RotatorMetrics; clock: Clock },
): Promise<Signing> {
  if (config.broker.runtime.signer === 'aws-sts') return stsSigning(config, logger);
  if (config.signingKeyDir !== undefined) {
    const stateKey = await loadOrCreateRotationStateKey(config.rotationStateKeyFile);
    if (stateKey.created) logger.info('generated a local rotation state key', { path: stateKey.path });
    if (stateKey.tooOpen) logger.warn('the rotation state key file is readable by other users; chmod 600 it', { path: stateKey.path });
    const rotation = await startLocalRotation({
      stateKey: stateKey.key,
      metrics,
      rotatorMetrics,
      signingKeyDir: config.signingKeyDir,
      settings: config.broker.deployment.keyRotation,
      ...(config.dynamodbEndpoint
        ? { dynamodb: { endpoint: config.dynamodbEndpoint, region: config.region, tableName: config.tableName } }
        : {}),
      logger,
      clock,
    });
    logger.info('rotating signing keys', { signingKeyDir: config.signingKeyDir, ...config.broker.deployment.keyRotation });
    // Stopping the timer lets the process end.
    const close = (): Promise<void> => {
      rotation.stop();
      return Promise.resolve();
    };
    return { kind: 'kms', state: rotation.state, signer: rotation.keys, jwksCacheControl: jwksCacheControl(rotation.settings), close };
  }
  const key = await loadOrCreateSigningKey(config.signingKeyFile);
  if (key.created) logger.info('generated a local signing key', { path: key.path });
  if (key.tooOpen) logger.warn('the signing key file is readable by other users; chmod 600 it', { path: key.path });
  const fixed = await fixedSigningKey(key.pem, basename(key.path), Math.floor(clock() / 1000));
  return { kind: 'kms', ...fixed, close: () => Promise.resolve() };
}

/**
 * Signer "aws-sts" locally: starts the STS outbound-federation stand-in (its issuer at `config.issuer`'s port, or a
 * free one) and asks it for assertions through the real STS client, signing with throwaway credentials only the two
 * share, as the token function asks STS with its role's credentials.
 */
async function stsSigning(config: LocalConfig, logger: Logger): Promise<Signing> {
  const credentials = {
    accessKeyId: `ASIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
  };
  const standIn: OutboundFederation = await startOutboundFederation({
    roleArn: LOCAL_TOKEN_ROLE_ARN,
    credentials,
    region: config.region,
    port: config.issuer === undefined ? 0 : Number(new URL(config.issuer).port),
  });
  logger.info('started the local STS outbound identity federation stand-in', { issuer: standIn.url, subject: LOCAL_TOKEN_ROLE_ARN });
  const assertions = new StsAssertions(createStsClient({ region: config.region, endpoint: standIn.url, credentials }), {
    issuer: standIn.url,
    subject: LOCAL_TOKEN_ROLE_ARN,
    audience: config.broker.runtime.audience,
    lifetimeSeconds: config.broker.runtime.assertionLifetimeSeconds,
  });
  return { kind: 'aws-sts', assertions, standIn, close: () => standIn.close() };
}
