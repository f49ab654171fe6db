/**
 * A client for Lambda's Extensions API (`http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/…`): register, the
 * next event, init and exit errors. Over `node:http` rather than fetch: `event/next` blocks until Lambda has an event,
 * for as long as the environment lives (frozen in between), and AWS's reference says to set no timeout on it, while
 * fetch (undici) gives up on a response that has not started within 300 s.
 */
import { request } from 'node:http';

export type ExtensionEventType = 'INVOKE' | 'SHUTDOWN';

export interface InvokeEvent {
  readonly eventType: 'INVOKE';
  /** When the invocation times out, ms since the epoch. */
  readonly deadlineMs: number;
  readonly requestId: string;
}

export interface ShutdownEvent {
  readonly eventType: 'SHUTDOWN';
  /** When Lambda SIGKILLs the extension, ms since the epoch. */
  readonly deadlineMs: number;
  /** `spindown`, `timeout` or `failure`. */
  readonly shutdownReason: string;
}

export type ExtensionEvent = InvokeEvent | ShutdownEvent;

export interface Registration {
  /** The `Lambda-Extension-Identifier` every later call sends. */
  readonly extensionId: string;
  readonly functionName: string | undefined;
}

/** A call Lambda answered with an error (`{"errorType", "errorMessage"}`), or one that did not reach it. */
export class ExtensionsApiError extends Error {
  override readonly name = 'ExtensionsApiError';

  constructor(
    readonly operation: string,
    /** The HTTP status, or undefined when the API was not reached. */
    readonly status: number | undefined,
    /** Lambda's `errorType`, e.g. `Extension.InvalidEventType`. */
    readonly errorType: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ExtensionsApi {
  /**
   * Registers the extension for `events`; `name` must be its file name under `/opt/extensions`.
   * @throws ExtensionsApiError when Lambda refuses (the message has its errorType and errorMessage)
   */
  register(name: string, events: readonly ExtensionEventType[]): Promise<Registration>;
  /**
   * Waits, with no time limit, for the next event.
   * @throws ExtensionsApiError when Lambda refuses or the API is gone
   */
  next(extensionId: string): Promise<ExtensionEvent>;
  /** Reports a failure to initialize; Lambda answers nothing more after it. */
  initError(extensionId: string, errorType: string, message: string): Promise<void>;
  /** Reports a failure before exiting; Lambda answers nothing more after it. */
  exitError(extensionId: string, errorType: string, message: string): Promise<void>;
}

const PREFIX = '/2020-01-01/extension';

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/**
 * The API at `runtimeApi` (`host:port`, the value of `AWS_LAMBDA_RUNTIME_API`).
 * @throws ExtensionsApiError when `runtimeApi` is not `host:port`
 */
export function extensionsApi(runtimeApi: string): ExtensionsApi {
  const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(runtimeApi);
  if (!match?.[1] || !match[2]) {
    throw new ExtensionsApiError('connect', undefined, undefined, `AWS_LAMBDA_RUNTIME_API is not host:port: ${JSON.stringify(runtimeApi)}`);
  }
  const host = match[1].replace(/^\[|\]$/g, '');
  const port = Number(match[2]);

  const call = (operation: string, method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const outgoing = request(
        {
          host,
          port,
          method,
          path: `${PREFIX}${path}`,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
          response.on('error', (error) => reject(unreachable(operation, error)));
        },
      );
      outgoing.on('error', (error) => reject(unreachable(operation, error)));
      outgoing.end(body);
    }).then((answer) => {
      if (answer.status >= 200 && answer.status < 300) return answer;
      let errorType: string | undefined;
      let errorMessage = answer.body.slice(0, 500);
      try {
        const parsed = JSON.parse(answer.body) as { errorType?: unknown; errorMessage?: unknown };
        if (typeof parsed.errorType === 'string') errorType = parsed.errorType;
        if (typeof parsed.errorMessage === 'string') errorMessage = parsed.errorMessage;
      } catch {
        // Not JSON: the raw text says what happened.
      }
      throw new ExtensionsApiError(
        operation,
        answer.status,
        errorType,
        `Lambda refused ${operation} (${answer.status}${errorType ? ` ${errorType}` : ''}): ${errorMessage}`,
      );
    });

  const reportError = async (operation: string, path: string, extensionId: string, errorType: string, message: string) => {
    await call(
      operation,
      'POST',
      path,
      { 'lambda-extension-identifier': extensionId, 'lambda-extension-function-error-type': errorType },
      JSON.stringify({ errorType, errorMessage: message, stackTrace: [] }),
    );
  };

  return {
    async register(name, events) {
      const answer = await call('register', 'POST', '/register', { 'lambda-extension-name': name }, JSON.stringify({ events }));
      const id = answer.headers['lambda-extension-identifier'];
      const extensionId = Array.isArray(id) ? id[0] : id;
      if (!extensionId)
        throw new ExtensionsApiError(
          'register',
          answer.status,
          undefined,
          'Lambda answered register without a Lambda-Extension-Identifier',
        );
      let functionName: string | undefined;
      try {
        const parsed = JSON.parse(answer.body) as { functionName?: unknown };
        if (typeof parsed.functionName === 'string') functionName = parsed.functionName;
      } catch {
        // The identifier is all that matters.
      }
      return { extensionId, functionName };
    },
    async next(extensionId) {
      const answer = await call('event/next', 'GET', '/event/next', { 'lambda-extension-identifier': extensionId });
      let event: { eventType?: unknown; deadlineMs?: unknown; requestId?: unknown; shutdownReason?: unknown };
      try {
        event = JSON.parse(answer.body) as typeof event;
      } catch {
        throw new ExtensionsApiError('event/next', answer.status, undefined, `Lambda answered event/next with something that is not JSON`);
      }
      const deadlineMs = Number(event.deadlineMs);
      if (event.eventType === 'SHUTDOWN') {
        return {
          eventType: 'SHUTDOWN',
          deadlineMs,
          shutdownReason: typeof event.shutdownReason === 'string' ? event.shutdownReason : 'unknown',
        };
      }
      if (event.eventType === 'INVOKE') {
        return { eventType: 'INVOKE', deadlineMs, requestId: typeof event.requestId === 'string' ? event.requestId : '' };
      }
      throw new ExtensionsApiError(
        'event/next',
        answer.status,
        undefined,
        `Lambda sent an event of unknown type ${JSON.stringify(event.eventType)}`,
      );
    },
    initError: (extensionId, errorType, message) => reportError('init/error', '/init/error', extensionId, errorType, message),
    exitError: (extensionId, errorType, message) => reportError('exit/error', '/exit/error', extensionId, errorType, message),
  };
}

function unreachable(operation: string, error: NodeJS.ErrnoException): ExtensionsApiError {
  return new ExtensionsApiError(
    operation,
    undefined,
    undefined,
    `cannot reach Lambda's Extensions API for ${operation} (${error.code ?? error.message})`,
    {
      cause: error,
    },
  );
}
