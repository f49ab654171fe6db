import type { Construct } from 'constructs';
import { validateBrokerConfig, type BrokerConfigInput } from '../contract/broker-config';
import { ConfigError } from '../contract/config-error';

export const BROKER_CONTEXT_KEY = 'broker';
const SOURCE = `cdk.json context '${BROKER_CONTEXT_KEY}'`;

/**
 * Reads the broker configuration from the CDK context: `context.broker` in cdk.json, or `-c broker='{...}'` on
 * the command line (which arrives as a JSON string). It is validated here, so a mistake is reported against
 * cdk.json; the TokenBroker construct validates it again as its own input.
 * @throws ConfigError naming every bad field and the value received, so synth fails with one message
 */
export function brokerConfigFromContext(scope: Construct): BrokerConfigInput {
  let raw: unknown = scope.node.tryGetContext(BROKER_CONTEXT_KEY);
  if (raw === undefined) {
    throw new ConfigError(SOURCE, [
      `missing: set "${BROKER_CONTEXT_KEY}" under "context" in cdk.json, or pass -c ${BROKER_CONTEXT_KEY}='{"tenantId": ..., "clientId": ..., "scopes": {...}}'`,
    ]);
  }
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw new ConfigError(SOURCE, [`expected a JSON object, received text that is not JSON (${(error as Error).message})`]);
    }
  }
  const validation = validateBrokerConfig(raw);
  if (validation.config === undefined) throw new ConfigError(SOURCE, validation.problems);
  return raw as BrokerConfigInput;
}
