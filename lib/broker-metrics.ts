/**
 * The broker's own CloudWatch metrics, defined once: TokenBroker's `metric…()` methods return them, and
 * BrokerMonitoring's alarms and dashboard are built from those methods.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  ACTIVE_KEY_AGE_METRIC,
  METRICS_DEPLOYMENT_DIMENSION,
  METRICS_NAMESPACE,
  METRIC_NAMES,
  type MetricEvent,
} from '../contract/aws-names';

/**
 * Every alarm looks at 5-minute sums or percentiles: short enough to page within minutes of an outage, long
 * enough that a handful of requests make one datapoint at the low traffic a token broker sees (callers cache
 * their tokens for most of an hour).
 */
export const ALARM_PERIOD = Duration.minutes(5);

/** The rotator reports the active key's age once per run; an hour's maximum tells a stalled rotation from a late run. */
export const KEY_AGE_PERIOD = Duration.hours(1);

/**
 * One of the functions' counts (EMF, unit Count) for one deployment: summed over `ALARM_PERIOD` unless `options` say
 * otherwise. Its one dimension is the deployment's name, as the functions emit it.
 */
export function brokerCountMetric(deploymentName: string, event: MetricEvent, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: METRIC_NAMES[event],
    dimensionsMap: { [METRICS_DEPLOYMENT_DIMENSION]: deploymentName },
    statistic: 'Sum',
    period: ALARM_PERIOD,
    ...options,
  });
}

/** Seconds since the active signing key started signing, as the rotator reports it: the hourly maximum unless `options` say otherwise. */
export function activeKeyAgeMetric(deploymentName: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: ACTIVE_KEY_AGE_METRIC,
    dimensionsMap: { [METRICS_DEPLOYMENT_DIMENSION]: deploymentName },
    statistic: 'Maximum',
    period: KEY_AGE_PERIOD,
    ...options,
  });
}
