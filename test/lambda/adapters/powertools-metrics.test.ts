import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '../../../contract/aws-names';
import { createObservability } from '../../../lambda/adapters/observability';
import { lambdaContext } from '../../support/http-events';
import { captureLogs } from '../../support/log-capture';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'aws-azure-token-broker');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', '');
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

/** A handler wrapped as the JWKS and rotator functions are, counting what the event says. */
function counting() {
  const logs = captureLogs();
  const { metrics, middlewares } = createObservability({ route: 'rotator', deployment: 'BrokerStack/Broker' });
  const handler = middy(async (event: { counts: readonly ('storeFailures' | 'exchanges')[]; age?: number; fail?: boolean }) => {
    for (const name of event.counts) metrics.count(name);
    if (event.age !== undefined) metrics.activeKeyAge(event.age);
    if (event.fail) throw new Error('boom');
    return 'ok';
  }).use([...middlewares]);
  return { handler, logs };
}

describe('metrics (Powertools Metrics and logMetrics)', () => {
  it('publishes what an invocation counted as one EMF line, in the contract namespace, with Deployment as the only dimension', async () => {
    const { handler, logs } = counting();
    await handler({ counts: ['storeFailures', 'exchanges', 'storeFailures'], age: 90 }, lambdaContext());
    expect(logs.metricEntries()).toStrictEqual([
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
                { Name: 'ActiveSigningKeyAge', Unit: 'Seconds' },
              ],
            },
          ],
        },
        Deployment: 'BrokerStack/Broker',
        CacheStoreFailures: [1, 1],
        EntraExchanges: 1,
        ActiveSigningKeyAge: 90,
      },
    ]);
  });

  it('publishes at the end of every invocation, failed ones included, and writes nothing (not even a warning) when nothing was counted', async () => {
    const { handler, logs } = counting();
    await handler({ counts: ['exchanges'] }, lambdaContext());
    await handler({ counts: [] }, lambdaContext());
    await expect(handler({ counts: ['storeFailures'], fail: true }, lambdaContext())).rejects.toThrow('boom');
    expect(logs.metricEntries().map(({ _aws, Deployment: _deployment, ...values }) => values)).toStrictEqual([
      { EntraExchanges: 1 },
      { CacheStoreFailures: 1 },
    ]);
    expect(logs.entries()).toStrictEqual([]);
  });
});
