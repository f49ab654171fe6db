import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { refreshTokensAhead, type TokenRefresherDeps } from '../core/token-refresher';

/**
 * The refresh event (contract/refresh-event.ts), which the token function's handler passes here: one refresher run.
 * It answers in the shape of the route's results, so one handler type serves both; the schedule ignores the answer,
 * and what the run did is in its metrics and log line.
 * @param deadline ms since the epoch by which an exchange must have given up (the invocation's remaining time)
 */
export async function handleRefreshEvent(deps: TokenRefresherDeps, deadline: number): Promise<APIGatewayProxyStructuredResultV2> {
  const run = await refreshTokensAhead(deps, deadline);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(run) };
}
