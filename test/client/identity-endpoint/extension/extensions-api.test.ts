/** The Extensions API client against the stand-in, over real HTTP: what it sends, what it returns, how it fails. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExtensionsApiError, extensionsApi } from '../../../../client/identity-endpoint/extension/extensions-api';
import { freePort } from '../../../../local/free-port';
import { startExtensionsApi, type ExtensionsApiStandIn } from '../../../../local/lambda-extensions-api/extensions-api';

const NAME = 'broker-identity-endpoint';
let api: ExtensionsApiStandIn;
beforeEach(async () => {
  api = await startExtensionsApi({ externalExtensions: [NAME], functionName: 'orders' });
});
afterEach(async () => {
  await api.close();
});

describe('extensionsApi', () => {
  it('registers under the name for the events, and reads the identifier and the function', async () => {
    const client = extensionsApi(api.runtimeApi);
    const registration = await client.register(NAME, ['INVOKE', 'SHUTDOWN']);
    expect(registration).toEqual({ extensionId: api.extensions()[0]!.id, functionName: 'orders' });
    expect(api.extensions()).toMatchObject([{ name: NAME, events: ['INVOKE', 'SHUTDOWN'] }]);
  });

  it('returns the INVOKE and SHUTDOWN events with their deadlines', async () => {
    const client = extensionsApi(api.runtimeApi);
    const { extensionId } = await client.register(NAME, ['INVOKE', 'SHUTDOWN']);
    const first = client.next(extensionId);
    await api.initialized();
    const invoked = api.invoke({ requestId: 'request-7' });
    const invoke = await first;
    expect(invoke).toEqual({ eventType: 'INVOKE', deadlineMs: api.extensions()[0]!.delivered[0]!.deadlineMs, requestId: 'request-7' });
    const second = client.next(extensionId);
    await invoked;
    const { deadlineMs } = api.shutdown({ reason: 'timeout' });
    expect(await second).toEqual({ eventType: 'SHUTDOWN', deadlineMs, shutdownReason: 'timeout' });
  });

  it('reports an init error as Lambda expects it: the type in a header, the error request as JSON', async () => {
    const client = extensionsApi(api.runtimeApi);
    const { extensionId } = await client.register(NAME, ['INVOKE', 'SHUTDOWN']);
    await client.initError(extensionId, 'Extension.InvalidConfiguration', 'BROKER_URL is not set');
    const [error] = api.extensions()[0]!.errors;
    expect(error!.errorType).toBe('Extension.InvalidConfiguration');
    expect(JSON.parse(error!.body)).toEqual({
      errorType: 'Extension.InvalidConfiguration',
      errorMessage: 'BROKER_URL is not set',
      stackTrace: [],
    });
  });

  it("throws Lambda's refusal with its status, errorType and message", async () => {
    const client = extensionsApi(api.runtimeApi);
    const refusal = await client.register('', ['INVOKE']).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ExtensionsApiError);
    expect(refusal).toMatchObject({
      operation: 'register',
      status: 403,
      errorType: 'Extension.InvalidExtensionName',
      message: 'Lambda refused register (403 Extension.InvalidExtensionName): Empty extension name',
    });
  });

  it('says the API cannot be reached, and refuses a value that is not host:port', async () => {
    const client = extensionsApi(`127.0.0.1:${await freePort()}`);
    await expect(client.next('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      status: undefined,
      message: "cannot reach Lambda's Extensions API for event/next (ECONNREFUSED)",
    });
    expect(() => extensionsApi('http://127.0.0.1:9001')).toThrow('AWS_LAMBDA_RUNTIME_API is not host:port: "http://127.0.0.1:9001"');
  });
});
