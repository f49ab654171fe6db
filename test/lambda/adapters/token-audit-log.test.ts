/**
 * The audit line of every token served, on stock Powertools, at every log level: through the function's logger when it
 * writes INFO lines, else through a second logger pinned to INFO.
 */
import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTokenObservability } from '../../../lambda/adapters/observability';
import type { CachedToken, TokenServed } from '../../../lambda/core/ports';
import { lambdaContext } from '../../support/http-events';
import { captureLogs } from '../../support/log-capture';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0, 7);
const ACCESS_TOKEN = 'eyJ0eXAiOiJKV1QifQ.eyJ1dGkiOiJtNHhUUVoyS3ZVdWhDM2hNblEwQUFBIn0.ZW50cmEtc2lnbmF0dXJlLTAwMDE';
const token: CachedToken = {
  accessToken: ACCESS_TOKEN,
  expiresOn: Math.floor(T0 / 1000) + 3599,
  issuedOn: Math.floor(T0 / 1000),
  scope: 'https://graph.microsoft.com/.default',
  uti: 'm4xTQZ2KvUuhC3hMnQ0AAA',
  correlationId: '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b',
};

const served = (overrides: Partial<TokenServed> = {}): TokenServed => ({
  alias: 'graph',
  cache: 'l1',
  token,
  callerArn: 'arn:aws:sts::111122223333:assumed-role/app-role/fn',
  callerAccount: '111122223333',
  apiRequestId: 'JKJaXmPLvHcESHA=',
  ...overrides,
});

/** The audit trail as the token route has it, invoked through its middlewares (`records` one per invocation). */
function auditing(options: { logLevel?: 'DEBUG' | 'ERROR' } = {}) {
  const logs = captureLogs();
  const observability = createTokenObservability({ deployment: 'D', ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
  const handler = middy(async (records: readonly TokenServed[]) => {
    for (const record of records) observability.audit.tokenServed(record);
  }).use([...observability.middlewares]);
  return { logs, invoke: (records: readonly TokenServed[], requestId?: string) => handler(records, lambdaContext(requestId)) };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  vi.stubEnv('_X_AMZN_TRACE_ID', '');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', '');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', '');
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('the audit trail (TokenAuditLog)', () => {
  it("writes Powertools' line for logger.info('token served', …): the invocation, who, which request, which token", async () => {
    const { logs, invoke } = auditing();
    await invoke([served({ cache: 'exchange', durationMs: 412 })], 'c6af9ac6-7b61-11e6-9a41-93e812345678');
    expect(logs.entries()).toStrictEqual([
      {
        level: 'INFO',
        message: 'token served',
        timestamp: '2025-06-01T12:00:00.007Z',
        service: 'aws-azure-token-broker',
        cold_start: false,
        function_arn: 'arn:aws:lambda:eu-west-1:999988887777:function:broker-token',
        function_memory_size: '256',
        function_name: 'broker-token',
        function_request_id: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
        sampling_rate: 0,
        route: 'token',
        alias: 'graph',
        uti: token.uti,
        entraCorrelationId: token.correlationId,
        expiresOn: token.expiresOn,
        cache: 'exchange',
        callerArn: 'arn:aws:sts::111122223333:assumed-role/app-role/fn',
        callerAccount: '111122223333',
        apiRequestId: 'JKJaXmPLvHcESHA=',
        durationMs: 412,
      },
    ]);
  });

  it('never writes the token, and writes at every log level: the audit trail is not a diagnostic', async () => {
    const { logs, invoke } = auditing({ logLevel: 'ERROR' });
    await invoke([served(), served()]);
    expect(logs.lines).toHaveLength(2);
    for (const line of logs.lines) {
      expect(line).not.toContain(ACCESS_TOKEN);
      expect(line).not.toContain('eyJ');
    }
  });

  it('writes the same line, with its invocation in it, whichever logger writes it (log level DEBUG, INFO or ERROR)', async () => {
    const lines = [];
    for (const logLevel of ['DEBUG', undefined, 'ERROR'] as const) {
      const { logs, invoke } = auditing(logLevel ? { logLevel } : {});
      await invoke([served()], `request-at-${logLevel ?? 'INFO'}`);
      // At DEBUG, Powertools Metrics' notice of an invocation that counted nothing is there too.
      const [entry, ...others] = logs.entries().filter((line) => line.message === 'token served');
      expect(others).toEqual([]);
      expect(entry).toMatchObject({ level: 'INFO', function_request_id: `request-at-${logLevel ?? 'INFO'}` });
      lines.push({ ...entry, function_request_id: undefined });
    }
    expect(lines[1]).toStrictEqual(lines[0]);
    expect(lines[2]).toStrictEqual(lines[0]);
  });

  it('leaves out what is unknown: an anonymous local caller, an opaque token without uti', async () => {
    const { logs, invoke } = auditing();
    const opaque = { accessToken: 'opaque', expiresOn: 1, issuedOn: 0, scope: 's', correlationId: 'c' };
    await invoke([served({ callerArn: '', callerAccount: '', token: opaque })]);
    const [entry] = logs.entries();
    for (const key of ['callerArn', 'callerAccount', 'uti', 'durationMs']) expect(entry).not.toHaveProperty(key);
    expect(entry).toMatchObject({ alias: 'graph', cache: 'l1', expiresOn: 1, apiRequestId: 'JKJaXmPLvHcESHA=' });
  });

  it('scrubs a JWT whichever field it arrives in, and keeps what JSON must escape', async () => {
    const { logs, invoke } = auditing();
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2lnbmF0dXJlLWJ5dGVz';
    await invoke([
      served({ callerArn: `arn:aws:sts::111122223333:assumed-role/app-role/"quoted"\\${jwt}\n`, apiRequestId: `req\u0001${jwt}` }),
    ]);
    expect(logs.lines[0]).not.toContain('eyJ');
    expect(logs.entries()[0]).toMatchObject({
      callerArn: 'arn:aws:sts::111122223333:assumed-role/app-role/"quoted"\\[redacted-jwt]\n',
      apiRequestId: 'req\u0001[redacted-jwt]',
    });
  });

  it("says cold_start: true on the container's first invocation only, as on every other line", async () => {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const { logs, invoke } = auditing();
    await invoke([served()], 'first');
    await invoke([served(), served()], 'second');
    expect(logs.entries().map((entry) => [entry.function_request_id, entry.cold_start])).toStrictEqual([
      ['first', true],
      ['second', false],
      ['second', false],
    ]);
  });
});
