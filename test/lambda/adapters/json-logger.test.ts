import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createJsonLogger, parseLogLevel } from '../../../lambda/adapters/json-logger';

const JWT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.c2lnbmF0dXJlLWJ5dGVz';

function capture(options: Parameters<typeof createJsonLogger>[0] = {}) {
  const lines: string[] = [];
  const logger = createJsonLogger({ ...options, write: (line) => lines.push(line) });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-06-01T12:00:00.000Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createJsonLogger', () => {
  it('writes one JSON object per line with time, level, message, base fields and the given fields', () => {
    const { logger, lines, entries } = capture({ base: { route: 'token' } });
    logger.info('token served', { alias: 'graph', durationMs: 12 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(entries()).toStrictEqual([
      { time: '2025-06-01T12:00:00.000Z', level: 'info', message: 'token served', route: 'token', alias: 'graph', durationMs: 12 },
    ]);
  });

  it('redacts fields named like token, assertion, authorization or secret, at any depth', () => {
    const { logger, lines, entries } = capture();
    logger.warn('exchange', {
      token: 'opaque-token-value',
      accessToken: 'opaque-access-token',
      client_assertion: 'opaque-assertion',
      headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250601/eu-west-1/execute-api/aws4_request' },
      nested: [{ clientSecret: 'hunter2-secret-value' }],
      alias: 'graph',
    });
    expect(entries()[0]).toMatchObject({
      token: '[redacted]',
      accessToken: '[redacted]',
      client_assertion: '[redacted]',
      headers: { Authorization: '[redacted]' },
      nested: [{ clientSecret: '[redacted]' }],
      alias: 'graph',
    });
    for (const secret of ['opaque-token-value', 'opaque-access-token', 'opaque-assertion', 'AKIAEXAMPLE', 'hunter2']) {
      expect(lines[0]).not.toContain(secret);
    }
  });

  it('redacts a secret field whatever its value is shaped like (list, object)', () => {
    const { logger, lines } = capture();
    logger.error('request failed', {
      authorization: ['Bearer opaque-bearer-value'],
      secret: { value: 'opaque-secret-value' },
    });
    expect(lines[0]).not.toContain('opaque-bearer-value');
    expect(lines[0]).not.toContain('opaque-secret-value');
  });

  it('keeps numbers under secret-looking names (counts and durations are not secrets)', () => {
    const { logger, entries } = capture();
    logger.info('stats', { tokenCount: 3 });
    expect(entries()[0]).toMatchObject({ tokenCount: 3 });
  });

  it('redacts a JWT anywhere in the message or in a nested string, keeping the text around it', () => {
    const { logger, lines, entries } = capture();
    logger.error(`Entra said no to ${JWT} today`, { cause: { detail: `header was Bearer ${JWT}` }, list: [JWT] });
    expect(entries()[0]).toMatchObject({
      message: 'Entra said no to [redacted-jwt] today',
      cause: { detail: 'header was Bearer [redacted-jwt]' },
      list: ['[redacted-jwt]'],
    });
    expect(lines[0]).not.toContain('eyJ');
  });

  it('writes nothing below its level', () => {
    const { logger, entries } = capture({ level: 'warn' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(entries().map((e) => [e.level, e.message])).toStrictEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);
  });

  it('logs at info and above by default', () => {
    const { logger, entries } = capture();
    logger.debug('d');
    logger.info('i');
    expect(entries().map((e) => e.level)).toStrictEqual(['info']);
  });
});

describe('parseLogLevel', () => {
  it.each([
    ['debug', 'debug'],
    ['error', 'error'],
    [undefined, 'info'],
    ['verbose', 'info'],
    ['DEBUG', 'debug'],
    ['WARN', 'warn'],
    ['toString', 'info'],
    ['constructor', 'info'],
  ])('reads %j as %s', (value, level) => {
    expect(parseLogLevel(value)).toBe(level);
  });
});
