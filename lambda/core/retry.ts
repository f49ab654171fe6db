import type { Clock } from './ports';

/** Bounded retries with exponential backoff and full jitter, inside a total time budget. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** No attempt starts, and no wait is begun, that would end after this many ms from the first attempt. */
  readonly budgetMs: number;
  /** Each attempt is abandoned after this long (or the remaining budget, if less). */
  readonly attemptTimeoutMs: number;
}

export interface RetryDeps {
  readonly clock: Clock;
  /** An absolute end (ms since the epoch) that overrides the budget when sooner: the caller's own time limit. */
  readonly deadline?: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). @default Math.random */
  readonly random?: () => number;
}

export type AttemptOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly retryable: boolean; readonly error: Error; readonly retryAfterMs?: number };

export class RetryBudgetExhausted extends Error {
  constructor(
    readonly lastError: Error,
    readonly attempts: number,
    readonly elapsedMs: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`gave up after ${attempts} attempt(s) in ${elapsedMs} ms`, { cause: lastError });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Full-jitter backoff: uniform in [0, min(max, base * 2^(attempt-1))). */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable outcome, or the policy is spent.
 * A `retryAfterMs` (e.g. Entra's Retry-After) is honoured when it fits the budget; when it does not,
 * retrying stops at once rather than waiting past the budget.
 * @throws the non-retryable outcome's error as is
 * @throws RetryBudgetExhausted (its `lastError` the last failure) when attempts or time ran out
 */
export async function withRetries<T>(
  attempt: (attemptNumber: number, timeoutMs: number) => Promise<AttemptOutcome<T>>,
  policy: RetryPolicy,
  deps: RetryDeps,
): Promise<T> {
  const random = deps.random ?? Math.random;
  const started = deps.clock();
  const deadline = Math.min(started + policy.budgetMs, deps.deadline ?? Number.POSITIVE_INFINITY);
  for (let attemptNumber = 1; ; attemptNumber++) {
    const timeoutMs = Math.max(1, Math.min(policy.attemptTimeoutMs, deadline - deps.clock()));
    const outcome = await attempt(attemptNumber, timeoutMs);
    if (outcome.ok) return outcome.value;
    if (!outcome.retryable) throw outcome.error;
    const delay = Math.max(outcome.retryAfterMs ?? 0, backoffDelayMs(attemptNumber, policy, random));
    const now = deps.clock();
    // A retry needs time for the wait and a useful slice of an attempt; otherwise stop now, not at the deadline.
    const minimumAttemptMs = Math.min(policy.attemptTimeoutMs, 250);
    if (attemptNumber >= policy.maxAttempts || now + delay + minimumAttemptMs > deadline) {
      throw new RetryBudgetExhausted(outcome.error, attemptNumber, now - started, outcome.retryAfterMs);
    }
    await deps.sleep(delay);
  }
}

/** Parses an HTTP Retry-After (delta-seconds or HTTP-date) into ms from now; undefined when absent or invalid. */
export function parseRetryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form starts with a day name; without this check Date.parse reads "1.5" or "-5" as dates in 2001.
  if (!/^[A-Za-z]{3}/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
