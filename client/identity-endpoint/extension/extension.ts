/**
 * The identity endpoint as a Lambda extension: the same server the CLI runs, inside the function's execution
 * environment, so that the function's Azure SDK (`DefaultAzureCredential`, any language) gets broker tokens from
 * `IDENTITY_ENDPOINT` with no code change. Lambda starts it from the layer's `extensions/` folder before the runtime
 * (main.ts is its entry).
 *
 * The lifecycle, as AWS's Extensions API reference describes it:
 * 1. Read the configuration (environment variables only, extension-config.ts) and start listening on 127.0.0.1.
 *    This comes before registering: Lambda starts the runtime's init once every extension has registered, and the
 *    function's init code may already ask for a token.
 * 2. Register for INVOKE and SHUTDOWN under the extension's file name. A setup failure is reported to `init/error`
 *    (which needs the registration) with a message naming the variable to fix, and the extension exits.
 * 3. Call `event/next` in a loop: the first call ends the extension's init, each later one tells Lambda the extension
 *    is done with the invocation (it has nothing to do after one: tokens are fetched when the function asks).
 * 4. On SHUTDOWN, stop listening and exit well before its deadline, when Lambda would SIGKILL the process.
 * A failure of `event/next` is reported to `exit/error` (best effort: Lambda may be gone) and ends the extension.
 */
import { IDENTITY_EXTENSION_ENV, IDENTITY_EXTENSION_NAME } from '../../../contract/identity-endpoint-extension';
import type { CallerIdentityLookup, Fetch } from '../../caller-identity';
import type { CredentialsSource, Env } from '../../sign-request';
import { lineLogger } from '../cli';
import { IdentityEndpointError } from '../identity-endpoint-error';
import { startIdentityEndpoint, type IdentityEndpoint } from '../identity-endpoint';
import { readExtensionConfig } from './extension-config';
import { extensionsApi, type ExtensionsApi } from './extensions-api';
import { lambdaCredentials } from './lambda-credentials';

/** The process's exit codes. */
export const EXTENSION_EXIT = { stopped: 0, failed: 1 } as const;

/** The `Lambda-Extension-Function-Error-Type` values the extension reports. */
export const EXTENSION_ERROR_TYPES = {
  /** A variable is missing or wrong (init/error). */
  configuration: 'Extension.InvalidConfiguration',
  /** The port in `IDENTITY_ENDPOINT` cannot be bound (init/error). */
  listen: 'Extension.ListenFailed',
  /** Anything else during setup (init/error). */
  setup: 'Extension.SetupFailed',
  /** `event/next` failed (exit/error). */
  next: 'Extension.NextFailed',
} as const;

/** How long before SHUTDOWN's deadline the extension is gone, at the latest. */
const SHUTDOWN_MARGIN_MS = 100;

export interface ExtensionRunOptions {
  /** The extension's file name, which Lambda started and which it registers as. */
  readonly name: string;
  /** The function's environment. */
  readonly env: Env;
  /** Where its log lines go (CloudWatch Logs, with the function's): never a token or the header. @default process.stderr */
  readonly stderr?: { write(text: string): unknown };
  /** AWS credentials for broker requests. @default - the function's, from `env` (lambda-credentials.ts) */
  readonly credentials?: CredentialsSource;
  /** Fetch for broker requests. @default - global fetch */
  readonly fetch?: Fetch;
  /** Names the caller in `forbidden` messages. @default - STS GetCallerIdentity */
  readonly identify?: CallerIdentityLookup | false;
  /** Milliseconds since the epoch, to compare with SHUTDOWN's deadline. @default Date.now */
  readonly clock?: () => number;
  /** Milliseconds since the process started, for the ready line. @default performance.now */
  readonly uptime?: () => number;
}

interface SetupFailure {
  readonly errorType: string;
  readonly message: string;
}

/**
 * Runs the extension until SHUTDOWN or a failure.
 * @returns the exit code (`EXTENSION_EXIT`); never throws
 */
export async function runExtension(options: ExtensionRunOptions): Promise<number> {
  const { env, name } = options;
  const stderr = options.stderr ?? process.stderr;
  const clock = options.clock ?? Date.now;
  const uptime = options.uptime ?? (() => performance.now());
  const log = (line: string) => stderr.write(`${IDENTITY_EXTENSION_NAME}: ${line.replace(/\s*\n\s*/g, ' ')}\n`);

  const runtimeApi = env.AWS_LAMBDA_RUNTIME_API;
  if (!runtimeApi) {
    log('AWS_LAMBDA_RUNTIME_API is not set: this is a Lambda extension, which Lambda starts from /opt/extensions');
    return EXTENSION_EXIT.failed;
  }
  let api: ExtensionsApi;
  try {
    api = extensionsApi(runtimeApi);
  } catch (error) {
    log(messageOf(error));
    return EXTENSION_EXIT.failed;
  }

  const setup = await listen(options, stderr);

  let extensionId: string;
  try {
    ({ extensionId } = await api.register(name, ['INVOKE', 'SHUTDOWN']));
  } catch (error) {
    log(`cannot register with Lambda as ${JSON.stringify(name)}: ${messageOf(error)}`);
    if ('endpoint' in setup) await closeWithin(setup.endpoint, 1000);
    return EXTENSION_EXIT.failed;
  }

  if (!('endpoint' in setup)) {
    log(setup.message);
    try {
      await api.initError(extensionId, setup.errorType, setup.message);
    } catch (error) {
      log(`could not report the init error to Lambda: ${messageOf(error)}`);
    }
    return EXTENSION_EXIT.failed;
  }
  const { endpoint, describe } = setup;
  log(`listening on ${endpoint.url} for ${describe}; registered ${Math.round(uptime())} ms after the process started`);

  for (;;) {
    let event;
    try {
      event = await api.next(extensionId);
    } catch (error) {
      const message = `event/next failed, stopping: ${messageOf(error)}`;
      log(message);
      await api.exitError(extensionId, EXTENSION_ERROR_TYPES.next, message).catch(() => undefined);
      await closeWithin(endpoint, 1000);
      return EXTENSION_EXIT.failed;
    }
    if (event.eventType === 'SHUTDOWN') {
      await closeWithin(endpoint, event.deadlineMs - clock() - SHUTDOWN_MARGIN_MS);
      log(`stopped (SHUTDOWN, ${event.shutdownReason})`);
      return EXTENSION_EXIT.stopped;
    }
  }
}

/** Reads the configuration and starts the endpoint; what went wrong otherwise, naming the variable to fix. */
async function listen(
  options: ExtensionRunOptions,
  stderr: { write(text: string): unknown },
): Promise<{ readonly endpoint: IdentityEndpoint; readonly describe: string } | SetupFailure> {
  const read = readExtensionConfig(options.env);
  if (!read.ok) {
    return { errorType: EXTENSION_ERROR_TYPES.configuration, message: `not configured: ${read.problems.join('; ')}` };
  }
  const { config } = read;
  try {
    const endpoint = await startIdentityEndpoint({
      brokerUrl: config.brokerUrl,
      resources: config.resources,
      port: config.port,
      identityHeader: config.identityHeader,
      env: options.env,
      logger: lineLogger(stderr),
      credentials: options.credentials ?? lambdaCredentials(options.env),
      ...(config.region !== undefined ? { region: config.region } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.identify !== undefined ? { identify: options.identify } : {}),
    });
    return { endpoint, describe: config.resources.describe() };
  } catch (error) {
    if (!(error instanceof IdentityEndpointError)) {
      return { errorType: EXTENSION_ERROR_TYPES.setup, message: `could not start: ${messageOf(error)}` };
    }
    if (error.code === 'listen_failed') {
      return { errorType: EXTENSION_ERROR_TYPES.listen, message: `${IDENTITY_EXTENSION_ENV.identityEndpoint}: ${error.message}` };
    }
    const variable = /identity header/.test(error.message)
      ? IDENTITY_EXTENSION_ENV.identityHeader
      : /region/i.test(error.message)
        ? `${IDENTITY_EXTENSION_ENV.region} or AWS_REGION`
        : IDENTITY_EXTENSION_ENV.brokerUrl;
    return { errorType: EXTENSION_ERROR_TYPES.configuration, message: `not configured: ${variable}: ${error.message}` };
  }
}

/** Closes the endpoint, waiting at most `ms` for requests in flight (none after SHUTDOWN: the runtime is gone). */
async function closeWithin(endpoint: IdentityEndpoint, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    endpoint.close(),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, ms));
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
