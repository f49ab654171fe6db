/**
 * The TokenBroker construct's props and their validation: every problem is collected and named with the value
 * received, unresolved tokens are skipped, and the configuration (JSON from cdk.json) is validated here rather than
 * trusted. What the prop types already say, the compiler checks; this checks what they cannot (formats, ranges, pairs).
 */
import { Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { allowedCallersProblems, type AllowedCallers } from '../contract/allowed-callers';
import { validateBrokerConfig, type BrokerConfig, type BrokerConfigInput } from '../contract/broker-config';
import { ConfigError, describeValue } from '../contract/config-error';
import type { LogLevelName } from '../contract/environment';
import { checkIssuerUrl } from '../contract/url-policy';
import type { BrokerMonitoringOptions } from './broker-monitoring';

export interface TokenBrokerProps {
  /**
   * The broker configuration as written in cdk.json's `context.broker` (README, "Configure"); validated
   * here, with defaults applied.
   */
  readonly config: BrokerConfigInput;
  /**
   * The issuer URL: the `iss` of every client assertion and the base of the discovery document. Must be
   * `https://`, with no trailing slash, and route to this API (e.g. a custom domain you map to `stage`). With signer
   * `aws-sts` AWS is the issuer, and this is only the base URL of the token routes (`tokenUrl`, the outputs). With a
   * private endpoint it names the public HTTP API only (discovery and JWKS), and is refused with `aws-sts`.
   * @default - the API's default endpoint, `https://{apiId}.execute-api.{region}.amazonaws.com`
   */
  readonly issuer?: string;
  /**
   * The active signing key: an asymmetric RSA_2048 SIGN_VERIFY KMS key whose policy lets IAM policies in
   * this account grant access. Its key policy is left as it is: add the algorithm-pinning deny and the deny of
   * `kms:Sign` to every principal but the token function's role yourself (docs/security.md).
   * @default - a new RSA_2048 SIGN_VERIFY key, retained on stack deletion, whose policy lets only the token
   * function's role sign, only RS256 (signer `kms`; refused with `aws-sts`)
   */
  readonly signingKey?: kms.IKey;
  /**
   * Further keys published in the JWKS but not used to sign: the next key before a rotation, or the
   * previous one until assertions signed with it have expired.
   * @default - only the signing key is published
   */
  readonly publishedKeys?: kms.IKey[];
  /**
   * The token cache table: partition key `pk` (String), TTL attribute `ttl`. Its items are sealed with
   * `tokenCacheKey`, so the table's own encryption protects nothing the seal does not. With signer `kms` it also holds
   * the rotation state, from which the JWKS is served: the construct puts its resource policy (item writes by the
   * broker's roles only, the state item by the rotator only) on a table of this app, and refuses an imported one,
   * whose policy it cannot edit, unless `tokenCacheTableProtectedExternally` says you put those statements there.
   * @default - a new on-demand table, AWS-managed encryption, destroyed with the stack, with that resource policy
   */
  readonly tokenCacheTable?: dynamodb.ITable;
  /**
   * Acknowledges that the imported `tokenCacheTable`'s resource policy is yours to keep: the construct cannot add the
   * statements that keep its items to the broker's roles and its rotation state item to the key rotator
   * (docs/security.md, "An imported table"). Without them, whoever may write the table can delete the rotation state
   * or put back an older one the rotator wrote (the MAC still refuses any state the rotator did not write), and delete,
   * replay or block cached tokens. Signer `kms` only; with `aws-sts` an imported table is accepted as it is.
   * @default false - an imported tokenCacheTable with signer `kms` fails synth, naming the statements to add
   */
  readonly tokenCacheTableProtectedExternally?: boolean;
  /**
   * Who deploys the stack, as an `aws:PrincipalArn` pattern: the table's resource policy lets only these principals
   * change the table or its policy (CloudFormation does, on every update of them), and the `DirectInvocationGuardPolicy`
   * output excepts them. Set it when you deploy with another role than the CDK bootstrap's; a deployment by a principal
   * it does not match cannot update the table's policy afterwards (only the account root can then delete it).
   * @default - the CDK bootstrap's CloudFormation execution roles, `arn:{partition}:iam::{account}:role/cdk-*-cfn-exec-role-*`
   */
  readonly deployRoleArnPattern?: string;
  /**
   * The symmetric ENCRYPT_DECRYPT KMS key whose data keys seal the cached tokens. Its key policy is left as it is:
   * deny its data-key actions to every principal but the token function's role yourself (docs/security.md).
   * @default - a new key, rotated yearly, destroyed with the stack, whose policy lets only the token function's role use it
   */
  readonly tokenCacheKey?: kms.IKey;
  /**
   * Retention of the functions' logs and the API access log.
   * @default logs.RetentionDays.ONE_YEAR - the access log is the audit trail of who obtained which token
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Defense in depth on top of IAM. HTTP APIs accept any IAM principal whose own policy allows the route
   * and have no resource policy, so this restriction is enforced by the token function from the IAM
   * authorizer context (`accountId`, `principalOrgId`). A caller must satisfy every list given. With a private
   * endpoint the REST API's resource policy also admits these accounts and organizations (besides the deploying
   * account), whose own IAM policies must then allow the method.
   * @default - any principal whose IAM policy allows the route
   */
  readonly allowedCallers?: AllowedCallers;
  /**
   * CloudWatch alarms (token function errors and throttles, API 5xx, token latency, Entra rejections, upstream
   * outages, foreign invocations, rejected cache items; with signer `kms` public-route errors, key rotation failures,
   * the signing key's age and rejected rotation states) and a dashboard, as lib/broker-monitoring.ts describes; `false`
   * creates neither, and the construct's `metric…()` methods give the same metrics for alarms of your own.
   * Operators' guide: docs/operations-alarms.md.
   * @default - the alarms with their default thresholds and no actions, and the dashboard
   */
  readonly monitoring?: BrokerMonitoringOptions | false;
  /**
   * The functions' log level (`POWERTOOLS_LOG_LEVEL`): `DEBUG` adds the cache's and the handlers' detail. The
   * audit trail (docs/operations-audit.md) is written at every level.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevelName;
}

/** Lambda's limit on a function's environment (all names and values together). */
const MAX_ENVIRONMENT_BYTES = 4096;
/** What an unresolved token (an ARN, the API endpoint) is assumed to take in the environment. */
const UNRESOLVED_TOKEN_ESTIMATE = 100;

/**
 * Validates the props, the configuration among them.
 * @returns the configuration with defaults applied
 * @throws ConfigError naming every bad prop and the value received
 */
export function validateTokenBrokerProps(props: TokenBrokerProps, path: string): BrokerConfig {
  const problems: string[] = [];
  const validation = validateBrokerConfig(props.config);
  problems.push(...validation.problems.map((problem) => `config.${problem}`));
  if (validation.config?.runtime.signer === 'aws-sts') {
    // AWS holds the signing keys: keys of ours would be neither used nor published.
    for (const name of ['signingKey', 'publishedKeys'] as const) {
      if (props[name] !== undefined)
        problems.push(`${name}: applies to signer "kms" only; with signer "aws-sts" AWS STS signs the assertions, remove it`);
    }
  }

  const { issuer } = props;
  const runtime = validation.config?.runtime;
  if (issuer !== undefined && runtime?.signer === 'aws-sts' && validation.config?.deployment.endpoint.type === 'private') {
    problems.push(
      'issuer: with signer "aws-sts" and a private endpoint nothing is public (AWS is the issuer, the token routes are on the private REST API); remove it',
    );
  }
  if (issuer !== undefined && !Token.isUnresolved(issuer)) {
    const check = checkIssuerUrl(issuer);
    if (!check.ok) problems.push(`issuer: ${check.problem}`);
  }

  const published = props.publishedKeys ?? [];
  const seen = new Set<string>();
  published.forEach((key, index) => {
    if (key === props.signingKey) {
      problems.push(`publishedKeys[${index}]: the signing key is published already; list only the other keys`);
      return;
    }
    if (Token.isUnresolved(key.keyArn)) return;
    if (key.keyArn === props.signingKey?.keyArn) {
      problems.push(`publishedKeys[${index}]: ${describeValue(key.keyArn)} is the signing key, which is published already`);
    } else if (seen.has(key.keyArn)) {
      problems.push(`publishedKeys[${index}]: ${describeValue(key.keyArn)} is listed twice`);
    }
    seen.add(key.keyArn);
  });

  if (props.allowedCallers !== undefined)
    problems.push(...allowedCallersProblems(props.allowedCallers, (value) => Token.isUnresolved(value)));

  if (props.tokenCacheTableProtectedExternally === true && props.tokenCacheTable === undefined) {
    problems.push('tokenCacheTableProtectedExternally: acknowledges an imported tokenCacheTable, and none is given; remove it');
  }

  if (problems.length > 0 || validation.config === undefined) throw new ConfigError(`TokenBroker props at ${path}`, problems);
  return validation.config;
}

/** Fails synth, rather than the deployment, when the configuration outgrows Lambda's 4 KB environment. */
export function checkEnvironmentSize(environment: Record<string, string>, path: string): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(environment)) {
    bytes += Buffer.byteLength(name);
    bytes += Token.isUnresolved(value)
      ? UNRESOLVED_TOKEN_ESTIMATE * Math.max(1, value.split('${Token[').length - 1)
      : Buffer.byteLength(value);
  }
  if (bytes > MAX_ENVIRONMENT_BYTES) {
    throw new ConfigError(`TokenBroker props at ${path}`, [
      `config.scopes: the token function's environment would take about ${bytes} bytes, over Lambda's ${MAX_ENVIRONMENT_BYTES}; configure fewer aliases or deploy several brokers`,
    ]);
  }
}
