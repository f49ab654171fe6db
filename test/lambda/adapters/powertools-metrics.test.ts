import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '../../../contract/aws-names';
import { PowertoolsBrokerMetrics } from '../../../lambda/adapters/powertools-metrics';
import { lambdaContext } from '../../support/http-events';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

function setup() {
  const lines: string[] = [];
  const warnings: unknown[] = [];
  const record = (...content: unknown[]) => void warnings.push(content);
  const metrics = new PowertoolsBrokerMetrics({
    deployment: 'BrokerStack/Broker',
    sink: (line) => lines.push(line),
    logger: { debug: record, info: record, warn: record, error: record },
  });
  return { metrics, lines, warnings, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'aws-azure-token-broker');
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('PowertoolsBrokerMetrics', () => {
  it('publishes what was counted as one EMF line, in the contract namespace, with Deployment as the only dimension', () => {
    const { metrics, entries } = setup();
    metrics.count('storeFailures');
    metrics.count('exchanges');
    metrics.count('storeFailures');
    metrics.flush();
    expect(entries()).toStrictEqual([
      {
        _aws: {
          Timestamp: T0,
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [['Deployment']],
              Metrics: [
                { Name: 'CacheStoreFailures', Unit: 'Count' },
                { Name: 'EntraExchanges', Unit: 'Count' },
              ],
            },
          ],
        },
        Deployment: 'BrokerStack/Broker',
        CacheStoreFailures: [1, 1],
        EntraExchanges: 1,
      },
    ]);
  });

  it('writes nothing, not even a warning, when nothing was counted; counts start afresh after a flush', () => {
    const { metrics, lines, warnings, entries } = setup();
    metrics.flush();
    metrics.metrics.publishStoredMetrics(); // Powertools' own flush, as its logMetrics middleware would call it
    metrics.flush();
    metrics.flush();
    expect(lines).toStrictEqual([]);
    metrics.count('leaseWaits');
    metrics.flush();
    metrics.flush();
    metrics.count('staleServed');
    metrics.flush();
    expect(entries().map(({ _aws, Deployment: _deployment, ...values }) => values)).toStrictEqual([
      { RefreshLeaseWaits: 1 },
      { StaleTokensServed: 1 },
    ]);
    expect(warnings).toStrictEqual([]);
  });

  it('flushes once per invocation through its middleware, whether the handler answers or throws', async () => {
    const { metrics, entries } = setup();
    const handler = middy(async (event: { count: boolean; fail: boolean }) => {
      if (event.count) metrics.count(event.fail ? 'upstreamUnavailable' : 'exchanges');
      if (event.fail) throw new Error('boom');
      return 'ok';
    }).use(metrics.middleware());
    await handler({ count: true, fail: false }, lambdaContext());
    await handler({ count: false, fail: false }, lambdaContext());
    await expect(handler({ count: true, fail: true }, lambdaContext())).rejects.toThrow('boom');
    expect(entries().map(({ _aws, Deployment: _deployment, ...values }) => values)).toStrictEqual([
      { EntraExchanges: 1 },
      { UpstreamUnavailable: 1 },
    ]);
  });
});
