import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../contract/config-error';
import { brokerConfigFromContext } from '../../lib/broker-context';
import { BAD_CONFIG, EVERY_BAD_FIELD } from './bad-config';
import { RAW_CONFIG, cdkJsonBrokerContext } from './helpers';

describe('brokerConfigFromContext', () => {
  it('reads the example configuration shipped in cdk.json', () => {
    const config = brokerConfigFromContext(new App({ context: { broker: cdkJsonBrokerContext() } }));
    expect(Object.keys(config.scopes)).toEqual(['graph', 'storage']);
    expect(config.tenantId).toBe('11111111-1111-1111-1111-111111111111');
  });

  it("accepts the JSON string that -c broker='{...}' passes", () => {
    const config = brokerConfigFromContext(new App({ context: { broker: JSON.stringify(RAW_CONFIG) } }));
    expect(config.clientId).toBe(RAW_CONFIG.clientId);
  });

  it('names every bad field, and where the configuration came from, in one error', () => {
    const call = () => brokerConfigFromContext(new App({ context: { broker: BAD_CONFIG } }));
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(/Invalid cdk\.json context 'broker'/);
    for (const problem of EVERY_BAD_FIELD) expect(call).toThrow(problem);
  });

  it('says how to provide a missing or unparsable configuration', () => {
    expect(() => brokerConfigFromContext(new App())).toThrow(/missing: set "broker" under "context" in cdk\.json, or pass -c broker=/);
    expect(() => brokerConfigFromContext(new App({ context: { broker: '{tenantId:' } }))).toThrow(
      /expected a JSON object, received text that is not JSON/,
    );
  });
});
