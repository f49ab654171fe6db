/**
 * The proactive-refresh schedule: an EventBridge rule that invokes the token function every `periodSeconds` with the
 * refresh event (contract/refresh-event.ts), so every alias is renewed at about half its life and callers never wait
 * on Entra (docs/reliability.md, "Proactive refresh").
 *
 * Why a rule on the token function itself:
 * - The token function already holds the only rights a refresh needs (sign or ask STS, seal with the cache key, write
 *   the table), and the signing key's and cache key's policies deny every other principal: a refresher of its own
 *   would need the token role, or key policies opened to a second role.
 * - A rule invokes its Lambda target through the function's resource policy, as the service principal
 *   `events.amazonaws.com` limited to the rule's ARN (EventBridge User Guide, "Using resource-based policies for
 *   Amazon EventBridge": Lambda permissions). SCPs and permission boundaries do not restrict a service principal, so
 *   the direct-invocation guard's deny on `lambda:InvokeFunction` stays as it is. EventBridge Scheduler instead
 *   invokes with an IAM role of the account (Scheduler User Guide, "Set up the execution role"): that role would need
 *   `lambda:InvokeFunction` on the token function, which the guard denies to every principal.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { REFRESH_EVENT } from '../contract/refresh-event';

export interface ProactiveRefreshScheduleProps {
  /** The token function, which runs the refresher on the refresh event. */
  readonly tokenFunction: lambda.IFunction;
  /** How often it runs (`proactiveRefresh.periodSeconds`): whole minutes, as a schedule's rate takes them. */
  readonly periodSeconds: number;
}

/** The rule that triggers the refresher. */
export class ProactiveRefreshSchedule extends Construct {
  readonly rule: events.Rule;
  readonly periodSeconds: number;

  constructor(scope: Construct, id: string, props: ProactiveRefreshScheduleProps) {
    super(scope, id);
    this.periodSeconds = props.periodSeconds;
    this.rule = new events.Rule(this, 'Rule', {
      description: 'AWS-to-Azure token broker: renews every alias before callers need it (proactive refresh)',
      schedule: events.Schedule.rate(Duration.seconds(props.periodSeconds)),
    });
    this.rule.addTarget(
      new targets.LambdaFunction(props.tokenFunction, {
        event: events.RuleTargetInput.fromObject(REFRESH_EVENT),
        // The next run is one period away and does the same: a late retry would only overlap it.
        retryAttempts: 0,
        maxEventAge: Duration.seconds(Math.max(60, props.periodSeconds)),
      }),
    );
  }
}

/** Entra's shortest access-token lifetime: 10 minutes (a token lifetime policy's minimum). */
export const SHORTEST_ENTRA_TOKEN_SECONDS = 600;

/**
 * How the `refreshFailures` alarm reads `RefreshFailures`: one datapoint per refresher period, and as many failing
 * periods in a row as cover a quarter of the shortest token's servable life (its lifetime less its margin, a quarter
 * of it at most: lambda/core/token-freshness.ts), at least one. Callers notice an outage only once it outlasts half a
 * token's life less the margin, so the alarm comes first for every lifetime Entra issues.
 */
export function refreshFailureAlarmShape(
  periodSeconds: number,
  refreshMarginSeconds: number,
): { period: Duration; evaluationPeriods: number } {
  const margin = Math.min(refreshMarginSeconds, Math.floor(SHORTEST_ENTRA_TOKEN_SECONDS / 4));
  const quarterOfServableLife = (SHORTEST_ENTRA_TOKEN_SECONDS - margin) / 4;
  return { period: Duration.seconds(periodSeconds), evaluationPeriods: Math.max(1, Math.ceil(quarterOfServableLife / periodSeconds)) };
}
