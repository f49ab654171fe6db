/**
 * A local stand-in for AWS STS: `AssumeRoleWithWebIdentity` and `GetCallerIdentity` over the Query protocol, on a
 * real HTTP server on 127.0.0.1 that the AWS SDK reaches through `AWS_ENDPOINT_URL_STS`.
 *
 * `AssumeRoleWithWebIdentity` runs the checks STS documents, in its order, with its error codes:
 * 1. parameters (`ValidationError`, the SDKs' model constraints);
 * 2. the token is a JWT whose `iss` names an IAM OIDC provider of the role's account (`InvalidIdentityToken`);
 * 3. its signature verifies against that provider's keys, fetched over HTTP (`InvalidIdentityToken`,
 *    `IDPCommunicationError` when the keys cannot be fetched);
 * 4. it has not expired (`ExpiredTokenException`);
 * 5. its audience (`azp` when present, else `aud`) is in the provider's client ID list (`InvalidIdentityToken`);
 * 6. the role exists and its trust policy, taken from the synthesized template, allows the request with the
 *    condition keys `{provider}:aud` and `{provider}:sub` (`AccessDenied`, 403);
 * 7. `DurationSeconds` is within the role's MaxSessionDuration (`ValidationError`).
 * Then it issues temporary credentials (`ASIA…` access key, secret, session token, expiration) that its
 * `GetCallerIdentity` accepts, verifying the SigV4 signature and the session token, until they expire.
 *
 * Real STS fetches `{iss}/.well-known/openid-configuration` and its `jwks_uri`; issuers such as
 * `https://sts.windows.net/{tenant}/` are not reachable from a test, so `jwksUris` maps each issuer to the URL of
 * its keys (the Entra emulator's `/{tenant}/discovery/v2.0/keys`).
 *
 * The emulator prints nothing; no token, secret key or session token ever appears in an answer's error text or
 * in `lastError`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { compactVerify, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, type JWTPayload } from 'jose';
import { verifySigV4Request } from '../runtime/sigv4-verifier';
import {
  QueryError,
  newRequestId,
  readQueryRequest,
  renderQueryError,
  renderQueryResult,
  sendXml,
  type QueryRequest,
  type XmlFields,
} from './query-protocol';
import type { AccountModel, OidcProviderRecord, RoleRecord } from './template-trust';
import { ASSUME_ROLE_WITH_WEB_IDENTITY, evaluateTrustPolicy } from './trust-policy';

export interface StsEmulatorOptions {
  /** The account: its providers and roles, from synthesized templates (`accountFromTemplates`). */
  readonly account: AccountModel;
  /** Issuer URL (a provider's `Url`) → the URL of its JWKS. */
  readonly jwksUris: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** @default 0 (a free port) */
  readonly port?: number;
}

export interface StsRequestCounts {
  readonly AssumeRoleWithWebIdentity: number;
  readonly GetCallerIdentity: number;
}

/** The last refusal, for a test's failure message: code, message and why. Never holds a token or secret. */
export interface StsEmulatorError {
  readonly action: string;
  readonly code: string;
  readonly message: string;
  readonly detail: string | undefined;
}

export interface StsEmulator {
  /** `http://127.0.0.1:{port}`: the value for `AWS_ENDPOINT_URL_STS`. */
  readonly url: string;
  readonly requests: StsRequestCounts;
  resetCounters(): void;
  readonly lastError: StsEmulatorError | undefined;
  close(): Promise<void>;
}

interface IssuedSession {
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiresAtMs: number;
  readonly assumedRoleArn: string;
  readonly assumedRoleId: string;
  readonly accountId: string;
}

/** A refusal with more to say than the answer does (for `lastError`). */
class Refusal extends QueryError {
  constructor(
    httpStatus: number,
    code: string,
    message: string,
    readonly detail?: string,
  ) {
    super(httpStatus, code, message);
  }
}

/** The error texts, each with where it was seen; "chosen" where STS's exact text is not public. */
const refuse = {
  /** The SDK model's constraint messages (Smithy `ValidationException` form used by STS's Query API). */
  validation: (message: string) => new Refusal(400, 'ValidationError', message),
  /** Chosen text; STS's code for a token that is not a JWT is InvalidIdentityToken (STS API reference). */
  notAJwt: () => new Refusal(400, 'InvalidIdentityToken', 'The web identity token could not be parsed as a JWT.'),
  /** github.com/aws-actions/configure-aws-credentials/issues/721. */
  noProvider: (issuer: string) => new Refusal(400, 'InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${issuer}`),
  /** github.com/aws/aws-sdk-js-v3/issues/3052 (text, with its two spaces) and awslabs/aws-sdk-rust#827 (400). */
  noVerificationKey: (detail: string) =>
    new Refusal(
      400,
      'InvalidIdentityToken',
      "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
      detail,
    ),
  /** Chosen text; a bad signature is InvalidIdentityToken ("could not be validated by AWS", STS API reference). */
  badSignature: () => new Refusal(400, 'InvalidIdentityToken', 'The web identity token signature could not be validated.'),
  /** STS API reference: IDPCommunicationError, "the identity provider (IDP) ... could not be reached"; text chosen. */
  idpUnreachable: (detail: string) =>
    new Refusal(400, 'IDPCommunicationError', 'The identity provider could not be reached to verify the web identity token.', detail),
  /** awslabs/aws-orbit-workbench#707 (text, with the missing space) and aws/aws-sdk-java-v2#5709 (400). */
  expired: (nowSeconds: number, exp: number) =>
    new Refusal(
      400,
      'ExpiredTokenException',
      `Token expired: current date/time ${nowSeconds} must be before the expiration date/time${exp}`,
    ),
  /** awslabs/amazon-eks-irsa-cfn#18 and aws-actions/configure-aws-credentials#775. */
  audience: (detail: string) => new Refusal(400, 'InvalidIdentityToken', 'Incorrect token audience', detail),
  /** github.com/aws/aws-sdk-ruby/issues/2698. */
  missingClaim: (claim: string) => new Refusal(400, 'InvalidIdentityToken', `Missing a required claim: ${claim}`),
  /** aws-amplify/aws-sdk-android#9 (text, 403); STS gives the same answer for a role that does not exist. */
  accessDenied: (detail: string) => new Refusal(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity', detail),
  /** The message the IAM console and STS give for a duration past the role's maximum. */
  durationTooLong: () =>
    new Refusal(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.'),
  /** "Common Errors" (STS/IAM API reference): InvalidClientTokenId and ExpiredToken, both 403. */
  invalidClientToken: (detail: string) =>
    new Refusal(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.', detail),
  expiredClientToken: () => new Refusal(403, 'ExpiredToken', 'The security token included in the request is expired'),
  signatureMismatch: (detail: string) =>
    new Refusal(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      detail,
    ),
  /** "Common Errors": InvalidAction, 400. */
  invalidAction: (action: string) => new Refusal(400, 'InvalidAction', `Could not find operation ${action} for version 2011-06-15`),
} as const;

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/**
 * Starts the stand-in on 127.0.0.1.
 * @throws Error for a provider with no entry in `jwksUris`; rejects when the port cannot be bound
 */
export async function startStsEmulator(options: StsEmulatorOptions): Promise<StsEmulator> {
  for (const provider of options.account.providers) {
    if (!options.jwksUris[provider.url]) throw new Error(`jwksUris has no entry for provider ${provider.url}`);
  }
  const state = new StsState(options);
  const server = createServer((req, res) => void state.handle(req, res));
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('the STS emulator has no TCP address'));
      else resolve(address.port);
    });
  });
  const counts = () => ({ ...state.counts });
  const lastError = () => state.lastError;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return counts();
    },
    resetCounters: () => {
      state.counts = { AssumeRoleWithWebIdentity: 0, GetCallerIdentity: 0 };
    },
    get lastError() {
      return lastError();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

class StsState {
  counts: { AssumeRoleWithWebIdentity: number; GetCallerIdentity: number } = { AssumeRoleWithWebIdentity: 0, GetCallerIdentity: 0 };
  lastError: StsEmulatorError | undefined;
  private readonly now: () => number;
  private readonly sessions = new Map<string, IssuedSession>();
  private readonly keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(private readonly options: StsEmulatorOptions) {
    this.now = options.now ?? Date.now;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    let action = 'unknown';
    try {
      const request = await readQueryRequest(req);
      action = request.action;
      let result: XmlFields;
      if (action === 'AssumeRoleWithWebIdentity') {
        this.counts.AssumeRoleWithWebIdentity += 1;
        result = await this.assumeRoleWithWebIdentity(request.params);
      } else if (action === 'GetCallerIdentity') {
        this.counts.GetCallerIdentity += 1;
        result = this.getCallerIdentity(request);
      } else {
        throw refuse.invalidAction(action);
      }
      sendXml(res, 200, renderQueryResult(action, result, requestId), requestId);
    } catch (error) {
      const refusal = error instanceof QueryError ? error : new QueryError(500, 'InternalFailure', 'The request processing has failed.');
      this.lastError = {
        action,
        code: refusal.code,
        message: refusal.message,
        detail: error instanceof Refusal ? error.detail : error instanceof QueryError ? undefined : String(error),
      };
      sendXml(res, refusal.httpStatus, renderQueryError(refusal, requestId), requestId);
    }
  }

  private async assumeRoleWithWebIdentity(params: URLSearchParams): Promise<XmlFields> {
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    const token = params.get('WebIdentityToken');
    const durationText = params.get('DurationSeconds');
    if (!roleArn)
      throw refuse.validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
    if (!sessionName)
      throw refuse.validation(
        "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
      );
    if (!token)
      throw refuse.validation(
        "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null",
      );
    if (!SESSION_NAME.test(sessionName)) {
      throw refuse.validation(
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const duration = durationText === null ? 3600 : Number(durationText);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) {
      throw refuse.validation(
        `1 validation error detected: Value '${durationText ?? ''}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`,
      );
    }
    const arnMatch = ROLE_ARN.exec(roleArn);
    if (!arnMatch) throw refuse.validation(`${roleArn} is invalid`);
    const accountId = arnMatch[1] ?? '';

    let claims: JWTPayload;
    try {
      decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      throw refuse.notAJwt();
    }
    if (typeof claims.iss !== 'string') throw refuse.missingClaim('iss');
    const provider = this.providerFor(claims.iss, accountId);
    await this.verifySignature(token, provider);
    if (typeof claims.exp !== 'number') throw refuse.missingClaim('exp');
    const nowSeconds = Math.floor(this.now() / 1000);
    if (nowSeconds >= claims.exp) throw refuse.expired(nowSeconds, claims.exp);
    if (claims.aud === undefined) throw refuse.missingClaim('aud');
    if (typeof claims.sub !== 'string') throw refuse.missingClaim('sub');
    // IAM's audience is `azp` when the token has one, else `aud` (AWS Security Blog on Entra tokens, 2024 update).
    const audiences = typeof claims.azp === 'string' ? [claims.azp] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const audience = audiences.find((candidate) => provider.clientIds.includes(candidate));
    if (audience === undefined) {
      throw refuse.audience(
        `token audience ${JSON.stringify(audiences)} is not in the client ID list ${JSON.stringify(provider.clientIds)} of ${provider.arn}`,
      );
    }

    const role = this.options.account.roles.find((candidate) => candidate.arn === roleArn);
    if (!role) throw refuse.accessDenied(`no role ${roleArn} in the account`);
    const prefix = provider.url.replace(/^https:\/\//, '');
    const verdict = evaluateTrustPolicy(role.trustPolicy, {
      action: ASSUME_ROLE_WITH_WEB_IDENTITY,
      federatedPrincipal: provider.arn,
      context: {
        [`${prefix}:aud`]: audience,
        [`${prefix}:sub`]: claims.sub,
        ...(typeof claims.azp === 'string' && typeof claims.aud === 'string' ? { [`${prefix}:oaud`]: claims.aud } : {}),
      },
    });
    if (!verdict.allowed)
      throw refuse.accessDenied(`${verdict.reason}; sub ${JSON.stringify(claims.sub)}, aud ${JSON.stringify(audience)}`);
    if (duration > role.maxSessionDurationSeconds) throw refuse.durationTooLong();

    return this.issue(role, sessionName, duration, { sub: claims.sub, audience, issuer: claims.iss });
  }

  private providerFor(issuer: string, accountId: string): OidcProviderRecord {
    // IAM matches the provider by the token's issuer, in the role's account.
    const provider = this.options.account.providers.find((candidate) => candidate.url === issuer);
    if (!provider || accountId !== this.options.account.accountId) throw refuse.noProvider(issuer);
    return provider;
  }

  private async verifySignature(token: string, provider: OidcProviderRecord): Promise<void> {
    const jwksUri = this.options.jwksUris[provider.url] ?? '';
    let keySet = this.keySets.get(jwksUri);
    if (!keySet) {
      keySet = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000 });
      this.keySets.set(jwksUri, keySet);
    }
    try {
      await compactVerify(token, keySet, { algorithms: ['RS256'] });
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey) throw refuse.noVerificationKey(`no key with the token's kid at ${jwksUri}`);
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw refuse.badSignature();
      if (error instanceof joseErrors.JOSEAlgNotAllowed) throw refuse.noVerificationKey('the token is not signed with RS256');
      if (error instanceof joseErrors.JWKSTimeout || error instanceof TypeError) {
        throw refuse.idpUnreachable(`GET ${jwksUri}: ${error.message}`);
      }
      if (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC')
        throw refuse.idpUnreachable(`GET ${jwksUri}: ${error.message}`);
      throw refuse.badSignature();
    }
  }

  private issue(
    role: RoleRecord,
    sessionName: string,
    durationSeconds: number,
    token: { sub: string; audience: string; issuer: string },
  ): XmlFields {
    const accessKeyId = `ASIA${randomAlphanumeric(16)}`;
    const secretAccessKey = randomBytes(30).toString('base64');
    const sessionToken = randomBytes(96).toString('base64');
    const expiresAtMs = Math.floor(this.now() / 1000) * 1000 + durationSeconds * 1000;
    const roleId = `AROA${randomAlphanumeric(17)}`;
    const assumedRoleArn = `arn:${this.options.account.partition}:sts::${this.options.account.accountId}:assumed-role/${role.name}/${sessionName}`;
    this.sessions.set(accessKeyId, {
      secretAccessKey,
      sessionToken,
      expiresAtMs,
      assumedRoleArn,
      assumedRoleId: `${roleId}:${sessionName}`,
      accountId: this.options.account.accountId,
    });
    // Field order as in the STS API reference's example answer.
    return {
      SubjectFromWebIdentityToken: token.sub,
      Audience: token.audience,
      AssumedRoleUser: { Arn: assumedRoleArn, AssumedRoleId: `${roleId}:${sessionName}` },
      Credentials: {
        SessionToken: sessionToken,
        SecretAccessKey: secretAccessKey,
        Expiration: new Date(expiresAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        AccessKeyId: accessKeyId,
      },
      Provider: token.issuer,
    };
  }

  private getCallerIdentity(request: QueryRequest): XmlFields {
    const authorization = headerValue(request.headers.authorization) ?? '';
    const accessKeyId = /Credential=([^/]+)\//.exec(authorization)?.[1];
    const session = accessKeyId === undefined ? undefined : this.sessions.get(accessKeyId);
    if (!session || accessKeyId === undefined) throw refuse.invalidClientToken('unknown access key id (or no SigV4 Authorization header)');
    if (headerValue(request.headers['x-amz-security-token']) !== session.sessionToken) {
      throw refuse.invalidClientToken('x-amz-security-token is missing or is not the session token issued with this access key');
    }
    if (this.now() >= session.expiresAtMs) throw refuse.expiredClientToken();
    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization)?.[1] ?? '';
    const verdict = verifySigV4Request(
      { method: request.method, path: request.path, query: request.rawQuery, headers: request.headers, body: request.rawBody },
      { accessKeyId, secretAccessKey: session.secretAccessKey, region, service: 'sts', now: this.now },
    );
    if (!verdict.ok) throw refuse.signatureMismatch(verdict.reason);
    return { Arn: session.assumedRoleArn, UserId: session.assumedRoleId, Account: session.accountId };
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function randomAlphanumeric(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}
