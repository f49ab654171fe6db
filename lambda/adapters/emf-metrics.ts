import { METRICS_DEPLOYMENT_DIMENSION, METRICS_NAMESPACE, METRIC_NAMES } from '../../contract/aws-names';
import type { BrokerMetrics } from '../core/ports';

/**
 * Broker events as CloudWatch metrics in Embedded Metric Format: one log line per event, which CloudWatch
 * Logs turns into a metric with no API call and no extra permission. Every metric carries the deployment's
 * name as a dimension, so two stacks in one account keep their own figures.
 */
export function createEmfMetrics(
  deployment: string,
  write: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
): BrokerMetrics {
  return {
    count(event) {
      const name = METRIC_NAMES[event];
      write(
        JSON.stringify({
          _aws: {
            Timestamp: Date.now(),
            CloudWatchMetrics: [
              { Namespace: METRICS_NAMESPACE, Dimensions: [[METRICS_DEPLOYMENT_DIMENSION]], Metrics: [{ Name: name, Unit: 'Count' }] },
            ],
          },
          [METRICS_DEPLOYMENT_DIMENSION]: deployment,
          [name]: 1,
        }),
      );
    },
  };
}
