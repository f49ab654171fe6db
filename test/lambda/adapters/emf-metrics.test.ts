import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE } from '../../../contract/aws-names';
import { createEmfMetrics } from '../../../lambda/adapters/emf-metrics';

describe('createEmfMetrics', () => {
  it('writes one Embedded Metric Format line per event, with the deployment as a dimension', () => {
    const lines: string[] = [];
    createEmfMetrics('BrokerA', (line) => lines.push(line)).count('storeFailures');

    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          { Namespace: METRICS_NAMESPACE, Dimensions: [['Deployment']], Metrics: [{ Name: 'CacheStoreFailures', Unit: 'Count' }] },
        ],
      },
      Deployment: 'BrokerA',
      CacheStoreFailures: 1,
    });
  });
});
