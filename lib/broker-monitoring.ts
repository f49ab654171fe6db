/**
 * CloudWatch alarms for one TokenBroker, and its dashboard (lib/broker-dashboard.ts). docs/operations-alarms.md says
 * what each alarm means and what to do first; the alarm descriptions point there. The metrics come from the broker's
 * own `metric…()` methods, so an alarm and a user's own alarm on the same event read the same metric.
 */
import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { KEY_AGE_SLACK_SECONDS, METRICS_NAMESPACE } from '../contract/aws-names';
import { ConfigError, describeValue } from '../contract/config-error';
import { accessLogSelector, PUBLIC_ROUTE_KEYS } from '../contract/http-api';
import { createBrokerDashboard, RUNBOOK } from './broker-dashboard';
import { ALARM_PERIOD } from './broker-metrics';
import { acknowledgeControl } from './control-tower-rules';
import type { KmsIssuer } from './kms-issuer';
import { refreshFailureAlarmShape, type ProactiveRefreshSchedule } from './proactive-refresh';
import type { TokenBroker } from './token-broker';

/**
 * Counts of the public routes' 4xx and 5xx answers, derived from the access log (see `BrokerMonitoring`), in
 * the broker's namespace with the API id as their one dimension.
 */
export const PUBLIC_ROUTE_METRIC_NAMES = { clientErrors: 'PublicRoute4xx', serverErrors: 'PublicRoute5xx' } as const;
/** The dimension of the public-route metrics: the API id, as the access log's `apiId` field carries it. */
export const PUBLIC_ROUTE_METRIC_DIMENSION = 'ApiId';

/** Where the alarms go and when they fire: what TokenBroker's `monitoring` prop takes. */
export interface BrokerMonitoringOptions {
  /**
   * The SNS topic every alarm notifies when it goes into ALARM (and back to OK, see `notifyOk`).
   * @default - no actions: the alarms show in the console and on the dashboard; add your own through `alarms`
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Also notify `alarmTopic` when an alarm returns to OK, so whoever was paged learns that it recovered.
   * @default true
   */
  readonly notifyOk?: boolean;
  /**
   * API Gateway 5xx answers (all routes) in 5 minutes that raise `api5xx`. The broker's own 502 and 503 count
   * too; a few are normal when callers retry through an Entra hiccup, a steady stream is not.
   * @default 5
   */
  readonly api5xxThreshold?: number;
  /**
   * p99 of the token function's duration that raises `tokenLatencyP99` when exceeded in 3 consecutive 5-minute
   * periods. Must be shorter than the token function's timeout: a duration never exceeds it.
   * @default Duration.seconds(5) - a cache hit takes milliseconds and an Entra exchange well under a second;
   * 5 s means retries against a slow Entra, KMS or DynamoDB have become routine
   */
  readonly tokenLatencyP99Threshold?: Duration;
  /**
   * `EntraRejections` in 5 minutes that raise `entraRejections`. A rejection is a trust or consent fault
   * (AADSTS…): it does not heal by retrying, so the first one pages.
   * @default 1
   */
  readonly entraRejectionsThreshold?: number;
  /**
   * `UpstreamUnavailable` answers (503 after the broker's own bounded retries) in 5 minutes that raise
   * `upstreamUnavailable`.
   * @default 3 - one can be a blip the caller's retry absorbs; three in 5 minutes is an outage
   */
  readonly upstreamUnavailableThreshold?: number;
  /**
   * The dashboard's name: letters, digits, `-` and `_`, at most 255 characters, unique in the account and region.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
}

/** The broker BrokerMonitoring watches, with the options. */
export interface BrokerMonitoringProps extends BrokerMonitoringOptions {
  /** Its API stage, access log, functions and metrics are watched; with signer `kms` its public routes and key rotation too. */
  readonly broker: TokenBroker;
}

/** The alarms on the public routes, which exist only when there are public routes. */
export type PublicRouteAlarmName = 'publicRoutes4xx' | 'publicRoutes5xx';

/** The key rotation's alarms, present when the broker rotates its keys (signer `kms`). */
export type KeyRotationAlarmName = 'keyRotationFailures' | 'signingKeyAge' | 'rotationStateRejected';

/** The alarms that exist only with some signers: public routes (`kms`), key rotation (`kms`); and with proactive refresh. */
type OptionalAlarmName = PublicRouteAlarmName | KeyRotationAlarmName | 'refreshFailures';

/** Every alarm by name; the public-route and key rotation alarms only with signer `kms`. */
export type BrokerAlarms = Readonly<Record<Exclude<BrokerAlarmName, OptionalAlarmName>, cloudwatch.Alarm>> &
  Readonly<Partial<Record<OptionalAlarmName, cloudwatch.Alarm>>>;

/** The alarms, by what they watch. */
export type BrokerAlarmName =
  | 'tokenFunctionErrors'
  | 'tokenFunctionThrottles'
  | 'api5xx'
  | 'tokenLatencyP99'
  | 'entraRejections'
  | 'upstreamUnavailable'
  | 'publicRoutes4xx'
  | 'publicRoutes5xx'
  | 'foreignInvocations'
  | 'cacheItemsRejected'
  | 'refreshFailures'
  | KeyRotationAlarmName;

/** The public routes' 4xx and 5xx counts, from the access log. */
export interface PublicRouteErrorMetrics {
  readonly clientErrors: cloudwatch.Metric;
  readonly serverErrors: cloudwatch.Metric;
}

const COUNT_THRESHOLDS = ['api5xxThreshold', 'entraRejectionsThreshold', 'upstreamUnavailableThreshold'] as const;
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * Checks what the option types cannot say: counts are integers of at least 1, the latency threshold lies below the
 * token function's timeout, the dashboard name is one CloudWatch takes. Unresolved tokens are skipped.
 * @returns one line per problem, naming the option (as `monitoring.<option>`) and the value received
 */
export function brokerMonitoringProblems(options: BrokerMonitoringOptions, tokenFunctionTimeout: Duration | undefined): string[] {
  const name = (key: string) => `monitoring.${key}`;
  const problems: string[] = [];
  for (const key of COUNT_THRESHOLDS) {
    const value = options[key];
    if (value === undefined || Token.isUnresolved(value)) continue;
    if (!(Number.isInteger(value) && value >= 1)) {
      problems.push(`${name(key)}: expected an integer of at least 1, received ${describeValue(value)}`);
    }
  }
  const latency = options.tokenLatencyP99Threshold;
  if (latency !== undefined && !latency.isUnresolved()) {
    if (latency.toMilliseconds() < 1) {
      problems.push(`${name('tokenLatencyP99Threshold')}: expected at least 1 millisecond, received ${latency.toHumanString()}`);
    } else if (tokenFunctionTimeout !== undefined && latency.toMilliseconds() >= tokenFunctionTimeout.toMilliseconds()) {
      problems.push(
        `${name('tokenLatencyP99Threshold')}: expected less than the token function's timeout (${tokenFunctionTimeout.toHumanString()}), which caps its duration, received ${latency.toHumanString()}`,
      );
    }
  }
  const { dashboardName } = options;
  if (dashboardName !== undefined && !Token.isUnresolved(dashboardName) && !DASHBOARD_NAME.test(dashboardName)) {
    problems.push(`${name('dashboardName')}: expected 1 to 255 letters, digits, '-' or '_', received ${describeValue(dashboardName)}`);
  }
  return problems;
}

/**
 * The broker's alarms and dashboard. Every alarm compares a 5-minute figure with `>=` its threshold and treats
 * missing data as not breaching: the functions, the metric filters and API Gateway emit nothing while nobody
 * calls, and silence is not an outage.
 *
 * How each signal is measured:
 * - Token latency is the token function's `Duration` p99, not API Gateway's per-route `Latency`. Only the
 *   `/token/*` routes invoke that function, so its duration is exactly the broker's work on those routes (cache,
 *   KMS, Entra, with retries), as one metric whatever the number of aliases. API Gateway's per-route metrics
 *   would need detailed metrics on every token route (billed per route and metric) and one alarm per alias,
 *   as percentiles of several routes cannot be combined. What the duration leaves out, the SigV4 check and a
 *   cold start's initialisation, is platform overhead the broker cannot act on; the dashboard shows the
 *   stage-wide `Latency` p99 beside it.
 * - The public routes' 4xx and 5xx are counted from the stage's access log by metric filters (`routeKey`,
 *   `status`), not from API Gateway's detailed metrics: those need per-route settings on the stage that must
 *   repeat its throttling and wait for the routes to exist, and the published dimension names for HTTP API
 *   routes (`Route`, or `Method` and `Resource`) disagree between AWS's guide and widely used libraries; an
 *   alarm on a wrong dimension never fires. The access log's fields are this project's own. A 4xx there is
 *   almost always 429 (the public routes' own throttle), which Entra meets too.
 * - Entra rejections and upstream outages are the broker's own metrics, with the `Deployment` dimension that
 *   keeps two brokers in one account apart.
 *
 * The options are validated here, the one place that knows the token function's timeout.
 */
export class BrokerMonitoring extends Construct {
  /** Every alarm, by name: add your own actions (`alarm.addAlarmAction(...)`), or use them in composite alarms. */
  readonly alarms: BrokerAlarms;
  readonly dashboard: cloudwatch.Dashboard;

  private readonly deploymentName: string;

  constructor(scope: Construct, id: string, props: BrokerMonitoringProps) {
    super(scope, id);
    const { broker } = props;
    const problems = brokerMonitoringProblems(props, broker.tokenFunction.timeout);
    if (problems.length > 0) throw new ConfigError(`TokenBroker monitoring at ${this.node.path}`, problems);
    this.deploymentName = broker.deploymentName;

    const latencyThreshold = props.tokenLatencyP99Threshold ?? Duration.seconds(5);
    const fn = broker.tokenFunction;
    const kmsIssuer = broker.signer.kind === 'kms' ? broker.signer : undefined;
    // With the aws-sts signer there are no public routes: AWS serves the issuer.
    const publicApiId = broker.httpApi?.apiId;
    const publicRouteErrors =
      kmsIssuer === undefined || publicApiId === undefined ? undefined : this.publicRouteErrorMetrics(broker, publicApiId);

    const alarms: Record<Exclude<BrokerAlarmName, OptionalAlarmName>, cloudwatch.Alarm> &
      Partial<Record<OptionalAlarmName, cloudwatch.Alarm>> = {
      tokenFunctionErrors: this.alarm('TokenFunctionErrors', fn.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }), {
        threshold: 1,
        anchor: 'token-function-errors',
        summary: 'The token function failed (uncaught error, timeout or out of memory): callers got a bare 500 or 503.',
      }),
      tokenFunctionThrottles: this.alarm('TokenFunctionThrottles', fn.metricThrottles({ period: ALARM_PERIOD, statistic: 'Sum' }), {
        threshold: 1,
        anchor: 'token-function-throttles',
        summary: 'Lambda refused token requests: the reserved concurrency or the account limit is exhausted.',
      }),
      // The stage of the token routes: the HTTP API's (ApiId, Stage), or the private REST API's (ApiName, Stage).
      api5xx: this.alarm('Api5xx', broker.tokenStage.metricServerError({ period: ALARM_PERIOD, statistic: 'Sum' }), {
        threshold: props.api5xxThreshold ?? 5,
        anchor: 'api-5xx',
        summary: "Callers are getting 5xx answers (the broker's 502 and 503, or failures in front of it).",
      }),
      tokenLatencyP99: this.alarm('TokenLatencyP99', fn.metricDuration({ period: ALARM_PERIOD, statistic: 'p99' }), {
        threshold: latencyThreshold.toMilliseconds(),
        evaluationPeriods: 3,
        anchor: 'token-latency-p99',
        summary: `Token requests are slow: p99 of the token function's duration at or over ${latencyThreshold.toHumanString()} for 15 minutes.`,
      }),
      entraRejections: this.alarm('EntraRejections', broker.metricEntraRejections(), {
        threshold: props.entraRejectionsThreshold ?? 1,
        anchor: 'entra-rejections',
        summary: 'Entra ID refused token exchanges (502 entra_rejected): a trust, consent or configuration fault.',
      }),
      upstreamUnavailable: this.alarm('UpstreamUnavailable', broker.metricUpstreamUnavailable(), {
        threshold: props.upstreamUnavailableThreshold ?? 3,
        anchor: 'upstream-unavailable',
        summary: "Entra ID, KMS or DynamoDB stayed unreachable through the broker's retries (503 upstream_unavailable).",
      }),
      ...(publicRouteErrors === undefined
        ? {}
        : {
            publicRoutes4xx: this.alarm('PublicRoutes4xx', publicRouteErrors.clientErrors, {
              threshold: 1,
              anchor: 'public-routes-4xx',
              summary: 'The discovery document or the JWKS answered 4xx (mostly 429, throttled): Entra may fail to verify assertions.',
            }),
            publicRoutes5xx: this.alarm('PublicRoutes5xx', publicRouteErrors.serverErrors, {
              threshold: 1,
              anchor: 'public-routes-5xx',
              summary: 'The discovery document or the JWKS answered 5xx: Entra cannot verify assertions, so every exchange fails.',
            }),
          }),
      // Both mean someone acted around the broker's own paths; neither happens in normal operation.
      foreignInvocations: this.alarm('ForeignInvocations', broker.metricForeignInvocations(), {
        threshold: 1,
        anchor: 'foreign-invocations',
        summary:
          "The token function was invoked with an event that did not come through this broker's API: someone with lambda:InvokeFunction is trying to get tokens around the routes' IAM authorization.",
      }),
      cacheItemsRejected: this.alarm('CacheItemsRejected', broker.metricCacheItemsRejected(), {
        threshold: 1,
        anchor: 'cache-items-rejected',
        summary: 'A token cache item did not open or failed its checks: someone other than the broker wrote to the token cache table.',
      }),
      ...(kmsIssuer === undefined ? {} : this.keyRotationAlarms(broker, kmsIssuer)),
      ...(broker.proactiveRefresh === undefined ? {} : { refreshFailures: this.refreshFailuresAlarm(broker, broker.proactiveRefresh) }),
    };
    this.alarms = alarms;

    if (props.alarmTopic !== undefined) {
      const action = new SnsAction(props.alarmTopic);
      for (const alarm of Object.values<cloudwatch.Alarm>(alarms)) {
        alarm.addAlarmAction(action);
        if (props.notifyOk ?? true) alarm.addOkAction(action);
      }
    } else {
      acknowledgeControl(
        this,
        'CT.CLOUDWATCH.PR.1',
        "No alarmTopic was given: where alarms go is the operator's choice (monitoring.alarmTopic, or alarm.addAlarmAction); with a topic every alarm notifies it.",
      );
    }

    this.dashboard = createBrokerDashboard(this, {
      broker,
      alarms,
      publicRouteErrors,
      latencyThreshold,
      ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
    });
  }

  /**
   * A rotation state was refused by the token, JWKS or rotator function; a run of the rotator failed (its own count, or
   * a Lambda error such as a timeout); and the active key is older than its interval plus an hour's slack, or the
   * rotator stopped reporting for an hour (missing data breaches): either way a key the schedule says is due did not come.
   */
  private keyRotationAlarms(broker: TokenBroker, kmsIssuer: KmsIssuer): Record<KeyRotationAlarmName, cloudwatch.Alarm> {
    const failures = new cloudwatch.MathExpression({
      expression: 'FILL(failures, 0) + FILL(errors, 0)',
      usingMetrics: {
        failures: broker.metricKeyRotationFailures(),
        errors: kmsIssuer.keyRotatorFunction.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
      },
      period: ALARM_PERIOD,
      label: 'Key rotation failures',
    });
    const maxAge = broker.config.deployment.keyRotation.intervalSeconds + KEY_AGE_SLACK_SECONDS;
    return {
      keyRotationFailures: this.alarm('KeyRotationFailures', failures, {
        threshold: 1,
        anchor: 'key-rotation-failures',
        summary: 'A run of the key rotator failed: a key may not be published, activated or retired on time.',
      }),
      signingKeyAge: this.alarm('SigningKeyAge', broker.metricActiveSigningKeyAge(), {
        threshold: maxAge,
        anchor: 'signing-key-age',
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        summary: `The active signing key is older than its interval plus an hour (${String(maxAge)} s), or the rotator has not reported for an hour.`,
      }),
      // Never expected: a state the rotator did not write, or an older one put back (docs/security.md).
      rotationStateRejected: this.alarm('RotationStateRejected', broker.metricRotationStateRejected(), {
        threshold: 1,
        anchor: 'rotation-state-rejected',
        summary:
          'A key rotation state was refused (its MAC did not verify, or it was older than one already read): someone wrote the state item around the key rotator.',
      }),
    };
  }

  /** The refresher failed in every run for a quarter of the shortest token's servable life (lib/proactive-refresh.ts). */
  private refreshFailuresAlarm(broker: TokenBroker, schedule: ProactiveRefreshSchedule): cloudwatch.Alarm {
    const { period, evaluationPeriods } = refreshFailureAlarmShape(schedule.periodSeconds, broker.config.runtime.refreshMarginSeconds);
    return this.alarm('RefreshFailures', broker.metricRefreshFailures({ period }), {
      threshold: 1,
      evaluationPeriods,
      anchor: 'refresh-failures',
      summary: `The proactive refresh failed in every run for ${period.toSeconds() * evaluationPeriods} s: callers still get cached tokens, until those reach their margin.`,
    });
  }

  /**
   * Metric filters on the access log that count the public routes' 4xx and 5xx answers. No default value:
   * a filter with dimensions cannot have one, and the alarms treat missing data as zero anyway.
   */
  private publicRouteErrorMetrics(broker: TokenBroker, publicApiId: string): PublicRouteErrorMetrics {
    const routes = PUBLIC_ROUTE_KEYS.map((key) => `${accessLogSelector('routeKey')} = "${key}"`).join(' || ');
    const metric = (id: string, metricName: string, statusClass: '4' | '5'): cloudwatch.Metric => {
      new logs.MetricFilter(this, id, {
        logGroup: broker.accessLogGroup,
        // The status is a string in the access log; an unquoted trailing `*` matches its prefix.
        filterPattern: logs.FilterPattern.literal(`{ (${routes}) && ${accessLogSelector('status')} = ${statusClass}* }`),
        metricNamespace: METRICS_NAMESPACE,
        metricName,
        metricValue: '1',
        dimensions: { [PUBLIC_ROUTE_METRIC_DIMENSION]: accessLogSelector('apiId') },
        unit: cloudwatch.Unit.COUNT,
      });
      return new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [PUBLIC_ROUTE_METRIC_DIMENSION]: publicApiId },
        statistic: 'Sum',
        period: ALARM_PERIOD,
      });
    };
    return {
      clientErrors: metric('PublicRoutes4xxFilter', PUBLIC_ROUTE_METRIC_NAMES.clientErrors, '4'),
      serverErrors: metric('PublicRoutes5xxFilter', PUBLIC_ROUTE_METRIC_NAMES.serverErrors, '5'),
    };
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    options: {
      threshold: number;
      evaluationPeriods?: number;
      anchor: string;
      summary: string;
      treatMissingData?: cloudwatch.TreatMissingData;
    },
  ): cloudwatch.Alarm {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    return new cloudwatch.Alarm(this, id, {
      metric,
      threshold: options.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${options.summary} Broker ${this.deploymentName}. What to do: ${RUNBOOK}#${options.anchor}`,
    });
  }
}
