/**
 * The token cache table's resource policy: it fails closed. The table holds the rotation state, from which the JWKS is
 * served, and the sealed tokens; only the broker's own roles write items, only the deployment changes the table or its
 * policy, and only the rotator writes the state item. The statements hold in accounts without AWS Organizations too,
 * where the `DirectInvocationGuardPolicy` SCP cannot be attached.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { KEY_ROTATION_ITEM } from '../contract/aws-names';
import { DYNAMODB_TABLE_CHANGE_ACTIONS, DYNAMODB_WRITE_ACTIONS } from './dynamodb-write-actions';

export interface TokenCacheTablePolicyProps {
  /** The token function's role ARN: it writes the token and lease items. */
  readonly tokenRoleArn: string;
  /**
   * The key rotator's role ARN (signer `kms`): it writes the rotation state item, the one item it may write.
   * @default - no rotator (signer `aws-sts`): the token role is the one writer, and there is no state item to guard
   */
  readonly rotatorRoleArn?: string;
  /** Who deploys the stack (an `aws:PrincipalArn` pattern): CloudFormation must keep updating the table and its policy. */
  readonly deployRoleArnPattern: string;
}

/**
 * The statements, in order: item writes by the broker's roles only; table, replica and policy changes by the
 * deployment only; the rotation state item by the rotator only (the first statement lets the token role write items,
 * this one keeps it off that item).
 */
export function tokenCacheTablePolicy(props: TokenCacheTablePolicyProps): iam.PolicyStatement[] {
  const writers = props.rotatorRoleArn === undefined ? [props.tokenRoleArn] : [props.tokenRoleArn, props.rotatorRoleArn];
  const statements = [
    denyItemWritesToAllBut(writers),
    new iam.PolicyStatement({
      sid: 'DenyTableChangesToAllButTheDeployment',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: DYNAMODB_TABLE_CHANGE_ACTIONS,
      resources: ['*'],
      conditions: { ArnNotLike: { 'aws:PrincipalArn': props.deployRoleArnPattern } },
    }),
  ];
  if (props.rotatorRoleArn !== undefined) statements.push(denyRotationStateWritesToAllBut(props.rotatorRoleArn));
  return statements;
}

/** Item writes (every form) by the given roles only. */
export function denyItemWritesToAllBut(writerRoleArns: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DenyItemWritesToAllButTheBroker',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: DYNAMODB_WRITE_ACTIONS,
    resources: ['*'],
    conditions: { ArnNotEquals: { 'aws:PrincipalArn': writerRoleArns.length === 1 ? writerRoleArns[0] : [...writerRoleArns] } },
  });
}

/** Writes of the rotation state item by the rotator only: the JWKS is served from it. */
export function denyRotationStateWritesToAllBut(rotatorRoleArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DenyRotationStateWritesToAllButTheRotator',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: DYNAMODB_WRITE_ACTIONS,
    resources: ['*'],
    conditions: {
      'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': [KEY_ROTATION_ITEM.partitionKey] },
      ArnNotEquals: { 'aws:PrincipalArn': rotatorRoleArn },
    },
  });
}
