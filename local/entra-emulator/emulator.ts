/**
 * A local stand-in for Microsoft Entra ID's v2.0 token endpoint, for the client-credentials grant with a
 * federated identity credential (workload identity federation). It is a real HTTP server on 127.0.0.1 whose
 * base URL is what the broker's `authorityHost` points at in local runs and tests.
 *
 * It checks a client assertion as Entra does (see ./assertion.ts), fetching the issuer's OIDC
 * discovery document and JWKS over HTTP, and answers with Entra's exact success and error JSON (codes and
 * sources in ./aadsts.ts). Access tokens are real RS256 JWTs signed with a key generated at
 * start, shaped like the v1.0 app-only tokens Entra issues for Microsoft Graph, and verifiable against
 * `GET /{tenant}/discovery/v2.0/keys`.
 *
 * Test hooks: request counters (reused assertions and issuer metadata fetches too), a settable token lifetime, an
 * injectable clock, fault injection (status, headers, delay, malformed JSON, hang, Entra's refusals by AADSTS code,
 * plain-text throttling) and `lastError`. The emulator prints nothing; no assertion or token ever appears in an
 * answer's error text or in `lastError`.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { EntraRefusal, newAnswerIds, refuse, renderEntraError, type AnswerIds } from './aadsts';
import { generateSigningKey, issueAccessToken, type SigningKey, type TokenAnswer } from './access-token';
import { AssertionUses, verifyClientAssertion } from './assertion';
import { FaultQueue, applyFault, type EntraFault } from './faults';
import { IssuerKeys } from './issuer-keys';
import { closeServer, decodeSegment, listen, readBody, sendJson } from './http';
import { createManagedIdentityEndpoint, type ManagedIdentityEndpoint } from './managed-identity';
import { requirePositiveInteger, validateOptions, type EntraAppRegistration, type EntraEmulatorOptions } from './options';
import { parseForm, readTokenRequest, resourceOf } from './token-request';

const TOKEN_PATH = /^\/([^/]+)\/oauth2\/v2\.0\/token\/?$/;
const KEYS_PATH = /^\/([^/]+)\/discovery\/v2\.0\/keys\/?$/;

export interface ExchangeCounts {
  /** Token requests received (including refused and faulted ones). */
  readonly attempts: number;
  /** Tokens issued. */
  readonly exchanges: number;
}

export interface EntraRequestCounts extends ExchangeCounts {
  /** Keyed by `${client_id} ${scope}` as sent; see also `EntraEmulator.countsFor`. */
  readonly byClientAndScope: Readonly<Record<string, ExchangeCounts>>;
  /** Valid assertions presented again (Entra accepts them until they expire; see AssertionUses). */
  readonly reusedAssertions: number;
  /** Discovery and JWKS documents fetched from issuers (fewer with `issuerMetadataCache`). */
  readonly issuerMetadataFetches: number;
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
  /** The managed-identity endpoint, when `options.managedIdentity` is set: `url + path` is `IDENTITY_ENDPOINT`. */
  readonly managedIdentity: ManagedIdentityEndpoint | undefined;
  /** Stops listening and drops every connection, including hung ones. */
  close(): Promise<void>;
}

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
  return emulator.api(() => closeServer(server, sockets, emulator.closing));
}

/**
 * A signal that aborts when the request's connection ends: the client gave up, or close() destroyed every
 * socket. Waits listen to this per-request signal, not to the emulator-wide `closing` one: with one listener
 * per pending request on a shared signal, 11 concurrent delayed requests (the bench sends 150) raised
 * MaxListenersExceededWarning, and a hung request whose client had left kept its listener until close().
 */
function connectionEnded(res: ServerResponse): AbortSignal {
  const ended = new AbortController();
  res.once('close', () => {
    ended.abort();
  });
  return ended.signal;
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
  private readonly assertionUses = new AssertionUses();
  private readonly issuerKeys: IssuerKeys;
  /** `issuerKeys.fetches` at the last counter reset. */
  private fetchesBefore = 0;
  private readonly faults = new FaultQueue();
  private counts = emptyCounts();
  private lastRefusal: EntraEmulatorError | undefined;
  /** Aborts in-flight issuer fetches on close (through `AbortSignal.any`, which adds no listener to it). */
  readonly closing = new AbortController();
  readonly managedIdentity: ManagedIdentityEndpoint | undefined;

  constructor(options: EntraEmulatorOptions) {
    this.apps = options.apps;
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3599;
    this.clockSkewSeconds = options.clockSkewSeconds ?? 300;
    this.now = options.now ?? Date.now;
    this.fetchTimeoutMs = options.issuerFetchTimeoutMs ?? 5000;
    this.issuerKeys = new IssuerKeys(options.issuerMetadataCache);
    // The service principal's object id: stable for the emulator's life, as `oid`/`sub` of app tokens are.
    for (const app of options.apps) this.objectIds.set(app, randomUUID());
    this.managedIdentity =
      options.managedIdentity &&
      createManagedIdentityEndpoint(options.managedIdentity, {
        signingKey: this.signingKey,
        now: this.now,
        tokenLifetimeSeconds: () => this.tokenLifetimeSeconds,
      });
  }

  api(close: () => Promise<void>): EntraEmulator {
    // Getters on the returned object read the live state.
    const snapshotCounts = () => this.snapshotCounts();
    const lastRefusal = () => this.lastRefusal;
    return {
      url: this.baseUrl,
      tokenEndpoint: (tenantId) => `${this.baseUrl}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`,
      jwksUri: (tenantId) => `${this.baseUrl}/${encodeURIComponent(tenantId)}/discovery/v2.0/keys`,
      get requests() {
        return snapshotCounts();
      },
      countsFor: (clientId, scope) => this.counts.byClientAndScope.get(counterKey(clientId, scope)) ?? { attempts: 0, exchanges: 0 },
      resetCounters: () => {
        this.counts = emptyCounts();
        this.assertionUses.resetCount();
        this.fetchesBefore = this.issuerKeys.fetches;
      },
      setTokenLifetime: (seconds) => {
        requirePositiveInteger(seconds, 'tokenLifetimeSeconds');
        this.tokenLifetimeSeconds = seconds;
      },
      injectFault: (fault) => {
        this.faults.push([fault]);
      },
      injectFaults: (faults) => {
        this.faults.push(faults);
      },
      clearFaults: () => {
        this.faults.clear();
      },
      get lastError() {
        return lastRefusal();
      },
      managedIdentity: this.managedIdentity,
      close,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    if (this.managedIdentity && path === this.managedIdentity.path) {
      this.managedIdentity.handle(req, res);
      return;
    }
    const tokenMatch = TOKEN_PATH.exec(path);
    if (tokenMatch?.[1] !== undefined) {
      await this.handleTokenRequest(req, res, decodeSegment(tokenMatch[1]), connectionEnded(res));
      return;
    }
    const keysMatch = KEYS_PATH.exec(path);
    if (keysMatch?.[1] !== undefined && req.method === 'GET') {
      this.handleKeysRequest(req, res, decodeSegment(keysMatch[1]));
      return;
    }
    res.writeHead(404).end();
  }

  answerUnexpected(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    this.answerRefusal(req, res, refuse.internal(error instanceof Error ? error.message : String(error)), undefined);
  }

  /** @param ended aborts when this request's connection ends; a fault's wait ends with it */
  private async handleTokenRequest(req: IncomingMessage, res: ServerResponse, tenant: string, ended: AbortSignal): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      this.answerRefusal(req, res, refuse.methodNotAllowed(req.method ?? 'UNKNOWN'), undefined);
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      this.answerRefusal(req, res, refuse.requestTooLarge(), undefined);
      return;
    }
    const params = parseForm(req.headers['content-type'], body);
    const clientId = params.get('client_id') ?? undefined;
    const scope = params.get('scope') ?? '';
    this.count(clientId, scope, 'attempts');

    const fault = this.faults.take();
    const defaultBody = () => renderEntraError(refuse.temporarilyUnavailable(), this.answerIds(req));
    const refuseWith = (refusal: EntraRefusal) => this.answerRefusal(req, res, refusal, clientId);
    if (fault && (await applyFault(fault, req, res, { signal: ended, defaultBody, refuse: refuseWith }))) return;

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
    if (app.federatedCredentials.length === 0) throw refuse.noFederatedCredentials(app.clientId);

    const nowMs = this.now();
    const verified = await verifyClientAssertion(request.assertion, app.federatedCredentials, {
      nowMs,
      clockSkewSeconds: this.clockSkewSeconds,
      fetchTimeoutMs: this.fetchTimeoutMs,
      signal: this.closing.signal,
      issuerKeys: this.issuerKeys,
    });
    this.assertionUses.record(request.assertion, (verified.expiresAt + this.clockSkewSeconds) * 1000, nowMs);
    const resource = resourceOf(request.scope, app);
    return issueAccessToken({
      app,
      resource,
      objectId: this.objectIds.get(app) ?? randomUUID(),
      nowMs: this.now(),
      lifetimeSeconds: this.tokenLifetimeSeconds,
      signingKey: this.signingKey,
    });
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
      reusedAssertions: this.assertionUses.reuses,
      issuerMetadataFetches: this.issuerKeys.fetches - this.fetchesBefore,
    };
  }
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
