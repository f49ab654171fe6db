import { CfnOutput, Fn, type Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from './nag-suppressions';
import type { FederatedRoleSettings } from '../contract/federated-role-config';
import { aliasOutputIds } from './alias-output-ids';

/** One `RoleArn<Name>` output per role (`reader-eu` gives `RoleArnReaderEu`), and optionally more per role. */
export function addRoleOutputs(
  stack: Stack,
  roles: ReadonlyMap<string, iam.Role>,
  describe: (name: string) => string,
  extra?: (name: string, role: iam.Role, outputId: string) => void,
): void {
  const ids = aliasOutputIds([...roles.keys()]);
  for (const [name, role] of roles) {
    const id = ids.get(name) ?? name;
    new CfnOutput(stack, `RoleArn${id}`, { description: describe(name), value: role.roleArn });
    extra?.(name, role, id);
  }
}

/**
 * AwsSolutions-IAM4 flags AWS managed policies. The ones an operator lists in the configuration are a deliberate
 * choice, so exactly those are suppressed, naming the field they came from; any other stays a finding.
 */
export function suppressListedManagedPolicies(role: iam.Role, settings: FederatedRoleSettings, field: string): void {
  const awsManaged = settings.managedPolicyArns.filter((arn) => /:iam::aws:policy\//.test(arn));
  if (awsManaged.length === 0) return;
  NagSuppressions.addResourceSuppressions(role, [
    {
      id: 'AwsSolutions-IAM4',
      reason: `AWS managed policies listed by the operator in ${field}.${settings.name}.managedPolicyArns`,
      appliesTo: awsManaged.map((arn) => `Policy::${arn}`),
    },
  ]);
}

/**
 * `credential_process = entra-aws-credentials --role-arn <arn> --audience <audience>` for an AWS config profile: the
 * installed command (on PATH, or its node_modules/.bin path), never `npx`, which would fetch an unclaimed registry name.
 */
export function credentialProcessLine(role: iam.Role, audience: string): string {
  return Fn.join('', ['credential_process = entra-aws-credentials --role-arn ', role.roleArn, ` --audience ${audience}`]);
}
