/**
 * `npm start`: the deployment's own handlers on 127.0.0.1, built as the Lambda entrypoints build them (the same
 * composition root, Powertools middlewares, audit trail and metrics), with local stand-ins for KMS, STS and IAM.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { basename } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { createStsClient } from '../../lambda/adapters/aws-clients';
import { LocalDataKeys } from '../../lambda/adapters/local-data-keys';
import { fixedSigningKey } from '../../lambda/adapters/local-key-signer';
import { createLogging, createObservability, createTokenObservability } from '../../lambda/adapters/observability';
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
} from '../../lambda/core/ports';
import { rotatingAssertions, rotationPublicKeys } from '../../lambda/core/rotating-assertions';
import { jwksCacheControl } from '../../lambda/core/rotation-state-reader';
import { createDiscoveryHandler } from '../../lambda/handlers/discovery';
import { createJwksHandler } from '../../lambda/handlers/jwks';
import { LOCAL_API, LOCAL_REST_STAGE, type VerifiedIamCaller } from './api-gateway-event';
import { invocationScope, type InvocationScope } from './invocation-scope';
import type { LocalConfig } from './local-config';
import { startLocalRotation } from './local-rotation';
import { createRequestHandler, type RouteHandler, type SignedRequest, type TokenRouteHandler } from './request-handler';
import { loadOrCreateRotationStateKey, loadOrCreateSealingKey } from './secret-key-file';
import { loadOrCreateSigningKey } from './signing-key-file';
import { verifySigV4Request } from './sigv4-verifier';
import { openTokenStore } from './token-store';
import { startRefreshTimer, type RefreshTimer } from './refresh-timer';
import { startOutboundFederation, type OutboundFederation } from '../sts-outbound/outbound-federation';

export const DEFAULT_PORT = 8787;
/** The identity the runtime vouches for after a valid SigV4 signature with `localCredentials`. */
const LOCAL_ACCOUNT = '000000000000';
/**
 * With signer "aws-sts": the role the local runtime plays, as a deployed token function's role ARN is the `sub` STS
 * writes. The account is the local one above; the name says what it stands for (docs/signers.md).
 */
export const LOCAL_TOKEN_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:role/broker-local-token-function`;
/** The `Deployment` dimension of the local metrics. */
const LOCAL_DEPLOYMENT = 'local';
/** On every line the local runtime writes, to tell them from a deployment's. */
const LOCAL_KEYS = { runtime: 'local' } as const;

export interface LocalRuntimeOptions {
  readonly config: LocalConfig;
  /** 0 picks a free port. @default 8787 */
  readonly port?: number;
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
  /**
   * The base URL of the token routes: `url`, or with `endpoint: {"type": "private"}` the private REST API's stage under
   * it, `http://127.0.0.1:{port}/broker`, as a private API's URL ends with its stage.
   */
  readonly tokenBaseUrl: string;
  /** The assertions' `iss`: the broker's own (signer "kms"), or the local STS stand-in's (signer "aws-sts"). */
  readonly issuer: string;
  /** With signer "aws-sts": the local STS outbound-federation stand-in's issuer and the role ARN it writes in `sub`. */
  readonly aws: { readonly issuer: string; readonly subject: string } | undefined;
  /** Stops accepting requests, ends open connections and releases clients. */
  close(): Promise<void>;
}

/**
 * Serves the deployment's own handlers on 127.0.0.1: discovery and JWKS in the open, `/token/*` behind a
 * SigV4 check when `localCredentials` is set (403 `{"message":"Forbidden"}` otherwise, as API Gateway's
 * IAM authorization answers), signing with local RSA keys instead of KMS. Log and metric lines go to stdout and
 * stderr, as a function's do in Lambda (./log-tap.ts diverts them in-process).
 * @throws ConfigError / Error for a bad signing key or an unreachable DynamoDB endpoint, before listening
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const { config } = options;
  const inScope = invocationScope();
  const observe = { persistentKeys: LOCAL_KEYS, ...(options.logLevel ? { logLevel: options.logLevel } : {}) };
  const own = createLogging({ ...observe, route: 'local-runtime' });
  const { logger } = own;
  const clock = options.clock ?? systemClock;
  const tokenObservability = createTokenObservability({ ...observe, deployment: LOCAL_DEPLOYMENT });
  const jwksObservability = createObservability({ ...observe, route: 'jwks', deployment: LOCAL_DEPLOYMENT });
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
    signing = await startSigning(config, { logger, inScope, clock, observe });
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
          { state: signing.state(tokenObservability), signer: signing.signer, clock },
        );
  // With a private endpoint the token function is the private REST API's: its events are REST ones, from its stage.
  const privateApi = config.broker.deployment.endpoint.type === 'private' ? { apiId: LOCAL_API.apiId, stage: LOCAL_REST_STAGE } : undefined;
  const token = createTokenFunction({
    config: runtime,
    assertions,
    store,
    api: privateApi ?? LOCAL_API,
    observability: tokenObservability,
    clock,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  // With signer "aws-sts" the stack has no discovery or JWKS route: the STS stand-in is the issuer.
  const handlers: { discovery?: RouteHandler; jwks?: RouteHandler; token: TokenRouteHandler } = { token };
  if (signing.kind !== 'aws-sts') {
    const discovery = createLogging({ ...observe, route: 'discovery' });
    handlers.discovery = createDiscoveryHandler({ issuer, logger: discovery.logger }).use([...discovery.middlewares]);
    handlers.jwks = createJwksHandler({
      keys: rotationPublicKeys(signing.state(jwksObservability)),
      ...(signing.jwksCacheControl ? { cacheControl: signing.jwksCacheControl } : {}),
      logger: jwksObservability.logger,
    }).use([...jwksObservability.middlewares]);
  }

  server.on(
    'request',
    createRequestHandler({
      handlers,
      ...(privateApi ? { privateApi } : {}),
      aliases: new Set(Object.keys(runtime.scopes)),
      issuer: config.issuer,
      authorize: (request) => authorize(config, request, logger, clock),
      // Without localCredentials nothing is checked, so nothing is logged.
      authorizeLogs: config.localCredentials !== undefined,
      logger,
      powertools: own.powertools,
      inScope,
      clock,
    }),
  );
  // No 'clientError' listener: Node then answers what it cannot parse itself (400, or 431 for a head over 16 KB).
  const { proactiveRefresh } = runtime;
  const refreshTimer: RefreshTimer | undefined =
    proactiveRefresh === false
      ? undefined
      : startRefreshTimer({ handler: token, periodSeconds: proactiveRefresh.periodSeconds, inScope, logger, clock });

  return {
    url,
    tokenBaseUrl: privateApi ? `${url}/${privateApi.stage}` : url,
    issuer,
    aws: signing.kind === 'aws-sts' ? { issuer: signing.assertions.issuer, subject: signing.assertions.subject } : undefined,
    close: async () => {
      await refreshTimer?.stop();
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

/**
 * API Gateway's IAM authorization, locally: with `localCredentials`, a valid SigV4 signature made with them (the
 * caller is then `arn:aws:iam::000000000000:user/local`); without, anyone, as an anonymous caller.
 */
function authorize(config: LocalConfig, request: SignedRequest, logger: Logger, clock: Clock): VerifiedIamCaller | undefined {
  if (!config.localCredentials) {
    // Open mode: nobody was verified, so the caller is anonymous (and any allowedCallers would refuse it).
    return { accessKey: '', accountId: '', userArn: '' };
  }
  const verdict = verifySigV4Request(request, { ...config.localCredentials, region: config.region, service: 'execute-api', now: clock });
  if (!verdict.ok) {
    logger.info('request refused: SigV4 check failed', { path: request.path, reason: verdict.reason });
    return undefined;
  }
  return { accessKey: config.localCredentials.accessKeyId, accountId: LOCAL_ACCOUNT, userArn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/local` };
}

type Signing =
  /** The broker signs: a key file is a rotation state of one key; `signingKeyDir` rotates. */
  | {
      readonly kind: 'kms';
      /** The state as a route reads it, counting a refused state with that route's metrics. */
      state(route: { readonly logger: Logger; readonly metrics: BrokerMetrics }): RotationStateSource;
      readonly signer: KeySigner;
      /** @default - the discovery document's (a fixed key never changes) */
      readonly jwksCacheControl?: string;
      close(): Promise<void>;
    }
  | { readonly kind: 'aws-sts'; readonly assertions: StsAssertions; readonly standIn: OutboundFederation; close(): Promise<void> };

interface SigningDeps {
  readonly logger: Logger;
  readonly inScope: InvocationScope;
  readonly clock: Clock;
  /** The log level and keys of every local function's lines. */
  readonly observe: { readonly persistentKeys: Readonly<Record<string, string>>; readonly logLevel?: LogLevel };
}

/**
 * Who signs locally: signer "aws-sts", the STS stand-in; signer "kms", one key file, or the rotation over
 * `signingKeyDir` (started, with an active key, before the runtime listens).
 */
async function startSigning(config: LocalConfig, { logger, inScope, clock, observe }: SigningDeps): Promise<Signing> {
  if (config.broker.runtime.signer === 'aws-sts') return stsSigning(config, logger);
  if (config.signingKeyDir !== undefined) {
    const stateKey = await loadOrCreateRotationStateKey(config.rotationStateKeyFile);
    if (stateKey.created) logger.info('generated a local rotation state key', { path: stateKey.path });
    if (stateKey.tooOpen) logger.warn('the rotation state key file is readable by other users; chmod 600 it', { path: stateKey.path });
    const rotation = await startLocalRotation({
      stateKey: stateKey.key,
      stateKeyFile: stateKey.path,
      rotator: createObservability({ ...observe, route: 'rotator', deployment: LOCAL_DEPLOYMENT }),
      inScope,
      signingKeyDir: config.signingKeyDir,
      settings: config.broker.deployment.keyRotation,
      ...(config.dynamodbEndpoint
        ? { dynamodb: { endpoint: config.dynamodbEndpoint, region: config.region, tableName: config.tableName } }
        : {}),
      clock,
    });
    logger.info('rotating signing keys', { signingKeyDir: config.signingKeyDir, ...config.broker.deployment.keyRotation });
    return {
      kind: 'kms',
      state: (route) => rotation.reader(route),
      signer: rotation.keys,
      jwksCacheControl: jwksCacheControl(rotation.settings),
      // Stopping the timer lets the process end.
      close: () => {
        rotation.stop();
        return Promise.resolve();
      },
    };
  }
  const key = await loadOrCreateSigningKey(config.signingKeyFile);
  if (key.created) logger.info('generated a local signing key', { path: key.path });
  if (key.tooOpen) logger.warn('the signing key file is readable by other users; chmod 600 it', { path: key.path });
  const fixed = await fixedSigningKey(key.pem, basename(key.path), Math.floor(clock() / 1000));
  return { kind: 'kms', state: () => fixed.state, signer: fixed.signer, close: () => Promise.resolve() };
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
