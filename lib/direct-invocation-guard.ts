/**
 * The ready-made answer to what the token function cannot do itself: a Lambda function cannot authenticate who
 * invoked it, so anyone with `lambda:InvokeFunction` on it can hand it a forged API Gateway event (docs/security.md,
 * "Direct invocation"). This policy, attached as an AWS Organizations SCP to the broker's account (or, with an
 * Allow statement beside it, as a permission boundary on every role there), closes that and the ways around it.
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DYNAMODB_WRITE_ACTIONS } from './dynamodb-write-actions';

export interface DirectInvocationGuardProps {
  /** The token function's ARN. */
  readonly functionArn: string;
  /** The token function's execution role: the only principal its key policies let sign and open cached tokens. */
  readonly roleArn: string;
  /** The token cache table, which only the token function's role writes (and the rotator, its rotation state item). */
  readonly tableArn: string;
  /**
   * The key rotator's function and role: as sensitive as the token function's (it creates the keys the JWKS
   * publishes), so only the deployment changes them; it stays invocable (`broker-keys rotate`).
   * @default - no rotator statements
   */
  readonly keyRotator?: { readonly functionArn: string; readonly roleArn: string };
  /**
   * Who may still change the function and its role: the deployment.
   * @default - the CDK bootstrap's CloudFormation execution roles, `arn:{partition}:iam::{account}:role/cdk-*-cfn-exec-role-*`
   */
  readonly deployRoleArnPattern?: string;
}

/**
 * Four denies:
 * - nobody invokes the token function directly (API Gateway invokes it as a service principal through the
 *   function's resource policy, which SCPs and permission boundaries do not restrict);
 * - nobody but the deployment changes its code, configuration (the API id it checks), permissions or URL;
 * - nobody but the deployment passes its role to other code or changes what the role trusts or may do;
 * - nobody but the token function writes the token cache table (a writer cannot read tokens, but can delete them,
 *   replay an old one, or hold the refresh lease: docs/security.md, "The token cache"); the key rotator writes its
 *   state item there (its role and the table's resource policy limit it to that item).
 * With a key rotator, two more: nobody but the deployment changes it or acts as its role.
 */
export function directInvocationGuard(props: DirectInvocationGuardProps): iam.PolicyDocument {
  const deployRoles = props.deployRoleArnPattern ?? `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/cdk-*-cfn-exec-role-*`;
  const functionAndVersions = [props.functionArn, `${props.functionArn}:*`];
  const exceptDeployment = { ArnNotLike: { 'aws:PrincipalArn': deployRoles } };
  const rotator = props.keyRotator;
  const writers = rotator ? [props.roleArn, rotator.roleArn] : props.roleArn;
  const rotatorStatements = rotator
    ? [
        new iam.PolicyStatement({
          sid: 'OnlyTheDeploymentChangesTheKeyRotator',
          effect: iam.Effect.DENY,
          actions: FUNCTION_CHANGES,
          resources: [rotator.functionArn, `${rotator.functionArn}:*`],
          conditions: exceptDeployment,
        }),
        new iam.PolicyStatement({
          sid: 'NobodyElseActsAsTheKeyRotatorRole',
          effect: iam.Effect.DENY,
          actions: ROLE_CHANGES,
          resources: [rotator.roleArn],
          conditions: exceptDeployment,
        }),
      ]
    : [];
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'OnlyApiGatewayInvokesTheTokenFunction',
        effect: iam.Effect.DENY,
        actions: ['lambda:InvokeFunction', 'lambda:InvokeAsync', 'lambda:InvokeFunctionUrl'],
        resources: functionAndVersions,
      }),
      new iam.PolicyStatement({
        sid: 'OnlyTheDeploymentChangesTheTokenFunction',
        effect: iam.Effect.DENY,
        actions: FUNCTION_CHANGES,
        resources: functionAndVersions,
        conditions: exceptDeployment,
      }),
      new iam.PolicyStatement({
        sid: 'NobodyElseActsAsTheTokenRole',
        effect: iam.Effect.DENY,
        actions: ROLE_CHANGES,
        resources: [props.roleArn],
        conditions: exceptDeployment,
      }),
      new iam.PolicyStatement({
        sid: 'OnlyTheTokenFunctionWritesTheCache',
        effect: iam.Effect.DENY,
        actions: DYNAMODB_WRITE_ACTIONS,
        resources: [props.tableArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
      }),
      ...rotatorStatements,
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
