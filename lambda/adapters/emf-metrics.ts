import type { CacheMetrics } from '../core/token-cache';

export const METRICS_NAMESPACE = 'AwsAzureTokenBroker';

const METRIC_NAMES = {
  exchanges: 'EntraExchanges',
  staleServed: 'StaleTokensServed',
  leaseWaits: 'RefreshLeaseWaits',
  storeFailures: 'CacheStoreFailures',
} as const;

/**
 * Cache events as CloudWatch metrics in Embedded Metric Format: one log line per event, which CloudWatch
 * Logs turns into a metric with no API call and no extra permission. `EntraExchanges` is the load the
 * broker puts on Entra; `CacheStoreFailures` counts degraded operation without DynamoDB.
 */
export function createEmfMetrics(write: (line: string) => void = (line) => void process.stdout.write(`${line}\n`)): CacheMetrics {
  return {
    count(event) {
      const name = METRIC_NAMES[event];
      write(
        JSON.stringify({
          _aws: {
            Timestamp: Date.now(),
            CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[]], Metrics: [{ Name: name, Unit: 'Count' }] }],
          },
          [name]: 1,
        }),
      );
    },
  };
}
