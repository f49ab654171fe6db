import { readFileSync } from 'node:fs';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { ACTIVE_KEY_AGE_METRIC, METRICS_DEPLOYMENT_DIMENSION, METRICS_NAMESPACE, METRIC_NAMES } from '../../contract/aws-names';
import { BROKER_ENV } from '../../contract/environment';
import { createBrokerMetrics, PowertoolsMetricsPort } from '../../lambda/adapters/powertools-metrics';
import { PUBLIC_ROUTE_METRIC_NAMES } from '../../lib/broker-monitoring';
import { TokenBroker } from '../../lib/token-broker';
import type { TokenBrokerProps } from '../../lib/token-broker-props';
import { REPO_ROOT, brokerStack, config, logicalId, newApp, tokenBroker } from './helpers';

const COUNT_ALARM = {
  ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  Period: 300,
  Statistic: 'Sum',
  TreatMissingData: 'notBreaching',
};

function brokerWithTopic(monitoring: Exclude<TokenBrokerProps['monitoring'], false> = {}) {
  const stack = new Stack(newApp(), 'Stack');
  const topic = new sns.Topic(stack, 'AlarmTopic');
  new TokenBroker(stack, 'Broker', { config: config(), monitoring: { alarmTopic: topic, ...monitoring } });
  return { template: Template.fromStack(stack), topicRef: { Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) } };
}

describe('BrokerMonitoring alarms (defaults)', () => {
  const { stack, template } = brokerStack();
  const { broker } = stack;
  const tokenFunction = { Ref: logicalId(broker.tokenFunction) };
  const apiId = { Ref: logicalId(broker.httpApi) };

  it('creates fourteen alarms, two metric filters and one dashboard, all exposed on the construct', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 14);
    template.resourceCountIs('AWS::Logs::MetricFilter', 2);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(Object.keys(broker.monitoring!.alarms).sort()).toEqual([
      'api5xx',
      'cacheItemsRejected',
      'entraRejections',
      'foreignInvocations',
      'keyRotationFailures',
      'publicRoutes4xx',
      'publicRoutes5xx',
      'refreshFailures',
      'rotationStateRejected',
      'signingKeyAge',
      'tokenFunctionErrors',
      'tokenFunctionThrottles',
      'tokenLatencyP99',
      'upstreamUnavailable',
    ]);
  });

  it('alarms on the first direct invocation refused, cache item rejected and rotation state rejected: each means someone went around the broker', () => {
    for (const metricName of [METRIC_NAMES.foreignInvocations, METRIC_NAMES.cacheItemsRejected, METRIC_NAMES.rotationStateRejected]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...COUNT_ALARM,
        Namespace: METRICS_NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: METRICS_DEPLOYMENT_DIMENSION, Value: 'Broker/TokenBroker' }],
        Threshold: 1,
        EvaluationPeriods: 1,
      });
    }
  });

  it('alarms on any token function error or throttle', () => {
    for (const metricName of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...COUNT_ALARM,
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Dimensions: [{ Name: 'FunctionName', Value: tokenFunction }],
        Threshold: 1,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
      });
    }
  });

  it('alarms on 5 API 5xx answers in 5 minutes on the $default stage', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...COUNT_ALARM,
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [
        { Name: 'ApiId', Value: apiId },
        { Name: 'Stage', Value: '$default' },
      ],
      Threshold: 5,
      EvaluationPeriods: 1,
    });
  });

  it('alarms on the token function p99 duration at 5 s for 3 periods out of 3', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      Dimensions: [{ Name: 'FunctionName', Value: tokenFunction }],
      ExtendedStatistic: 'p99',
      Statistic: Match.absent(),
      Period: 300,
      Threshold: 5000,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
  });

  it("alarms on the broker's own EntraRejections (1) and UpstreamUnavailable (3) for this deployment", () => {
    for (const [metricName, threshold] of [
      [METRIC_NAMES.entraRejections, 1],
      [METRIC_NAMES.upstreamUnavailable, 3],
    ] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...COUNT_ALARM,
        Namespace: METRICS_NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: METRICS_DEPLOYMENT_DIMENSION, Value: broker.deploymentName }],
        Threshold: threshold,
        EvaluationPeriods: 1,
      });
    }
  });

  it('uses the dimension set and value the functions emit their metrics with', () => {
    // CloudWatch matches a metric on its exact dimension set: an alarm with one dimension more or less never fires.
    const metrics = createBrokerMetrics({ deployment: 'the-deployment' });
    new PowertoolsMetricsPort(metrics).count('entraRejections');
    const emf = metrics.serializeMetrics();
    expect(emf._aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
    expect(emf._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([[METRICS_DEPLOYMENT_DIMENSION]]);

    const fn = template.toJSON().Resources[logicalId(broker.tokenFunction)] as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    expect(fn.Properties.Environment.Variables[BROKER_ENV.deployment]).toBe(broker.deploymentName);
  });

  it('counts 4xx and 5xx of exactly the unauthenticated routes from the access log, per API', () => {
    const publicRouteKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { AuthorizationType: 'NONE' } }))
      .map((route) => route.Properties.RouteKey as string)
      .sort();
    expect(publicRouteKeys).toEqual(['GET /.well-known/openid-configuration', 'GET /jwks']);
    const routes = publicRouteKeys.map((key) => `$.routeKey = "${key}"`).join(' || ');

    for (const [metricName, statusClass] of [
      [PUBLIC_ROUTE_METRIC_NAMES.clientErrors, '4'],
      [PUBLIC_ROUTE_METRIC_NAMES.serverErrors, '5'],
    ] as const) {
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: logicalId({ node: { defaultChild: broker.accessLogGroup.node.defaultChild } }) },
        FilterPattern: `{ (${routes}) && $.status = ${statusClass}* }`,
        MetricTransformations: [
          {
            MetricNamespace: METRICS_NAMESPACE,
            MetricName: metricName,
            MetricValue: '1',
            Dimensions: [{ Key: 'ApiId', Value: '$.apiId' }],
            Unit: 'Count',
          },
        ],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...COUNT_ALARM,
        Namespace: METRICS_NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: 'ApiId', Value: apiId }],
        Threshold: 1,
        EvaluationPeriods: 1,
      });
    }

    // The fields the filters read are in the access log, under these names.
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(JSON.parse(stage!.Properties.AccessLogSettings.Format as string)).toMatchObject({
      apiId: '$context.apiId',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
  });

  it('has no alarm or OK actions without a topic, and says in each description where the runbook is', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
      expect(alarm.Properties.OKActions).toBeUndefined();
      expect(alarm.Properties.AlarmDescription).toMatch(/docs\/operations-alarms\.md#[a-z0-9-]+$/);
      expect(alarm.Properties.AlarmDescription).toContain(broker.deploymentName);
    }
  });

  it("points each alarm at its own section of the operators' guide", () => {
    // GitHub's heading anchors: lower case, spaces to '-', punctuation dropped.
    const anchors = [...readFileSync(`${REPO_ROOT}docs/operations-alarms.md`, 'utf8').matchAll(/^## (.+)$/gm)].map((m) =>
      m[1]!
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    );
    const linked = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => /#([a-z0-9-]+)$/.exec(alarm.Properties.AlarmDescription as string)![1],
    );
    expect(new Set(linked).size).toBe(14);
    for (const anchor of linked) expect(anchors).toContain(anchor);
  });

  it('has a dashboard with every alarm and the alarmed and cache metrics', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard!.Properties.DashboardName).toBeUndefined();
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    for (const alarm of Object.values(broker.monitoring!.alarms)) expect(body).toContain(logicalId(alarm));
    for (const name of Object.values(METRIC_NAMES)) expect(body).toContain(`\\"${METRICS_NAMESPACE}\\",\\"${name}\\",\\"Deployment\\"`);
    for (const name of Object.values(PUBLIC_ROUTE_METRIC_NAMES))
      expect(body).toContain(`\\"${METRICS_NAMESPACE}\\",\\"${name}\\",\\"ApiId\\"`);
    for (const name of ['Duration', 'Errors', 'Throttles', 'Invocations']) expect(body).toContain(`\\"AWS/Lambda\\",\\"${name}\\"`);
    for (const name of ['Count', '4xx', '5xx', 'Latency']) expect(body).toContain(`\\"AWS/ApiGateway\\",\\"${name}\\"`);
  });
});

describe('BrokerMonitoring options', () => {
  it('sends ALARM and OK to the topic from every alarm', () => {
    const { template, topicRef } = brokerWithTopic();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(14);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
      expect(alarm.Properties.OKActions).toEqual([topicRef]);
    }
  });

  it('takes thresholds, notifyOk: false and a dashboard name', () => {
    const { template, topicRef } = brokerWithTopic({
      notifyOk: false,
      api5xxThreshold: 20,
      tokenLatencyP99Threshold: Duration.seconds(2),
      entraRejectionsThreshold: 2,
      upstreamUnavailableThreshold: 7,
      dashboardName: 'token-broker-prod',
    });
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
      expect(alarm.Properties.OKActions).toBeUndefined();
    }
    const thresholds = Object.fromEntries(
      Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => [a.Properties.MetricName, a.Properties.Threshold]),
    );
    expect(thresholds).toMatchObject({ '5xx': 20, Duration: 2000, EntraRejections: 2, UpstreamUnavailable: 7, Errors: 1, Throttles: 1 });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'token-broker-prod' });
  });

  it('creates no alarm, metric filter or dashboard with monitoring: false', () => {
    const { broker, template } = tokenBroker({ monitoring: false });
    expect(broker.monitoring).toBeUndefined();
    const t = template();
    t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    t.resourceCountIs('AWS::Logs::MetricFilter', 0);
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });
});

describe('TokenBroker metric methods', () => {
  /** Every `metric…` method of the construct, found on its prototype rather than listed here. */
  const metricMethods = Object.getOwnPropertyNames(TokenBroker.prototype).filter((name) => /^metric[A-Z]/.test(name)) as Array<
    keyof TokenBroker & `metric${string}`
  >;

  it('offers one method per metric the functions emit, each in the namespace with this deployment as its one dimension', () => {
    const { broker } = tokenBroker({ monitoring: false });
    const metrics = metricMethods.map((name) => broker[name].call(broker));
    expect(metrics.map((metric) => metric.metricName).sort()).toEqual([...Object.values(METRIC_NAMES), ACTIVE_KEY_AGE_METRIC].sort());
    for (const metric of metrics) {
      expect(metric.namespace).toBe(METRICS_NAMESPACE);
      expect(metric.dimensions).toEqual({ [METRICS_DEPLOYMENT_DIMENSION]: 'Stack/Broker' });
    }
    expect(broker.metricEntraRejections()).toMatchObject({ statistic: 'Sum', period: Duration.minutes(5) });
    expect(broker.metricActiveSigningKeyAge()).toMatchObject({ statistic: 'Maximum', period: Duration.hours(1) });
  });

  it('lets a user with monitoring: false build an alarm of their own, with their own period and statistic', () => {
    const { stack, broker, template } = tokenBroker({ monitoring: false });
    new cloudwatch.Alarm(stack, 'MyAlarm', {
      metric: broker.metricUpstreamUnavailable({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 2,
      evaluationPeriods: 1,
    });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_NAMES.upstreamUnavailable,
      Dimensions: [{ Name: METRICS_DEPLOYMENT_DIMENSION, Value: broker.deploymentName }],
      Period: 60,
      Statistic: 'Maximum',
    });
  });

  it("builds the monitoring's alarms from the same methods", () => {
    const { stack, template } = brokerStack();
    const { broker } = stack;
    const alarmOn = (metricName: string) =>
      Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName } }))[0]?.Properties;
    for (const metric of [broker.metricEntraRejections(), broker.metricForeignInvocations(), broker.metricActiveSigningKeyAge()]) {
      expect(alarmOn(metric.metricName)).toMatchObject({
        Namespace: metric.namespace,
        Dimensions: [{ Name: METRICS_DEPLOYMENT_DIMENSION, Value: broker.deploymentName }],
        Period: metric.period.toSeconds(),
        Statistic: metric.statistic,
      });
    }
  });
});

describe('BrokerMonitoring validation', () => {
  it('names each bad option and the value received, in one error', () => {
    const call = () =>
      tokenBroker({
        monitoring: {
          api5xxThreshold: 0,
          entraRejectionsThreshold: 1.5,
          upstreamUnavailableThreshold: -1,
          tokenLatencyP99Threshold: Duration.millis(0),
          dashboardName: 'token broker',
        },
      });
    expect(call).toThrow(/monitoring\.api5xxThreshold: expected an integer of at least 1, received 0/);
    expect(call).toThrow(/monitoring\.entraRejectionsThreshold: expected an integer of at least 1, received 1\.5/);
    expect(call).toThrow(/monitoring\.upstreamUnavailableThreshold: .*received -1/);
    expect(call).toThrow(/monitoring\.tokenLatencyP99Threshold: expected at least 1 millisecond, received 0 millis/);
    expect(call).toThrow(/monitoring\.dashboardName: .*received "token broker"/);
  });

  it('rejects a latency threshold the token function timeout makes unreachable', () => {
    expect(() => tokenBroker({ monitoring: { tokenLatencyP99Threshold: Duration.seconds(20) } })).toThrow(
      /tokenLatencyP99Threshold: expected less than the token function's timeout \(15 seconds\).*received 20 seconds/,
    );
    expect(() => tokenBroker({ monitoring: { tokenLatencyP99Threshold: Duration.seconds(14) } })).not.toThrow();
  });
});
