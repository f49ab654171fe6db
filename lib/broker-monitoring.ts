/**
 * CloudWatch alarms and a dashboard for one TokenBroker. docs/operations-alarms.md says what each alarm means
 * and what to do first; the alarm descriptions point there.
 */
import { Duration, Token } from 'aws-cdk-lib';
import type { IHttpApi, IHttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  ACTIVE_KEY_AGE_METRIC,
  KEY_AGE_SLACK_SECONDS,
  METRICS_DEPLOYMENT_DIMENSION,
  METRICS_NAMESPACE,
  METRIC_NAMES,
} from '../contract/aws-names';
import type { KeyRotationSettings } from '../contract/broker-config';
import { ConfigError, describeValue, isPlainObject } from '../contract/config-error';
import { acknowledgeControl } from './control-tower-rules';

/**
 * Every alarm looks at 5-minute sums or percentiles: short enough to page within minutes of an outage, long
 * enough that a handful of requests make one datapoint at the low traffic a token broker sees (callers cache
 * their tokens for most of an hour).
 */
export const ALARM_PERIOD = Duration.minutes(5);

/**
 * Counts of the public routes' 4xx and 5xx answers, derived from the access log (see `BrokerMonitoring`), in
 * the broker's namespace with the API id as their one dimension.
 */
export const PUBLIC_ROUTE_METRIC_NAMES = { clientErrors: 'PublicRoute4xx', serverErrors: 'PublicRoute5xx' } as const;
/** The dimension of the public-route metrics: the API id, as the access log's `apiId` field carries it. */
export const PUBLIC_ROUTE_METRIC_DIMENSION = 'ApiId';

/** Where operators read what an alarm means; each alarm description names its section. */
const RUNBOOK = 'docs/operations-alarms.md';

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

/** The broker parts BrokerMonitoring watches, with the options. */
export interface BrokerMonitoringProps extends BrokerMonitoringOptions {
  readonly httpApi: IHttpApi;
  /** The stage the callers use; its 5xx count is alarmed. */
  readonly stage: IHttpStage;
  /** Serves every `/token/*` route and nothing else, so its duration is the token routes' latency. */
  readonly tokenFunction: lambda.Function;
  /** The stage's JSON access log, with the fields `apiId`, `routeKey` and `status`. */
  readonly accessLogGroup: logs.ILogGroup;
  /**
   * The anonymous routes Entra reads (the `kms` signer's discovery and JWKS), whose errors are alarmed.
   * @default - none (the `aws-sts` signer: AWS serves the issuer), and no public-route alarms or widgets
   */
  readonly publicRoutes?: PublicRoutesToWatch;
  /** The `Deployment` dimension value of the broker's own metrics (`TokenBroker.deploymentName`). */
  readonly deploymentName: string;
  /** The `kms` signer's key rotator and its schedule. @default - no key rotation alarms */
  readonly keyRotation?: { readonly rotatorFunction: lambda.IFunction; readonly settings: KeyRotationSettings };
}

/** The discovery and JWKS functions and the route keys Entra reads anonymously. */
export interface PublicRoutesToWatch {
  readonly discoveryFunction: lambda.IFunction;
  readonly jwksFunction: lambda.IFunction;
  /** The route keys (`GET /jwks`) Entra reads anonymously. */
  readonly routeKeys: readonly string[];
}

/** The alarms on the public routes, which exist only when there are public routes. */
export type PublicRouteAlarmName = 'publicRoutes4xx' | 'publicRoutes5xx';

/** The key rotation's alarms, present when the broker rotates its keys. */
export type KeyRotationAlarmName = 'keyRotationFailures' | 'signingKeyAge';

/** The alarms that exist only with some signers: public routes (`kms`), key rotation (`kms`). */
type OptionalAlarmName = PublicRouteAlarmName | KeyRotationAlarmName;

/** Every alarm by name; the public-route alarms only with `publicRoutes`, the rotation's only with `keyRotation`. */
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
  | KeyRotationAlarmName;

const OPTION_KEYS: readonly (keyof BrokerMonitoringOptions)[] = [
  'alarmTopic',
  'notifyOk',
  'api5xxThreshold',
  'tokenLatencyP99Threshold',
  'entraRejectionsThreshold',
  'upstreamUnavailableThreshold',
  'dashboardName',
];
const COUNT_THRESHOLDS = ['api5xxThreshold', 'entraRejectionsThreshold', 'upstreamUnavailableThreshold'] as const;
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * Checks monitoring options as a user wrote them (TokenBroker's `monitoring` prop, or BrokerMonitoring's own).
 * Unresolved tokens are skipped.
 * @param prefix names the options in messages (`monitoring`); empty for BrokerMonitoring's own props
 * @param tokenFunctionTimeout when known, `tokenLatencyP99Threshold` must be shorter
 * @returns one line per problem, naming the option and the value received
 */
export function brokerMonitoringProblems(options: unknown, prefix: string, tokenFunctionTimeout?: Duration): string[] {
  const name = (key: string) => (prefix === '' ? key : `${prefix}.${key}`);
  if (!isPlainObject(options)) {
    return [`${prefix === '' ? 'props' : prefix}: expected an options object or false, received ${describeValue(options)}`];
  }
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) problems.push(`${name(key)}: unknown option (known: ${OPTION_KEYS.join(', ')})`);
  }
  for (const key of COUNT_THRESHOLDS) {
    const value = options[key];
    if (value === undefined || (typeof value === 'number' && Token.isUnresolved(value))) continue;
    if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1)) {
      problems.push(`${name(key)}: expected an integer of at least 1, received ${describeValue(value)}`);
    }
  }
  const latency = options.tokenLatencyP99Threshold;
  if (latency !== undefined) {
    if (!(latency instanceof Duration)) {
      problems.push(`${name('tokenLatencyP99Threshold')}: expected a Duration, received ${describeValue(latency)}`);
    } else if (!latency.isUnresolved()) {
      if (latency.toMilliseconds() < 1) {
        problems.push(`${name('tokenLatencyP99Threshold')}: expected at least 1 millisecond, received ${latency.toHumanString()}`);
      } else if (tokenFunctionTimeout !== undefined && latency.toMilliseconds() >= tokenFunctionTimeout.toMilliseconds()) {
        problems.push(
          `${name('tokenLatencyP99Threshold')}: expected less than the token function's timeout (${tokenFunctionTimeout.toHumanString()}), which caps its duration, received ${latency.toHumanString()}`,
        );
      }
    }
  }
  if (options.notifyOk !== undefined && typeof options.notifyOk !== 'boolean') {
    problems.push(`${name('notifyOk')}: expected true or false, received ${describeValue(options.notifyOk)}`);
  }
  const topic = options.alarmTopic;
  if (topic !== undefined && !(typeof topic === 'object' && topic !== null && 'topicArn' in topic)) {
    problems.push(`${name('alarmTopic')}: expected an SNS topic (sns.ITopic), received ${describeValue(topic)}`);
  }
  const dashboardName = options.dashboardName;
  if (dashboardName !== undefined && !(typeof dashboardName === 'string' && Token.isUnresolved(dashboardName))) {
    if (typeof dashboardName !== 'string' || !DASHBOARD_NAME.test(dashboardName)) {
      problems.push(`${name('dashboardName')}: expected 1 to 255 letters, digits, '-' or '_', received ${describeValue(dashboardName)}`);
    }
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
 */
export class BrokerMonitoring extends Construct {
  /** Every alarm, by name: add your own actions (`alarm.addAlarmAction(...)`), or use them in composite alarms. */
  readonly alarms: BrokerAlarms;
  readonly dashboard: cloudwatch.Dashboard;

  private readonly deploymentName: string;

  constructor(scope: Construct, id: string, props: BrokerMonitoringProps) {
    super(scope, id);
    const options: Record<string, unknown> = {};
    for (const key of OPTION_KEYS) if (props[key] !== undefined) options[key] = props[key];
    const problems = brokerMonitoringProblems(options, '', props.tokenFunction.timeout);
    const routeKeys = props.publicRoutes?.routeKeys;
    if (routeKeys?.length === 0) problems.push('publicRoutes.routeKeys: expected at least one route key, received []');
    for (const key of routeKeys ?? []) {
      if (!/^[A-Z]+ \/[^"\s]*$/.test(key))
        problems.push(`publicRoutes.routeKeys: expected route keys like "GET /jwks", received ${describeValue(key)}`);
    }
    if (problems.length > 0) throw new ConfigError(`BrokerMonitoring props at ${this.node.path}`, problems);
    this.deploymentName = props.deploymentName;

    const latencyThreshold = props.tokenLatencyP99Threshold ?? Duration.seconds(5);
    const fn = props.tokenFunction;
    const publicRoutes =
      props.publicRoutes === undefined ? undefined : this.publicRouteMetrics(props.publicRoutes, props.httpApi, props.accessLogGroup);

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
      api5xx: this.alarm('Api5xx', props.stage.metricServerError({ period: ALARM_PERIOD, statistic: 'Sum' }), {
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
      entraRejections: this.alarm('EntraRejections', this.brokerMetric(METRIC_NAMES.entraRejections), {
        threshold: props.entraRejectionsThreshold ?? 1,
        anchor: 'entra-rejections',
        summary: 'Entra ID refused token exchanges (502 entra_rejected): a trust, consent or configuration fault.',
      }),
      upstreamUnavailable: this.alarm('UpstreamUnavailable', this.brokerMetric(METRIC_NAMES.upstreamUnavailable), {
        threshold: props.upstreamUnavailableThreshold ?? 3,
        anchor: 'upstream-unavailable',
        summary: "Entra ID, KMS or DynamoDB stayed unreachable through the broker's retries (503 upstream_unavailable).",
      }),
      ...(publicRoutes === undefined
        ? {}
        : {
            publicRoutes4xx: this.alarm('PublicRoutes4xx', publicRoutes.clientErrors, {
              threshold: 1,
              anchor: 'public-routes-4xx',
              summary: 'The discovery document or the JWKS answered 4xx (mostly 429, throttled): Entra may fail to verify assertions.',
            }),
            publicRoutes5xx: this.alarm('PublicRoutes5xx', publicRoutes.serverErrors, {
              threshold: 1,
              anchor: 'public-routes-5xx',
              summary: 'The discovery document or the JWKS answered 5xx: Entra cannot verify assertions, so every exchange fails.',
            }),
          }),
      // Both mean someone acted around the broker's own paths; neither happens in normal operation.
      foreignInvocations: this.alarm('ForeignInvocations', this.brokerMetric(METRIC_NAMES.foreignInvocations), {
        threshold: 1,
        anchor: 'foreign-invocations',
        summary:
          "The token function was invoked with an event that did not come through this broker's API: someone with lambda:InvokeFunction is trying to get tokens around the routes' IAM authorization.",
      }),
      cacheItemsRejected: this.alarm('CacheItemsRejected', this.brokerMetric(METRIC_NAMES.cacheItemsRejected), {
        threshold: 1,
        anchor: 'cache-items-rejected',
        summary: 'A token cache item did not open or failed its checks: someone other than the broker wrote to the token cache table.',
      }),
    };
    if (props.keyRotation) Object.assign(alarms, this.keyRotationAlarms(props.keyRotation));
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

    this.dashboard = this.createDashboard(props, alarms, publicRoutes, latencyThreshold);
  }

  /**
   * A run of the rotator failed (its own count, or a Lambda error such as a timeout); and the active key is older than
   * its interval plus an hour's slack, or the rotator stopped reporting for an hour (missing data breaches): either
   * way a key the schedule says is due did not come.
   */
  private keyRotationAlarms(rotation: NonNullable<BrokerMonitoringProps['keyRotation']>): Record<KeyRotationAlarmName, cloudwatch.Alarm> {
    const failures = new cloudwatch.MathExpression({
      expression: 'FILL(failures, 0) + FILL(errors, 0)',
      usingMetrics: {
        failures: this.brokerMetric(METRIC_NAMES.keyRotationFailures),
        errors: rotation.rotatorFunction.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
      },
      period: ALARM_PERIOD,
      label: 'Key rotation failures',
    });
    const maxAge = rotation.settings.intervalSeconds + KEY_AGE_SLACK_SECONDS;
    const age = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: ACTIVE_KEY_AGE_METRIC,
      dimensionsMap: { [METRICS_DEPLOYMENT_DIMENSION]: this.deploymentName },
      statistic: 'Maximum',
      period: Duration.hours(1),
    });
    return {
      keyRotationFailures: this.alarm('KeyRotationFailures', failures, {
        threshold: 1,
        anchor: 'key-rotation-failures',
        summary: 'A run of the key rotator failed: a key may not be published, activated or retired on time.',
      }),
      signingKeyAge: this.alarm('SigningKeyAge', age, {
        threshold: maxAge,
        anchor: 'signing-key-age',
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        summary: `The active signing key is older than its interval plus an hour (${String(maxAge)} s), or the rotator has not reported for an hour.`,
      }),
    };
  }

  /** One of the broker's own metrics (EMF, emitted by the token function), summed over the alarm period. */
  private brokerMetric(metricName: string, label?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [METRICS_DEPLOYMENT_DIMENSION]: this.deploymentName },
      statistic: 'Sum',
      period: ALARM_PERIOD,
      ...(label === undefined ? {} : { label }),
    });
  }

  /**
   * Metric filters on the access log that count the public routes' 4xx and 5xx answers. No default value:
   * a filter with dimensions cannot have one, and the alarms treat missing data as zero anyway.
   */
  private publicRouteMetrics(
    publicRoutes: PublicRoutesToWatch,
    httpApi: IHttpApi,
    accessLogGroup: logs.ILogGroup,
  ): { clientErrors: cloudwatch.Metric; serverErrors: cloudwatch.Metric } {
    const routes = publicRoutes.routeKeys.map((key) => `$.routeKey = "${key}"`).join(' || ');
    const metric = (id: string, metricName: string, statusClass: '4' | '5'): cloudwatch.Metric => {
      new logs.MetricFilter(this, id, {
        logGroup: accessLogGroup,
        // The status is a string in the access log; an unquoted trailing `*` matches its prefix.
        filterPattern: logs.FilterPattern.literal(`{ (${routes}) && $.status = ${statusClass}* }`),
        metricNamespace: METRICS_NAMESPACE,
        metricName,
        metricValue: '1',
        dimensions: { [PUBLIC_ROUTE_METRIC_DIMENSION]: '$.apiId' },
        unit: cloudwatch.Unit.COUNT,
      });
      return new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [PUBLIC_ROUTE_METRIC_DIMENSION]: httpApi.apiId },
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

  private createDashboard(
    props: BrokerMonitoringProps,
    alarms: BrokerAlarms,
    publicRoutes: { clientErrors: cloudwatch.Metric; serverErrors: cloudwatch.Metric } | undefined,
    latencyThreshold: Duration,
  ): cloudwatch.Dashboard {
    const fn = props.tokenFunction;
    const period = ALARM_PERIOD;
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `## Token broker ${this.deploymentName}\nWhat each alarm means and what to do first: \`${RUNBOOK}\`. All figures are 5-minute sums unless named otherwise.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values<cloudwatch.Alarm>(alarms), width: 24, height: 3 }),
    );
    dashboard.addWidgets(
      graph('API requests and errors (all routes)', [
        props.stage.metricCount({ period, statistic: 'Sum', label: 'Requests' }),
        props.stage.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
        props.stage.metricServerError({ period, statistic: 'Sum', label: '5xx' }),
      ]),
      graph(
        'Token latency (ms)',
        [
          fn.metricDuration({ period, statistic: 'p50', label: 'Token function p50' }),
          fn.metricDuration({ period, statistic: 'p99', label: 'Token function p99' }),
          props.stage.metricLatency({ period, statistic: 'p99', label: 'API Gateway p99 (all routes)' }),
        ],
        { leftAnnotations: [{ value: latencyThreshold.toMilliseconds(), label: 'p99 alarm' }] },
      ),
      graph('Token function errors and throttles', [
        fn.metricInvocations({ period, statistic: 'Sum', label: 'Invocations' }),
        fn.metricErrors({ period, statistic: 'Sum', label: 'Errors' }),
        fn.metricThrottles({ period, statistic: 'Sum', label: 'Throttles' }),
      ]),
    );
    const watched = props.publicRoutes;
    dashboard.addWidgets(
      graph('Entra exchanges', [
        this.brokerMetric(METRIC_NAMES.exchanges, 'Exchanges'),
        this.brokerMetric(METRIC_NAMES.entraRejections, 'Rejections'),
        this.brokerMetric(METRIC_NAMES.upstreamUnavailable, 'Upstream unavailable'),
      ]),
      graph('Token cache', [
        this.brokerMetric(METRIC_NAMES.staleServed, 'Stale tokens served'),
        this.brokerMetric(METRIC_NAMES.leaseWaits, 'Refresh lease waits'),
        this.brokerMetric(METRIC_NAMES.storeFailures, 'Cache store failures'),
        this.brokerMetric(METRIC_NAMES.cacheItemsRejected, 'Cache items rejected'),
        this.brokerMetric(METRIC_NAMES.foreignInvocations, 'Foreign invocations refused'),
      ]),
      // With the aws-sts signer there are no public routes: AWS serves the issuer.
      ...(publicRoutes === undefined || watched === undefined
        ? []
        : [
            graph('Public routes (what Entra reads)', [
              publicRoutes.clientErrors.with({ label: '4xx (access log)' }),
              publicRoutes.serverErrors.with({ label: '5xx (access log)' }),
              watched.discoveryFunction.metricInvocations({ period, statistic: 'Sum', label: 'Discovery invocations' }),
              watched.jwksFunction.metricInvocations({ period, statistic: 'Sum', label: 'JWKS invocations' }),
              watched.discoveryFunction.metricErrors({ period, statistic: 'Sum', label: 'Discovery function errors' }),
              watched.jwksFunction.metricErrors({ period, statistic: 'Sum', label: 'JWKS function errors' }),
            ]),
          ]),
    );
    const rotation = props.keyRotation;
    if (rotation) {
      dashboard.addWidgets(
        graph('Key rotation runs', [
          rotation.rotatorFunction.metricInvocations({ period, statistic: 'Sum', label: 'Rotator runs' }),
          rotation.rotatorFunction.metricErrors({ period, statistic: 'Sum', label: 'Rotator errors' }),
          this.brokerMetric(METRIC_NAMES.keyRotationFailures, 'Rotation failures'),
        ]),
        graph(
          'Active signing key age (days)',
          [
            new cloudwatch.MathExpression({
              expression: 'age / 86400',
              usingMetrics: {
                age: new cloudwatch.Metric({
                  namespace: METRICS_NAMESPACE,
                  metricName: ACTIVE_KEY_AGE_METRIC,
                  dimensionsMap: { [METRICS_DEPLOYMENT_DIMENSION]: this.deploymentName },
                  statistic: 'Maximum',
                  period: Duration.hours(1),
                }),
              },
              label: 'Active key age',
              period: Duration.hours(1),
            }),
          ],
          { leftAnnotations: [{ value: (rotation.settings.intervalSeconds + KEY_AGE_SLACK_SECONDS) / 86_400, label: 'age alarm' }] },
        ),
      );
    }
    return dashboard;
  }
}
