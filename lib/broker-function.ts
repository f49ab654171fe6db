/**
 * How every broker function is built: Node.js 24 on arm64, bundled with the project's esbuild settings, its own
 * role and log group (log writes limited to that group), and the logging environment of the deployment. The code is
 * the package's prebuilt bundle when there is one (a consumer app needs no esbuild), else bundled from source.
 */
import { fileURLToPath } from 'node:url';
import type { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledgeControl } from './control-tower-rules';
import { BUNDLE_FILE, LAMBDA_ESBUILD_OPTIONS, prebuiltAssetDir, type LambdaEntry } from './lambda-bundling';

/** Why the log groups keep CloudWatch Logs' own encryption (AWS Control Tower CT.CLOUDWATCH.PR.3). */
export const LOGS_HOLD_NO_SECRET =
  'The logs hold no secret: the broker never logs tokens, assertions or signatures, and its log formatter scrubs JWT-shaped values (docs/operations-audit.md). CloudWatch Logs encrypts every log group at rest already; a customer-managed key would add cost and a key policy on every log write, where a mistake loses the audit trail, for data that is not secret.';

/** Where the handlers' sources live, resolved from this file so synth works from any working directory. */
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const ENTRYPOINTS = fileURLToPath(new URL('../lambda/entrypoints/', import.meta.url));

/** The shared esbuild settings (lib/lambda-bundling.ts) in the construct's terms. */
const BUNDLING: BundlingOptions = {
  minify: LAMBDA_ESBUILD_OPTIONS.minify,
  format: OutputFormat.ESM,
  target: LAMBDA_ESBUILD_OPTIONS.target,
  mainFields: [...LAMBDA_ESBUILD_OPTIONS.mainFields],
  banner: LAMBDA_ESBUILD_OPTIONS.banner.js,
  sourceMap: LAMBDA_ESBUILD_OPTIONS.sourcemap,
  // Nothing external: the AWS SDK is bundled too (lib/lambda-bundling.ts says why).
  externalModules: [],
};

export interface BrokerFunctionOptions {
  /** The entry file under lambda/entrypoints/, e.g. `token.ts` (its prebuilt bundle: `functions/token/index.mjs`). */
  readonly entry: `${LambdaEntry}.ts`;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly retention: logs.RetentionDays;
  /** The function's own variables, added to `loggingEnvironment`. */
  readonly environment: Record<string, string>;
  /** Log level and service name, the same on every function of a broker. */
  readonly loggingEnvironment: Record<string, string>;
  readonly reservedConcurrentExecutions?: number | undefined;
  /**
   * The role and log group from `createFunctionRoleAndLogs(scope, id, …)`, when others must name the role before the
   * function exists (key policies, grants).
   * @default - new ones
   */
  readonly roleAndLogs?: FunctionRoleAndLogs;
}

/** A broker function's own execution role and the one log group it may write to. */
export interface FunctionRoleAndLogs {
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * `${id}Role` and `${id}Logs` in `scope`: the execution role of function `id`, allowed to write to that log group only
 * (its own role instead of AWSLambdaBasicExecutionRole).
 */
export function createFunctionRoleAndLogs(
  scope: Construct,
  id: string,
  options: Pick<BrokerFunctionOptions, 'description' | 'retention'>,
): FunctionRoleAndLogs {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: options.retention });
  acknowledgeControl(logGroup, 'CT.CLOUDWATCH.PR.3', LOGS_HOLD_NO_SECRET);
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `${options.description} (execution role)`,
  });
  logGroup.grantWrite(role);
  return { role, logGroup };
}

/**
 * A broker function `id` in `scope`, with `${id}Role` and `${id}Logs` beside it (construct ids are part of the
 * contract: renaming one replaces the resource).
 */
export function createBrokerFunction(scope: Construct, id: string, options: BrokerFunctionOptions): NodejsFunction {
  const { role, logGroup } = options.roleAndLogs ?? createFunctionRoleAndLogs(scope, id, options);
  const prebuilt = prebuiltAssetDir('functions', options.entry.slice(0, -'.ts'.length), BUNDLE_FILE);
  // NodejsFunction takes ready code too: the same construct either way, so ids, metadata and properties do not change.
  const code = prebuilt
    ? { code: Code.fromAsset(prebuilt), handler: 'index.handler' }
    : {
        entry: `${ENTRYPOINTS}${options.entry}`,
        handler: 'handler',
        depsLockFilePath: `${REPO_ROOT}package-lock.json`,
        projectRoot: REPO_ROOT,
        bundling: BUNDLING,
      };
  const fn = new NodejsFunction(scope, id, {
    ...code,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: options.memorySize,
    timeout: options.timeout,
    description: options.description,
    environment: { ...options.loggingEnvironment, ...options.environment },
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    role,
    logGroup,
  });
  acknowledgeControl(
    fn,
    'CT.LAMBDA.PR.3',
    'The functions call only AWS APIs (KMS, DynamoDB) and Entra ID on the internet; a VPC would add NAT gateways or interface endpoints and isolate nothing the IAM policies and key policies do not already restrict.',
  );
  return fn;
}
