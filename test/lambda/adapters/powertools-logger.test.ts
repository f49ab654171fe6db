import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogging } from '../../../lambda/adapters/observability';
import { asLoggerPort, createBrokerLogger } from '../../../lambda/adapters/powertools-logger';
import { lambdaContext } from '../../support/http-events';
import { captureLogs } from '../../support/log-capture';

const JWT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.c2lnbmF0dXJlLWJ5dGVz';
const NOW = '2025-06-01T12:00:00.000Z';

/** A broker logger and the lines it writes to stdout and stderr. Call it inside a test. */
function capture(options: Parameters<typeof createBrokerLogger>[0] = {}) {
  const logs = captureLogs();
  const powertools = createBrokerLogger({ logLevel: 'DEBUG', ...options });
  return { powertools, logger: asLoggerPort(powertools), lines: logs.lines, entries: () => logs.entries() };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(NOW));
  vi.stubEnv('_X_AMZN_TRACE_ID', '');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', '');
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('createBrokerLogger', () => {
  it("writes one Powertools JSON object per line: level, message, timestamp, service, persistent keys, the line's fields", () => {
    const { logger, lines, entries } = capture({ persistentKeys: { route: 'token' } });
    logger.info('token cache in DynamoDB', { tableName: 'broker-token-cache', durationMs: 12 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(entries()).toStrictEqual([
      {
        level: 'INFO',
        message: 'token cache in DynamoDB',
        timestamp: NOW,
        service: 'aws-azure-token-broker',
        sampling_rate: 0,
        route: 'token',
        tableName: 'broker-token-cache',
        durationMs: 12,
      },
    ]);
  });

  it('takes the service name from POWERTOOLS_SERVICE_NAME, as the construct sets it', () => {
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'payments-broker');
    const { logger, entries } = capture();
    logger.info('hello');
    expect(entries()[0]).toMatchObject({ service: 'payments-broker' });
  });

  it('writes nothing below its level, and reads the level from POWERTOOLS_LOG_LEVEL when given none', () => {
    const { logger, entries } = capture({ logLevel: 'WARN' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(entries().map((e) => [e.level, e.message])).toStrictEqual([
      ['WARN', 'w'],
      ['ERROR', 'e'],
    ]);

    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'ERROR');
    const logs = captureLogs();
    const fromEnv = asLoggerPort(createBrokerLogger());
    fromEnv.warn('w');
    fromEnv.error('e');
    expect(logs.entries().map((entry) => entry.message)).toStrictEqual(['e']);
  });
});

describe('the scrubbing formatter', () => {
  it('redacts fields named like token, assertion, authorization, secret or password, at any depth', () => {
    const { logger, lines, entries } = capture();
    logger.warn('exchange', {
      token: 'opaque-token-value',
      accessToken: 'opaque-access-token',
      client_assertion: 'opaque-assertion',
      headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250601/eu-west-1/execute-api/aws4_request' },
      nested: [{ clientSecret: 'hunter2-secret-value' }, { deeper: { password: 'pa55word-value' } }],
      alias: 'graph',
    });
    expect(entries()[0]).toMatchObject({
      token: '[redacted]',
      accessToken: '[redacted]',
      client_assertion: '[redacted]',
      headers: { Authorization: '[redacted]' },
      nested: [{ clientSecret: '[redacted]' }, { deeper: { password: '[redacted]' } }],
      alias: 'graph',
    });
    for (const secret of ['opaque-token-value', 'opaque-access-token', 'opaque-assertion', 'AKIAEXAMPLE', 'hunter2', 'pa55word']) {
      expect(lines[0]).not.toContain(secret);
    }
  });

  it('redacts a secret field whatever its value is shaped like (list, object), and keeps numbers and booleans', () => {
    const { logger, lines, entries } = capture();
    logger.error('request failed', {
      authorization: ['Bearer opaque-bearer-value'],
      secret: { value: 'opaque-secret-value' },
      tokenCount: 3,
      tokenCached: true,
    });
    expect(lines[0]).not.toContain('opaque-bearer-value');
    expect(lines[0]).not.toContain('opaque-secret-value');
    expect(entries()[0]).toMatchObject({ tokenCount: 3, tokenCached: true });
  });

  it('replaces a JWT anywhere in the message or in a nested string, keeping the text around it', () => {
    const { logger, lines, entries } = capture();
    logger.error(`Entra said no to ${JWT} today`, { cause: { detail: `header was Bearer ${JWT}` }, list: [JWT] });
    expect(entries()[0]).toMatchObject({
      message: 'Entra said no to [redacted-jwt] today',
      cause: { detail: 'header was Bearer [redacted-jwt]' },
      list: ['[redacted-jwt]'],
    });
    expect(lines[0]).not.toContain('eyJ');
  });

  it("scrubs errors too: a JWT in an error's message, stack or cause does not reach the line", () => {
    const { powertools, lines, entries } = capture();
    const error = new Error(`KMS said ${JWT}`, { cause: new Error(`inner ${JWT}`) });
    powertools.error('failed', error);
    asLoggerPort(powertools).error('failed again', { failure: error });
    expect(lines.join('\n')).not.toContain('eyJ');
    expect(entries()[0]).toMatchObject({
      error: { name: 'Error', message: 'KMS said [redacted-jwt]', cause: { message: 'inner [redacted-jwt]' } },
    });
    expect(entries()[1]).toMatchObject({
      failure: { message: 'KMS said [redacted-jwt]', stack: expect.stringContaining('[redacted-jwt]') },
    });
  });

  it("keeps scrubbing in child loggers, which write to the parent's sink", () => {
    const { powertools, lines } = capture();
    powertools.createChild({ persistentKeys: { child: 'yes' } }).info('child', { assertion: 'opaque-assertion', text: JWT });
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ child: 'yes', assertion: '[redacted]', text: '[redacted-jwt]' });
  });

  it('survives a circular structure', () => {
    const { logger, entries } = capture();
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    logger.info('odd', { loop });
    expect(entries()[0]).toMatchObject({ loop: { name: 'loop', self: '[circular]' } });
  });
});

describe('createLogging: Powertools injectLambdaContext around the handler', () => {
  it("puts each invocation's request id, the function's identity and cold_start on every line written during it", async () => {
    const logs = captureLogs();
    const { logger, middlewares } = createLogging({ route: 'discovery' });
    const handler = middy(async (event: { fail?: boolean }) => {
      logger.info('working');
      if (event.fail) throw new Error('boom');
      return 'ok';
    })
      .onError(() => {
        logger.error('failed');
      })
      .use([...middlewares]);
    await handler({}, lambdaContext('req-1'));
    await expect(handler({ fail: true }, lambdaContext('req-2'))).rejects.toThrow('boom');
    expect(logs.entries().map((e) => [e.message, e.function_request_id])).toStrictEqual([
      ['working', 'req-1'],
      ['working', 'req-2'],
      ['failed', 'req-2'],
    ]);
    expect(logs.entries()[0]).toMatchObject({
      route: 'discovery',
      function_name: 'broker-token',
      function_arn: 'arn:aws:lambda:eu-west-1:999988887777:function:broker-token',
      function_memory_size: '256',
      cold_start: false,
    });
  });

  it('marks the first invocation of an on-demand container as the cold start', async () => {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const logs = captureLogs();
    const powertools = createBrokerLogger();
    const handler = middy(async () => {
      powertools.info('working');
    }).use(injectLambdaContext(powertools));
    await handler({}, lambdaContext('first'));
    await handler({}, lambdaContext('second'));
    expect(logs.entries().map((entry) => entry.cold_start)).toStrictEqual([true, false]);
  });
});
