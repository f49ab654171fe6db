/**
 * The second rule set at synth: AWS Control Tower's proactive controls through cfn-guard (a child process, hence an
 * integration test). A finding fails synth unless a construct acknowledges it with a reason.
 */
import { readFileSync } from 'node:fs';
import { Stack, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { BrokerStack } from '../../lib/broker-stack';
import { CONTROL_TOWER_RULES } from '../../lib/control-tower-rules';
import { controlTowerValidator } from '../../lib/control-tower-validator';
import { TokenBroker } from '../../lib/token-broker';
import { config, newApp } from './helpers';

interface Report {
  pluginReports: Array<{
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations?: Array<{ description: string; reason: string; violatingConstructs: Array<{ constructPath: string }> }>;
  }>;
}

/** Synthesizes with the plugin; returns the report, or throws the validation failure (an in-memory app throws it). */
function synthWithControlTower(build: (app: ReturnType<typeof newApp>) => void): Report {
  const app = newApp();
  Validations.of(app).addPlugins(controlTowerValidator());
  build(app);
  const assembly = app.synth();
  return JSON.parse(readFileSync(`${assembly.directory}/validation-report.json`, 'utf8')) as Report;
}

const controlOf = (description: string) => /^\[(CT\.[A-Z0-9-]+\.PR\.\d+)\]/.exec(description)?.[1];

describe('Control Tower controls at synth', { timeout: 120_000 }, () => {
  it('passes the broker stack: CT.KMS.PR.3 fixed on both keys, the rest acknowledged with reasons', () => {
    // The public endpoint, and the private one (its REST API's execution logging, CT.APIGATEWAY.PR.1): together they
    // acknowledge every control the broker lists.
    const privateEndpoint = { endpoint: { type: 'private' as const, vpcEndpointIds: ['vpce-0123456789abcdef0'] } };
    const acknowledged = [config(), config(privateEndpoint)].flatMap((brokerConfig) => {
      const report = synthWithControlTower((app) => new BrokerStack(app, 'Broker', { config: brokerConfig }));
      const [guard] = report.pluginReports.filter((r) => r.pluginName === 'cdk-validator-cfnguard');
      expect(guard).toMatchObject({ conclusion: 'success', violations: [] });
      return guard!.suppressedViolations ?? [];
    });
    const controls = new Set(acknowledged.map((v) => controlOf(v.description)));
    expect([...controls].sort()).toEqual(Object.keys(CONTROL_TOWER_RULES).sort());
    expect(controls.has('CT.KMS.PR.3')).toBe(false);
    for (const violation of acknowledged) expect(violation.reason).toMatch(new RegExp(`^${controlOf(violation.description)}: .{40,}`));
  });

  it('needs no acknowledgement for alarms once they notify a topic', () => {
    const report = synthWithControlTower((app) => {
      const stack = new Stack(app, 'Stack');
      new TokenBroker(stack, 'Broker', { config: config(), monitoring: { alarmTopic: new sns.Topic(stack, 'Topic') } });
    });
    const acknowledged = report.pluginReports.flatMap((r) => r.suppressedViolations ?? []);
    expect(acknowledged.map((v) => controlOf(v.description))).not.toContain('CT.CLOUDWATCH.PR.1');
  });

  it('fails synth on an unacknowledged finding: a KMS key that lets anyone create grants', () => {
    expect(() =>
      synthWithControlTower((app) => {
        new kms.Key(new Stack(app, 'Plain'), 'Key', { enableKeyRotation: true });
      }),
    ).toThrow(/CT\.KMS\.PR\.3[\s\S]*Plain\/Key/);
  });
});
