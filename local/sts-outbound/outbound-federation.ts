/**
 * A local stand-in for AWS STS outbound identity federation: one real HTTP server on 127.0.0.1 that is both the
 * account's issuer (OIDC discovery, JWKS) and the STS endpoint that answers `GetWebIdentityToken` over the Query
 * protocol, so the real `@aws-sdk/client-sts` calls it through an endpoint override.
 *
 * What it copies, and where from:
 * - The issuer hosts `/.well-known/openid-configuration` and `/.well-known/jwks.json` (IAM API reference,
 *   EnableOutboundWebIdentityFederation, `IssuerIdentifier`: "hosts the OpenID Connect (OIDC) discovery endpoints
 *   at /.well-known/openid-configuration and /.well-known/jwks.json"). AWS signs with RS256 or ES384 as asked
 *   (`SigningAlgorithm`, STS API reference, GetWebIdentityToken), so both keys are published.
 * - `GetWebIdentityToken` parameters and limits (STS API reference, GetWebIdentityToken): `Audience.member.N`
 *   required, 1-10 members of 1-1000 characters; `DurationSeconds` 60-3600, default 300; `SigningAlgorithm`
 *   required, RS256 or ES384. Violations answer `ValidationError` (400), as STS does for model constraints.
 * - The answer: `WebIdentityToken` and `Expiration` (ISO 8601) in `<GetWebIdentityTokenResult>`.
 * - `OutboundWebIdentityFederationDisabledException` (403) while federation is off (`federationEnabled: false`),
 *   with the SDK model's status (`@aws-sdk/client-sts`, awsQueryError `[..., 403]`).
 * - The token's claims (AWS's outbound federation guide): `iss`, `sub` = the calling role's ARN, `aud` (a string for one audience), `iat`, `exp`,
 *   `jti`, no `nbf`, and the `https://sts.amazonaws.com/` object (`aws_account`, `source_region`, `principal_id`,
 *   `original_session_exp`).
 * - Every call must be SigV4-signed (service `sts`, the configured region) with the configured credentials, else
 *   403 `SignatureDoesNotMatch` (STS "Common Errors").
 *
 * Faults for tests: `failNext` makes the next calls answer an error (e.g. 400 `Throttling`, which the SDK retries,
 * or 503 `ServiceUnavailable`). Nothing here prints; no token or secret key appears in an error or in `lastError`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, calculateJwkThumbprint, type JWK, type CryptoKey } from 'jose';
import { verifySigV4Request } from '../runtime/sigv4-verifier';
import {
  QueryError,
  newRequestId,
  readQueryRequest,
  renderQueryError,
  renderQueryResult,
  sendXml,
  type QueryRequest,
} from '../sts-emulator/query-protocol';

export const GET_WEB_IDENTITY_TOKEN = 'GetWebIdentityToken';
export const SIGNING_ALGORITHMS = ['RS256', 'ES384'] as const;
type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
const DEFAULT_DURATION_SECONDS = 300;
/** The claim object AWS adds to every token, named by STS's own URL. */
export const AWS_CLAIMS_KEY = 'https://sts.amazonaws.com/';

export interface OutboundFederationOptions {
  /** The calling identity's role ARN: every token's `sub` (and `principal_id`). */
  readonly roleArn: string;
  /** The credentials the caller signs with (SigV4, service `sts`). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The region of the caller's STS client: its SigV4 scope, and the tokens' `source_region`. */
  readonly region: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default true; false answers every call with OutboundWebIdentityFederationDisabledException */
  readonly federationEnabled?: boolean;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** A queued error answer: its HTTP status and Query error code. */
export interface OutboundFault {
  readonly httpStatus: number;
  readonly code: string;
}

export interface OutboundFederation {
  /** `http://127.0.0.1:{port}`: the issuer (the tokens' `iss`) and the STS endpoint (`AWS_ENDPOINT_URL_STS`). */
  readonly url: string;
  readonly roleArn: string;
  /** `GetWebIdentityToken` calls received, answered or not. */
  readonly calls: number;
  /** The last refusal: code and message. Never holds a token or a secret. */
  readonly lastError: { readonly code: string; readonly message: string } | undefined;
  /** The parameters of the last `GetWebIdentityToken` call. */
  readonly lastRequest:
    { readonly audiences: readonly string[]; readonly signingAlgorithm: string; readonly durationSeconds: number } | undefined;
  setFederationEnabled(enabled: boolean): void;
  /** Queues `count` error answers for the next calls. */
  failNext(fault: OutboundFault, count?: number): void;
  close(): Promise<void>;
}

interface IssuerKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly kid: string;
}

async function issuerKey(alg: SigningAlgorithm): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'RS256' ? { modulusLength: 2048 } : {});
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, kid, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

const validation = (message: string) => new QueryError(400, 'ValidationError', message);

/**
 * Starts the stand-in on 127.0.0.1.
 * @throws when the port cannot be bound
 */
export async function startOutboundFederation(options: OutboundFederationOptions): Promise<OutboundFederation> {
  const now = options.now ?? Date.now;
  const keys = { RS256: await issuerKey('RS256'), ES384: await issuerKey('ES384') } satisfies Record<SigningAlgorithm, IssuerKey>;
  let enabled = options.federationEnabled ?? true;
  let calls = 0;
  let lastError: OutboundFederation['lastError'];
  let lastRequest: OutboundFederation['lastRequest'];
  const faults: OutboundFault[] = [];
  let url = '';

  const discovery = () => ({
    issuer: url,
    jwks_uri: `${url}/.well-known/jwks.json`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...SIGNING_ALGORITHMS],
    claims_supported: ['aud', 'exp', 'iat', 'iss', 'jti', 'sub', AWS_CLAIMS_KEY],
  });

  async function getWebIdentityToken(request: QueryRequest): Promise<Record<string, string>> {
    const verdict = verifySigV4Request(
      { method: request.method, path: request.path, query: request.rawQuery, headers: request.headers, body: request.rawBody },
      { ...options.credentials, region: options.region, service: 'sts', now },
    );
    if (!verdict.ok) {
      throw new QueryError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      );
    }
    const fault = faults.shift();
    if (fault) throw new QueryError(fault.httpStatus, fault.code, `Injected fault: ${fault.code}.`);
    const audiences: string[] = [];
    for (let n = 1; request.params.has(`Audience.member.${n}`); n++) audiences.push(request.params.get(`Audience.member.${n}`) ?? '');
    if (audiences.length === 0)
      throw validation("1 validation error detected: Value null at 'audience' failed to satisfy constraint: Member must not be null");
    if (audiences.length > 10)
      throw validation(
        "1 validation error detected: Value at 'audience' failed to satisfy constraint: Member must have length less than or equal to 10",
      );
    if (audiences.some((a) => a.length < 1 || a.length > 1000)) {
      throw validation(
        "1 validation error detected: Value at 'audience' failed to satisfy constraint: Member must have length between 1 and 1000",
      );
    }
    const algorithm = request.params.get('SigningAlgorithm');
    if (!(SIGNING_ALGORITHMS as readonly (string | null)[]).includes(algorithm)) {
      throw validation(
        `1 validation error detected: Value '${algorithm ?? 'null'}' at 'signingAlgorithm' failed to satisfy constraint: Member must be one of RS256, ES384`,
      );
    }
    const durationText = request.params.get('DurationSeconds');
    const duration = durationText === null ? DEFAULT_DURATION_SECONDS : Number(durationText);
    if (!Number.isInteger(duration) || duration < 60 || duration > 3600) {
      throw validation(
        `1 validation error detected: Value '${durationText ?? ''}' at 'durationSeconds' failed to satisfy constraint: Member must be between 60 and 3600`,
      );
    }
    lastRequest = { audiences, signingAlgorithm: algorithm as string, durationSeconds: duration };
    if (!enabled) {
      throw new QueryError(
        403,
        'OutboundWebIdentityFederationDisabledException',
        'The outbound web identity federation feature is not enabled for this account.',
      );
    }
    const key = keys[algorithm as SigningAlgorithm];
    const iat = Math.floor(now() / 1000);
    const exp = iat + duration;
    const account = /^arn:[^:]+:iam::(\d{12}):/.exec(options.roleArn)?.[1] ?? '';
    const token = await new SignJWT({
      [AWS_CLAIMS_KEY]: {
        aws_account: account,
        source_region: options.region,
        principal_id: options.roleArn,
        // The role session's own end: a Lambda role session lasts hours; a fixed hour here.
        original_session_exp: new Date((iat + 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    })
      .setProtectedHeader({ alg: algorithm as string, kid: key.kid, typ: 'JWT' })
      .setIssuer(url)
      .setSubject(options.roleArn)
      .setAudience(audiences.length === 1 ? (audiences[0] as string) : audiences)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(key.privateKey);
    return { WebIdentityToken: token, Expiration: new Date(exp * 1000).toISOString() };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      sendJson(res, discovery());
      return;
    }
    if (req.method === 'GET' && path === '/.well-known/jwks.json') {
      sendJson(res, { keys: [keys.RS256.publicJwk, keys.ES384.publicJwk] });
      return;
    }
    const requestId = newRequestId();
    try {
      const request = await readQueryRequest(req);
      if (request.action !== GET_WEB_IDENTITY_TOKEN) {
        throw new QueryError(
          400,
          'InvalidAction',
          `Could not find operation ${request.action} for version ${request.params.get('Version') ?? 'null'}`,
        );
      }
      calls++;
      const result = await getWebIdentityToken(request);
      sendXml(res, 200, renderQueryResult(GET_WEB_IDENTITY_TOKEN, result, requestId), requestId);
    } catch (error) {
      const refusal =
        error instanceof QueryError
          ? error
          : new QueryError(500, 'InternalFailure', 'The request processing has failed because of an unknown error.');
      lastError = { code: refusal.code, message: refusal.message };
      sendXml(res, refusal.httpStatus, renderQueryError(refusal, requestId), requestId);
    }
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      resolve();
    });
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    roleArn: options.roleArn,
    get calls() {
      return calls;
    },
    get lastError() {
      return lastError;
    },
    get lastRequest() {
      return lastRequest;
    },
    setFederationEnabled: (value) => {
      enabled = value;
    },
    failNext: (fault, count = 1) => {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function sendJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'max-age=3600' })
    .end(text);
}
