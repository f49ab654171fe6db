import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { BrokerConfigInput } from '../../contract/broker-config';
import { BrokerStack } from '../../lib/broker-stack';
import type { KmsIssuer } from '../../lib/kms-issuer';
import { TokenBroker } from '../../lib/token-broker';
import type { TokenBrokerProps } from '../../lib/token-broker-props';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** cdk.json's context without the broker config: the feature flags `cdk synth` runs with. */
export function cdkJsonFlags(): Record<string, unknown> {
  const { context } = JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, 'utf8')) as { context: Record<string, unknown> };
  const { broker: _broker, ...flags } = context;
  return flags;
}

/** The example configuration shipped in cdk.json. */
export function cdkJsonBrokerContext(): unknown {
  return (JSON.parse(readFileSync(`${REPO_ROOT}cdk.json`, 'utf8')) as { context: { broker: unknown } }).context.broker;
}

export const RAW_CONFIG = {
  tenantId: '11111111-1111-1111-1111-111111111111',
  clientId: '22222222-2222-2222-2222-222222222222',
  scopes: {
    graph: 'https://graph.microsoft.com/.default',
    storage: 'https://storage.azure.com/.default',
  },
} as const;

/** The configuration as written in cdk.json, with `overrides`; the construct validates it. */
export function config(overrides: Record<string, unknown> = {}): BrokerConfigInput {
  return { ...RAW_CONFIG, ...overrides };
}

/** An app with cdk.json's feature flags and bundling off (template tests need no asset). */
export function newApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonFlags(), 'aws:cdk:bundling-stacks': [], ...context } });
}

export function brokerStack(brokerConfig: BrokerConfigInput = config(), app: App = newApp()): { stack: BrokerStack; template: Template } {
  const stack = new BrokerStack(app, 'Broker', { config: brokerConfig });
  return { stack, template: Template.fromStack(stack) };
}

/** A bare stack holding one TokenBroker, for prop-level tests. */
export function tokenBroker(props: Partial<TokenBrokerProps> = {}): { stack: Stack; broker: TokenBroker; template: () => Template } {
  const stack = new Stack(newApp(), 'Stack');
  const broker = new TokenBroker(stack, 'Broker', { config: config(), ...props });
  return { stack, broker, template: () => Template.fromStack(stack) };
}

/** The broker's `kms` signer parts; throws (failing the test) when the broker has another signer. */
export function kmsIssuerOf(broker: TokenBroker): KmsIssuer {
  const { signer } = broker;
  if (signer.kind !== 'kms') throw new Error(`expected signer "kms", the broker has "${signer.kind}"`);
  return signer;
}

/** The error `call` throws; throws itself (failing the test) when `call` returns. */
export function errorThrownBy(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, and it returned');
}

/** The logical id of a construct's CloudFormation resource; throws (failing the test) when there is no such construct. */
export function logicalId(resource: { node: { defaultChild?: unknown } } | undefined): string {
  if (resource === undefined)
    throw new Error('expected the construct to exist (an HTTP API is absent only with a private endpoint and signer aws-sts)');
  const child = resource.node.defaultChild as CfnResource;
  return child.stack.getLogicalId(child);
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Every IAM policy statement in the template, with the logical ids of the roles it is attached to. */
export function policyStatements(template: Template): Array<{ roles: string[]; statement: Statement }> {
  const policies = template.findResources('AWS::IAM::Policy') as Record<
    string,
    { Properties: { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Statement[] } } }
  >;
  return Object.values(policies).flatMap((policy) =>
    policy.Properties.PolicyDocument.Statement.map((statement) => ({
      roles: policy.Properties.Roles.map((role) => role.Ref),
      statement,
    })),
  );
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}
