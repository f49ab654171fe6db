/**
 * The Extensions API stand-in answers as Lambda does (the behaviours and their sources are in its module comment), over
 * real HTTP: tests of the extension are only as good as this.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startExtensionsApi, type ExtensionsApiStandIn } from '../../../local/lambda-extensions-api/extensions-api';

const NAME = 'broker-identity-endpoint';
const open: ExtensionsApiStandIn[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((api) => api.close()));
});

async function start(onRegister?: (name: string) => void): Promise<ExtensionsApiStandIn> {
  const api = await startExtensionsApi({ externalExtensions: [NAME], ...(onRegister ? { onRegister } : {}) });
  open.push(api);
  return api;
}

function call(api: ExtensionsApiStandIn, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return fetch(`http://${api.runtimeApi}/2020-01-01/extension${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

async function register(api: ExtensionsApiStandIn, name = NAME, events: unknown = ['INVOKE', 'SHUTDOWN']): Promise<string> {
  const response = await call(api, 'POST', '/register', { 'Lambda-Extension-Name': name }, JSON.stringify({ events }));
  expect(response.status, await response.clone().text()).toBe(200);
  return response.headers.get('lambda-extension-identifier')!;
}

async function refusal(response: Response): Promise<{ status: number; body: unknown }> {
  return { status: response.status, body: await response.json() };
}

describe('register', () => {
  it('answers a Lambda-Extension-Identifier (a UUID) and the function, for a file Lambda started', async () => {
    const api = await start();
    const response = await call(api, 'POST', '/register', { 'Lambda-Extension-Name': NAME }, '{"events":["INVOKE","SHUTDOWN"]}');
    expect(response.status).toBe(200);
    expect(response.headers.get('lambda-extension-identifier')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({ functionName: 'identity-endpoint-test', functionVersion: '$LATEST', handler: 'index.handler' });
    expect(api.extensions()).toMatchObject([{ name: NAME, events: ['INVOKE', 'SHUTDOWN'], state: 'registered' }]);
  });

  it('refuses a missing name, a body that is not JSON, an unknown event and a second registration', async () => {
    const api = await start();
    expect(await refusal(await call(api, 'POST', '/register', {}, '{"events":[]}'))).toEqual({
      status: 403,
      body: { errorType: 'Extension.InvalidExtensionName', errorMessage: 'Empty extension name' },
    });
    expect(await refusal(await call(api, 'POST', '/register', { 'Lambda-Extension-Name': NAME }, 'events'))).toMatchObject({
      status: 403,
      body: { errorType: 'InvalidRequestFormat' },
    });
    expect(
      await refusal(await call(api, 'POST', '/register', { 'Lambda-Extension-Name': NAME }, '{"events":["INVOKE","RESTORE"]}')),
    ).toMatchObject({ status: 403, body: { errorType: 'Extension.InvalidEventType', errorMessage: expect.stringContaining('RESTORE') } });
    await register(api);
    expect(await refusal(await call(api, 'POST', '/register', { 'Lambda-Extension-Name': NAME }, '{"events":["INVOKE"]}'))).toMatchObject({
      status: 403,
      body: { errorType: 'Extension.InvalidExtensionState' },
    });
  });

  it('takes a name that is not a file in /opt/extensions for an internal extension, which may not register for SHUTDOWN', async () => {
    const api = await start();
    expect(
      await refusal(await call(api, 'POST', '/register', { 'Lambda-Extension-Name': 'main.mjs' }, '{"events":["INVOKE","SHUTDOWN"]}')),
    ).toMatchObject({ status: 403, body: { errorType: 'Extension.InvalidEventType', errorMessage: expect.stringContaining('SHUTDOWN') } });
  });

  it('calls onRegister before it answers', async () => {
    const seen: string[] = [];
    const api = await start((name) => void seen.push(`hook ${name}`));
    await register(api);
    seen.push('answered');
    expect(seen).toEqual([`hook ${NAME}`, 'answered']);
  });
});

describe('event/next', () => {
  it('refuses a missing, malformed or unknown identifier', async () => {
    const api = await start();
    expect(await refusal(await call(api, 'GET', '/event/next'))).toEqual({
      status: 403,
      body: { errorType: 'Extension.MissingExtensionIdentifier', errorMessage: 'Missing Lambda-Extension-Identifier header' },
    });
    expect(await refusal(await call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': 'abc' }))).toMatchObject({
      status: 403,
      body: { errorType: 'Extension.InvalidExtensionIdentifier' },
    });
    expect(
      await refusal(await call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': '00000000-0000-4000-8000-000000000000' })),
    ).toMatchObject({ status: 403, body: { errorType: 'Extension.UnknownExtensionIdentifier' } });
  });

  it('ends init at the first next, holds the call until an invoke, then returns INVOKE with a deadline in epoch ms', async () => {
    const api = await start();
    const id = await register(api);
    let answered = false;
    const pending = call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': id }).then((response) => {
      answered = true;
      return response;
    });
    await api.initialized();
    expect(answered).toBe(false);

    const before = Date.now();
    const invoked = api.invoke({ timeoutMs: 5000, requestId: 'req-1' });
    const response = await pending;
    expect(response.headers.get('lambda-extension-event-identifier')).toMatch(/^[0-9a-f-]{36}$/);
    const event = (await response.json()) as { deadlineMs: number };
    expect(event).toMatchObject({ eventType: 'INVOKE', requestId: 'req-1', tracing: { type: 'X-Amzn-Trace-Id' } });
    expect(event.deadlineMs).toBeGreaterThanOrEqual(before + 5000);
    expect(event.deadlineMs).toBeLessThan(before + 60_000);

    // The invoke phase ends once the extension is back in next.
    let phaseOver = false;
    void invoked.then(() => (phaseOver = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(phaseOver).toBe(false);
    const again = call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': id });
    await invoked;
    api.shutdown({ reason: 'spindown', deadlineMs: 1_900_000_000_000 });
    expect(await (await again).json()).toEqual({ eventType: 'SHUTDOWN', deadlineMs: 1_900_000_000_000, shutdownReason: 'spindown' });
  });

  it('sends SHUTDOWN with what is left of 2000 ms after the runtime’s 300 ms, and only to extensions registered for it', async () => {
    const api = await startExtensionsApi({ externalExtensions: [NAME, 'other'] });
    open.push(api);
    const id = await register(api);
    const other = await register(api, 'other', ['INVOKE']);
    const next = call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': id });
    // Left waiting: close() ends it.
    void call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': other }).catch(() => undefined);
    await api.initialized();
    const before = Date.now();
    const event = api.shutdown();
    expect(event.deadlineMs - before).toBeGreaterThanOrEqual(1690);
    expect(event.deadlineMs - before).toBeLessThanOrEqual(1800);
    expect(await (await next).json()).toEqual(event);
    expect(api.extensions().find((extension) => extension.name === 'other')!.delivered).toEqual([]);
  });

  it('refuses invoke() before every external extension has called next', async () => {
    const api = await start();
    await register(api);
    await expect(api.invoke()).rejects.toThrow(/before the init phase completed/);
  });
});

describe('init/error and exit/error', () => {
  it('needs the error type header, answers 202, and refuses every later call', async () => {
    const api = await start();
    const id = await register(api);
    expect(await refusal(await call(api, 'POST', '/init/error', { 'Lambda-Extension-Identifier': id }, '{}'))).toEqual({
      status: 403,
      body: { errorType: 'Extension.MissingHeader', errorMessage: 'Lambda-Extension-Function-Error-Type not found' },
    });
    const body = JSON.stringify({ errorType: 'Extension.InvalidConfiguration', errorMessage: 'BROKER_URL is not set', stackTrace: [] });
    const accepted = await call(
      api,
      'POST',
      '/init/error',
      { 'Lambda-Extension-Identifier': id, 'Lambda-Extension-Function-Error-Type': 'Extension.InvalidConfiguration' },
      body,
    );
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ status: 'OK' });
    expect(api.extensions()[0]!.errors).toEqual([{ kind: 'init', errorType: 'Extension.InvalidConfiguration', body }]);
    expect((await call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': id })).status).toBe(403);
    await expect(api.initialized()).rejects.toThrow(/reported an init error: Extension.InvalidConfiguration.*BROKER_URL is not set/);
  });

  it('refuses an init error after the first next, and takes an exit error then', async () => {
    const api = await start();
    const id = await register(api);
    void call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': id }).catch(() => undefined);
    await api.initialized();
    const headers = { 'Lambda-Extension-Identifier': id, 'Lambda-Extension-Function-Error-Type': 'Extension.Crash' };
    expect(await refusal(await call(api, 'POST', '/init/error', headers, '{}'))).toMatchObject({
      status: 403,
      body: { errorType: 'Extension.InvalidExtensionState' },
    });
    expect((await call(api, 'POST', '/exit/error', headers, '{}')).status).toBe(202);
    expect(api.extensions()[0]!.errors.map((error) => error.kind)).toEqual(['exit']);
  });

  it('answers 500 to event/next once when told to, as Lambda in a non-recoverable state', async () => {
    const api = await start();
    const id = await register(api);
    api.failNextEventCall();
    expect(await refusal(await call(api, 'GET', '/event/next', { 'Lambda-Extension-Identifier': id }))).toEqual({
      status: 500,
      body: { errorType: 'InternalServerError', errorMessage: 'Internal Server Error' },
    });
    const headers = { 'Lambda-Extension-Identifier': id, 'Lambda-Extension-Function-Error-Type': 'Extension.NextFailed' };
    expect((await call(api, 'POST', '/exit/error', headers, '{}')).status).toBe(202);
  });

  it('answers 404 elsewhere', async () => {
    const api = await start();
    expect((await call(api, 'GET', '/register')).status).toBe(404);
    expect((await fetch(`http://${api.runtimeApi}/2018-06-01/runtime/invocation/next`)).status).toBe(404);
  });
});
