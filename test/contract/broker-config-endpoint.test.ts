import { describe, expect, it } from 'vitest';
import { parseBrokerConfig, parseRuntimeConfig } from '../../contract/broker-config';
import { ConfigError } from '../../contract/config-error';

const minimal = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-4333-8444-555555555555',
  scopes: { graph: 'https://graph.microsoft.com/.default' },
};
const VPCE = 'vpce-0123456789abcdef0';
const OTHER_VPCE = 'vpce-0fedcba9876543210';

/** The problems of a configuration with this `endpoint`, one string each. */
function problemsOf(endpoint: unknown): string[] {
  try {
    parseBrokerConfig({ ...minimal, endpoint });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('endpoint', () => {
  it('is public when absent or {"type": "public"}', () => {
    expect(parseBrokerConfig(minimal).deployment.endpoint).toStrictEqual({ type: 'public' });
    expect(parseBrokerConfig({ ...minimal, endpoint: { type: 'public' } }).deployment.endpoint).toStrictEqual({ type: 'public' });
  });

  it('is private with the VPC endpoint ids given, in order', () => {
    const config = parseBrokerConfig({ ...minimal, endpoint: { type: 'private', vpcEndpointIds: [OTHER_VPCE, VPCE] } });
    expect(config.deployment.endpoint).toStrictEqual({ type: 'private', vpcEndpointIds: [OTHER_VPCE, VPCE] });
  });

  it('names the field and the value for every malformed id, duplicate, missing or misplaced list', () => {
    expect(problemsOf({ type: 'private', vpcEndpointIds: ['vpce-123', VPCE, VPCE, 'VPCE-0123456789ABCDEF0', 7] })).toStrictEqual([
      'endpoint.vpcEndpointIds[0]: expected "vpce-" and 17 lowercase hexadecimal digits (e.g. "vpce-0123456789abcdef0"), received "vpce-123"',
      `endpoint.vpcEndpointIds[2]: "${VPCE}" is listed twice`,
      'endpoint.vpcEndpointIds[3]: expected "vpce-" and 17 lowercase hexadecimal digits (e.g. "vpce-0123456789abcdef0"), received "VPCE-0123456789ABCDEF0"',
      'endpoint.vpcEndpointIds[4]: expected "vpce-" and 17 lowercase hexadecimal digits (e.g. "vpce-0123456789abcdef0"), received 7',
    ]);
    expect(problemsOf({ type: 'private', vpcEndpointIds: [] })).toStrictEqual([
      'endpoint.vpcEndpointIds: expected at least one interface VPC endpoint id for execute-api, e.g. ["vpce-0123456789abcdef0"], received []',
    ]);
    expect(problemsOf({ type: 'private' })[0]).toMatch(/^endpoint\.vpcEndpointIds: expected at least one .* received nothing$/);
    expect(problemsOf({ type: 'public', vpcEndpointIds: [VPCE] })).toStrictEqual([
      'endpoint.vpcEndpointIds: applies to {"type": "private"} only, received it with type "public"',
    ]);
  });

  it('refuses another type, another shape and unknown fields, naming what it received', () => {
    expect(problemsOf({ type: 'regional' })).toStrictEqual([
      'endpoint: expected {"type": "public"} or {"type": "private", "vpcEndpointIds": ["vpce-…"]}, received {"type":"regional"}',
    ]);
    expect(problemsOf('private')[0]).toMatch(/^endpoint: expected .* received "private"$/);
    expect(problemsOf({ type: 'private', vpcEndpointIds: [VPCE], vpcEndpointId: VPCE })[0]).toMatch(
      /^endpoint\.vpcEndpointId: .*vpcEndpointIds/,
    );
  });

  it("stays out of the token function's runtime configuration", () => {
    expect(() => parseRuntimeConfig({ ...minimal, endpoint: { type: 'public' } })).toThrow(/endpoint/);
  });
});
