/**
 * The broker's metrics on stock Powertools Metrics: Embedded Metric Format lines, which CloudWatch Logs turns into
 * metrics with no API call and no extra permission, published once per invocation by Powertools' `logMetrics`
 * middleware. Namespace and the one dimension come from the contract (contract/aws-names.ts), so the alarms find them.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  ACTIVE_KEY_AGE_METRIC,
  METRICS_DEPLOYMENT_DIMENSION,
  METRICS_NAMESPACE,
  METRIC_NAMES,
  type MetricEvent,
} from '../../contract/aws-names';
import type { RotatorMetrics } from '../core/ports';

export interface BrokerMetricsOptions {
  /** The deployment's name (`BROKER_DEPLOYMENT`): the `Deployment` dimension. */
  readonly deployment: string;
  /** Where Powertools Metrics' own notices go (the function's logger). @default - Powertools' console */
  readonly logger?: Logger;
}

/**
 * Powertools Metrics for one function of a deployment. The only dimension is `Deployment` (Powertools' default
 * `service` dimension is left off): CloudWatch knows a metric by its full dimension set, and the alarms look the
 * broker's metrics up by namespace, name and `Deployment` alone. The service name is on every log line instead.
 *
 * Powertools warns on every invocation that publishes nothing ("No application metrics to publish"): every memory hit
 * of the token route. Its notices therefore go to the logger's debug level.
 */
export function createBrokerMetrics(options: BrokerMetricsOptions): Metrics {
  const { logger } = options;
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    ...(logger
      ? {
          logger: {
            debug: (...content: unknown[]) => logger.debug(String(content[0])),
            info: (...content: unknown[]) => logger.debug(String(content[0])),
            warn: (...content: unknown[]) => logger.debug(String(content[0])),
            error: (...content: unknown[]) => logger.error(String(content[0])),
          },
        }
      : {}),
  });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ [METRICS_DEPLOYMENT_DIMENSION]: options.deployment });
  return metrics;
}

/** The metric ports (`BrokerMetrics`, `RotatorMetrics`) on Powertools Metrics. */
export class PowertoolsMetricsPort implements RotatorMetrics {
  constructor(private readonly metrics: Metrics) {}

  count(event: MetricEvent): void {
    this.metrics.addMetric(METRIC_NAMES[event], MetricUnit.Count, 1);
  }

  activeKeyAge(seconds: number): void {
    this.metrics.addMetric(ACTIVE_KEY_AGE_METRIC, MetricUnit.Seconds, seconds);
  }
}
