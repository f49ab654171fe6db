/**
 * A local stand-in for Microsoft Entra ID's v2.0 token endpoint, for the client-credentials grant with a
 * federated identity credential (workload identity federation). It is a real HTTP server on 127.0.0.1 whose
 * base URL is what the broker's `authorityHost` points at in local runs and tests.
 *
 * It checks a client assertion as Entra does (see ./entra-emulator/assertion.ts), fetching the issuer's OIDC
 * discovery document and JWKS over HTTP, and answers with Entra's exact success and error JSON (codes and
 * sources in ./entra-emulator/aadsts.ts). Access tokens are real RS256 JWTs signed with a key generated at
 * start, shaped like the v1.0 app-only tokens Entra issues for Microsoft Graph, and verifiable against
 * `GET /{tenant}/discovery/v2.0/keys`.
 *
 * Test hooks: request counters, a settable token lifetime, an injectable clock, fault injection (status,
 * headers, delay, malformed JSON, hang) and `lastError`. The emulator prints nothing; no assertion or token
 * ever appears in an answer's error text or in `lastError`.
 */

import { createHash, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import jsonwebtoken from 'jsonwebtoken';
import { EntraRefusal, newAnswerIds, refuse, renderEntraError, type AnswerIds } from './entra-emulator/aadsts';
import { ReplayCache, verifyClientAssertion, type FederatedCredential } from './entra-emulator/assertion';

export type { FederatedCredential } from './entra-emulator/assertion';

/** An app registration in a tenant, with the federated credentials Entra would match assertions against. */
export interface EntraAppRegistration {
  readonly tenantId: string;
  readonly clientId: string;
  readonly federatedCredentials: readonly FederatedCredential[];
  /** Resources (the scope without `/.default`) tokens may be issued for; any resource when omitted. */
  readonly allowedResources?: readonly string[];
  /** Application permissions granted to the app, issued as the `roles` claim (omitted when empty, as Entra does). */
  readonly roles?: readonly string[];
}

export interface EntraEmulatorOptions {
  readonly apps: readonly EntraAppRegistration[];
  /** `expires_in` of issued tokens. @default 3599 (what Entra answers for a 1-hour token) */
  readonly tokenLifetimeSeconds?: number;
  /**
   * Tolerance on the assertion's nbf/exp/iat. @default 300: Entra does not document its value; 5 minutes is the
   * default `ClockSkew` of Microsoft.IdentityModel's TokenValidationParameters, the library Entra's stack uses.
   */
  readonly clockSkewSeconds?: number;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Upper bound for each discovery/JWKS fetch; a slower issuer gets AADSTS90061. @default 5000 */
  readonly issuerFetchTimeoutMs?: number;
}

/**
 * One injected answer for the next token request(s). With `status`: that status, `body` (an Entra-style
 * `temporarily_unavailable` error by default) and `headers` exactly. With `malformedJson`: a truncated JSON
 * body (status 200 unless given). With `hang`: no answer at all; the connection is dropped after `delayMs`,
 * or held until the client gives up or the emulator closes. With only `delayMs`: the request is handled
 * normally after the delay. `delayMs` also delays the status and malformed answers. Faults apply to token
 * requests only; the JWKS endpoint is never faulted.
 */
export interface EntraFault {
  readonly status?: number;
  readonly body?: string | Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly delayMs?: number;
  /** How many consecutive requests get this fault. @default 1 */
  readonly times?: number;
  readonly malformedJson?: boolean;
  readonly hang?: boolean;
}

export interface ExchangeCounts {
  /** Token requests received (including refused and faulted ones). */
  readonly attempts: number;
  /** Tokens issued. */
  readonly exchanges: number;
}

export interface EntraRequestCounts extends ExchangeCounts {
  /** Keyed by `${client_id} ${scope}` as sent; see also `EntraEmulator.countsFor`. */
  readonly byClientAndScope: Readonly<Record<string, ExchangeCounts>>;
}

/** The last refusal, for debugging a test: the same text the client got plus the emulator's reason. */
export interface EntraEmulatorError {
  readonly httpStatus: number;
  readonly error: string;
  readonly errorCode: number;
  readonly description: string;
  /** Why, beyond Entra's text (e.g. which URL failed). Never holds an assertion or token. */
  readonly detail: string | undefined;
  readonly clientId: string | undefined;
  readonly timestamp: string;
}

export interface EntraEmulator {
  /** Base URL, e.g. `http://127.0.0.1:51234`: the broker's `authorityHost`. */
  readonly url: string;
  /** `{url}/{tenantId}/oauth2/v2.0/token` */
  tokenEndpoint(tenantId: string): string;
  /** `{url}/{tenantId}/discovery/v2.0/keys`: the keys that sign the emulator's access tokens. */
  jwksUri(tenantId: string): string;
  /** A snapshot of the counters. */
  readonly requests: EntraRequestCounts;
  countsFor(clientId: string, scope: string): ExchangeCounts;
  resetCounters(): void;
  /** @throws RangeError unless a positive integer */
  setTokenLifetime(seconds: number): void;
  /** Queues a fault behind any already queued. @throws RangeError for an invalid fault */
  injectFault(fault: EntraFault): void;
  /** Queues faults, consumed in order by the next token requests. @throws RangeError for an invalid fault */
  injectFaults(faults: readonly EntraFault[]): void;
  clearFaults(): void;
  readonly lastError: EntraEmulatorError | undefined;
  /** Stops listening and drops every connection, including hung ones. */
  close(): Promise<void>;
}

const CLIENT_CREDENTIALS = 'client_credentials';
const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DEFAULT_SCOPE_SUFFIX = '/.default';
const MAX_BODY_BYTES = 64 * 1024;
const TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/;
const KEYS_PATH = /^\/([^/]+)\/discovery\/v2\.0\/keys\/?$/;

/**
 * Starts the emulator on 127.0.0.1.
 * @throws TypeError / RangeError for invalid options (naming the field); rejects when the port cannot be bound
 */
export async function startEntraEmulator(options: EntraEmulatorOptions): Promise<EntraEmulator> {
  validateOptions(options);
  const emulator = new EmulatorState(options);
  const server = createServer((req, res) => {
    emulator.handle(req, res).catch((error: unknown) => emulator.answerUnexpected(req, res, error));
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server, options.port ?? 0);
  emulator.baseUrl = `http://127.0.0.1:${port}`;
  return emulator.api(() => closeServer(server, sockets, emulator));
}

class EmulatorState {
  baseUrl = '';
  private tokenLifetimeSeconds: number;
  private readonly clockSkewSeconds: number;
  private readonly now: () => number;
  private readonly fetchTimeoutMs: number;
  private readonly apps: readonly EntraAppRegistration[];
  private readonly objectIds = new Map<EntraAppRegistration, string>();
  private readonly signingKey: SigningKey = generateSigningKey();
  private readonly replays = new ReplayCache();
  private readonly faults: { fault: EntraFault; remaining: number }[] = [];
  private counts = emptyCounts();
  private lastRefusal: EntraEmulatorError | undefined;
  readonly closing = new AbortController();

  constructor(options: EntraEmulatorOptions) {
    this.apps = options.apps;
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3599;
    this.clockSkewSeconds = options.clockSkewSeconds ?? 300;
    this.now = options.now ?? Date.now;
    this.fetchTimeoutMs = options.issuerFetchTimeoutMs ?? 5000;
    // The service principal's object id: stable for the emulator's life, as `oid`/`sub` of app tokens are.
    for (const app of options.apps) this.objectIds.set(app, randomUUID());
  }

  api(close: () => Promise<void>): EntraEmulator {
    const state = this;
    return {
      url: this.baseUrl,
      tokenEndpoint: (tenantId) => `${this.baseUrl}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`,
      jwksUri: (tenantId) => `${this.baseUrl}/${encodeURIComponent(tenantId)}/discovery/v2.0/keys`,
      get requests() {
        return state.snapshotCounts();
      },
      countsFor: (clientId, scope) => this.counts.byClientAndScope.get(counterKey(clientId, scope)) ?? { attempts: 0, exchanges: 0 },
      resetCounters: () => {
        this.counts = emptyCounts();
      },
      setTokenLifetime: (seconds) => {
        requirePositiveInteger(seconds, 'tokenLifetimeSeconds');
        this.tokenLifetimeSeconds = seconds;
      },
      injectFault: (fault) => this.queueFaults([fault]),
      injectFaults: (faults) => this.queueFaults(faults),
      clearFaults: () => {
        this.faults.length = 0;
      },
      get lastError() {
        return state.lastRefusal;
      },
      close,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    const tokenMatch = TOKEN_PATH.exec(path);
    if (tokenMatch?.[1] !== undefined) return this.handleTokenRequest(req, res, decodeSegment(tokenMatch[1]));
    const keysMatch = KEYS_PATH.exec(path);
    if (keysMatch?.[1] !== undefined && req.method === 'GET') return this.handleKeysRequest(req, res, decodeSegment(keysMatch[1]));
    res.writeHead(404).end();
  }

  answerUnexpected(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    this.answerRefusal(req, res, refuse.internal(error instanceof Error ? error.message : String(error)), undefined);
  }

  private async handleTokenRequest(req: IncomingMessage, res: ServerResponse, tenant: string): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      return this.answerRefusal(req, res, refuse.methodNotAllowed(req.method ?? 'UNKNOWN'), undefined);
    }
    const body = await readBody(req);
    if (body === undefined) return this.answerRefusal(req, res, refuse.requestTooLarge(), undefined);
    const params = parseForm(req.headers['content-type'], body);
    const clientId = params.get('client_id') ?? undefined;
    const scope = params.get('scope') ?? '';
    this.count(clientId, scope, 'attempts');

    const fault = this.takeFault();
    if (fault && (await this.applyFault(fault, req, res))) return;

    try {
      const answer = await this.exchange(tenant, params);
      this.count(clientId, scope, 'exchanges');
      sendJson(res, 200, answer, this.answerIds(req));
    } catch (error) {
      if (!(error instanceof EntraRefusal)) throw error;
      this.answerRefusal(req, res, error, clientId);
    }
  }

  private handleKeysRequest(req: IncomingMessage, res: ServerResponse, tenant: string): void {
    if (!this.appsInTenant(tenant).length) return this.answerRefusal(req, res, refuse.tenantNotFound(tenant), undefined);
    sendJson(res, 200, { keys: [this.signingKey.publicJwk] }, this.answerIds(req), 'public, max-age=86400');
  }

  /**
   * The exchange proper, in Entra's order.
   * @throws EntraRefusal for the first check that fails
   */
  private async exchange(tenant: string, params: URLSearchParams): Promise<TokenAnswer> {
    const request = readTokenRequest(params);
    const tenantApps = this.appsInTenant(tenant);
    if (tenantApps.length === 0) throw refuse.tenantNotFound(tenant);
    const app = tenantApps.find((candidate) => sameId(candidate.clientId, request.clientId));
    if (!app) throw refuse.applicationNotFound(request.clientId, tenant);

    const nowMs = this.now();
    const verified = await verifyClientAssertion(request.assertion, app.federatedCredentials, {
      nowMs,
      clockSkewSeconds: this.clockSkewSeconds,
      fetchTimeoutMs: this.fetchTimeoutMs,
      signal: this.closing.signal,
    });
    if (verified.jti !== undefined) {
      const forgetAtMs = (verified.expiresAt + this.clockSkewSeconds) * 1000;
      if (!this.replays.remember(verified.issuer, verified.jti, forgetAtMs, nowMs)) throw refuse.assertionReplayed();
    }
    const resource = resourceOf(request.scope, app);
    return this.issueToken(app, resource);
  }

  private issueToken(app: EntraAppRegistration, resource: string): TokenAnswer {
    const issuedAt = Math.floor(this.now() / 1000);
    const lifetime = this.tokenLifetimeSeconds;
    const issuer = `https://sts.windows.net/${app.tenantId}/`;
    const objectId = this.objectIds.get(app) ?? randomUUID();
    // A v1.0 app-only token, as Entra issues for Graph and most first-party resources (aud = resource URI).
    const claims = {
      aud: resource,
      iss: issuer,
      iat: issuedAt,
      nbf: issuedAt,
      exp: issuedAt + lifetime,
      appid: app.clientId,
      appidacr: '2', // 2 = authenticated with a certificate or client assertion
      idp: issuer,
      idtyp: 'app',
      oid: objectId,
      ...(app.roles && app.roles.length > 0 ? { roles: [...app.roles] } : {}),
      sub: objectId,
      tid: app.tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
    };
    const accessToken = jsonwebtoken.sign(claims, this.signingKey.privateKey, { algorithm: 'RS256', keyid: this.signingKey.kid });
    return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
  }

  private appsInTenant(tenant: string): EntraAppRegistration[] {
    return this.apps.filter((app) => sameId(app.tenantId, tenant));
  }

  private answerRefusal(req: IncomingMessage, res: ServerResponse, refusal: EntraRefusal, clientId: string | undefined): void {
    const ids = this.answerIds(req);
    const body = renderEntraError(refusal, ids);
    this.lastRefusal = {
      httpStatus: refusal.httpStatus,
      error: refusal.error,
      errorCode: refusal.code,
      description: body.error_description,
      detail: refusal.detail,
      clientId,
      timestamp: body.timestamp,
    };
    sendJson(res, refusal.httpStatus, body, ids);
  }

  private answerIds(req: IncomingMessage): AnswerIds {
    const clientRequestId = req.headers['client-request-id'];
    return newAnswerIds(typeof clientRequestId === 'string' ? clientRequestId : undefined, new Date(this.now()));
  }

  private queueFaults(faults: readonly EntraFault[]): void {
    faults.forEach(validateFault);
    for (const fault of faults) this.faults.push({ fault, remaining: fault.times ?? 1 });
  }

  private takeFault(): EntraFault | undefined {
    const next = this.faults[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) this.faults.shift();
    return next.fault;
  }

  /** @returns true when the fault answered (or dropped) the request; false when it only delayed it */
  private async applyFault(fault: EntraFault, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (fault.hang) {
      await sleep(fault.delayMs, this.closing.signal);
      req.socket.destroy();
      return true;
    }
    if (fault.delayMs !== undefined) await sleep(fault.delayMs, this.closing.signal);
    if (fault.malformedJson) {
      sendRaw(res, fault.status ?? 200, '{"token_type":"Bearer","expires_in":35', {
        'content-type': 'application/json; charset=utf-8',
        ...fault.headers,
      });
      return true;
    }
    if (fault.status === undefined) return false;
    const body =
      typeof fault.body === 'string'
        ? fault.body
        : JSON.stringify(fault.body ?? renderEntraError(refuse.temporarilyUnavailable(), this.answerIds(req)));
    sendRaw(res, fault.status, body, { 'content-type': 'application/json; charset=utf-8', ...fault.headers });
    return true;
  }

  private count(clientId: string | undefined, scope: string, what: 'attempts' | 'exchanges'): void {
    this.counts[what] += 1;
    if (clientId === undefined) return;
    const key = counterKey(clientId, scope);
    const current = this.counts.byClientAndScope.get(key) ?? { attempts: 0, exchanges: 0 };
    this.counts.byClientAndScope.set(key, { ...current, [what]: current[what] + 1 });
  }

  private snapshotCounts(): EntraRequestCounts {
    return {
      attempts: this.counts.attempts,
      exchanges: this.counts.exchanges,
      byClientAndScope: Object.fromEntries(this.counts.byClientAndScope),
    };
  }
}

interface TokenAnswer {
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly ext_expires_in: number;
  readonly access_token: string;
}

interface TokenRequest {
  readonly clientId: string;
  readonly scope: string;
  readonly assertion: string;
}

/** @throws EntraRefusal AADSTS900144 / 70003 / 7000216 / 90100 for a missing or wrong parameter */
function readTokenRequest(params: URLSearchParams): TokenRequest {
  const grantType = params.get('grant_type');
  if (!grantType) throw refuse.missingParameter('grant_type');
  if (grantType !== CLIENT_CREDENTIALS) throw refuse.unsupportedGrantType(grantType);
  const clientId = params.get('client_id');
  if (!clientId) throw refuse.missingParameter('client_id');
  const scope = params.get('scope');
  if (!scope) throw refuse.missingParameter('scope');
  const assertion = params.get('client_assertion');
  if (!assertion) throw refuse.missingClientCredential();
  const assertionType = params.get('client_assertion_type');
  if (!assertionType) throw refuse.missingParameter('client_assertion_type');
  if (assertionType !== JWT_BEARER_ASSERTION) throw refuse.invalidClientAssertionType();
  return { clientId, scope, assertion };
}

/**
 * The client-credentials scope must be exactly one `<resource>/.default`.
 * @throws EntraRefusal AADSTS1002012 (not `/.default`), 700022 (several resources), 500011 (resource not allowed)
 */
function resourceOf(scope: string, app: EntraAppRegistration): string {
  const scopes = scope.split(/\s+/).filter((s) => s !== '');
  const notDefault = scopes.find((s) => !s.endsWith(DEFAULT_SCOPE_SUFFIX) || s === DEFAULT_SCOPE_SUFFIX);
  if (notDefault !== undefined) throw refuse.scopeNotDefault(notDefault);
  const resources = new Set(scopes.map((s) => s.slice(0, -DEFAULT_SCOPE_SUFFIX.length)));
  const [resource] = resources;
  if (resource === undefined) throw refuse.missingParameter('scope');
  if (resources.size > 1) throw refuse.multipleResources(scope);
  if (app.allowedResources && !app.allowedResources.includes(resource)) throw refuse.resourceNotFound(resource, app.tenantId);
  return resource;
}

interface SigningKey {
  readonly privateKey: KeyObject;
  readonly kid: string;
  readonly publicJwk: Readonly<Record<string, string>>;
}

function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: 'jwk' });
  if (n === undefined || e === undefined) throw new Error('RSA public key export lacks n or e');
  // RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
  const kid = createHash('sha256')
    .update(JSON.stringify({ e, kty: 'RSA', n }))
    .digest('base64url');
  return { privateKey, kid, publicJwk: { kty: 'RSA', use: 'sig', kid, n, e } };
}

/** Entra reads only form bodies: anything else reads as no parameters (hence AADSTS900144 'grant_type'). */
function parseForm(contentType: string | undefined, body: string): URLSearchParams {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/x-www-form-urlencoded' ? new URLSearchParams(body) : new URLSearchParams();
}

/** @returns the body, or undefined when over MAX_BODY_BYTES */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, ids: AnswerIds, cacheControl = 'no-store, no-cache'): void {
  sendRaw(res, status, JSON.stringify(body), {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': cacheControl,
    pragma: 'no-cache',
    'x-ms-request-id': ids.traceId,
    ...(ids.fromClient ? { 'client-request-id': ids.correlationId } : {}),
  });
}

function sendRaw(res: ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>>): void {
  // The client may have given up (timeout tests): writing to a dead socket would only raise errors.
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Resolves after `ms`, or at once when the emulator closes; with no `ms`, only when it closes. */
function sleep(ms: number | undefined, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('the emulator has no TCP address'));
      resolve(address.port);
    });
  });
}

function closeServer(server: Server, sockets: Set<Socket>, state: EmulatorState): Promise<void> {
  state.closing.abort();
  return new Promise((resolve, reject) => {
    server.close((error) => (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? reject(error) : resolve()));
    for (const socket of sockets) socket.destroy();
  });
}

function emptyCounts(): { attempts: number; exchanges: number; byClientAndScope: Map<string, ExchangeCounts> } {
  return { attempts: 0, exchanges: 0, byClientAndScope: new Map() };
}

function counterKey(clientId: string, scope: string): string {
  return `${clientId} ${scope}`;
}

/** Tenant and client ids are GUIDs or domain names, which Entra compares case-insensitively. */
function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function validateOptions(options: EntraEmulatorOptions): void {
  if (!Array.isArray(options.apps)) throw new TypeError(`apps must be an array of app registrations, got ${typeof options.apps}`);
  const seen = new Set<string>();
  options.apps.forEach((app, index) => {
    const where = `apps[${index}]`;
    requireNonEmpty(app.tenantId, `${where}.tenantId`);
    requireNonEmpty(app.clientId, `${where}.clientId`);
    const key = `${app.tenantId.toLowerCase()} ${app.clientId.toLowerCase()}`;
    if (seen.has(key)) throw new RangeError(`${where}: client ${app.clientId} is registered twice in tenant ${app.tenantId}`);
    seen.add(key);
    const credentials: readonly FederatedCredential[] = app.federatedCredentials;
    if (!Array.isArray(credentials)) throw new TypeError(`${where}.federatedCredentials must be an array`);
    credentials.forEach((credential: FederatedCredential, i: number) => {
      requireNonEmpty(credential.issuer, `${where}.federatedCredentials[${i}].issuer`);
      requireNonEmpty(credential.subject, `${where}.federatedCredentials[${i}].subject`);
      if (!Array.isArray(credential.audiences) || credential.audiences.length === 0) {
        throw new TypeError(`${where}.federatedCredentials[${i}].audiences must be a non-empty array`);
      }
    });
  });
  if (options.tokenLifetimeSeconds !== undefined) requirePositiveInteger(options.tokenLifetimeSeconds, 'tokenLifetimeSeconds');
  if (options.clockSkewSeconds !== undefined) requireNonNegativeInteger(options.clockSkewSeconds, 'clockSkewSeconds');
  if (options.issuerFetchTimeoutMs !== undefined) requirePositiveInteger(options.issuerFetchTimeoutMs, 'issuerFetchTimeoutMs');
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
    throw new RangeError(`port must be an integer 0-65535, got ${String(options.port)}`);
  }
}

function validateFault(fault: EntraFault, index: number): void {
  const where = `fault[${index}]`;
  if (fault.status !== undefined && !(Number.isInteger(fault.status) && fault.status >= 100 && fault.status <= 599)) {
    throw new RangeError(`${where}.status must be an HTTP status 100-599, got ${String(fault.status)}`);
  }
  if (fault.times !== undefined) requirePositiveInteger(fault.times, `${where}.times`);
  if (fault.delayMs !== undefined) requireNonNegativeInteger(fault.delayMs, `${where}.delayMs`);
  if (fault.hang && (fault.malformedJson || fault.status !== undefined)) {
    throw new RangeError(`${where}: a hang sends no answer, so it takes no status or malformedJson`);
  }
}

function requireNonEmpty(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${field} must be a non-empty string, got ${JSON.stringify(value)}`);
}

function requirePositiveInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${field} must be a positive integer, got ${String(value)}`);
}

function requireNonNegativeInteger(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${field} must be a non-negative integer, got ${String(value)}`);
}
