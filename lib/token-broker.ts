import { Duration, Lazy, RemovalPolicy, Stack, type CfnElement } from 'aws-cdk-lib';
import { AccessLogFormat, type Stage as RestStage } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, LogGroupLogDestination, type HttpRoute, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from './nag-suppressions';
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
import { ACCESS_LOG_FIELDS, TOKEN_CATCH_ALL_PATH, TOKEN_PATH_PREFIX, tokenPath } from '../contract/http-api';
import { createBrokerFunction, createFunctionRoleAndLogs, LOGS_HOLD_NO_SECRET } from './broker-function';
import { activeKeyAgeMetric, brokerCountMetric } from './broker-metrics';
import { BrokerMonitoring } from './broker-monitoring';
import { acknowledgeControl } from './control-tower-rules';
import { CDK_DEPLOY_ROLE_ARN_PATTERN } from './direct-invocation-guard';
import { addIdentityEndpoint, type IdentityEndpointAttachment, type IdentityEndpointOptions } from './identity-endpoint';
import { denyGrantsExceptForAwsServices, denyKeyActionsToAllBut } from './key-policies';
import { KmsIssuer } from './kms-issuer';
import { PRIVATE_STAGE_NAME, PrivateTokenApi } from './private-token-api';
import { ProactiveRefreshSchedule } from './proactive-refresh';
import { StsSigner } from './sts-signer';
import { denyItemWritesToAllBut, denyRotationStateWritesToAllBut, tokenCacheTablePolicy } from './token-cache-table-policy';
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

/** The stage that serves the token routes: the public HTTP API's, or the private REST API's. */
export type TokenStage = HttpStage | RestStage;

/** Who signs the assertions: the broker's own KMS keys (`kind: 'kms'`) or AWS STS (`kind: 'aws-sts'`). */
export type BrokerSigner = KmsIssuer | StsSigner;

/** What the token function does, in its description and its role's. */
const TOKEN_FUNCTION_DESCRIPTION = 'Token broker: Entra ID access tokens for IAM-authorized callers';

/**
 * An IAM-guarded token endpoint per configured alias that exchanges a client assertion for an Entra access token.
 * With the `kms` signer the broker is the OpenID Connect issuer Entra trusts (its KMS key signs, its public routes
 * serve discovery and JWKS); with `aws-sts`, AWS STS outbound identity federation signs and AWS is the issuer.
 */
export class TokenBroker extends Construct {
  /**
   * The public HTTP API: the token routes (`endpoint` public) and, with signer `kms`, discovery and JWKS. Undefined
   * with a private endpoint and signer `aws-sts`: nothing is public then.
   */
  readonly httpApi: HttpApi | undefined;
  /** The HTTP API's `$default` stage, for custom domain mappings; undefined when there is no HTTP API. */
  readonly stage: HttpStage | undefined;
  /** The private REST API that serves the token routes with `endpoint: {"type": "private"}`; else undefined. */
  readonly privateApi: PrivateTokenApi | undefined;
  /** The stage that serves the token routes (the HTTP API's or the private REST API's): its metrics are the callers'. */
  readonly tokenStage: TokenStage;
  /**
   * The issuer URL, with no trailing slash: the API's base URL (or `props.issuer`) with the `kms` signer, the
   * account's outbound identity federation issuer (a deploy-time value) with `aws-sts`.
   */
  readonly issuerUrl: string;
  /**
   * The base URL of the token routes, with no trailing slash. Public endpoint: `props.issuer` when given, else the HTTP
   * API's default endpoint. Private endpoint: the private REST API's URL with private DNS,
   * `https://{apiId}.execute-api.{region}.amazonaws.com/broker` (`privateApi.vpcEndpointUrl(id)` gives the form without).
   */
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
  /** `GET /token/{alias}` per configured alias on the public HTTP API; empty with a private endpoint (`privateApi.tokenMethods`). */
  readonly tokenRoutes: Readonly<Record<string, HttpRoute>>;
  /**
   * The signer's part, by `kind`: with `kms` the signing key, the published keys, the discovery, JWKS and key rotator
   * functions and the public routes (lib/kms-issuer.ts); with `aws-sts` the account setting, AWS's issuer and the
   * token role's STS grant (lib/sts-signer.ts).
   */
  readonly signer: BrokerSigner;
  /**
   * The JSON access log of every API stage (the HTTP API's and the private REST API's, with the same fields): one line
   * per request, the audit trail of who obtained which token.
   */
  readonly accessLogGroup: logs.ILogGroup;
  /** The alarms and the dashboard; undefined with `monitoring: false`. */
  readonly monitoring: BrokerMonitoring | undefined;
  /** The schedule that renews every alias ahead of time (`proactiveRefresh`); undefined when it is `false`. */
  readonly proactiveRefresh: ProactiveRefreshSchedule | undefined;

  /** The validated configuration, defaults applied. */
  readonly config: BrokerConfig;
  /** The value of the `Deployment` dimension on this broker's metrics: the stack name and the construct's path in it. */
  readonly deploymentName: string;
  /** Who deploys the stack (`props.deployRoleArnPattern`, by default the CDK bootstrap's execution roles). */
  readonly deployRoleArnPattern: string;

  private readonly aliases: readonly string[];

  constructor(scope: Construct, id: string, props: TokenBrokerProps) {
    super(scope, id);
    const config = validateTokenBrokerProps(props, this.node.path);
    this.config = config;
    const stack = Stack.of(this);
    // Tells this broker's metrics apart from another's in the same account: the stack and the path below it.
    this.deploymentName = [stack.stackName, ...this.node.scopes.slice(stack.node.scopes.length).map((c) => c.node.id)].join('/');
    this.aliases = Object.keys(config.runtime.scopes);
    this.deployRoleArnPattern = props.deployRoleArnPattern ?? CDK_DEPLOY_ROLE_ARN_PATTERN;
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    // Every function logs through Powertools: its level and service name.
    const loggingEnvironment = { [BROKER_ENV.logLevel]: props.logLevel ?? 'INFO', [BROKER_ENV.serviceName]: SERVICE_NAME };

    const ownCacheKey = props.tokenCacheKey === undefined ? this.createTokenCacheKey() : undefined;
    this.tokenCacheKey = props.tokenCacheKey ?? (ownCacheKey as kms.Key);
    this.table = props.tokenCacheTable ?? this.createTable();

    const { endpoint } = config.deployment;
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention });
    acknowledgeControl(this.accessLogGroup, 'CT.CLOUDWATCH.PR.3', LOGS_HOLD_NO_SECRET);
    // Public: everything on the HTTP API. Private: the HTTP API keeps what Entra must reach (signer kms), or goes.
    const needsHttpApi = endpoint.type === 'public' || config.runtime.signer === 'kms';
    this.httpApi = needsHttpApi ? this.createHttpApi(endpoint.type) : undefined;
    this.stage = this.httpApi ? this.createStage(this.httpApi, config, this.accessLogGroup) : undefined;
    const publicUrl = props.issuer ?? this.httpApi?.apiEndpoint;

    // The role first: the signer's keys and grants name it before the function exists.
    const tokenRoleAndLogs = createFunctionRoleAndLogs(this, 'TokenFunction', { description: TOKEN_FUNCTION_DESCRIPTION, retention });
    const tokenRole = tokenRoleAndLogs.role;
    this.tokenFunctionRole = tokenRole;
    this.table.grant(tokenRole, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    // Sealing: new data keys and opening them, only with the broker's purpose in their encryption context.
    iam.Grant.addToPrincipal({
      grantee: tokenRole,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resourceArns: [this.tokenCacheKey.keyArn],
      conditions: { StringEquals: { [`kms:EncryptionContext:${SEALING_CONTEXT_KEYS.purpose}`]: SEALING_PURPOSE } },
    });
    // Least privilege: only the token role signs (kms), or asks STS for assertions (aws-sts).
    this.signer =
      config.runtime.signer === 'kms'
        ? new KmsIssuer(this, {
            issuerUrl: publicUrl as string,
            subject: config.runtime.subject,
            httpApi: this.httpApi as HttpApi,
            stage: this.stage as HttpStage,
            deployment: config.deployment,
            retention,
            loggingEnvironment,
            table: this.table,
            deploymentName: this.deploymentName,
            tokenRole,
            ...(props.signingKey ? { signingKey: props.signingKey } : {}),
            ...(props.publishedKeys ? { publishedKeys: props.publishedKeys } : {}),
          })
        : new StsSigner(this, 'StsSigner', {
            audience: config.runtime.audience,
            assertionLifetimeSeconds: config.runtime.assertionLifetimeSeconds,
            retention,
            tokenRole,
          });
    this.issuerUrl = this.signer.issuerUrl;
    this.assertionSubject = this.signer.assertionSubject;

    const tokenEnvironment: Record<string, string> = {
      ...this.signer.tokenEnvironment,
      [BROKER_ENV.runtimeConfig]: runtimeConfigJson(config.runtime),
      [BROKER_ENV.tableName]: this.table.tableName,
      [BROKER_ENV.tokenCacheKeyArn]: this.tokenCacheKey.keyArn,
      [BROKER_ENV.deployment]: this.deploymentName,
    };
    if (props.allowedCallers) {
      tokenEnvironment[BROKER_ENV.allowedCallers] = stack.toJsonString({
        accountIds: props.allowedCallers.accountIds ?? [],
        principalOrgIds: props.allowedCallers.principalOrgIds ?? [],
      });
    }
    // The API whose events the token function serves (its tripwire); the private REST API is made after the function.
    tokenEnvironment[BROKER_ENV.apiId] =
      endpoint.type === 'private' ? Lazy.string({ produce: () => this.privateApi?.restApi.restApiId }) : (this.httpApi as HttpApi).apiId;
    tokenEnvironment[BROKER_ENV.apiStage] = endpoint.type === 'private' ? PRIVATE_STAGE_NAME : STAGE_NAME;
    checkEnvironmentSize({ ...loggingEnvironment, ...tokenEnvironment }, this.node.path);
    this.tokenFunction = createBrokerFunction(this, 'TokenFunction', {
      entry: 'token.ts',
      description: TOKEN_FUNCTION_DESCRIPTION,
      memorySize: 256,
      timeout: TOKEN_FUNCTION_TIMEOUT,
      retention,
      loggingEnvironment,
      environment: tokenEnvironment,
      reservedConcurrentExecutions: config.deployment.tokenReservedConcurrency,
      roleAndLogs: tokenRoleAndLogs,
    });
    // The keys this construct created answer to the token function's role alone, whatever IAM policies say.
    if (ownCacheKey) this.restrictTokenCacheKey(ownCacheKey, tokenRole);
    this.protectTable(props.tokenCacheTableProtectedExternally === true);

    if (endpoint.type === 'private') {
      const privateApi = new PrivateTokenApi(this, 'PrivateApi', {
        vpcEndpointIds: endpoint.vpcEndpointIds,
        aliases: this.aliases,
        tokenFunction: this.tokenFunction,
        throttlingRateLimit: config.deployment.throttlingRateLimit,
        throttlingBurstLimit: config.deployment.throttlingBurstLimit,
        accessLogGroup: this.accessLogGroup,
        ...(props.allowedCallers ? { allowedCallers: props.allowedCallers } : {}),
      });
      this.privateApi = privateApi;
      this.tokenStage = privateApi.stage;
      this.apiUrl = privateApi.url;
      this.tokenRoutes = {};
    } else {
      const httpApi = this.httpApi as HttpApi;
      this.privateApi = undefined;
      this.tokenStage = this.stage as HttpStage;
      this.apiUrl = publicUrl as string;
      this.tokenRoutes = this.addRoutes(httpApi);
    }
    const { proactiveRefresh } = config.runtime;
    this.proactiveRefresh =
      proactiveRefresh === false
        ? undefined
        : new ProactiveRefreshSchedule(this, 'ProactiveRefresh', { tokenFunction: this.tokenFunction, ...proactiveRefresh });

    this.monitoring =
      props.monitoring === false ? undefined : new BrokerMonitoring(this, 'Monitoring', { ...props.monitoring, broker: this });
  }

  /**
   * Lets `grantee` obtain tokens for one alias: `execute-api:Invoke` on `GET /token/{alias}` only (the HTTP API's route,
   * or with a private endpoint the REST API's method, `…:{apiId}/broker/GET/token/{alias}`).
   * @throws Error when the alias is not configured
   */
  grantToken(grantee: iam.IGrantable, alias: string): iam.Grant {
    if (this.privateApi) return this.privateApi.grantToken(grantee, alias);
    const route = this.tokenRoutes[alias];
    if (route === undefined) {
      throw new Error(`Unknown alias ${JSON.stringify(alias)} for grantToken; configured aliases: ${this.aliases.join(', ')}`);
    }
    return route.grantInvoke(grantee);
  }

  /**
   * Runs the identity endpoint inside `fn`'s execution environment, so that its Azure SDK, in any language, gets this
   * broker's tokens through `DefaultAzureCredential` with no code change: an extension layer for the function's
   * architecture, `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, `BROKER_URL` and `BROKER_IDENTITY_RESOURCES` on the function,
   * and `grantToken` for each mapped alias (lib/identity-endpoint.ts, docs/any-language.md "In Lambda").
   * @throws ConfigError naming each problem: an alias not configured, a malformed resource, an architecture or runtime
   *   the layer cannot run on
   */
  addIdentityEndpoint(fn: lambda.Function, options: IdentityEndpointOptions): IdentityEndpointAttachment {
    return addIdentityEndpoint(this, fn, options);
  }

  /**
   * The URL a caller signs a GET for to obtain a token for this alias.
   * @throws Error when the alias is not configured
   */
  tokenUrl(alias: string): string {
    if (!this.aliases.includes(alias)) {
      throw new Error(`Unknown alias ${JSON.stringify(alias)} for tokenUrl; configured aliases: ${this.aliases.join(', ')}`);
    }
    return `${this.apiUrl}${tokenPath(alias)}`;
  }

  /**
   * The functions whose output Entra trusts: the token function (it signs, or asks STS), and with the `kms` signer the
   * discovery and JWKS functions (they say which keys are the issuer's) and the key rotator (it makes those keys).
   * Whoever changes one of them, or acts as its role, can make Entra accept assertions of their own: the
   * `DirectInvocationGuardPolicy` output covers each.
   */
  get trustedFunctions(): readonly NodejsFunction[] {
    const { signer } = this;
    return signer.kind === 'kms'
      ? [this.tokenFunction, signer.discoveryFunction, signer.jwksFunction, signer.keyRotatorFunction]
      : [this.tokenFunction];
  }

  /** The roles that write the table's items: the token function's, and with signer `kms` the key rotator's (its state item only). */
  get tableWriterRoles(): readonly iam.IRole[] {
    const { signer } = this;
    return signer.kind === 'kms' ? [this.tokenFunctionRole, signer.keyRotatorFunction.role as iam.IRole] : [this.tokenFunctionRole];
  }

  /** Access tokens obtained from Entra, the load the broker puts on Entra (`EntraExchanges`): a 5-minute sum by default. */
  metricExchanges(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'exchanges', props);
  }

  /** Exchanges Entra refused, answered 502 `entra_rejected` (`EntraRejections`): a 5-minute sum by default. */
  metricEntraRejections(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'entraRejections', props);
  }

  /** Requests answered 503 after retries: Entra, KMS, STS or DynamoDB unreachable (`UpstreamUnavailable`): a 5-minute sum by default. */
  metricUpstreamUnavailable(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'upstreamUnavailable', props);
  }

  /** Previous, still valid tokens served while a refresh was under way or failed (`StaleTokensServed`): a 5-minute sum by default. */
  metricStaleTokensServed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'staleServed', props);
  }

  /** Waits for another container's refresh lease (`RefreshLeaseWaits`): a 5-minute sum by default. */
  metricRefreshLeaseWaits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'leaseWaits', props);
  }

  /** Cache-store operations that failed while the broker carried on without them (`CacheStoreFailures`): a 5-minute sum by default. */
  metricCacheStoreFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'storeFailures', props);
  }

  /** Cached items that did not open or failed their checks: someone else wrote the table (`CacheItemsRejected`): a 5-minute sum by default. */
  metricCacheItemsRejected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'cacheItemsRejected', props);
  }

  /** Invocations refused because they did not come through this broker's API (`ForeignInvocationsRefused`): a 5-minute sum by default. */
  metricForeignInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'foreignInvocations', props);
  }

  /** Tokens the refresher renewed before any caller needed them (`RefreshesAhead`): a 5-minute sum by default. */
  metricRefreshesAhead(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'refreshesAhead', props);
  }

  /** Refresher exchanges that failed; callers keep the previous token while it lasts (`RefreshFailures`): a 5-minute sum by default. */
  metricRefreshFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'refreshFailures', props);
  }

  /** Token requests that waited on an exchange, their own or a shared one (`CallerWaits`): a 5-minute sum by default. */
  metricCallerWaits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'callerWaits', props);
  }

  /** Failed runs of the key rotator (`KeyRotationFailures`), signer `kms` only: a 5-minute sum by default. */
  metricKeyRotationFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'keyRotationFailures', props);
  }

  /**
   * Rotation states refused because their MAC did not verify or they were older than one already seen
   * (`RotationStateRejected`): someone wrote the state item around the rotator. Signer `kms` only: a 5-minute sum by default.
   */
  metricRotationStateRejected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return brokerCountMetric(this.deploymentName, 'rotationStateRejected', props);
  }

  /**
   * Seconds since the active signing key started signing (`ActiveSigningKeyAge`), reported by every rotator run, signer
   * `kms` only: the hourly maximum by default.
   */
  metricActiveSigningKeyAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return activeKeyAgeMetric(this.deploymentName, props);
  }

  /**
   * The table's resource policy (lib/token-cache-table-policy.ts) on a table of this app. An imported table's policy
   * cannot be edited from here: with signer `kms`, whose rotation state it holds, that fails synth, naming the
   * statements to add, unless `acknowledged` (`tokenCacheTableProtectedExternally`).
   */
  private protectTable(acknowledged: boolean): void {
    const { signer } = this;
    const rotatorRole = signer.kind === 'kms' ? (signer.keyRotatorFunction.role as iam.IRole) : undefined;
    const statements = tokenCacheTablePolicy({
      tokenRoleArn: this.tokenFunctionRole.roleArn,
      ...(rotatorRole === undefined ? {} : { rotatorRoleArn: rotatorRole.roleArn }),
      deployRoleArnPattern: this.deployRoleArnPattern,
    });
    // ITable does not declare it; an imported table has it and answers statementAdded: false.
    const table = this.table as Partial<Pick<dynamodb.Table, 'addToResourcePolicy'>>;
    const added = statements.map((statement) => table.addToResourcePolicy?.(statement).statementAdded ?? false);
    if (added.every(Boolean) || rotatorRole === undefined || acknowledged) return;
    const tokenRoleArn = `<ARN of role ${logicalIdOf(this.tokenFunctionRole)}: TokenBroker.tokenFunctionRole>`;
    const rotatorRoleArn = `<ARN of role ${logicalIdOf(rotatorRole)}: the key rotator's>`;
    const toAdd = [denyItemWritesToAllBut([tokenRoleArn, rotatorRoleArn]), denyRotationStateWritesToAllBut(rotatorRoleArn)];
    throw new ConfigError(`TokenBroker props at ${this.node.path}`, [
      `tokenCacheTable: an imported table keeps its resource policy as it is, and with signer "kms" it holds the rotation state the JWKS is served from. Set tokenCacheTableProtectedExternally: true, deploy, and add these statements to the table's resource policy with the roles' ARNs (docs/security.md, "An imported table"): ${JSON.stringify(
        toAdd.map((statement) => statement.toStatementJson() as unknown),
      )}`,
    ]);
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

  private createHttpApi(endpoint: 'public' | 'private'): HttpApi {
    const httpApi = new HttpApi(this, 'HttpApi', {
      description:
        endpoint === 'public'
          ? 'AWS-to-Azure token broker: OIDC discovery, JWKS and IAM-authorized token routes'
          : 'AWS-to-Azure token broker: OIDC discovery and JWKS (the token routes are on the private REST API)',
      // The stage is created below, with access logging and throttling the default stage cannot take.
      createDefaultStage: false,
    });
    acknowledgeControl(
      httpApi,
      'CT.LAMBDA.PR.2',
      "Every Lambda permission under the API is HttpLambdaIntegration's: principal apigateway.amazonaws.com with a SourceArn naming this API, which the rule cannot read because it is an Fn::Join (a template test checks each one).",
    );
    return httpApi;
  }

  private createStage(httpApi: HttpApi, config: BrokerConfig, accessLogs: logs.ILogGroup): HttpStage {
    const { throttlingRateLimit, throttlingBurstLimit } = config.deployment;
    return httpApi.addStage('DefaultStage', {
      stageName: STAGE_NAME,
      autoDeploy: true,
      throttle: { rateLimit: throttlingRateLimit, burstLimit: throttlingBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // Who called which route, and how it ended; nothing in it can carry a signature or a token.
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
  }

  private addRoutes(httpApi: HttpApi): Record<string, HttpRoute> {
    const authorizer = new HttpIamAuthorizer();
    // One API-wide invoke permission instead of one per route: the function's resource policy is
    // limited to 20 KB, which a long list of aliases would otherwise approach.
    const tokenIntegration = new HttpLambdaIntegration('TokenIntegration', this.tokenFunction, {
      scopePermissionToRoute: false,
    });
    const routes: Record<string, HttpRoute> = {};
    for (const alias of this.aliases) {
      // One method, one route.
      const [route] = httpApi.addRoutes({
        path: `${TOKEN_PATH_PREFIX}${alias}`,
        methods: [HttpMethod.GET],
        integration: tokenIntegration,
        authorizer,
      }) as [HttpRoute];
      routes[alias] = route;
    }
    // Granted to nobody by grantToken; it lets a caller with broader execute-api rights who asks for an
    // unknown alias get the broker's JSON 404 unknown_scope rather than API Gateway's bare 404. The token
    // function answers it with 404 whatever the alias (lambda/handlers/token.ts).
    httpApi.addRoutes({
      path: TOKEN_CATCH_ALL_PATH,
      methods: [HttpMethod.GET],
      integration: tokenIntegration,
      authorizer,
    });
    return routes;
  }
}

/** The logical id of a resource's CloudFormation element, for messages that must name a resource not yet deployed. */
function logicalIdOf(resource: iam.IRole): string {
  return Stack.of(resource).getLogicalId(resource.node.defaultChild as CfnElement);
}
