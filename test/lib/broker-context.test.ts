import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../contract/config-error';
import { brokerConfigFromContext } from '../../lib/broker-context';
import { REPO_ROOT, RAW_CONFIG, cdkJsonBrokerContext } from './helpers';

const BAD = {
  tenantId: 'common',
  clientId: 'not-a-guid',
  scopes: { Graph: 'https://graph.microsoft.com/.default', storage: 'https://storage.azure.com' },
  assertionLifetimeSeconds: 3600,
  colour: 'blue',
};
const EVERY_BAD_FIELD = [
  /colour: unknown field/,
  /tenantId: "common" is not a tenant/,
  /clientId: expected a GUID.*received "not-a-guid"/,
  /assertionLifetimeSeconds: expected an integer from 60 to 600, received 3600/,
  /scopes: alias "Graph" must match/,
  /scopes\.storage: expected one "<resource>\/\.default" scope.*received "https:\/\/storage\.azure\.com"/,
];

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
    const call = () => brokerConfigFromContext(new App({ context: { broker: BAD } }));
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

  it('fails the CDK app itself (what cdk synth runs) with every bad field', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'broker-synth-'));
    try {
      // The CLI hands context to the app in CDK_CONTEXT_JSON; this is what `cdk synth -c broker=...` does.
      const result = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ broker: BAD }), CDK_OUTDIR: outdir },
      });
      expect(result.status).not.toBe(0);
      for (const problem of EVERY_BAD_FIELD) expect(result.stderr).toMatch(problem);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
