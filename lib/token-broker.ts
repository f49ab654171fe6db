import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination, type HttpRoute, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import {
  SEALING_CONTEXT_KEYS,
  SEALING_PURPOSE,
  SERVICE_NAME,
  TOKEN_TABLE_PARTITION_KEY,
  TOKEN_TABLE_TTL_ATTRIBUTE,
} from '../contract/aws-names';
import { runtimeConfigJson, type BrokerConfig } from '../contract/broker-config';
import { ConfigError } from '../contract/config-error';
import { BROKER_ENV } from '../contract/environment';
import { createBrokerFunction, LOGS_HOLD_NO_SECRET } from './broker-function';
import { BrokerMonitoring } from './broker-monitoring';
import { acknowledgeControl } from './control-tower-rules';
import { denyGrantsExceptForAwsServices, denyKeyActionsToAllBut } from './key-policies';
import { KmsIssuer, PUBLIC_ROUTE_KEYS } from './kms-issuer';
import { StsSigner } from './sts-signer';
import { checkEnvironmentSize, validateTokenBrokerProps, type TokenBrokerProps } from './token-broker-props';

/**
 * The token function's timeout: longer than the core's ~10 s budget of bounded retries (Entra, KMS,
 * DynamoDB), so a slow request ends with the broker's own 503 rather than a Lambda timeout, and shorter
 * than API Gateway's 30 s integration limit, so the caller never sees a bare 503 from API Gateway instead.
 */
export const TOKEN_FUNCTION_TIMEOUT = Duration.seconds(15);
/** The stage every route is on: the events' `requestContext.stage`, which the token function checks. */
const STAGE_NAME = '$default';

/** The actions that use the token cache key's data keys: read a token, or forge an item that would open. */
const CACHE_KEY_DATA_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'];

/**
 * An IAM-guarded token endpoint per configured alias that exchanges a client assertion for an Entra access token.
 * With the `kms` signer the broker is the OpenID Connect issuer Entra trusts (its KMS key signs, its public routes
 * serve discovery and JWKS); with `aws-sts`, AWS STS outbound identity federation signs and AWS is the issuer.
 */
export class TokenBroker extends Construct {
  readonly httpApi: HttpApi;
  /** The `$default` stage, for custom domain mappings. */
  readonly stage: HttpStage;
  /**
   * The issuer URL, with no trailing slash: the API's base URL (or `props.issuer`) with the `kms` signer, the
   * account's outbound identity federation issuer (a deploy-time value) with `aws-sts`.
   */
  readonly issuerUrl: string;
  /** The API's base URL, with no trailing slash: `props.issuer` when given, else the API's default endpoint. */
  readonly apiUrl: string;
  /**
   * The `sub` of every assertion, which Entra's federated credential must name: `config.subject` with the `kms`
   * signer, the token function's role ARN with `aws-sts`.
   */
  readonly assertionSubject: string;
  /** The symmetric key whose data keys seal every cached token (lambda/core/token-sealing.ts). */
  readonly tokenCacheKey: kms.IKey;
  readonly table: dynamodb.ITable;
  readonly tokenFunction: NodejsFunction;
  /** The token function's own role: the one principal the keys' policies let sign and open cached tokens. */
  readonly tokenFunctionRole: iam.IRole;
  /** `GET /token/{alias}` per configured alias. */
  readonly tokenRoutes: Readonly<Record<string, HttpRoute>>;
  /** The `kms` signer's keys, public functions and routes (lib/kms-issuer.ts); undefined with `aws-sts`. */
  readonly kmsIssuer: KmsIssuer | undefined;
  /** The `aws-sts` signer's account setting, issuer and grant (lib/sts-signer.ts); undefined with `kms`. */
  readonly stsSigner: StsSigner | undefined;
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
    if (config.runtime.signer === 'aws-sts') {
      // AWS holds the signing keys: keys of ours would be neither used nor published.
      const kmsOnly = (['signingKey', 'publishedKeys'] as const).filter((name) => props[name] !== undefined);
      if (kmsOnly.length > 0) {
        throw new ConfigError(
          `TokenBroker props at ${this.node.path}`,
          kmsOnly.map((name) => `${name}: applies to signer "kms" only; with signer "aws-sts" AWS STS signs the assertions, remove it`),
        );
      }
    }
    const stack = Stack.of(this);
    this.deploymentName = [stack.stackName, ...this.node.scopes.slice(stack.node.scopes.length).map((c) => c.node.id)].join('/');
    this.aliases = Object.keys(config.runtime.scopes);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    // Every function logs through Powertools: its level and service name.
    this.loggingEnvironment = { [BROKER_ENV.logLevel]: props.logLevel ?? 'INFO', [BROKER_ENV.serviceName]: SERVICE_NAME };

    const ownCacheKey = props.tokenCacheKey === undefined ? this.createTokenCacheKey() : undefined;
    this.tokenCacheKey = props.tokenCacheKey ?? (ownCacheKey as kms.Key);
    this.table = props.tokenCacheTable ?? this.createTable();

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'AWS-to-Azure token broker: OIDC discovery, JWKS and IAM-authorized token routes',
      // The stage is created below, with access logging and throttling the default stage cannot take.
      createDefaultStage: false,
    });
    this.apiUrl = props.issuer ?? this.httpApi.apiEndpoint;
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention });
    acknowledgeControl(this.accessLogGroup, 'CT.CLOUDWATCH.PR.3', LOGS_HOLD_NO_SECRET);
    this.stage = this.createStage(config, this.accessLogGroup);

    if (config.runtime.signer === 'kms') {
      this.kmsIssuer = new KmsIssuer(this, {
        issuerUrl: this.apiUrl,
        httpApi: this.httpApi,
        stage: this.stage,
        deployment: config.deployment,
        retention,
        loggingEnvironment: this.loggingEnvironment,
        table: this.table,
        deploymentName: this.deploymentName,
        ...(props.signingKey ? { signingKey: props.signingKey } : {}),
        ...(props.publishedKeys ? { publishedKeys: props.publishedKeys } : {}),
      });
      this.issuerUrl = this.apiUrl;
    } else {
      this.stsSigner = new StsSigner(this, 'StsSigner', {
        audience: config.runtime.audience,
        assertionLifetimeSeconds: config.runtime.assertionLifetimeSeconds,
        retention,
      });
      this.issuerUrl = this.stsSigner.issuerUrl;
    }
    // Tells this broker's metrics apart from another's in the same account: the stack and the path below it.
    const deploymentName = this.deploymentName;
    const tokenEnvironment: Record<string, string> = {
      ...(this.kmsIssuer ? this.kmsIssuer.tokenEnvironment() : (this.stsSigner as StsSigner).tokenEnvironment()),
      [BROKER_ENV.runtimeConfig]: runtimeConfigJson(config.runtime),
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
    // With aws-sts the role ARN joins the environment once the function (and so its role) exists: counted here at
    // its longest, a 64-character role name in the longest partition's ARN.
    const roleArnAtMost: Record<string, string> = this.stsSigner
      ? { [BROKER_ENV.assertionSubject]: `arn:aws-iso-b:iam::123456789012:role/${'x'.repeat(64)}` }
      : {};
    checkEnvironmentSize({ ...this.loggingEnvironment, ...tokenEnvironment, ...roleArnAtMost }, this.node.path);
    this.tokenFunction = createBrokerFunction(this, 'TokenFunction', {
      entry: 'token.ts',
      description: 'Token broker: Entra ID access tokens for IAM-authorized callers',
      memorySize: 256,
      timeout: TOKEN_FUNCTION_TIMEOUT,
      retention,
      loggingEnvironment: this.loggingEnvironment,
      environment: tokenEnvironment,
      reservedConcurrentExecutions: props.tokenReservedConcurrency ?? config.deployment.tokenReservedConcurrency,
    });

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
    if (this.kmsIssuer) {
      // Least privilege: only the token function signs, only with the active key, only RS256.
      this.kmsIssuer.grantSigning(this.tokenFunction, tokenRole);
      this.kmsIssuer.addKeyRotation(tokenRole);
      this.assertionSubject = config.runtime.subject;
    } else {
      // STS puts the calling role's ARN in `sub`: the function learns it here, as its role is not in its environment.
      this.tokenFunction.addEnvironment(BROKER_ENV.assertionSubject, tokenRole.roleArn);
      // Only the token function asks STS, only for the configured audience, RS256, assertionLifetimeSeconds at most.
      (this.stsSigner as StsSigner).grantGetWebIdentityToken(this.tokenFunction);
      NagSuppressions.addResourceSuppressions(
        tokenRole,
        [
          {
            id: 'AwsSolutions-IAM5',
            reason:
              'sts:GetWebIdentityToken has no resource type (Service Authorization Reference), so Resource "*" is its only form; the statement is bounded by its conditions instead: sts:IdentityTokenAudience = the configured audience, sts:SigningAlgorithm = RS256, sts:DurationSeconds <= assertionLifetimeSeconds.',
            appliesTo: ['Resource::*'],
          },
        ],
        true,
      );
      this.assertionSubject = tokenRole.roleArn;
    }
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
            accessLogGroup: this.accessLogGroup,
            ...(this.kmsIssuer
              ? {
                  publicRoutes: {
                    discoveryFunction: this.kmsIssuer.discoveryFunction,
                    jwksFunction: this.kmsIssuer.jwksFunction,
                    routeKeys: PUBLIC_ROUTE_KEYS,
                  },
                }
              : {}),
            deploymentName,
            ...(this.kmsIssuer?.rotatorFunction
              ? { keyRotation: { rotatorFunction: this.kmsIssuer.rotatorFunction, settings: config.deployment.keyRotation } }
              : {}),
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
    return `${this.apiUrl}/token/${alias}`;
  }

  /**
   * The `kms` signer's active signing key.
   * @throws Error with the `aws-sts` signer, which has none (AWS holds the keys)
   */
  get signingKey(): kms.IKey {
    return this.requireKmsIssuer('signingKey').signingKey;
  }

  /**
   * Every key in the `kms` signer's JWKS, the signing key first.
   * @throws Error with the `aws-sts` signer, which publishes none
   */
  get publishedKeys(): readonly kms.IKey[] {
    return this.requireKmsIssuer('publishedKeys').publishedKeys;
  }

  /**
   * The `kms` signer's discovery function.
   * @throws Error with the `aws-sts` signer, which serves no discovery document (AWS's issuer does)
   */
  get discoveryFunction(): NodejsFunction {
    return this.requireKmsIssuer('discoveryFunction').discoveryFunction;
  }

  /**
   * The `kms` signer's JWKS function.
   * @throws Error with the `aws-sts` signer, which serves no JWKS (AWS's issuer does)
   */
  get jwksFunction(): NodejsFunction {
    return this.requireKmsIssuer('jwksFunction').jwksFunction;
  }

  /**
   * The `kms` signer's key rotator: creates, publishes, activates, retires and deletes the signing keys on a schedule
   * (docs/key-rotation.md).
   * @throws Error with the `aws-sts` signer, whose keys AWS rotates
   */
  get keyRotatorFunction(): NodejsFunction {
    const rotator = this.requireKmsIssuer('keyRotatorFunction').rotatorFunction;
    if (rotator === undefined) throw new Error(`TokenBroker.keyRotatorFunction: ${this.node.path} has no key rotator yet`);
    return rotator;
  }

  private requireKmsIssuer(member: string): KmsIssuer {
    if (this.kmsIssuer === undefined) {
      throw new Error(
        `TokenBroker.${member} exists with signer "kms" only; this broker (${this.node.path}) uses signer "aws-sts", where AWS STS signs the assertions`,
      );
    }
    return this.kmsIssuer;
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
    key.addToResourcePolicy(denyKeyActionsToAllBut('DenyDataKeysToAllButTheTokenFunction', CACHE_KEY_DATA_ACTIONS, tokenRole));
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

  private addRoutes(): Record<string, HttpRoute> {
    const authorizer = new HttpIamAuthorizer();
    this.kmsIssuer?.addPublicRoutes();
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

    acknowledgeControl(
      this.httpApi,
      'CT.LAMBDA.PR.2',
      "Every Lambda permission under the API is HttpLambdaIntegration's: principal apigateway.amazonaws.com with a SourceArn naming this API, which the rule cannot read because it is an Fn::Join (a template test checks each one).",
    );
    return routes;
  }
}
