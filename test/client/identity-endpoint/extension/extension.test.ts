/**
 * The extension's lifecycle, in this process, against the Extensions API stand-in (local/lambda-extensions-api) and the
 * fake broker (real SigV4 checks): it listens before it registers, registers for INVOKE and SHUTDOWN under its file
 * name, serves tokens while Lambda invokes, leaves before SHUTDOWN's deadline, and reports what stops it to Lambda with
 * a message that names the variable to fix, never a secret.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { EXTENSION_ERROR_TYPES, EXTENSION_EXIT, runExtension } from '../../../../client/identity-endpoint/extension/extension';
import { startExtensionsApi, type ExtensionsApiStandIn } from '../../../../local/lambda-extensions-api/extensions-api';
import { freePort } from '../../../../local/free-port';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, startFakeBroker, type FakeBroker } from '../../fake-broker';

const NAME = 'broker-identity-endpoint';
const HEADER = 'extension-test-header-0123456789abcdef';
const RESOURCES = { 'https://storage.azure.com': 'storage', 'https://vault.azure.net': 'vault' };

let broker: FakeBroker;
let api: ExtensionsApiStandIn;
let port: number;
/** Status of a header-less request to the endpoint, made when the registration arrived. */
let atRegistration: number | string | undefined;
const output: string[] = [];

beforeAll(async () => {
  broker = await startFakeBroker();
});
afterAll(async () => {
  await broker.close();
});
beforeEach(async () => {
  port = await freePort();
  atRegistration = undefined;
  api = await startExtensionsApi({
    externalExtensions: [NAME],
    onRegister: async () => {
      atRegistration = await fetch(`http://127.0.0.1:${port}/msi/token`).then(
        (response) => response.status,
        (error: unknown) => String(error),
      );
    },
  });
});
afterEach(async () => {
  await api.close();
  // Whatever a test did, no line the extension wrote holds the header or a token.
  const all = output.splice(0).join('');
  expect(all).not.toContain(HEADER);
  expect(all).not.toContain(TOKEN_PREFIX);
});

function functionEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AWS_LAMBDA_RUNTIME_API: api.runtimeApi,
    IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`,
    IDENTITY_HEADER: HEADER,
    BROKER_URL: broker.url,
    BROKER_IDENTITY_RESOURCES: JSON.stringify(RESOURCES),
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    ...overrides,
  };
}

/** Starts the extension as Lambda would (its file name, the function's environment); `exited` is its exit code. */
function start(overrides: Record<string, string | undefined> = {}, name = NAME) {
  let lines = '';
  const exited = runExtension({
    name,
    env: functionEnv(overrides),
    identify: false,
    stderr: {
      write: (text: string) => {
        lines += text;
        output.push(text);
      },
    },
  });
  return { exited, stderr: () => lines };
}

/** What the function's Azure SDK sends. */
function tokenRequest(resource: string, header = HEADER) {
  return fetch(`http://127.0.0.1:${port}/msi/token?api-version=2019-08-01&resource=${encodeURIComponent(resource)}`, {
    headers: { 'X-IDENTITY-HEADER': header },
  });
}

const reachable = () =>
  fetch(`http://127.0.0.1:${port}/msi/token`).then(
    () => true,
    () => false,
  );

describe('the extension in a function’s life', () => {
  it('listens before it registers, so the runtime’s init already finds the endpoint', async () => {
    const extension = start();
    await api.initialized();
    expect(atRegistration).toBe(401);
    expect(api.extensions()).toMatchObject([{ name: NAME, events: ['INVOKE', 'SHUTDOWN'], state: 'ready' }]);
    expect(extension.stderr()).toMatch(
      new RegExp(
        `listening on http://127\\.0\\.0\\.1:${port}/msi/token for https://storage\\.azure\\.com \\(alias storage\\), https://vault\\.azure\\.net \\(alias vault\\); registered \\d+ ms after the process started`,
      ),
    );
    api.shutdown();
    expect(await extension.exited).toBe(EXTENSION_EXIT.stopped);
  });

  it('serves the broker’s tokens while Lambda invokes, back in event/next after each INVOKE', async () => {
    const extension = start();
    await api.initialized();
    for (let invocation = 1; invocation <= 3; invocation++) {
      await api.invoke();
      const response = await tokenRequest('https://storage.azure.com');
      expect(response.status).toBe(200);
      const body = (await response.json()) as { access_token: string; resource: string };
      // One broker request: the endpoint caches the token for the next invocations.
      expect(body).toMatchObject({ access_token: `${TOKEN_PREFIX}-storage-1`, resource: 'https://storage.azure.com' });
    }
    expect(broker.tokenRequests('storage')).toBeGreaterThanOrEqual(1);
    const [registered] = api.extensions();
    expect(registered!.delivered.map((event) => event.eventType)).toEqual(['INVOKE', 'INVOKE', 'INVOKE']);
    expect(api.calls.filter((call) => call.path.endsWith('/event/next'))).toHaveLength(4);
    expect(extension.stderr()).toMatch(/200 ok resource=https:\/\/storage\.azure\.com alias=storage/);
    api.shutdown();
    expect(await extension.exited).toBe(EXTENSION_EXIT.stopped);
    expect(await reachable()).toBe(false);
  });

  it('stops listening and exits on SHUTDOWN before its deadline, even with a broker request that never ends', async () => {
    const extension = start();
    await api.initialized();
    await api.invoke();
    const held = broker.hold();
    const inFlight = tokenRequest('https://vault.azure.net').catch((error: unknown) => error);
    await held.arrived;
    const shutdown = api.shutdown();
    expect(await extension.exited).toBe(EXTENSION_EXIT.stopped);
    expect(Date.now()).toBeLessThan(shutdown.deadlineMs);
    expect(extension.stderr()).toContain('stopped (SHUTDOWN, spindown)');
    held.release();
    await inFlight;
  });
});

describe('what stops it, reported to Lambda', () => {
  async function initError() {
    const [extension] = await api.waitFor(() => (api.extensions()[0]?.errors.length ? api.extensions() : undefined), 'an init error');
    return { ...extension!.errors[0]!, message: (JSON.parse(extension!.errors[0]!.body) as { errorMessage: string }).errorMessage };
  }

  it('BROKER_URL missing: an init error that names it, no next, nothing listening, exit 1', async () => {
    const extension = start({ BROKER_URL: undefined });
    expect(await extension.exited).toBe(EXTENSION_EXIT.failed);
    const reported = await initError();
    expect(reported).toMatchObject({ kind: 'init', errorType: EXTENSION_ERROR_TYPES.configuration });
    expect(reported.message).toBe('not configured: BROKER_URL is not set');
    expect(JSON.parse(reported.body)).toEqual({
      errorType: 'Extension.InvalidConfiguration',
      errorMessage: reported.message,
      stackTrace: [],
    });
    expect(api.calls.map((call) => call.path)).toEqual(['/2020-01-01/extension/register', '/2020-01-01/extension/init/error']);
    expect(atRegistration).toMatch(/fetch failed/);
    expect(extension.stderr()).toContain('broker-identity-endpoint: not configured: BROKER_URL is not set');
    await expect(api.initialized()).rejects.toThrow(/init error/);
  });

  it('BROKER_IDENTITY_RESOURCES not JSON, and every other problem at once', async () => {
    const extension = start({ BROKER_IDENTITY_RESOURCES: '{"https://storage.azure.com": storage}', IDENTITY_ENDPOINT: undefined });
    expect(await extension.exited).toBe(EXTENSION_EXIT.failed);
    expect((await initError()).message).toBe(
      'not configured: IDENTITY_ENDPOINT is not set; BROKER_IDENTITY_RESOURCES is not JSON: expected {"<azure resource>": "<alias>", …}',
    );
  });

  it('an alias that is not a broker alias, named with its resource', async () => {
    const extension = start({ BROKER_IDENTITY_RESOURCES: '{"https://storage.azure.com": "Storage Account"}' });
    expect(await extension.exited).toBe(EXTENSION_EXIT.failed);
    expect((await initError()).message).toBe(
      'not configured: BROKER_IDENTITY_RESOURCES: the alias for https://storage.azure.com must be a broker alias (lower-case letters, digits and dashes, at most 63), got "Storage Account"',
    );
  });

  it('IDENTITY_ENDPOINT off loopback, and IDENTITY_HEADER too short (its length, never its value)', async () => {
    const first = start({ IDENTITY_ENDPOINT: 'http://169.254.169.254:41991/msi/token' });
    expect(await first.exited).toBe(EXTENSION_EXIT.failed);
    expect((await initError()).message).toBe(
      'not configured: IDENTITY_ENDPOINT must be http://127.0.0.1:<port>/msi/token: the extension listens on 127.0.0.1 only, got "http://169.254.169.254:41991/msi/token"',
    );

    await api.close();
    api = await startExtensionsApi({ externalExtensions: [NAME] });
    const second = start({ IDENTITY_HEADER: 'short-secret' });
    expect(await second.exited).toBe(EXTENSION_EXIT.failed);
    const reported = await initError();
    expect(reported.message).toMatch(
      /^not configured: IDENTITY_HEADER: the identity header must be 16 to 512 characters .*got 12 characters/,
    );
    expect(reported.body).not.toContain('short-secret');
  });

  it('the port in use: Extension.ListenFailed, naming the port', async () => {
    const squatter: Server = createServer((_request, response) => response.writeHead(418).end());
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const extension = start();
      expect(await extension.exited).toBe(EXTENSION_EXIT.failed);
      const reported = await initError();
      expect(reported.errorType).toBe(EXTENSION_ERROR_TYPES.listen);
      expect(reported.message).toBe(
        `IDENTITY_ENDPOINT: cannot listen on 127.0.0.1:${port} (EADDRINUSE): the port is in use, choose another one or 0 for any`,
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('a name that is not its file name: Lambda refuses the registration, the extension says so and leaves', async () => {
    const extension = start({}, 'main.mjs');
    expect(await extension.exited).toBe(EXTENSION_EXIT.failed);
    expect(extension.stderr()).toContain(
      'cannot register with Lambda as "main.mjs": Lambda refused register (403 Extension.InvalidEventType): SHUTDOWN: internal extensions cannot register for SHUTDOWN',
    );
    expect(await reachable()).toBe(false);
  });

  it('event/next failing: an exit error, the endpoint closed, exit 1', async () => {
    const extension = start();
    await api.initialized();
    api.failNextEventCall();
    // The INVOKE makes it call next again, which fails; the invoke phase never ends.
    await api.invoke({ timeoutMs: 100 }).catch(() => undefined);
    expect(await extension.exited).toBe(EXTENSION_EXIT.failed);
    const [registered] = api.extensions();
    expect(registered!.errors).toMatchObject([{ kind: 'exit', errorType: EXTENSION_ERROR_TYPES.next }]);
    expect(JSON.parse(registered!.errors[0]!.body).errorMessage).toBe(
      'event/next failed, stopping: Lambda refused event/next (500 InternalServerError): Internal Server Error',
    );
    expect(await reachable()).toBe(false);
  });

  it('outside Lambda (no AWS_LAMBDA_RUNTIME_API): says what it is and exits 1 without listening', async () => {
    const extension = start({ AWS_LAMBDA_RUNTIME_API: undefined });
    expect(await extension.exited).toBe(EXTENSION_EXIT.failed);
    expect(extension.stderr()).toBe(
      'broker-identity-endpoint: AWS_LAMBDA_RUNTIME_API is not set: this is a Lambda extension, which Lambda starts from /opt/extensions\n',
    );
    expect(await reachable()).toBe(false);
  });
});
