import { describe, expect, it } from 'vitest';
import {
  RetryBudgetExhausted,
  backoffDelayMs,
  parseRetryAfterMs,
  withRetries,
  type AttemptOutcome,
  type RetryPolicy,
} from '../../../lambda/core/retry';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 2000, budgetMs: 60_000, attemptTimeoutMs: 3000 };

describe('backoffDelayMs', () => {
  it.each([
    [1, 200],
    [2, 400],
    [3, 800],
    [4, 1600],
    [5, 2000],
    [9, 2000],
  ])('stays in [0, %s-th cap %s) whatever the random draw', (attempt, cap) => {
    expect(backoffDelayMs(attempt, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(attempt, policy, () => 0.5)).toBe(cap / 2);
    const highest = backoffDelayMs(attempt, policy, () => 1 - Number.EPSILON);
    expect(highest).toBeLessThan(cap);
    expect(highest).toBeGreaterThanOrEqual(cap - 1);
  });
});

describe('withRetries', () => {
  const fakeTime = () => {
    const time = { now: 1_000_000 };
    const slept: number[] = [];
    return {
      time,
      slept,
      deps: { clock: () => time.now, sleep: async (ms: number) => void (slept.push(ms), (time.now += ms)), random: () => 0.5 },
    };
  };
  const failing = (retryable: boolean, retryAfterMs?: number): AttemptOutcome<string> => ({
    ok: false,
    retryable,
    error: new Error('503 from upstream'),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

  it('gives up after maxAttempts with the last error, the attempt count and the elapsed time', async () => {
    const { deps, slept } = fakeTime();
    let calls = 0;
    await expect(withRetries(async () => (calls++, failing(true)), { ...policy, maxAttempts: 3 }, deps)).rejects.toMatchObject({
      constructor: RetryBudgetExhausted,
      attempts: 3,
      elapsedMs: 100 + 200,
      message: 'gave up after 3 attempt(s) in 300 ms',
      lastError: { message: '503 from upstream' },
    });
    expect(calls).toBe(3);
    expect(slept).toStrictEqual([100, 200]);
  });

  it('throws a non-retryable error as is, after one attempt', async () => {
    const { deps } = fakeTime();
    let calls = 0;
    await expect(withRetries(async () => (calls++, failing(false)), policy, deps)).rejects.toMatchObject({ message: '503 from upstream' });
    expect(calls).toBe(1);
  });

  it('stops at once, without waiting, when Retry-After would end past the budget', async () => {
    const { deps, slept } = fakeTime();
    await expect(withRetries(async () => failing(true, 120_000), policy, deps)).rejects.toMatchObject({
      constructor: RetryBudgetExhausted,
      attempts: 1,
      retryAfterMs: 120_000,
    });
    expect(slept).toStrictEqual([]);
  });

  it('gives each attempt at most the remaining budget as its timeout', async () => {
    const { deps, time } = fakeTime();
    const timeouts: number[] = [];
    await expect(
      withRetries(
        async (_n, timeoutMs) => {
          timeouts.push(timeoutMs);
          time.now += timeoutMs; // every attempt runs into its timeout
          return failing(true);
        },
        { ...policy, maxAttempts: 10, budgetMs: 7000 },
        deps,
      ),
    ).rejects.toBeInstanceOf(RetryBudgetExhausted);
    // 3000 | wait 100 | 3000 | wait 200 | the remaining 700
    expect(timeouts).toStrictEqual([3000, 3000, 700]);
  });

  it("ends at the caller's deadline when it comes before the budget", async () => {
    const { deps, time } = fakeTime();
    const timeouts: number[] = [];
    const deadline = time.now + 4000; // e.g. the Lambda's remaining time after KMS and DynamoDB
    await expect(
      withRetries(
        async (_n, timeoutMs) => {
          timeouts.push(timeoutMs);
          time.now += timeoutMs;
          return failing(true);
        },
        { ...policy, maxAttempts: 10, budgetMs: 7000 },
        { ...deps, deadline },
      ),
    ).rejects.toBeInstanceOf(RetryBudgetExhausted);
    expect(timeouts).toStrictEqual([3000, 900]);
    expect(time.now).toBeLessThanOrEqual(deadline);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.UTC(2025, 5, 1, 12, 0, 0);

  it.each([
    ['2', 2000],
    [' 120 ', 120_000],
    ['0', 0],
  ])('reads delta-seconds %j as %i ms', (value, ms) => {
    expect(parseRetryAfterMs(value, now)).toBe(ms);
  });

  it('reads an HTTP-date as the ms from now, and a past date as 0', () => {
    expect(parseRetryAfterMs(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfterMs('Sun, 01 Jun 2025 12:00:45 GMT', now)).toBe(45_000);
    expect(parseRetryAfterMs('Sun, 01 Jun 2025 11:00:00 GMT', now)).toBe(0);
  });

  it.each([null, undefined, '', 'soon', '2 minutes', '1.5', '-5', '5s'])('ignores %j (no Retry-After)', (value) => {
    expect(parseRetryAfterMs(value, now)).toBeUndefined();
  });
});
