/**
 * Proactive refresh: one run of the refresher, which the schedule (a deployment) or a timer (the local runtime)
 * triggers. Every configured token that has used about half its life is renewed before any caller needs it
 * (TokenCache.refreshAhead); what it did is counted (`RefreshesAhead`, `RefreshFailures`) and each failure logged
 * with the aliases it concerns.
 */
import { toBrokerError } from './errors';
import type { BrokerMetrics, Logger } from './ports';
import type { KeyRefresh, TokenService } from './token-service';

export interface TokenRefresherDeps {
  readonly service: Pick<TokenService, 'refreshAhead'>;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
}

/** How many cache keys a run renewed, found not due, left to a refresh under way elsewhere, or failed to renew. */
export interface RefreshRun {
  readonly refreshed: number;
  readonly notDue: number;
  readonly elsewhere: number;
  readonly failed: number;
}

/**
 * Renews every token that is due; never throws: a key that failed keeps its previous token while it is servable,
 * and the next run tries again.
 * @param deadline ms since the epoch by which an exchange must have given up
 */
export async function refreshTokensAhead(deps: TokenRefresherDeps, deadline?: number): Promise<RefreshRun> {
  const results: KeyRefresh[] = await deps.service.refreshAhead(deadline);
  const run = { refreshed: 0, notDue: 0, elsewhere: 0, failed: 0 };
  for (const result of results) {
    if (result.outcome === 'failed') {
      run.failed += 1;
      deps.metrics.count('refreshFailures');
      const error = toBrokerError(result.error);
      deps.logger.warn('proactive refresh failed; callers keep the previous token while it is servable', {
        aliases: result.aliases,
        ...error.details,
        error: error.code,
        reason: error.message,
      });
    } else if (result.outcome === 'refreshed') {
      run.refreshed += 1;
      deps.metrics.count('refreshesAhead');
    } else if (result.outcome === 'not-due') {
      run.notDue += 1;
    } else {
      run.elsewhere += 1;
    }
  }
  if (run.refreshed > 0 || run.failed > 0) deps.logger.info('proactive refresh', run);
  return run;
}
