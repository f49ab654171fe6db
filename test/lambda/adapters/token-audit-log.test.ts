import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBrokerLogger, lambdaContextMiddleware } from '../../../lambda/adapters/powertools-logger';
import { REPEATS_WRITTEN_AFTER_MS, TokenAuditLog } from '../../../lambda/adapters/token-audit-log';
import type { CachedToken, TokenServed } from '../../../lambda/core/ports';
import { lambdaContext } from '../../support/http-events';

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

function setup(options: { logLevel?: 'DEBUG' | 'ERROR' } = {}) {
  const time = { now: T0 };
  const lines: string[] = [];
  const powertools = createBrokerLogger({
    sink: (line) => lines.push(line),
    persistentKeys: { route: 'token' },
    logLevel: options.logLevel ?? 'DEBUG',
  });
  const audit = new TokenAuditLog(powertools, { clock: () => time.now });
  const served = (overrides: Partial<TokenServed> = {}): TokenServed => ({
    alias: 'graph',
    cache: 'l1',
    token,
    callerArn: 'arn:aws:sts::111122223333:assumed-role/app-role/fn',
    callerAccount: '111122223333',
    apiRequestId: 'JKJaXmPLvHcESHA=',
    invocation: lambdaContext('c6af9ac6-7b61-11e6-9a41-93e812345678'),
    ...overrides,
  });
  return { powertools, audit, lines, time, served };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  vi.stubEnv('_X_AMZN_TRACE_ID', '');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', '');
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('TokenAuditLog', () => {
  it("writes, byte for byte, the line Powertools' logger.info would write with the same fields", async () => {
    const { powertools, audit, lines, served } = setup();
    const context = lambdaContext('c6af9ac6-7b61-11e6-9a41-93e812345678');
    const record = served({ cache: 'exchange', durationMs: 412, invocation: context });
    const fields = {
      alias: record.alias,
      uti: token.uti,
      entraCorrelationId: token.correlationId,
      expiresOn: token.expiresOn,
      cache: record.cache,
      callerArn: record.callerArn,
      callerAccount: record.callerAccount,
      apiRequestId: record.apiRequestId,
      durationMs: 412,
    };
    // The same invocation, logged once by Powertools and once by the audit writer.
    await middy(async () => {
      powertools.info('token served', fields);
      audit.tokenServed(record);
    }).use(lambdaContextMiddleware(powertools))({}, context);

    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(lines[0]);
    expect(JSON.parse(lines[1] ?? '')).toStrictEqual({
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
      ...fields,
    });
  });

  it('never writes the token, and writes at every log level: the audit trail is not a diagnostic', () => {
    const { audit, lines, served } = setup({ logLevel: 'ERROR' });
    audit.tokenServed(served());
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(ACCESS_TOKEN);
    expect(lines[0]).not.toContain('eyJ');
  });

  it('stamps each line with the injected clock, to the millisecond, across seconds', () => {
    const { audit, lines, time, served } = setup();
    audit.tokenServed(served({ cache: 'l2' }));
    time.now += 999;
    audit.tokenServed(served({ cache: 'l2' }));
    time.now += 1;
    audit.tokenServed(served({ cache: 'l2' }));
    time.now += 3_600_000 + 42;
    audit.tokenServed(served({ cache: 'l2' }));
    expect(lines.map((line) => (JSON.parse(line) as { timestamp: string }).timestamp)).toStrictEqual([
      '2025-06-01T12:00:00.007Z',
      '2025-06-01T12:00:01.006Z',
      '2025-06-01T12:00:01.007Z',
      '2025-06-01T13:00:01.049Z',
    ]);
  });

  it('follows each request: its ids, caller and cache tier, and a new token per alias', () => {
    const { audit, lines, served } = setup();
    audit.tokenServed(served());
    audit.tokenServed(
      served({
        cache: 'l2',
        callerArn: 'arn:aws:sts::444455556666:assumed-role/other/fn',
        callerAccount: '444455556666',
        apiRequestId: 'Ab0=',
        invocation: lambdaContext('second'),
        token: { ...token, uti: 'nextUti', correlationId: 'next-correlation' },
      }),
    );
    audit.tokenServed(served({ alias: 'storage', cache: 'stale' }));
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      entries.map((e) => [e.alias, e.cache, e.callerAccount, e.apiRequestId, e.function_request_id, e.uti, e.entraCorrelationId]),
    ).toStrictEqual([
      ['graph', 'l1', '111122223333', 'JKJaXmPLvHcESHA=', 'c6af9ac6-7b61-11e6-9a41-93e812345678', token.uti, token.correlationId],
      ['graph', 'l2', '444455556666', 'Ab0=', 'second', 'nextUti', 'next-correlation'],
      ['storage', 'stale', '111122223333', 'JKJaXmPLvHcESHA=', 'c6af9ac6-7b61-11e6-9a41-93e812345678', token.uti, token.correlationId],
    ]);
  });

  it('leaves out what is unknown, as Powertools leaves out empty keys: an anonymous local caller, a token cached before uti was recorded', () => {
    const { audit, lines, served } = setup();
    audit.tokenServed(
      served({ callerArn: '', callerAccount: '', token: { accessToken: 'opaque', expiresOn: 1, issuedOn: 0, scope: 's' } }),
    );
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    for (const key of ['callerArn', 'callerAccount', 'uti', 'entraCorrelationId', 'durationMs']) expect(entry).not.toHaveProperty(key);
    expect(entry).toMatchObject({ alias: 'graph', cache: 'l1', expiresOn: 1, apiRequestId: 'JKJaXmPLvHcESHA=' });
  });

  it('escapes what JSON must escape and scrubs a JWT, whichever field it arrives in', () => {
    const { audit, lines, served } = setup();
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2lnbmF0dXJlLWJ5dGVz';
    audit.tokenServed(
      served({
        callerArn: `arn:aws:sts::111122223333:assumed-role/app-role/"quoted"\\${jwt}\n`,
        apiRequestId: `req\u0001${jwt}`,
        invocation: { ...lambdaContext('plain'), awsRequestId: `"${jwt}"` },
      }),
    );
    expect(lines[0]).not.toContain('eyJ');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      callerArn: 'arn:aws:sts::111122223333:assumed-role/app-role/"quoted"\\[redacted-jwt]\n',
      apiRequestId: 'req\u0001[redacted-jwt]',
      function_request_id: '"[redacted-jwt]"',
    });
  });

  it("says cold_start: true on the container's first invocation only, as Powertools does", async () => {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const { powertools, audit, lines, served } = setup();
    const handler = middy(async (_event: unknown, context: { awsRequestId: string }) => {
      audit.tokenServed(served({ cache: 'exchange', invocation: lambdaContext(context.awsRequestId) }));
    }).use(lambdaContextMiddleware(powertools));
    await handler({}, lambdaContext('first'));
    await handler({}, lambdaContext('second'));
    expect(lines.map((line) => (JSON.parse(line) as { cold_start: boolean }).cold_start)).toStrictEqual([true, false]);
  });

  it("counts a caller's further memory hits of the same token and writes them as one line when another token comes", () => {
    const { audit, lines, time, served } = setup();
    const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    audit.tokenServed(served({ cache: 'exchange', apiRequestId: 'first' }));
    for (let i = 0; i < 5; i++) {
      time.now += 1_000;
      audit.tokenServed(served({ apiRequestId: `repeat-${i}` }));
    }
    expect(lines).toHaveLength(1);

    // Another caller's first hit of the same token: a line of its own; then the first caller's next token.
    audit.tokenServed(served({ callerArn: 'arn:aws:sts::444455556666:assumed-role/other/fn', callerAccount: '444455556666' }));
    const next: CachedToken = { ...token, uti: 'nextUti', correlationId: 'next-correlation' };
    time.now += 1_000;
    audit.tokenServed(served({ cache: 'l2', token: next, apiRequestId: 'next' }));
    expect(entries().map((e) => [e.message, e.callerAccount, e.uti, e.count, e.apiRequestId])).toStrictEqual([
      ['token served', '111122223333', token.uti, undefined, 'first'],
      ['token served', '444455556666', token.uti, undefined, 'JKJaXmPLvHcESHA='],
      ['token served again', '111122223333', token.uti, 5, undefined],
      ['token served', '111122223333', 'nextUti', undefined, 'next'],
    ]);
    expect(entries()[2]).toMatchObject({
      cache: 'l1',
      callerArn: 'arn:aws:sts::111122223333:assumed-role/app-role/fn',
      entraCorrelationId: token.correlationId,
      firstAt: new Date(T0 + 1_000).toISOString(),
      lastAt: new Date(T0 + 5_000).toISOString(),
    });
    for (const line of lines) expect(line).not.toContain(ACCESS_TOKEN);
  });

  it('writes every pending count once the oldest is a minute old, on the next repeat', () => {
    const { audit, lines, time, served } = setup();
    const other = { callerArn: 'arn:aws:sts::444455556666:assumed-role/other/fn', callerAccount: '444455556666' };
    audit.tokenServed(served({ cache: 'exchange' }));
    audit.tokenServed(served(other));
    time.now += 1;
    audit.tokenServed(served()); // counted: the oldest pending repeat
    audit.tokenServed(served(other));
    audit.tokenServed(served(other));
    time.now += REPEATS_WRITTEN_AFTER_MS - 1;
    audit.tokenServed(served(other));
    expect(lines).toHaveLength(2);
    time.now += 1;
    audit.tokenServed(served(other)); // a minute after the oldest: both callers' counts are written
    const again = lines.slice(2).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(again.map((e) => [e.message, e.callerAccount, e.count])).toStrictEqual([
      ['token served again', '111122223333', 1],
      ['token served again', '444455556666', 4],
    ]);
    // Counting starts afresh: the next repeat is pending again, not written.
    audit.tokenServed(served());
    expect(lines).toHaveLength(4);
  });
});
