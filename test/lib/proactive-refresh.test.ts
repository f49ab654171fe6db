import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES, METRICS_DEPLOYMENT_DIMENSION, METRICS_NAMESPACE } from '../../contract/aws-names';
import { isRefreshEvent, REFRESH_EVENT } from '../../contract/refresh-event';
import { refreshFailureAlarmShape } from '../../lib/proactive-refresh';
import { brokerStack, config, errorThrownBy, logicalId, tokenBroker } from './helpers';

describe('proactive refresh schedule', () => {
  const { stack, template } = brokerStack();
  const tokenFunctionArn = { 'Fn::GetAtt': [logicalId(stack.broker.tokenFunction), 'Arn'] };

  it('invokes the token function every minute by default with the refresh event, exactly as the handler recognises it', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: tokenFunctionArn,
          Input: JSON.stringify(REFRESH_EVENT),
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        },
      ],
    });
    const [rule] = Object.values(template.findResources('AWS::Events::Rule', { Properties: { Targets: [{ Arn: tokenFunctionArn }] } }));
    expect(isRefreshEvent(JSON.parse(rule!.Properties.Targets[0].Input as string))).toBe(true);
  });

  it("is allowed to invoke the token function through the function's resource policy, for this rule only (no role to deny)", () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: tokenFunctionArn,
      SourceArn: { 'Fn::GetAtt': [logicalId(stack.broker.proactiveRefresh!.rule), 'Arn'] },
    });
    // The target takes no role: EventBridge Scheduler's would need lambda:InvokeFunction, which the guard denies.
    const [rule] = Object.values(template.findResources('AWS::Events::Rule', { Properties: { Targets: [{ Arn: tokenFunctionArn }] } }));
    expect(rule!.Properties.Targets[0]).not.toHaveProperty('RoleArn');
  });

  it('runs at the configured period, in minutes', () => {
    const { template: fiveMinutes } = brokerStack(config({ proactiveRefresh: { periodSeconds: 300 } }));
    fiveMinutes.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({ Input: JSON.stringify(REFRESH_EVENT), RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 } }),
      ],
    });
  });

  it('tells the token function it is on, and is absent when proactiveRefresh is false', () => {
    const env = template.toJSON().Resources[logicalId(stack.broker.tokenFunction)].Properties.Environment.Variables;
    expect(JSON.parse(env.BROKER_CONFIG as string)).toMatchObject({ proactiveRefresh: { periodSeconds: 60 } });

    const off = brokerStack(config({ proactiveRefresh: false }));
    expect(off.stack.broker.proactiveRefresh).toBeUndefined();
    expect(off.stack.broker.monitoring?.alarms.refreshFailures).toBeUndefined();
    const offEnv = off.template.toJSON().Resources[logicalId(off.stack.broker.tokenFunction)].Properties.Environment.Variables;
    expect(JSON.parse(offEnv.BROKER_CONFIG as string)).toMatchObject({ proactiveRefresh: false });
    expect(Object.values(off.template.findResources('AWS::Events::Rule')).map((rule) => rule.Properties.Targets[0].Arn)).not.toContainEqual(
      { 'Fn::GetAtt': [logicalId(off.stack.broker.tokenFunction), 'Arn'] },
    );
  });

  it('refuses a period that is not whole minutes, naming the field and the value', () => {
    expect(errorThrownBy(() => tokenBroker({ config: config({ proactiveRefresh: { periodSeconds: 45 } }) })).message).toMatch(
      /proactiveRefresh\.periodSeconds: .*received 45/,
    );
  });
});

describe('refreshFailures alarm', () => {
  const { stack, template } = brokerStack();

  it('fires when every run fails for a quarter of the shortest token servable life: two one-minute periods', () => {
    // Entra's shortest token: 600 s, margin capped at 150 s; a quarter of the 450 s it is servable is 112.5 s.
    expect(refreshFailureAlarmShape(60, 300)).toMatchObject({ evaluationPeriods: 2 });
    expect(refreshFailureAlarmShape(60, 300).period.toSeconds()).toBe(60);
    expect(refreshFailureAlarmShape(300, 300)).toMatchObject({ evaluationPeriods: 1 });
    // A margin of 0: the token is servable for its whole 600 s; 150 s is three one-minute runs.
    expect(refreshFailureAlarmShape(60, 0)).toMatchObject({ evaluationPeriods: 3 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC_NAMES.refreshFailures,
      Dimensions: [{ Name: METRICS_DEPLOYMENT_DIMENSION, Value: 'Broker/TokenBroker' }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('docs/operations-alarms.md#refresh-failures$'),
    });
    expect(stack.broker.monitoring?.alarms.refreshFailures).toBeDefined();
  });

  it('reads the same metrics as the metric methods', () => {
    const { broker } = stack;
    expect(broker.metricRefreshFailures().metricName).toBe('RefreshFailures');
    expect(broker.metricRefreshesAhead().metricName).toBe('RefreshesAhead');
    expect(broker.metricCallerWaits().metricName).toBe('CallerWaits');
    for (const metric of [broker.metricRefreshFailures(), broker.metricRefreshesAhead(), broker.metricCallerWaits()]) {
      expect(metric.dimensions).toStrictEqual({ [METRICS_DEPLOYMENT_DIMENSION]: 'Broker/TokenBroker' });
    }
  });
});
