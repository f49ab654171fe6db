import { describe, expect, it } from 'vitest';
import { createEmfMetrics, METRICS_NAMESPACE } from '../../../lambda/adapters/emf-metrics';

describe('createEmfMetrics', () => {
  it('writes one Embedded Metric Format line per event, which CloudWatch turns into a Count metric', () => {
    const lines: string[] = [];
    createEmfMetrics((line) => lines.push(line)).count('storeFailures');

    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[]], Metrics: [{ Name: 'CacheStoreFailures', Unit: 'Count' }] }],
      },
      CacheStoreFailures: 1,
    });
  });
});
