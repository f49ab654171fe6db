/** Key-policy statements every key the broker creates carries. */
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * AWS Control Tower's CT.KMS.PR.3: a grant is a second way to authorize a key's use, next to its key policy; no
 * principal may create one unless an AWS service creates it for a resource it manages (none of the broker's does).
 */
export function denyGrantsExceptForAwsServices(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DenyGrantsExceptForAwsServices',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  });
}
