import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination, type HttpRoute, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ConfigError, describeValue, runtimeConfigJson, type BrokerConfig } from '../lambda/core/config';
import { KMS_SIGNING_ALGORITHM, TOKEN_TABLE_TTL_ATTRIBUTE } from '../lambda/adapters/aws-names';
import { BUNDLE_AWS_SDK, LAMBDA_ESBUILD_OPTIONS } from './lambda-bundling';

/** The only algorithm the broker signs with (RS256); the key policy and the token function's grant both pin it. */
export const SIGNING_ALGORITHM = KMS_SIGNING_ALGORITHM;

/**
 * The token function's timeout: longer than the core's ~10 s budget of bounded retries (Entra, KMS,
 * DynamoDB), so a slow request ends with the broker's own 503 rather than a Lambda timeout, and shorter
 * than API Gateway's 30 s integration limit, so the caller never sees a bare 503 from API Gateway instead.
 */
export const TOKEN_FUNCTION_TIMEOUT = Duration.seconds(15);
/** Discovery and JWKS do one KMS call at most (JWKS, cached); 5 s is ample. */
export const PUBLIC_FUNCTION_TIMEOUT = Duration.seconds(5);

/** Where the handlers live, resolved from this file so synth works from any working directory. */
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
  externalModules: BUNDLE_AWS_SDK ? [] : ['@aws-sdk/*'],
};

/** Entra's limit on a federated credential's issuer. */
const MAX_ISSUER_LENGTH = 600;
/** Lambda's limit on a function's environment (all names and values together). */
const MAX_ENVIRONMENT_BYTES = 4096;
/** What an unresolved token (an ARN, the API endpoint) is assumed to take in the environment. */
const UNRESOLVED_TOKEN_ESTIMATE = 100;

const ACCOUNT_ID_PATTERN = /^\d{12}$/;
const ORG_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;

/** Restricts which AWS principals the token function serves, on top of IAM. */
export interface AllowedCallers {
  /**
   * Only principals in these accounts get tokens.
   * @default - no restriction by account
   */
  readonly accountIds?: string[];
  /**
   * Only principals in these AWS Organizations get tokens.
   * @default - no restriction by organization
   */
  readonly principalOrgIds?: string[];
}

export interface TokenBrokerProps {
  /** The broker configuration, already validated (`parseBrokerConfig`). */
  readonly config: BrokerConfig;
  /**
   * The issuer URL: the `iss` of every client assertion and the base of the discovery document. Must be
   * `https://`, with no trailing slash, and route to this API (e.g. a custom domain you map to `stage`).
   * @default - the API's default endpoint, `https://{apiId}.execute-api.{region}.amazonaws.com`
   */
  readonly issuer?: string;
  /**
   * The active signing key: an asymmetric RSA_2048 SIGN_VERIFY KMS key whose policy lets IAM policies in
   * this account grant access. Its key policy is left as it is (add the algorithm-pinning deny yourself).
   * @default - a new RSA_2048 SIGN_VERIFY key, retained on stack deletion
   */
  readonly signingKey?: kms.IKey;
  /**
   * Further keys published in the JWKS but not used to sign: the next key before a rotation, or the
   * previous one until assertions signed with it have expired.
   * @default - only the signing key is published
   */
  readonly publishedKeys?: kms.IKey[];
  /**
   * The token cache table: partition key `pk` (String), TTL attribute `ttl`.
   * @default - a new on-demand table, AWS-managed encryption, destroyed with the stack
   */
  readonly tokenCacheTable?: dynamodb.ITable;
  /**
   * Retention of the functions' logs and the API access log.
   * @default logs.RetentionDays.ONE_YEAR - the access log is the audit trail of who obtained which token
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserved concurrency of the token function; caps what it can draw from Entra, KMS and DynamoDB.
   * @default - `config.tokenReservedConcurrency`; unreserved when that is unset too
   */
  readonly tokenReservedConcurrency?: number;
  /**
   * Defense in depth on top of IAM. HTTP APIs accept any IAM principal whose own policy allows the route
   * and have no resource policy, so this restriction is enforced by the token function from the IAM
   * authorizer context (`accountId`, `principalOrgId`). A caller must satisfy every list given.
   * @default - any principal whose IAM policy allows the route
   */
  readonly allowedCallers?: AllowedCallers;
}

const KNOWN_PROPS: readonly string[] = [
  'config',
  'issuer',
  'signingKey',
  'publishedKeys',
  'tokenCacheTable',
  'logRetention',
  'tokenReservedConcurrency',
  'allowedCallers',
];

/**
 * An OpenID Connect issuer that Entra ID trusts through a federated identity credential, and an IAM-guarded
 * token endpoint per configured alias that exchanges a KMS-signed client assertion for an Entra access token.
 */
export class TokenBroker extends Construct {
  readonly httpApi: HttpApi;
  /** The `$default` stage, for custom domain mappings. */
  readonly stage: HttpStage;
  /** The issuer URL, with no trailing slash. */
  readonly issuerUrl: string;
  readonly signingKey: kms.IKey;
  /** Every key in the JWKS, the signing key first. */
  readonly publishedKeys: readonly kms.IKey[];
  readonly table: dynamodb.ITable;
  readonly tokenFunction: NodejsFunction;
  readonly discoveryFunction: NodejsFunction;
  readonly jwksFunction: NodejsFunction;
  /** `GET /token/{alias}` per configured alias. */
  readonly tokenRoutes: Readonly<Record<string, HttpRoute>>;

  private readonly aliases: readonly string[];

  constructor(scope: Construct, id: string, props: TokenBrokerProps) {
    super(scope, id);
    validateProps(props, this.node.path);
    const { config } = props;
    this.aliases = Object.keys(config.scopes);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    this.signingKey = props.signingKey ?? this.createSigningKey();
    this.publishedKeys = [this.signingKey, ...(props.publishedKeys ?? [])];
    this.table = props.tokenCacheTable ?? this.createTable();

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'AWS-to-Azure token broker: OIDC discovery, JWKS and IAM-authorized token routes',
      // The stage is created below, with access logging and throttling the default stage cannot take.
      createDefaultStage: false,
    });
    this.issuerUrl = props.issuer ?? this.httpApi.apiEndpoint;
    this.stage = this.createStage(config, retention);

    this.discoveryFunction = this.createFunction('DiscoveryFunction', {
      entry: 'discovery.ts',
      description: 'Token broker: OpenID Connect discovery document',
      memorySize: 128,
      timeout: PUBLIC_FUNCTION_TIMEOUT,
      retention,
      environment: { BROKER_ISSUER: this.issuerUrl },
    });
    this.jwksFunction = this.createFunction('JwksFunction', {
      entry: 'jwks.ts',
      description: 'Token broker: JWKS of the published KMS keys',
      memorySize: 128,
      timeout: PUBLIC_FUNCTION_TIMEOUT,
      retention,
      environment: { BROKER_PUBLISHED_KEY_ARNS: this.publishedKeys.map((key) => key.keyArn).join(',') },
    });
    const tokenEnvironment: Record<string, string> = {
      BROKER_ISSUER: this.issuerUrl,
      BROKER_CONFIG: runtimeConfigJson(config),
      BROKER_SIGNING_KEY_ARN: this.signingKey.keyArn,
      BROKER_TABLE_NAME: this.table.tableName,
    };
    if (props.allowedCallers) {
      tokenEnvironment.BROKER_ALLOWED_CALLERS = Stack.of(this).toJsonString({
        accountIds: props.allowedCallers.accountIds ?? [],
        principalOrgIds: props.allowedCallers.principalOrgIds ?? [],
      });
    }
    checkEnvironmentSize(tokenEnvironment, this.node.path);
    this.tokenFunction = this.createFunction('TokenFunction', {
      entry: 'token.ts',
      description: 'Token broker: Entra ID access tokens for IAM-authorized callers',
      memorySize: 256,
      timeout: TOKEN_FUNCTION_TIMEOUT,
      retention,
      environment: tokenEnvironment,
      reservedConcurrentExecutions: props.tokenReservedConcurrency ?? config.tokenReservedConcurrency,
    });

    // Least privilege: only the token function signs, only with the active key, only RS256 (key.grant
    // takes no condition, hence Grant.addToPrincipal).
    iam.Grant.addToPrincipal({
      grantee: this.tokenFunction,
      actions: ['kms:Sign'],
      resourceArns: [this.signingKey.keyArn],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
    });
    this.signingKey.grant(this.tokenFunction, 'kms:GetPublicKey'); // the kid is the public key's thumbprint
    for (const key of this.publishedKeys) key.grant(this.jwksFunction, 'kms:GetPublicKey');
    this.table.grant(this.tokenFunction, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem');

    this.tokenRoutes = this.addRoutes();
  }

  /**
   * Lets `grantee` obtain tokens for one alias: `execute-api:Invoke` on `GET /token/{alias}` only.
   * @throws Error when the alias is not configured
   */
  grantToken(grantee: iam.IGrantable, alias: string): iam.Grant {
    const route = this.tokenRoutes[alias];
    if (route === undefined) {
      throw new Error(`Unknown alias ${JSON.stringify(alias)} for grantToken; configured aliases: ${this.aliases.join(', ')}`);
    }
    return route.grantInvoke(grantee);
  }

  /**
   * The URL a caller signs a GET for to obtain a token for this alias.
   * @throws Error when the alias is not configured
   */
  tokenUrl(alias: string): string {
    if (!this.aliases.includes(alias)) {
      throw new Error(`Unknown alias ${JSON.stringify(alias)} for tokenUrl; configured aliases: ${this.aliases.join(', ')}`);
    }
    return `${this.issuerUrl}/token/${alias}`;
  }

  private createSigningKey(): kms.Key {
    const key = new kms.Key(this, 'SigningKey', {
      description: 'Token broker: signs client assertions for Entra ID workload identity federation (RS256)',
      keySpec: kms.KeySpec.RSA_2048,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      // Entra trusts this key's public half; losing it breaks federation until a new one is published.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Holds for every principal whatever their IAM policies allow: this key produces RS256 signatures only.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenySignWithOtherAlgorithms',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { StringNotEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM } },
      }),
    );
    return key;
  }

  private createTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'TokenCache', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: TOKEN_TABLE_TTL_ATTRIBUTE,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // A cache: every item is re-fetchable from Entra and expires within ~90 minutes, so there is
      // nothing to restore (point-in-time recovery off) and nothing to keep when the stack goes.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    NagSuppressions.addResourceSuppressions(table, [
      {
        id: 'AwsSolutions-DDB3',
        reason:
          'Token cache only: every item is an Entra access token that is re-fetched on a miss and expires (TTL) within ~90 minutes, so a point-in-time restore would bring back nothing usable.',
      },
    ]);
    return table;
  }

  private createStage(config: BrokerConfig, retention: logs.RetentionDays): HttpStage {
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention });
    return this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.throttlingRateLimit, burstLimit: config.throttlingBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // Who called which route, and how it ended. No headers, no query string, no body: nothing here
        // can carry a SigV4 signature or a token.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            httpMethod: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationErrorMessage: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            userArn: '$context.identity.userArn',
            accountId: '$context.identity.accountId',
            principalOrgId: '$context.identity.principalOrgId',
          }),
        ),
      },
    });
  }

  private createFunction(
    id: string,
    options: {
      entry: string;
      description: string;
      memorySize: number;
      timeout: Duration;
      retention: logs.RetentionDays;
      environment: Record<string, string>;
      reservedConcurrentExecutions?: number | undefined;
    },
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: options.retention });
    // Own role instead of AWSLambdaBasicExecutionRole: log writes limited to this function's log group.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${options.description} (execution role)`,
    });
    logGroup.grantWrite(role);
    return new NodejsFunction(this, id, {
      entry: `${ENTRYPOINTS}${options.entry}`,
      handler: 'handler',
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      projectRoot: REPO_ROOT,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: options.memorySize,
      timeout: options.timeout,
      description: options.description,
      environment: options.environment,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      role,
      logGroup,
      bundling: BUNDLING,
    });
  }

  private addRoutes(): Record<string, HttpRoute> {
    const authorizer = new HttpIamAuthorizer();
    const publicRoutes = [
      ...this.httpApi.addRoutes({
        path: '/.well-known/openid-configuration',
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('DiscoveryIntegration', this.discoveryFunction),
      }),
      ...this.httpApi.addRoutes({
        path: '/jwks',
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('JwksIntegration', this.jwksFunction),
      }),
    ];
    // One API-wide invoke permission instead of one per route: the function's resource policy is
    // limited to 20 KB, which a long list of aliases would otherwise approach.
    const tokenIntegration = new HttpLambdaIntegration('TokenIntegration', this.tokenFunction, {
      scopePermissionToRoute: false,
    });
    const routes: Record<string, HttpRoute> = {};
    for (const alias of this.aliases) {
      // One method, one route.
      const [route] = this.httpApi.addRoutes({
        path: `/token/${alias}`,
        methods: [HttpMethod.GET],
        integration: tokenIntegration,
        authorizer,
      }) as [HttpRoute];
      routes[alias] = route;
    }
    // Granted to nobody by grantToken; it lets a caller with broader execute-api rights who asks for an
    // unknown alias get the broker's JSON 404 unknown_scope rather than API Gateway's bare 404.
    this.httpApi.addRoutes({
      path: '/token/{alias}',
      methods: [HttpMethod.GET],
      integration: tokenIntegration,
      authorizer,
    });

    for (const route of publicRoutes) {
      NagSuppressions.addResourceSuppressions(route, [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'Entra ID fetches the OpenID Connect discovery document and the JWKS anonymously to verify client assertions; both hold only the issuer URL and public keys.',
        },
      ]); // the route itself only, not its integration or invoke permission
    }
    return routes;
  }
}

function validateProps(props: TokenBrokerProps, path: string): void {
  const problems: string[] = [];
  for (const key of Object.keys(props)) {
    if (!KNOWN_PROPS.includes(key)) problems.push(`${key}: unknown prop (known: ${KNOWN_PROPS.join(', ')})`);
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers may pass anything
  if (props.config === undefined || Object.keys(props.config.scopes ?? {}).length === 0) {
    problems.push(`config: expected a validated broker configuration with at least one alias, received ${describeValue(props.config)}`);
  }

  const { issuer } = props;
  if (issuer !== undefined && !Token.isUnresolved(issuer)) {
    const problem = issuerProblem(issuer);
    if (problem) problems.push(`issuer: ${problem}, received ${describeValue(issuer)}`);
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

  const concurrency = props.tokenReservedConcurrency;
  if (concurrency !== undefined && !Token.isUnresolved(concurrency) && !(Number.isInteger(concurrency) && concurrency >= 1)) {
    problems.push(`tokenReservedConcurrency: expected an integer of at least 1, received ${describeValue(concurrency)}`);
  }

  if (props.allowedCallers !== undefined) problems.push(...allowedCallersProblems(props.allowedCallers));

  if (problems.length > 0) throw new ConfigError(`TokenBroker props at ${path}`, problems);
}

function issuerProblem(issuer: string): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'expected an https:// URL';
  }
  if (url.protocol !== 'https:') return 'expected an https:// URL (Entra fetches the discovery document over TLS)';
  if (issuer.endsWith('/')) return "expected no trailing slash (the issuer must equal the assertion's iss byte for byte)";
  if (url.search || url.hash || url.username || url.password) return 'expected no query, fragment or credentials';
  if (issuer.length > MAX_ISSUER_LENGTH) return `expected at most ${MAX_ISSUER_LENGTH} characters (Entra's limit)`;
  return undefined;
}

function allowedCallersProblems(allowed: AllowedCallers): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(allowed)) {
    if (key !== 'accountIds' && key !== 'principalOrgIds')
      problems.push(`allowedCallers.${key}: unknown field (known: accountIds, principalOrgIds)`);
  }
  const lists: Array<['accountIds' | 'principalOrgIds', RegExp, string]> = [
    ['accountIds', ACCOUNT_ID_PATTERN, 'a 12-digit AWS account id'],
    ['principalOrgIds', ORG_ID_PATTERN, 'an AWS Organizations id such as o-a1b2c3d4e5'],
  ];
  let entries = 0;
  for (const [field, pattern, what] of lists) {
    const values = allowed[field];
    if (values === undefined) continue;
    if (!Array.isArray(values)) {
      problems.push(`allowedCallers.${field}: expected a list, received ${describeValue(values)}`);
      continue;
    }
    entries += values.length;
    values.forEach((value, index) => {
      if (Token.isUnresolved(value)) return;
      if (typeof value !== 'string' || !pattern.test(value)) {
        problems.push(`allowedCallers.${field}[${index}]: expected ${what}, received ${describeValue(value)}`);
      }
    });
  }
  if (entries === 0 && problems.length === 0) {
    problems.push(
      `allowedCallers: expected at least one account id or organization id (an empty restriction restricts nothing; leave allowedCallers unset to rely on IAM alone), received ${describeValue(allowed)}`,
    );
  }
  return problems;
}

/** Fails synth, rather than the deployment, when the configuration outgrows Lambda's 4 KB environment. */
function checkEnvironmentSize(environment: Record<string, string>, path: string): void {
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
