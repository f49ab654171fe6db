/** The events the local runtime hands the handlers carry their times as API Gateway writes them. */
import { describe, expect, it } from 'vitest';
import { apiGatewayEvent, clfTime, restApiEvent } from '../../../local/runtime/api-gateway-event';

describe('request times in API Gateway events', () => {
  it('writes the CLF time API Gateway puts in requestContext.time (HTTP API) and requestTime (REST API)', () => {
    const now = Date.UTC(2020, 2, 4, 19, 15, 17, 640);
    expect(apiGatewayEvent({ routeKey: 'GET /token/graph', rawPath: '/token/graph', now }).requestContext.time).toBe(
      '04/Mar/2020:19:15:17 +0000',
    );
    expect(restApiEvent({ resource: '/token/graph', path: '/token/graph', now }).requestContext.requestTime).toBe(
      '04/Mar/2020:19:15:17 +0000',
    );
  });

  it('pads day and time, spells every month, and moves on with the second', () => {
    expect(clfTime(Date.UTC(2026, 11, 3, 7, 5, 9))).toBe('03/Dec/2026:07:05:09 +0000');
    expect(clfTime(Date.UTC(2026, 11, 3, 7, 5, 9, 999))).toBe('03/Dec/2026:07:05:09 +0000');
    expect(clfTime(Date.UTC(2026, 11, 3, 7, 5, 10))).toBe('03/Dec/2026:07:05:10 +0000');
    const months = Array.from({ length: 12 }, (_, month) => clfTime(Date.UTC(2025, month, 28)).split('/')[1]);
    expect(months).toEqual(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']);
    // Back in time too (a test clock): the remembered second is not reused for another one.
    expect(clfTime(Date.UTC(1999, 0, 1, 0, 0, 0))).toBe('01/Jan/1999:00:00:00 +0000');
  });
});
