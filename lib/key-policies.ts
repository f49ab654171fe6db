/** Key-policy statements every key the broker creates carries. */
import * as iam from 'aws-cdk-lib/aws-iam';
import { KMS_SIGNING_ALGORITHM } from '../contract/aws-names';

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

/** Holds for every principal whatever their IAM policies allow: a signing key produces RS256 signatures only. */
export function denySignWithOtherAlgorithms(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DenySignWithOtherAlgorithms',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:Sign'],
    resources: ['*'],
    conditions: { StringNotEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM } },
  });
}

/**
 * Denies `actions` on the key to every principal but `role`, whatever their IAM policies allow. The account keeps
 * administering the key (the default statement stays); only changing the key policy undoes it, a CloudTrail event.
 */
export function denyKeyActionsToAllBut(sid: string, actions: string[], role: iam.IRole): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions,
    resources: ['*'],
    conditions: { ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } },
  });
}

/**
 * Denies `kms:Sign` to every principal but the token function's role: an IAM policy allowing `kms:Sign` on `*`
 * (administrators, power users, CI roles) no longer mints assertions.
 */
export function denySignToAllBut(tokenRole: iam.IRole): iam.PolicyStatement {
  return denyKeyActionsToAllBut('DenySignToAllButTheTokenFunction', ['kms:Sign'], tokenRole);
}

/** The account administers the key through IAM: the statement CDK writes first in every key policy it creates. */
export function accountAdministersKey(): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions: ['kms:*'], principals: [new iam.AccountRootPrincipal()], resources: ['*'] });
}

/**
 * The whole policy of a signing key, in order: the account administers it, RS256 only, no grants, only the token
 * function's role signs. The stack's own key is built from the same statements (lib/kms-issuer.ts); the rotator gives
 * this document to every key it creates.
 */
export function signingKeyPolicy(tokenRole: iam.IRole): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [accountAdministersKey(), denySignWithOtherAlgorithms(), denyGrantsExceptForAwsServices(), denySignToAllBut(tokenRole)],
  });
}
