/**
 * The broker's CloudWatch dashboard: the alarms' states, then the figures an operator reads beside them (requests,
 * latency, the token function, Entra exchanges, the cache, the public routes and the key rotation).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { KEY_AGE_SLACK_SECONDS } from '../contract/aws-names';
import { ALARM_PERIOD, KEY_AGE_PERIOD } from './broker-metrics';
import type { BrokerAlarms, PublicRouteErrorMetrics } from './broker-monitoring';
import type { TokenBroker } from './token-broker';

/** Where operators read what an alarm means; each alarm description names its section. */
export const RUNBOOK = 'docs/operations-alarms.md';

export interface BrokerDashboardProps {
  readonly broker: TokenBroker;
  readonly alarms: BrokerAlarms;
  /** @default - no public-route widget (signer `aws-sts`: AWS serves the issuer) */
  readonly publicRouteErrors?: PublicRouteErrorMetrics | undefined;
  /** The `tokenLatencyP99` alarm's threshold, drawn on the latency graph. */
  readonly latencyThreshold: Duration;
  /** @default - a name CloudFormation generates */
  readonly dashboardName?: string;
}

/** The dashboard `Dashboard` in `scope` (the monitoring construct: its logical id depends on it). */
export function createBrokerDashboard(scope: Construct, props: BrokerDashboardProps): cloudwatch.Dashboard {
  const { broker } = props;
  const fn = broker.tokenFunction;
  // The stage of the token routes: all routes on the public HTTP API, the token routes only on the private REST API.
  const stage = broker.tokenStage;
  const routes = broker.privateApi ? 'private token API' : 'all routes';
  const period = ALARM_PERIOD;
  const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
    new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
    defaultInterval: Duration.hours(3),
  });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: `## Token broker ${broker.deploymentName}\nWhat each alarm means and what to do first: \`${RUNBOOK}\`. All figures are 5-minute sums unless named otherwise.`,
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values<cloudwatch.Alarm>(props.alarms), width: 24, height: 3 }),
  );
  dashboard.addWidgets(
    graph(`API requests and errors (${routes})`, [
      stage.metricCount({ period, statistic: 'Sum', label: 'Requests' }),
      stage.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
      stage.metricServerError({ period, statistic: 'Sum', label: '5xx' }),
    ]),
    graph(
      'Token latency (ms)',
      [
        fn.metricDuration({ period, statistic: 'p50', label: 'Token function p50' }),
        fn.metricDuration({ period, statistic: 'p99', label: 'Token function p99' }),
        stage.metricLatency({ period, statistic: 'p99', label: `API Gateway p99 (${routes})` }),
      ],
      { leftAnnotations: [{ value: props.latencyThreshold.toMilliseconds(), label: 'p99 alarm' }] },
    ),
    graph('Token function errors and throttles', [
      fn.metricInvocations({ period, statistic: 'Sum', label: 'Invocations' }),
      fn.metricErrors({ period, statistic: 'Sum', label: 'Errors' }),
      fn.metricThrottles({ period, statistic: 'Sum', label: 'Throttles' }),
    ]),
  );
  const kmsIssuer = broker.signer.kind === 'kms' ? broker.signer : undefined;
  const publicRouteErrors = props.publicRouteErrors;
  dashboard.addWidgets(
    graph('Entra exchanges', [
      broker.metricExchanges({ label: 'Exchanges' }),
      broker.metricEntraRejections({ label: 'Rejections' }),
      broker.metricUpstreamUnavailable({ label: 'Upstream unavailable' }),
    ]),
    graph('Token cache', [
      broker.metricStaleTokensServed({ label: 'Stale tokens served' }),
      broker.metricRefreshLeaseWaits({ label: 'Refresh lease waits' }),
      broker.metricCacheStoreFailures({ label: 'Cache store failures' }),
      broker.metricCacheItemsRejected({ label: 'Cache items rejected' }),
      broker.metricForeignInvocations({ label: 'Foreign invocations refused' }),
    ]),
    ...(kmsIssuer === undefined || publicRouteErrors === undefined
      ? []
      : [
          graph('Public routes (what Entra reads)', [
            publicRouteErrors.clientErrors.with({ label: '4xx (access log)' }),
            publicRouteErrors.serverErrors.with({ label: '5xx (access log)' }),
            kmsIssuer.discoveryFunction.metricInvocations({ period, statistic: 'Sum', label: 'Discovery invocations' }),
            kmsIssuer.jwksFunction.metricInvocations({ period, statistic: 'Sum', label: 'JWKS invocations' }),
            kmsIssuer.discoveryFunction.metricErrors({ period, statistic: 'Sum', label: 'Discovery function errors' }),
            kmsIssuer.jwksFunction.metricErrors({ period, statistic: 'Sum', label: 'JWKS function errors' }),
          ]),
        ]),
  );
  if (kmsIssuer !== undefined) {
    const rotator = kmsIssuer.keyRotatorFunction;
    const maxAgeDays = (broker.config.deployment.keyRotation.intervalSeconds + KEY_AGE_SLACK_SECONDS) / 86_400;
    dashboard.addWidgets(
      graph('Key rotation runs', [
        rotator.metricInvocations({ period, statistic: 'Sum', label: 'Rotator runs' }),
        rotator.metricErrors({ period, statistic: 'Sum', label: 'Rotator errors' }),
        broker.metricKeyRotationFailures({ label: 'Rotation failures' }),
        broker.metricRotationStateRejected({ label: 'Rotation states rejected' }),
      ]),
      graph(
        'Active signing key age (days)',
        [
          new cloudwatch.MathExpression({
            expression: 'age / 86400',
            usingMetrics: { age: broker.metricActiveSigningKeyAge() },
            label: 'Active key age',
            period: KEY_AGE_PERIOD,
          }),
        ],
        { leftAnnotations: [{ value: maxAgeDays, label: 'age alarm' }] },
      ),
    );
  }
  // Proactive refresh: renewals, failed renewals, and requests that still waited on Entra (goal 0 once warm).
  dashboard.addWidgets(
    graph('Proactive refresh', [
      broker.metricRefreshesAhead({ label: 'Refreshes ahead' }),
      broker.metricRefreshFailures({ label: 'Refresh failures' }),
      broker.metricCallerWaits({ label: 'Requests that waited on Entra' }),
    ]),
  );
  return dashboard;
}
