import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../contract/config-error';
import { AppContextError, readAppContext } from '../../lib/app-context';
import { errorThrownBy, RAW_CONFIG, cdkJsonBrokerContext } from './helpers';
import { BAD_CONFIG, EVERY_BAD_FIELD } from './bad-config';

describe('readAppContext', () => {
  it('reads the example configuration shipped in cdk.json', () => {
    const { broker, azureToAws, githubActions } = readAppContext(new App({ context: { broker: cdkJsonBrokerContext() } }));
    expect(Object.keys(broker.scopes)).toEqual(['graph', 'storage']);
    expect(broker.tenantId).toBe('11111111-1111-1111-1111-111111111111');
    expect(azureToAws).toBeUndefined();
    expect(githubActions).toBeUndefined();
  });

  it("accepts the JSON string that -c broker='{...}' passes", () => {
    const { broker } = readAppContext(new App({ context: { broker: JSON.stringify(RAW_CONFIG) } }));
    expect(broker.clientId).toBe(RAW_CONFIG.clientId);
  });

  it('names every bad field, and where the configuration came from, in one error', () => {
    const call = () => readAppContext(new App({ context: { broker: BAD_CONFIG } }));
    expect(call).toThrow(AppContextError);
    expect(call).toThrow(/Invalid cdk\.json context 'broker'/);
    for (const problem of EVERY_BAD_FIELD) expect(call).toThrow(problem);
  });

  it('reports every bad key together, the optional ones too, each as its own ConfigError', () => {
    const error = errorThrownBy(() =>
      readAppContext(new App({ context: { broker: BAD_CONFIG, githubActions: { roles: { ci: { repository: '*' } } } } })),
    );
    if (!(error instanceof AppContextError)) throw new Error(`expected an AppContextError, got ${error.name}`);
    expect(error.errors.map((e) => e.source)).toEqual(["cdk.json context 'broker'", "cdk.json context 'githubActions'"]);
    expect(error.errors.every((e) => e instanceof ConfigError)).toBe(true);
    expect(error.message).toMatch(/roles\.ci\.repository: expected "owner\/name"/);
  });

  it('says how to provide a missing or unparsable configuration', () => {
    expect(() => readAppContext(new App())).toThrow(/missing: set "broker" under "context" in cdk\.json, or pass -c broker=/);
    expect(() => readAppContext(new App({ context: { broker: '{tenantId:' } }))).toThrow(
      /expected a JSON object, received text that is not JSON/,
    );
  });
});
