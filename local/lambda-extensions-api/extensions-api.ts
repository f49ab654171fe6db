/**
 * A stand-in for Lambda's Extensions API (there is no emulator for it here): the HTTP server an external extension
 * calls at `http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/…`, on 127.0.0.1, driven by the test or benchmark
 * that plays Lambda (`invoke`, `shutdown`). It keeps no runtime: only the extensions' side of the lifecycle.
 *
 * What it copies, and where from (AWS's "Lambda Extensions API" reference, and the Lambda Runtime Interface
 * Emulator, github.com/aws/aws-lambda-runtime-interface-emulator, which runs the same `rapi` handlers as Lambda):
 * - Register (`POST /2020-01-01/extension/register`): `Lambda-Extension-Name` is required and must be the full file
 *   name of the extension, else 403 `Extension.InvalidExtensionName` "Empty extension name"; the body is JSON
 *   `{"events": [...]}`, else 403 `InvalidRequestFormat`; events are `INVOKE` and `SHUTDOWN`, else 403
 *   `Extension.InvalidEventType`. A name that is not a file Lambda started from `/opt/extensions` is an internal
 *   extension, which may not register for `SHUTDOWN` (403 `Extension.InvalidEventType`), and may only register
 *   during init (403 `Extension.RegistrationClosed`); an extension registers once (403
 *   `Extension.InvalidExtensionState`). The answer is 200 with a `Lambda-Extension-Identifier` (a UUID) header and
 *   `{"functionName", "functionVersion", "handler"}` (rapi/handler/agentregister.go).
 * - Every other call needs that identifier: missing → 403 `Extension.MissingExtensionIdentifier`, not a UUID → 403
 *   `Extension.InvalidExtensionIdentifier` (rapi/middleware), unknown → 403 `Extension.UnknownExtensionIdentifier`.
 * - Next (`GET /2020-01-01/extension/event/next`) blocks until there is an event ("Do not set a timeout on the GET
 *   call"); the init phase ends once every registered extension has called it ("The Init phase completes after the
 *   runtime and each registered extension indicate completion by sending a Next API request"), and so does each
 *   invoke phase. An INVOKE event is `{"eventType", "deadlineMs", "requestId", "invokedFunctionArn", "tracing"}` with a
 *   `Lambda-Extension-Event-Identifier` header; SHUTDOWN is `{"eventType", "deadlineMs", "shutdownReason"}`;
 *   `deadlineMs` is milliseconds since the epoch in both (rapi/model/agentevent.go, rapi/rendering/rendering.go,
 *   rapid's shutdown: `DeadlineMs: deadline.UnixMilli()`). Only extensions registered for an event receive it.
 * - Shutdown: Lambda gives external extensions what is left of 2000 ms after the runtime's share (300 ms), then
 *   SIGKILLs them; `shutdown()` sends that deadline and the caller checks the process is gone by then.
 * - Init error / exit error (`POST …/extension/init/error`, `…/exit/error`): `Lambda-Extension-Function-Error-Type`
 *   is required (403 `Extension.MissingHeader`), the body is the error request JSON; the answer is 202
 *   `{"status":"OK"}`, and "after Lambda receives the error, no further API calls succeed" (403
 *   `Extension.InvalidExtensionState`). An init error after the extension's first next is refused the same way.
 * - Errors are `{"errorMessage", "errorType"}` (rapi/rendering: RenderForbiddenWithTypeMsg); any other path is 404.
 *
 * Fault for tests: `failNextEventCall()` makes the next `event/next` answer 500 `InternalServerError` ("Container
 * error. Non-recoverable state. Extension should exit promptly.", rapi/rendering: RenderInternalServerError).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ExtensionEventType = 'INVOKE' | 'SHUTDOWN';

export interface InvokeEvent {
  readonly eventType: 'INVOKE';
  readonly deadlineMs: number;
  readonly requestId: string;
  readonly invokedFunctionArn: string;
  readonly tracing: { readonly type: 'X-Amzn-Trace-Id'; readonly value: string };
}

export interface ShutdownEvent {
  readonly eventType: 'SHUTDOWN';
  readonly deadlineMs: number;
  readonly shutdownReason: 'spindown' | 'timeout' | 'failure';
}

/** Where an extension is in its lifecycle, as the stand-in sees it. */
export type ExtensionState =
  /** Registered, not yet called next. */
  | 'registered'
  /** Waiting in next. */
  | 'ready'
  /** An event was delivered; it has not called next again yet. */
  | 'running'
  /** Reported an init error or an exit error: no further call succeeds. */
  | 'failed';

export interface ReportedError {
  readonly kind: 'init' | 'exit';
  /** `Lambda-Extension-Function-Error-Type`. */
  readonly errorType: string;
  /** The body as sent (the error request JSON). */
  readonly body: string;
}

export interface StandInExtension {
  readonly id: string;
  readonly name: string;
  readonly events: readonly ExtensionEventType[];
  readonly state: ExtensionState;
  /** Events delivered to it, in order. */
  readonly delivered: ReadonlyArray<InvokeEvent | ShutdownEvent>;
  readonly errors: readonly ReportedError[];
  /** When it registered and first called next (the stand-in's clock, ms). */
  readonly registeredAt: number;
  readonly firstNextAt: number | undefined;
}

/** One API call, for assertions on order and answers. */
export interface RecordedCall {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The extension's name when the call could be tied to one. */
  readonly extension: string | undefined;
  readonly errorType: string | undefined;
}

export interface ExtensionsApiOptions {
  /**
   * The file names Lambda found in `/opt/extensions` and started: external extensions. Any other name registers as
   * an internal extension.
   */
  readonly externalExtensions: readonly string[];
  /** What register answers. @default functionName "identity-endpoint-test", version "$LATEST", handler "index.handler" */
  readonly functionName?: string;
  /**
   * Called when a registration is accepted, before the answer is sent: a test checks what must be true by then.
   * @default - nothing
   */
  readonly onRegister?: (name: string) => Promise<void> | void;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
}

export interface ExtensionsApiStandIn {
  /** `127.0.0.1:<port>`: the `AWS_LAMBDA_RUNTIME_API` value for the extension. */
  readonly runtimeApi: string;
  readonly calls: readonly RecordedCall[];
  extensions(): readonly StandInExtension[];
  /**
   * Resolves once every external extension has registered and called next (Lambda's init phase, extensions' side).
   * @throws Error when one reports an init error first (with its type and message), or after `timeoutMs`
   */
  initialized(timeoutMs?: number): Promise<void>;
  /**
   * An invoke: INVOKE to every extension registered for it, resolving once each has called next again.
   * @throws Error when init is not complete, or after `timeoutMs` with the extensions still running
   */
  invoke(options?: { readonly timeoutMs?: number; readonly requestId?: string }): Promise<InvokeEvent>;
  /** SHUTDOWN to every extension registered for it (what is left of Lambda's 2000 ms by default). */
  shutdown(options?: { readonly reason?: ShutdownEvent['shutdownReason']; readonly deadlineMs?: number }): ShutdownEvent;
  /** Makes the next `event/next` call answer 500 `InternalServerError`, as Lambda does in a non-recoverable state. */
  failNextEventCall(): void;
  /** Resolves with the first value `probe` returns that is not undefined, re-checked after every call. */
  waitFor<T>(probe: () => T | undefined, what: string, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

const API = '/2020-01-01/extension';
const ID_HEADER = 'lambda-extension-identifier';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Lambda's shutdown limit with external extensions, and the runtime's share of it ("Shutdown phase"). */
const SHUTDOWN_LIMIT_MS = 2000;
const RUNTIME_SHUTDOWN_SHARE_MS = 300;
const EVENT_TYPES: readonly string[] = ['INVOKE', 'SHUTDOWN'];

interface MutableExtension {
  id: string;
  name: string;
  external: boolean;
  events: ExtensionEventType[];
  state: ExtensionState;
  delivered: Array<InvokeEvent | ShutdownEvent>;
  errors: ReportedError[];
  registeredAt: number;
  firstNextAt: number | undefined;
  queued: InvokeEvent | ShutdownEvent | undefined;
  waiting: ((event: InvokeEvent | ShutdownEvent) => void) | undefined;
}

class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}

/** Starts the stand-in on 127.0.0.1 (a free port) and resolves once it listens. */
export async function startExtensionsApi(options: ExtensionsApiOptions): Promise<ExtensionsApiStandIn> {
  const clock = options.clock ?? Date.now;
  const external = new Set(options.externalExtensions);
  const registered: MutableExtension[] = [];
  const calls: RecordedCall[] = [];
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  let initDone = false;
  let invocations = 0;
  let failNext = false;

  const changed = () => changes.emit('change');
  const initComplete = () =>
    [...external].every((name) => registered.some((extension) => extension.name === name && extension.state === 'ready'));

  function byId(request: IncomingMessage): MutableExtension {
    const header = request.headers[ID_HEADER];
    const id = Array.isArray(header) ? header[0] : header;
    if (!id) throw new ApiRefusal(403, 'Extension.MissingExtensionIdentifier', 'Missing Lambda-Extension-Identifier header');
    if (!UUID.test(id)) throw new ApiRefusal(403, 'Extension.InvalidExtensionIdentifier', 'Invalid Lambda-Extension-Identifier');
    const extension = registered.find((candidate) => candidate.id === id);
    if (!extension) throw new ApiRefusal(403, 'Extension.UnknownExtensionIdentifier', `Unknown extension ${id}`);
    return extension;
  }

  function deliver(extension: MutableExtension, event: InvokeEvent | ShutdownEvent): void {
    if (extension.waiting) {
      const answer = extension.waiting;
      extension.waiting = undefined;
      extension.state = 'running';
      extension.delivered.push(event);
      answer(event);
      changed();
    } else {
      extension.queued = event;
    }
  }

  async function register(request: IncomingMessage, response: ServerResponse): Promise<MutableExtension> {
    const nameHeader = request.headers['lambda-extension-name'];
    const name = (Array.isArray(nameHeader) ? nameHeader[0] : nameHeader) ?? '';
    if (name === '') throw new ApiRefusal(403, 'Extension.InvalidExtensionName', 'Empty extension name');
    let body: { events?: unknown; configurationKeys?: unknown };
    try {
      body = JSON.parse(await readBody(request)) as typeof body;
    } catch (error) {
      throw new ApiRefusal(403, 'InvalidRequestFormat', error instanceof Error ? error.message : String(error));
    }
    if (Array.isArray(body.configurationKeys) && body.configurationKeys.length > 0) {
      throw new ApiRefusal(403, 'InvalidRequestFormat', 'configurationKeys are deprecated; use environment variables instead');
    }
    const events = Array.isArray(body.events) ? (body.events as unknown[]) : [];
    const isExternal = external.has(name);
    for (const event of events) {
      if (typeof event !== 'string' || !EVENT_TYPES.includes(event)) {
        throw new ApiRefusal(403, 'Extension.InvalidEventType', `${String(event)}: invalid event`);
      }
      if (event === 'SHUTDOWN' && !isExternal) {
        throw new ApiRefusal(403, 'Extension.InvalidEventType', 'SHUTDOWN: internal extensions cannot register for SHUTDOWN');
      }
    }
    if (registered.some((extension) => extension.name === name)) {
      throw new ApiRefusal(403, 'Extension.InvalidExtensionState', `Extension ${name} is already registered`);
    }
    if (!isExternal && initDone) throw new ApiRefusal(403, 'Extension.RegistrationClosed', 'Extension registration closed already');
    const extension: MutableExtension = {
      id: randomUUID(),
      name,
      external: isExternal,
      events: events as ExtensionEventType[],
      state: 'registered',
      delivered: [],
      errors: [],
      registeredAt: clock(),
      firstNextAt: undefined,
      queued: undefined,
      waiting: undefined,
    };
    registered.push(extension);
    await options.onRegister?.(name);
    send(
      response,
      200,
      { functionName: options.functionName ?? 'identity-endpoint-test', functionVersion: '$LATEST', handler: 'index.handler' },
      { 'lambda-extension-identifier': extension.id },
    );
    changed();
    return extension;
  }

  function next(request: IncomingMessage, response: ServerResponse): MutableExtension {
    const extension = byId(request);
    if (extension.state === 'failed') {
      throw new ApiRefusal(403, 'Extension.InvalidExtensionState', `State transition to Ready failed for extension ${extension.id}`);
    }
    if (failNext) {
      failNext = false;
      throw new ApiRefusal(500, 'InternalServerError', 'Internal Server Error');
    }
    extension.firstNextAt ??= clock();
    extension.state = 'ready';
    if (!initDone && initComplete()) initDone = true;
    extension.waiting = (event) => {
      const headers: Record<string, string> = event.eventType === 'INVOKE' ? { 'lambda-extension-event-identifier': randomUUID() } : {};
      send(response, 200, event, headers);
    };
    // A client that gives up on its long poll is no longer waiting.
    response.once('close', () => {
      if (!response.writableFinished && extension.waiting) extension.waiting = undefined;
    });
    const queued = extension.queued;
    if (queued) {
      extension.queued = undefined;
      deliver(extension, queued);
    }
    changed();
    return extension;
  }

  async function reportError(kind: 'init' | 'exit', request: IncomingMessage, response: ServerResponse): Promise<MutableExtension> {
    const extension = byId(request);
    const typeHeader = request.headers['lambda-extension-function-error-type'];
    const errorType = Array.isArray(typeHeader) ? typeHeader[0] : typeHeader;
    if (!errorType) throw new ApiRefusal(403, 'Extension.MissingHeader', 'Lambda-Extension-Function-Error-Type not found');
    if (extension.state === 'failed' || (kind === 'init' && extension.state !== 'registered')) {
      throw new ApiRefusal(
        403,
        'Extension.InvalidExtensionState',
        `State transition from ${extension.state} to ${kind === 'init' ? 'InitError' : 'ExitError'} failed for extension ${extension.id}`,
      );
    }
    extension.errors.push({ kind, errorType, body: await readBody(request) });
    extension.state = 'failed';
    send(response, 202, { status: 'OK' });
    changed();
    return extension;
  }

  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const method = request.method ?? 'GET';
    const record = (status: number, extension?: MutableExtension, errorType?: string) =>
      calls.push({ at: clock(), method, path, status, extension: extension?.name, errorType });
    const handle = async (): Promise<void> => {
      if (method === 'POST' && path === `${API}/register`) record(200, await register(request, response));
      else if (method === 'GET' && path === `${API}/event/next`) record(200, next(request, response));
      else if (method === 'POST' && path === `${API}/init/error`) record(202, await reportError('init', request, response));
      else if (method === 'POST' && path === `${API}/exit/error`) record(202, await reportError('exit', request, response));
      else {
        record(404);
        send(response, 404, { errorMessage: `No route for ${method} ${path}`, errorType: 'NotFound' });
      }
    };
    handle().catch((error: unknown) => {
      const refusal = error instanceof ApiRefusal ? error : new ApiRefusal(500, 'InternalServerError', 'Internal Server Error');
      record(refusal.status, undefined, refusal.errorType);
      if (!response.headersSent) send(response, refusal.status, { errorMessage: refusal.message, errorType: refusal.errorType });
      changed();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const snapshot = (extension: MutableExtension): StandInExtension => ({
    id: extension.id,
    name: extension.name,
    events: [...extension.events],
    state: extension.state,
    delivered: [...extension.delivered],
    errors: [...extension.errors],
    registeredAt: extension.registeredAt,
    firstNextAt: extension.firstNextAt,
  });

  function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (error) {
          done();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the Extensions API stand-in waited ${timeoutMs} ms for ${what}; calls: ${JSON.stringify(calls)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        changes.off('change', check);
      };
      changes.on('change', check);
      check();
    });
  }

  return {
    runtimeApi: `127.0.0.1:${port}`,
    calls,
    extensions: () => registered.map(snapshot),
    failNextEventCall: () => {
      failNext = true;
    },
    waitFor,
    initialized: (timeoutMs) =>
      waitFor(
        () => {
          for (const extension of registered) {
            const error = extension.errors.find((reported) => reported.kind === 'init');
            if (error) throw new Error(`${extension.name} reported an init error: ${error.errorType}: ${error.body}`);
          }
          return initDone ? true : undefined;
        },
        `every extension of ${JSON.stringify([...external])} to register and call next`,
        timeoutMs,
      ).then(() => undefined),
    async invoke(invokeOptions = {}) {
      if (!initDone) throw new Error('invoke() before the init phase completed: await initialized() first');
      const timeoutMs = invokeOptions.timeoutMs ?? 3000;
      invocations += 1;
      const event: InvokeEvent = {
        eventType: 'INVOKE',
        deadlineMs: clock() + timeoutMs,
        requestId: invokeOptions.requestId ?? randomUUID(),
        invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${options.functionName ?? 'identity-endpoint-test'}`,
        tracing: { type: 'X-Amzn-Trace-Id', value: `Root=1-00000000-${String(invocations).padStart(24, '0')};Sampled=0` },
      };
      const subscribed = registered.filter((extension) => extension.state !== 'failed' && extension.events.includes('INVOKE'));
      for (const extension of subscribed) deliver(extension, event);
      await waitFor(
        () => (subscribed.every((extension) => extension.state === 'ready' && extension.delivered.includes(event)) ? true : undefined),
        `the extensions to call next after INVOKE ${event.requestId}`,
        timeoutMs,
      );
      return event;
    },
    shutdown(shutdownOptions = {}) {
      const event: ShutdownEvent = {
        eventType: 'SHUTDOWN',
        deadlineMs: shutdownOptions.deadlineMs ?? clock() + SHUTDOWN_LIMIT_MS - RUNTIME_SHUTDOWN_SHARE_MS,
        shutdownReason: shutdownOptions.reason ?? 'spindown',
      };
      for (const extension of registered) {
        if (extension.state !== 'failed' && extension.events.includes('SHUTDOWN')) deliver(extension, event);
      }
      return event;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
