import type { BrokerEnvName } from '../../contract/environment';
import { checkIssuerUrl } from '../../contract/url-policy';

/**
 * Reads a required environment variable (names in contract/environment.ts).
 * @throws Error "NAME is not set" — a deployment fault, surfaced at cold start
 */
export function requireEnv(name: BrokerEnvName): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/**
 * Reads the issuer URL and checks it against the one issuer policy (contract/url-policy.ts).
 * @throws Error naming the variable and the value when it is unset or breaks the policy
 */
export function requireIssuer(name: BrokerEnvName): string {
  const check = checkIssuerUrl(requireEnv(name));
  if (!check.ok) throw new Error(`${name}: ${check.problem}`);
  return check.value;
}
