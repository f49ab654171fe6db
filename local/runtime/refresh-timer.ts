/**
 * The local runtime's stand-in for the proactive-refresh schedule: a timer that hands the token handler the refresh
 * event (contract/refresh-event.ts) every `periodSeconds`, first at start, each run in its own invocation scope, as
 * the EventBridge rule invokes the deployed function. Processes sharing a table coordinate through the refresh lease,
 * so three processes still make one exchange per refresh.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { REFRESH_EVENT, type RefreshEvent } from '../../contract/refresh-event';
import type { Clock, Logger } from '../../lambda/core/ports';
import { lambdaContext } from './api-gateway-event';
import type { InvocationScope } from './invocation-scope';
import { HANDLER_TIMEOUT_MS } from './request-handler';

export interface RefreshTimerDeps {
  /** The token function's handler, which runs the refresher on the refresh event. */
  readonly handler: (event: RefreshEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
  readonly periodSeconds: number;
  readonly inScope: InvocationScope;
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface RefreshTimer {
  /** Stops the timer; resolves once a run under way has finished (it may still use the store). */
  stop(): Promise<void>;
}

/** Starts the timer: a run now, then one every period; a run still going when the next is due is not doubled. */
export function startRefreshTimer(deps: RefreshTimerDeps): RefreshTimer {
  let running: Promise<void> | undefined;
  const run = () => {
    if (running) return;
    const awsRequestId = randomUUID();
    const context = lambdaContext({ functionName: 'broker-token', timeoutMs: HANDLER_TIMEOUT_MS, awsRequestId, clock: deps.clock });
    running = deps
      .inScope(awsRequestId, () => deps.handler(REFRESH_EVENT, context))
      .then(
        () => undefined,
        (error: unknown) => {
          // The handler answers every error itself; reaching here is a bug in this adapter.
          deps.logger.error('local refresh timer failed', { error: error instanceof Error ? error.name : 'unknown' });
        },
      )
      .finally(() => {
        running = undefined;
      });
  };
  run();
  const timer = setInterval(run, deps.periodSeconds * 1000);
  // The server keeps the process alive; the timer alone should not.
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
