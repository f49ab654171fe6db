/**
 * The broker's metrics on Powertools Metrics: Embedded Metric Format lines, which CloudWatch Logs turns into
 * metrics with no API call and no extra permission. Namespace and the one dimension come from the contract
 * (contract/aws-names.ts), so the alarms find them.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricsOptions } from '@aws-lambda-powertools/metrics/types';
import type { MiddlewareObj } from '@middy/core';
import {
  ACTIVE_KEY_AGE_METRIC,
  METRICS_DEPLOYMENT_DIMENSION,
  METRICS_NAMESPACE,
  METRIC_NAMES,
  type MetricEvent,
} from '../../contract/aws-names';
import type { BrokerMetrics, RotatorMetrics } from '../core/ports';
import { stdoutSink, type LogSink } from './powertools-logger';

/**
 * Powertools Metrics writing through a sink instead of its private `Console`, and silent when there is nothing
 * to publish (Powertools warns on every empty flush; a cache hit must neither pay for nor print that).
 */
export class SinkMetrics extends Metrics {
  constructor(
    options: MetricsOptions,
    private readonly sink: LogSink = stdoutSink,
  ) {
    super(options);
  }

  override publishStoredMetrics(): this {
    if (!this.hasStoredMetrics()) return this;
    try {
      if (!this.isDisabled()) this.sink(JSON.stringify(this.serializeMetrics()));
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}

export interface PowertoolsBrokerMetricsOptions {
  /** The deployment's name (`BROKER_DEPLOYMENT`): the `Deployment` dimension. */
  readonly deployment: string;
  /** Where the EMF lines go. @default stdoutSink */
  readonly sink?: LogSink;
  /** Where Powertools' own warnings about metrics go, e.g. the broker's logger. @default - Powertools' console */
  readonly logger?: MetricsOptions['logger'];
}

/**
 * `BrokerMetrics` on Powertools: counts are kept until `flush`, which publishes them as one EMF line, and only
 * when something was counted.
 *
 * The only dimension is `Deployment` (Powertools' default `service` dimension is left off): CloudWatch knows a
 * metric by its full dimension set, and the alarms look the broker's metrics up by namespace, name and
 * `Deployment` alone (contract/aws-names.ts). The service name is on every log line instead.
 */
export class PowertoolsBrokerMetrics implements BrokerMetrics {
  readonly metrics: SinkMetrics;
  /** A plain flag rather than `metrics.hasStoredMetrics()`, which reads the environment: flush runs on every invocation. */
  private pending = false;

  constructor(options: PowertoolsBrokerMetricsOptions) {
    this.metrics = new SinkMetrics({ namespace: METRICS_NAMESPACE, ...(options.logger ? { logger: options.logger } : {}) }, options.sink);
    this.metrics.clearDefaultDimensions();
    this.metrics.setDefaultDimensions({ [METRICS_DEPLOYMENT_DIMENSION]: options.deployment });
  }

  count(event: MetricEvent): void {
    this.metrics.addMetric(METRIC_NAMES[event], MetricUnit.Count, 1);
    this.pending = true;
  }

  /** Something was added to `metrics` directly: the next flush publishes it. */
  markPending(): void {
    this.pending = true;
  }

  /** Publishes what was counted since the last flush, as one EMF line; nothing at all when nothing was. */
  flush(): void {
    if (!this.pending) return;
    this.pending = false;
    this.metrics.publishStoredMetrics();
  }

  /** Flushes once per invocation, after the handler, whether it answered or threw. */
  middleware(): MiddlewareObj {
    const flush = () => {
      this.flush();
    };
    return { after: flush, onError: flush };
  }
}

/** The rotator's metrics (`RotatorMetrics`) as EMF lines, with the `Deployment` dimension. */
export class PowertoolsRotatorMetrics implements RotatorMetrics {
  private readonly broker: PowertoolsBrokerMetrics;

  constructor(options: PowertoolsBrokerMetricsOptions) {
    this.broker = new PowertoolsBrokerMetrics(options);
  }

  count(event: MetricEvent): void {
    this.broker.count(event);
  }

  activeKeyAge(seconds: number): void {
    this.broker.metrics.addMetric(ACTIVE_KEY_AGE_METRIC, MetricUnit.Seconds, seconds);
    this.broker.markPending();
  }

  flush(): void {
    this.broker.flush();
  }
}
