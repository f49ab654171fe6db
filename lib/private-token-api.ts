/**
 * The token routes on a PRIVATE REST API (`endpoint: {"type": "private"}`): reachable only through the listed interface
 * VPC endpoints for `execute-api`, never from the internet. HTTP APIs cannot be private; REST APIs can (API Gateway
 * Developer Guide, "Private REST APIs in API Gateway").
 *
 * - The endpoint configuration names the VPC endpoints, which associates them with the API: each gets the Route 53
 *   alias `{apiId}-{vpceId}.execute-api.{region}.amazonaws.com`, usable without private DNS.
 * - The resource policy denies `execute-api:Invoke` from any other `aws:SourceVpce`, and allows the account (and the
 *   `allowedCallers` accounts and organizations): an account principal in a resource policy delegates to that account's
 *   IAM policies, so IAM still decides per alias, through `grantToken`.
 * - One resource and one `GET` method per alias with AWS_IAM authorization, so an IAM policy grants aliases one by one;
 *   the catch-all `/token/{alias}` answers the broker's 404 `unknown_scope` to callers with broader rights.
 * - One stage with the deployment's throttling and a JSON access log: who called which route and how it ended.
 */
import { Aws, Names } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { AllowedCallers } from '../contract/allowed-callers';
import { HTTP_METHOD, PRIVATE_ACCESS_LOG_FIELDS, PRIVATE_STAGE_NAME, TOKEN_CATCH_ALL_PATH, TOKEN_PATH_PREFIX } from '../contract/http-api';
import { acknowledgeControl } from './control-tower-rules';
import { NagSuppressions } from './nag-suppressions';

export { PRIVATE_STAGE_NAME };

export interface PrivateTokenApiProps {
  /** The interface VPC endpoints (`com.amazonaws.{region}.execute-api`) that may reach the API; at least one. */
  readonly vpcEndpointIds: readonly string[];
  /** One resource and method per alias. */
  readonly aliases: readonly string[];
  /** Every method's integration (Lambda proxy, payload 1.0). */
  readonly tokenFunction: lambda.IFunction;
  /** The stage's steady-state requests per second. */
  readonly throttlingRateLimit: number;
  /** The stage's burst capacity. */
  readonly throttlingBurstLimit: number;
  /** Where the stage's access log goes: the audit trail. */
  readonly accessLogGroup: logs.ILogGroup;
  /**
   * Further accounts and organizations whose principals the resource policy admits (their own IAM policies must allow
   * the method too: a cross-account call needs both).
   * @default - the deploying account's principals only
   */
  readonly allowedCallers?: AllowedCallers;
}

/** The private REST API that serves `GET /token/{alias}`. */
export class PrivateTokenApi extends Construct {
  readonly restApi: apigateway.RestApi;
  /** The `broker` stage. */
  readonly stage: apigateway.Stage;
  /** `GET /token/<alias>` per configured alias. */
  readonly tokenMethods: Readonly<Record<string, apigateway.Method>>;
  /** The VPC endpoints the API admits. */
  readonly vpcEndpointIds: readonly string[];

  constructor(scope: Construct, id: string, props: PrivateTokenApiProps) {
    super(scope, id);
    this.vpcEndpointIds = [...props.vpcEndpointIds];
    const vpcEndpoints = props.vpcEndpointIds.map((vpcEndpointId, index) =>
      ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, `VpcEndpoint${index}`, { vpcEndpointId, port: 443 }),
    );
    this.restApi = new apigateway.RestApi(this, 'Api', {
      // Unique in the account: the REST API metrics' `ApiName` dimension tells two brokers apart by it.
      restApiName: Names.uniqueResourceName(this, { maxLength: 128 }),
      description: 'AWS-to-Azure token broker: IAM-authorized token routes, reachable only through the listed VPC endpoints',
      endpointConfiguration: { types: [apigateway.EndpointType.PRIVATE], vpcEndpoints },
      policy: this.resourcePolicy(props),
      // Execution logging needs the account-wide API Gateway CloudWatch role, which one stack must not claim.
      cloudWatchRole: false,
      deployOptions: {
        stageName: PRIVATE_STAGE_NAME,
        throttlingRateLimit: props.throttlingRateLimit,
        throttlingBurstLimit: props.throttlingBurstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(props.accessLogGroup),
        accessLogFormat: apigateway.AccessLogFormat.custom(JSON.stringify(PRIVATE_ACCESS_LOG_FIELDS)),
        // Paths and timings only; REST APIs can trace where HTTP APIs cannot.
        tracingEnabled: true,
      },
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
    });
    this.stage = this.restApi.deploymentStage;
    this.tokenMethods = this.addMethods(props);
    this.acknowledgeChecks();
  }

  /**
   * Lets `grantee` obtain tokens for one alias: `execute-api:Invoke` on
   * `arn:…:execute-api:{region}:{account}:{apiId}/broker/GET/token/{alias}` only.
   * @throws Error when the alias is not configured
   */
  grantToken(grantee: iam.IGrantable, alias: string): iam.Grant {
    const method = this.tokenMethods[alias];
    if (method === undefined) {
      throw new Error(
        `Unknown alias ${JSON.stringify(alias)} for grantToken; configured aliases: ${Object.keys(this.tokenMethods).join(', ')}`,
      );
    }
    return method.grantExecute(grantee);
  }

  /** The base URL with private DNS on the VPC endpoint: `https://{apiId}.execute-api.{region}.amazonaws.com/broker`. */
  get url(): string {
    return `https://${this.restApi.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${PRIVATE_STAGE_NAME}`;
  }

  /**
   * The base URL through one VPC endpoint without private DNS (the Route 53 alias the association creates):
   * `https://{apiId}-{vpceId}.execute-api.{region}.amazonaws.com/broker`.
   */
  vpcEndpointUrl(vpcEndpointId: string): string {
    return `https://${this.restApi.restApiId}-${vpcEndpointId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${PRIVATE_STAGE_NAME}`;
  }

  /**
   * Deny from anywhere but the listed VPC endpoints; allow the account (delegating to its IAM policies) and the
   * allowed callers' accounts and organizations. Examples of both statements: API Gateway Developer Guide, "API Gateway
   * resource policy examples"; how a resource policy and IAM combine: "How API Gateway resource policies affect
   * authorization workflow" (same account: either may allow; another account: both must).
   */
  private resourcePolicy(props: PrivateTokenApiProps): iam.PolicyDocument {
    const invokeAnyMethod = 'execute-api:/*';
    const accounts = [Aws.ACCOUNT_ID, ...(props.allowedCallers?.accountIds ?? [])];
    const statements = [
      new iam.PolicyStatement({
        sid: 'OnlyThroughTheListedVpcEndpoints',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: [invokeAnyMethod],
        conditions: { StringNotEquals: { 'aws:SourceVpce': [...props.vpcEndpointIds] } },
      }),
      new iam.PolicyStatement({
        sid: 'AccountsWhoseIamPoliciesDecide',
        effect: iam.Effect.ALLOW,
        principals: accounts.map((account) => new iam.AccountPrincipal(account)),
        actions: ['execute-api:Invoke'],
        resources: [invokeAnyMethod],
      }),
    ];
    const orgIds = props.allowedCallers?.principalOrgIds ?? [];
    if (orgIds.length > 0) {
      // Principals of other accounts in these organizations: their own IAM policies must allow the method as well
      // (cross-account). The deploying account is left to the statement above, where IAM alone decides.
      statements.push(
        new iam.PolicyStatement({
          sid: 'AllowedOrganizationsWhoseIamPoliciesDecide',
          effect: iam.Effect.ALLOW,
          principals: [new iam.AnyPrincipal()],
          actions: ['execute-api:Invoke'],
          resources: [invokeAnyMethod],
          conditions: {
            StringEquals: { 'aws:PrincipalOrgID': orgIds },
            StringNotEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID },
          },
        }),
      );
    }
    return new iam.PolicyDocument({ statements });
  }

  private addMethods(props: PrivateTokenApiProps): Record<string, apigateway.Method> {
    // One API-wide invoke permission instead of one per method: the function's resource policy is limited to 20 KB.
    const integration = new apigateway.LambdaIntegration(props.tokenFunction, { proxy: true, scopePermissionToMethod: false });
    const token = this.restApi.root.addResource(TOKEN_PATH_PREFIX.replaceAll('/', ''));
    const methods: Record<string, apigateway.Method> = {};
    for (const alias of props.aliases) methods[alias] = token.addResource(alias).addMethod(HTTP_METHOD, integration);
    // Granted to nobody by grantToken: a caller with broader execute-api rights who asks for an unknown alias gets the
    // broker's JSON 404 unknown_scope rather than API Gateway's 403. The token function answers it 404 whatever the alias.
    token.addResource(TOKEN_CATCH_ALL_PATH.slice(TOKEN_PATH_PREFIX.length)).addMethod(HTTP_METHOD, integration);
    return methods;
  }

  /** cdk-nag and Control Tower findings on a private, IAM-authorized API, each decided with its reason. */
  private acknowledgeChecks(): void {
    const iamEverywhere =
      'Every method uses AWS_IAM authorization (SigV4, IAM decides per alias through grantToken); there is no Cognito user pool to use.';
    const noBody =
      'GET methods without a body or required parameters: there is nothing for API Gateway to validate, and the token function refuses any path but a configured alias.';
    const noWaf =
      'A PRIVATE API reachable only through the listed VPC endpoints, every method IAM-authorized and the stage throttled; a web ACL would add cost and filter nothing an unauthenticated caller can send.';
    const accessLogOnly =
      "The stage's JSON access log records every request with the caller's ARN (the audit trail); execution logs need the account-wide API Gateway CloudWatch role, which one stack must not claim, and at INFO carry request details this project keeps out of logs.";
    const permission =
      "The Lambda permission for this API is LambdaIntegration's: principal apigateway.amazonaws.com with a SourceArn naming this API, which the rule cannot read because it is an Fn::Join.";
    NagSuppressions.addResourceSuppressions(
      this.restApi,
      [
        { id: 'AwsSolutions-COG4', reason: iamEverywhere },
        { id: 'AwsSolutions-APIG2', reason: noBody },
        { id: 'AwsSolutions-APIG3', reason: noWaf },
        { id: 'AwsSolutions-APIG6', reason: accessLogOnly },
      ],
      true,
    );
    acknowledgeControl(this.stage, 'CT.APIGATEWAY.PR.1', accessLogOnly);
    acknowledgeControl(this.restApi, 'CT.LAMBDA.PR.2', permission);
  }
}
