/**
 * The ready-made answer to what the broker's own resources cannot do themselves: a Lambda function cannot authenticate
 * who invoked it or who changed it, and an API or a role cannot refuse an administrator. This policy, attached as an AWS
 * Organizations SCP to the broker's account (or, with an Allow statement beside it, as a permission boundary on every
 * role there), keeps everything Entra trusts to the deployment: the functions whose output Entra accepts (the token
 * function, and with the `kms` signer the discovery, JWKS and key rotator functions) and their roles, the API that
 * serves the issuer's routes, and the table whose state item the JWKS is served from (docs/security.md).
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DYNAMODB_TABLE_CHANGE_ACTIONS, DYNAMODB_WRITE_ACTIONS } from './dynamodb-write-actions';

/** The CDK bootstrap's CloudFormation execution roles, which deploy the stack: `arn:{partition}:iam::{account}:role/cdk-*-cfn-exec-role-*`. */
export const CDK_DEPLOY_ROLE_ARN_PATTERN = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/cdk-*-cfn-exec-role-*`;

/** A function and its execution role. */
export interface GuardedFunction {
  readonly functionArn: string;
  readonly roleArn: string;
}

export interface DirectInvocationGuardProps {
  /** The token function's ARN: only API Gateway invokes it. */
  readonly tokenFunctionArn: string;
  /**
   * Every function whose output Entra trusts, with its role (`TokenBroker.trustedFunctions`), the token function among
   * them: only the deployment changes them or acts as their roles. The others stay invocable (`broker-keys rotate`
   * invokes the rotator; discovery and JWKS serve public data).
   */
  readonly trustedFunctions: readonly GuardedFunction[];
  /** The token cache table, which holds the rotation state too. */
  readonly tableArn: string;
  /** The roles that write the table's items: the token function's, and the key rotator's (its state item only). */
  readonly tableWriterRoleArns: readonly string[];
  /**
   * The HTTP API whose routes, integrations, authorizers and stages serve the tokens and the issuer's documents; with a
   * private endpoint, the issuer's documents only (signer `kms`).
   * @default - no HTTP API (a private endpoint with signer `aws-sts`)
   */
  readonly apiId?: string;
  /**
   * The private REST API whose resources, methods, stage and resource policy serve the tokens.
   * @default - no private REST API (a public endpoint)
   */
  readonly restApiId?: string;
  /**
   * Who may still change them: the deployment.
   * @default CDK_DEPLOY_ROLE_ARN_PATTERN - the CDK bootstrap's CloudFormation execution roles
   */
  readonly deployRoleArnPattern?: string;
}

/**
 * Six denies:
 * - nobody invokes the token function directly (API Gateway invokes it as a service principal through the function's
 *   resource policy, which SCPs and permission boundaries do not restrict);
 * - nobody but the deployment changes a trusted function's code, configuration (layers, environment: the API id it
 *   checks), permissions, aliases, versions or URL;
 * - nobody but the deployment passes a trusted function's role to other code or changes what it trusts or may do;
 * - nobody but the broker's roles writes the table's items (a writer cannot read tokens, but can delete them, replay an
 *   old one, or hold the refresh lease: docs/security.md, "The token cache"; the rotation state is MAC'd as well);
 * - nobody but the deployment changes the table, its replicas or its resource policy (which keeps the items to the
 *   broker's roles in accounts without this SCP);
 * - nobody but the deployment changes the API: a route, integration or authorizer of someone else's could serve a
 *   JWKS of theirs at the issuer, or a token route without IAM.
 */
export function directInvocationGuard(props: DirectInvocationGuardProps): iam.PolicyDocument {
  const exceptDeployment = { ArnNotLike: { 'aws:PrincipalArn': props.deployRoleArnPattern ?? CDK_DEPLOY_ROLE_ARN_PATTERN } };
  const andVersions = (functionArn: string) => [functionArn, `${functionArn}:*`];
  // HTTP APIs live under `/apis/{id}`, REST APIs under `/restapis/{id}` (its resources, methods, stages, policy).
  const apiArns = [
    ...(props.apiId === undefined ? [] : [`arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/apis/${props.apiId}`]),
    ...(props.restApiId === undefined ? [] : [`arn:${Aws.PARTITION}:apigateway:${Aws.REGION}::/restapis/${props.restApiId}`]),
  ];
  const writers = props.tableWriterRoleArns;
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'OnlyApiGatewayInvokesTheTokenFunction',
        effect: iam.Effect.DENY,
        actions: ['lambda:InvokeFunction', 'lambda:InvokeAsync', 'lambda:InvokeFunctionUrl'],
        resources: andVersions(props.tokenFunctionArn),
      }),
      new iam.PolicyStatement({
        sid: 'OnlyTheDeploymentChangesTheBrokerFunctions',
        effect: iam.Effect.DENY,
        actions: FUNCTION_CHANGES,
        resources: props.trustedFunctions.flatMap((fn) => andVersions(fn.functionArn)),
        conditions: exceptDeployment,
      }),
      new iam.PolicyStatement({
        sid: 'NobodyElseActsAsTheBrokerRoles',
        effect: iam.Effect.DENY,
        actions: ROLE_CHANGES,
        resources: props.trustedFunctions.map((fn) => fn.roleArn),
        conditions: exceptDeployment,
      }),
      new iam.PolicyStatement({
        sid: 'OnlyTheBrokerWritesTheTable',
        effect: iam.Effect.DENY,
        actions: DYNAMODB_WRITE_ACTIONS,
        resources: [props.tableArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': writers.length === 1 ? writers[0] : [...writers] } },
      }),
      new iam.PolicyStatement({
        sid: 'OnlyTheDeploymentChangesTheTable',
        effect: iam.Effect.DENY,
        actions: DYNAMODB_TABLE_CHANGE_ACTIONS,
        resources: [props.tableArn],
        conditions: exceptDeployment,
      }),
      new iam.PolicyStatement({
        sid: 'OnlyTheDeploymentChangesTheApi',
        effect: iam.Effect.DENY,
        // API Gateway authorizes its management API by HTTP method on the resource's ARN (Service Authorization Reference,
        // "Amazon API Gateway Management V2"; ARN formats: API Gateway Developer Guide, "API Gateway Amazon Resource Name
        // (ARN) reference"): every change to a route, integration, authorizer or stage is one of these on `/apis/{id}/…`.
        actions: ['apigateway:POST', 'apigateway:PUT', 'apigateway:PATCH', 'apigateway:DELETE'],
        resources: apiArns.flatMap((arn) => [arn, `${arn}/*`]),
        conditions: exceptDeployment,
      }),
    ],
  });
}

const FUNCTION_CHANGES = [
  'lambda:UpdateFunctionCode',
  'lambda:UpdateFunctionConfiguration',
  'lambda:AddPermission',
  'lambda:CreateFunctionUrlConfig',
  'lambda:UpdateFunctionUrlConfig',
  'lambda:CreateAlias',
  'lambda:UpdateAlias',
  'lambda:PublishVersion',
];
const ROLE_CHANGES = ['iam:PassRole', 'iam:UpdateAssumeRolePolicy', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:DeleteRolePolicy'];
