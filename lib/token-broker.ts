import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination, type CfnStage, type HttpRoute, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
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
import {
  KMS_SIGNING_ALGORITHM,
  SEALING_CONTEXT_KEYS,
  SEALING_PURPOSE,
  SERVICE_NAME,
  TOKEN_TABLE_PARTITION_KEY,
  TOKEN_TABLE_TTL_ATTRIBUTE,
} from '../contract/aws-names';
import { runtimeConfigJson, type BrokerConfig } from '../contract/broker-config';
import { BROKER_ENV } from '../contract/environment';
import { BrokerMonitoring } from './broker-monitoring';
import { acknowledgeControl } from './control-tower-rules';
import { BUNDLE_AWS_SDK, LAMBDA_ESBUILD_OPTIONS } from './lambda-bundling';
import { checkEnvironmentSize, validateTokenBrokerProps, type TokenBrokerProps } from './token-broker-props';

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

/** The unauthenticated routes Entra reads (their paths are added in `addRoutes`); the monitoring counts their errors. */
const PUBLIC_ROUTE_KEYS = ['GET /.well-known/openid-configuration', 'GET /jwks'] as const;

/** The stage every route is on: the events' `requestContext.stage`, which the token function checks. */
const STAGE_NAME = '$default';

/** The actions that use the token cache key's data keys: read a token, or forge an item that would open. */
const CACHE_KEY_DATA_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'];

/**
 * AWS Control Tower's CT.KMS.PR.3: a grant is a second way to authorize a key's use, next to its key policy; no
 * principal may create one unless an AWS service creates it for a resource it manages (none of the broker's does).
 */
function denyGrantsExceptForAwsServices(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DenyGrantsExceptForAwsServices',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  });
}

/** Why the log groups keep CloudWatch Logs' own encryption (AWS Control Tower CT.CLOUDWATCH.PR.3). */
const LOGS_HOLD_NO_SECRET =
  'The logs hold no secret: the broker never logs tokens, assertions or signatures, and its log formatter scrubs JWT-shaped values (docs/operations-audit.md). CloudWatch Logs encrypts every log group at rest already; a customer-managed key would add cost and a key policy on every log write, where a mistake loses the audit trail, for data that is not secret.';

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
  /** The symmetric key whose data keys seal every cached token (lambda/core/token-sealing.ts). */
  readonly tokenCacheKey: kms.IKey;
  /** Every key in the JWKS, the signing key first. */
  readonly publishedKeys: readonly kms.IKey[];
  readonly table: dynamodb.ITable;
  readonly tokenFunction: NodejsFunction;
  /** The token function's own role: the one principal the keys' policies let sign and open cached tokens. */
  readonly tokenFunctionRole: iam.IRole;
  readonly discoveryFunction: NodejsFunction;
  readonly jwksFunction: NodejsFunction;
  /** `GET /token/{alias}` per configured alias. */
  readonly tokenRoutes: Readonly<Record<string, HttpRoute>>;
  /** The stage's JSON access log: one line per request, the audit trail of who obtained which token. */
  readonly accessLogGroup: logs.ILogGroup;
  /** The alarms and the dashboard; undefined with `monitoring: false`. */
  readonly monitoring: BrokerMonitoring | undefined;

  /** The validated configuration, defaults applied. */
  readonly config: BrokerConfig;
  /** The value of the `Deployment` dimension on this broker's metrics: the stack name and the construct's path in it. */
  readonly deploymentName: string;

  private readonly aliases: readonly string[];
  private readonly loggingEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: TokenBrokerProps) {
    super(scope, id);
    const config = validateTokenBrokerProps(props, this.node.path);
    this.config = config;
    const stack = Stack.of(this);
    this.deploymentName = [stack.stackName, ...this.node.scopes.slice(stack.node.scopes.length).map((c) => c.node.id)].join('/');
    this.aliases = Object.keys(config.runtime.scopes);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    // Every function logs through Powertools: its level and service name.
    this.loggingEnvironment = { [BROKER_ENV.logLevel]: props.logLevel ?? 'INFO', [BROKER_ENV.serviceName]: SERVICE_NAME };

    const ownSigningKey = props.signingKey === undefined ? this.createSigningKey() : undefined;
    this.signingKey = props.signingKey ?? (ownSigningKey as kms.Key);
    this.publishedKeys = [this.signingKey, ...(props.publishedKeys ?? [])];
    const ownCacheKey = props.tokenCacheKey === undefined ? this.createTokenCacheKey() : undefined;
    this.tokenCacheKey = props.tokenCacheKey ?? (ownCacheKey as kms.Key);
    this.table = props.tokenCacheTable ?? this.createTable();

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'AWS-to-Azure token broker: OIDC discovery, JWKS and IAM-authorized token routes',
      // The stage is created below, with access logging and throttling the default stage cannot take.
      createDefaultStage: false,
    });
    this.issuerUrl = props.issuer ?? this.httpApi.apiEndpoint;
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention });
    acknowledgeControl(this.accessLogGroup, 'CT.CLOUDWATCH.PR.3', LOGS_HOLD_NO_SECRET);
    this.stage = this.createStage(config, this.accessLogGroup);

    this.discoveryFunction = this.createFunction('DiscoveryFunction', {
      entry: 'discovery.ts',
      description: 'Token broker: OpenID Connect discovery document',
      memorySize: 128,
      timeout: PUBLIC_FUNCTION_TIMEOUT,
      retention,
      environment: { [BROKER_ENV.issuer]: this.issuerUrl },
    });
    this.jwksFunction = this.createFunction('JwksFunction', {
      entry: 'jwks.ts',
      description: 'Token broker: JWKS of the published KMS keys',
      memorySize: 128,
      timeout: PUBLIC_FUNCTION_TIMEOUT,
      retention,
      environment: { [BROKER_ENV.publishedKeyArns]: this.publishedKeys.map((key) => key.keyArn).join(',') },
    });
    // Tells this broker's metrics apart from another's in the same account: the stack and the path below it.
    const deploymentName = this.deploymentName;
    const tokenEnvironment: Record<string, string> = {
      [BROKER_ENV.issuer]: this.issuerUrl,
      [BROKER_ENV.runtimeConfig]: runtimeConfigJson(config.runtime),
      [BROKER_ENV.signingKeyArn]: this.signingKey.keyArn,
      [BROKER_ENV.tableName]: this.table.tableName,
      [BROKER_ENV.tokenCacheKeyArn]: this.tokenCacheKey.keyArn,
      [BROKER_ENV.deployment]: deploymentName,
      [BROKER_ENV.apiId]: this.httpApi.apiId,
      [BROKER_ENV.apiStage]: STAGE_NAME,
    };
    if (props.allowedCallers) {
      tokenEnvironment[BROKER_ENV.allowedCallers] = Stack.of(this).toJsonString({
        accountIds: props.allowedCallers.accountIds ?? [],
        principalOrgIds: props.allowedCallers.principalOrgIds ?? [],
      });
    }
    checkEnvironmentSize({ ...this.loggingEnvironment, ...tokenEnvironment }, this.node.path);
    this.tokenFunction = this.createFunction('TokenFunction', {
      entry: 'token.ts',
      description: 'Token broker: Entra ID access tokens for IAM-authorized callers',
      memorySize: 256,
      timeout: TOKEN_FUNCTION_TIMEOUT,
      retention,
      environment: tokenEnvironment,
      reservedConcurrentExecutions: props.tokenReservedConcurrency ?? config.deployment.tokenReservedConcurrency,
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
    // Sealing: new data keys and opening them, only with the broker's purpose in their encryption context.
    iam.Grant.addToPrincipal({
      grantee: this.tokenFunction,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [this.tokenCacheKey.keyArn],
      conditions: { StringEquals: { [`kms:EncryptionContext:${SEALING_CONTEXT_KEYS.purpose}`]: SEALING_PURPOSE } },
    });
    // The keys this construct created answer to the token function's role alone, whatever IAM policies say.
    const tokenRole = this.tokenFunction.role as iam.IRole;
    this.tokenFunctionRole = tokenRole;
    if (ownSigningKey) this.restrictSigningKey(ownSigningKey, tokenRole);
    if (ownCacheKey) this.restrictTokenCacheKey(ownCacheKey, tokenRole);

    this.tokenRoutes = this.addRoutes();

    this.monitoring =
      props.monitoring === false
        ? undefined
        : new BrokerMonitoring(this, 'Monitoring', {
            ...props.monitoring,
            httpApi: this.httpApi,
            stage: this.stage,
            tokenFunction: this.tokenFunction,
            discoveryFunction: this.discoveryFunction,
            jwksFunction: this.jwksFunction,
            accessLogGroup: this.accessLogGroup,
            publicRouteKeys: PUBLIC_ROUTE_KEYS,
            deploymentName,
          });
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
    key.addToResourcePolicy(denyGrantsExceptForAwsServices());
    return key;
  }

  /**
   * Denies `kms:Sign` to every principal but the token function's role: an IAM policy allowing `kms:Sign` on `*`
   * (administrators, power users, CI roles) no longer mints assertions. The account keeps administering the key
   * (the default statement stays); only changing this key policy undoes it, and that is a CloudTrail event.
   */
  private restrictSigningKey(key: kms.Key, tokenRole: iam.IRole): void {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenySignToAllButTheTokenFunction',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': tokenRole.roleArn } },
      }),
    );
  }

  /** The symmetric key that seals cached tokens; a new one per deployment, rotated yearly. */
  private createTokenCacheKey(): kms.Key {
    const key = new kms.Key(this, 'TokenCacheKey', {
      description: 'Token broker: seals the Entra access tokens in the token cache table (envelope encryption)',
      enableKeyRotation: true,
      // Only cached tokens depend on it, and every one of them can be fetched again from Entra.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(denyGrantsExceptForAwsServices());
    return key;
  }

  /**
   * Denies every use of the cache key's data keys to every principal but the token function's role: reading the
   * table (`dynamodb:*`, the read-only managed policy) yields sealed bytes only, and nobody else can decrypt them,
   * re-encrypt them under a key of theirs, or make an item that would open.
   */
  private restrictTokenCacheKey(key: kms.Key, tokenRole: iam.IRole): void {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyDataKeysToAllButTheTokenFunction',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: CACHE_KEY_DATA_ACTIONS,
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': tokenRole.roleArn } },
      }),
    );
  }

  private createTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'TokenCache', {
      partitionKey: { name: TOKEN_TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: TOKEN_TABLE_TTL_ATTRIBUTE,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // A cache: every item is re-fetchable from Entra and expires within ~90 minutes, so there is
      // nothing to restore (point-in-time recovery off) and nothing to keep when the stack goes.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const noRestore =
      'Token cache only: every item is an Entra access token that is re-fetched on a miss and expires (TTL) within ~90 minutes, so a point-in-time restore would bring back nothing usable.';
    NagSuppressions.addResourceSuppressions(table, [{ id: 'AwsSolutions-DDB3', reason: noRestore }]);
    acknowledgeControl(table, 'CT.DYNAMODB.PR.1', noRestore);
    return table;
  }

  private createStage(config: BrokerConfig, accessLogs: logs.ILogGroup): HttpStage {
    const { throttlingRateLimit, throttlingBurstLimit } = config.deployment;
    return this.httpApi.addStage('DefaultStage', {
      stageName: STAGE_NAME,
      autoDeploy: true,
      throttle: { rateLimit: throttlingRateLimit, burstLimit: throttlingBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // Who called which route, and how it ended. No headers, no query string, no body: nothing here
        // can carry a SigV4 signature or a token.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            // Tells two brokers' lines apart; the monitoring's public-route metrics use it as their dimension.
            apiId: '$context.apiId',
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
    acknowledgeControl(logGroup, 'CT.CLOUDWATCH.PR.3', LOGS_HOLD_NO_SECRET);
    // Own role instead of AWSLambdaBasicExecutionRole: log writes limited to this function's log group.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${options.description} (execution role)`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, id, {
      entry: `${ENTRYPOINTS}${options.entry}`,
      handler: 'handler',
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      projectRoot: REPO_ROOT,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: options.memorySize,
      timeout: options.timeout,
      description: options.description,
      environment: { ...this.loggingEnvironment, ...options.environment },
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      role,
      logGroup,
      bundling: BUNDLING,
    });
    acknowledgeControl(
      fn,
      'CT.LAMBDA.PR.3',
      'The functions call only AWS APIs (KMS, DynamoDB) and Entra ID on the internet; a VPC would add NAT gateways or interface endpoints and isolate nothing the IAM policies and key policies do not already restrict.',
    );
    return fn;
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
    // unknown alias get the broker's JSON 404 unknown_scope rather than API Gateway's bare 404. The token
    // function answers it with 404 whatever the alias (lambda/handlers/token.ts).
    this.httpApi.addRoutes({
      path: '/token/{alias}',
      methods: [HttpMethod.GET],
      integration: tokenIntegration,
      authorizer,
    });

    const anonymousByDesign =
      'Entra ID fetches the OpenID Connect discovery document and the JWKS anonymously to verify client assertions; both hold only the issuer URL and public keys.';
    for (const route of publicRoutes) {
      NagSuppressions.addResourceSuppressions(route, [{ id: 'AwsSolutions-APIG4', reason: anonymousByDesign }]); // the route itself only, not its integration or invoke permission
      acknowledgeControl(route, 'CT.APIGATEWAY.PR.5', anonymousByDesign);
    }
    this.throttlePublicRoutes(publicRoutes);
    acknowledgeControl(
      this.httpApi,
      'CT.LAMBDA.PR.2',
      "Every Lambda permission under the API is HttpLambdaIntegration's: principal apigateway.amazonaws.com with a SourceArn naming this API, which the rule cannot read because it is an Fn::Join (a template test checks each one).",
    );
    return routes;
  }

  /**
   * Route-level throttles for the public routes, replacing the stage's default for them: anonymous traffic there is
   * bounded on its own, so it cannot use up the rate the token routes and Entra's key fetches need, nor turn into
   * Lambda concurrency the token function needs. HTTP APIs take route settings only on the stage resource.
   */
  private throttlePublicRoutes(publicRoutes: readonly HttpRoute[]): void {
    const { publicThrottlingRateLimit, publicThrottlingBurstLimit } = this.config.deployment;
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = Object.fromEntries(
      PUBLIC_ROUTE_KEYS.map((routeKey) => [
        routeKey,
        { ThrottlingRateLimit: publicThrottlingRateLimit, ThrottlingBurstLimit: publicThrottlingBurstLimit },
      ]),
    );
    // API Gateway refuses settings for a route key that does not exist yet.
    for (const route of publicRoutes) cfnStage.node.addDependency(route);
  }
}
