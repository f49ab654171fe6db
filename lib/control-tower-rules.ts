/**
 * The second, independent rule set at synth: AWS Control Tower's proactive controls, run by cfn-guard through the
 * `@cdklabs/cdk-validator-cfnguard` policy-validation plugin (beside cdk-nag). A finding fails synth unless the
 * construct that causes it acknowledges it here, with a reason, through CDK's `Validations.acknowledge`. The plugin
 * itself is in control-tower-validator.ts, so the constructs (and the package) do not load it.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The plugin's name: the namespace of its rule ids in acknowledgements (`cdk-validator-cfnguard::<rule>`). */
export const CFN_GUARD_PLUGIN = 'cdk-validator-cfnguard';

/** The controls the broker acknowledges somewhere, by control id, with the cfn-guard rule that checks each. */
export const CONTROL_TOWER_RULES = {
  'CT.APIGATEWAY.PR.1': 'api_gw_v1_execution_logging_enabled_check',
  'CT.APIGATEWAY.PR.5': 'api_gw_v2_authorization_type_configured_check',
  'CT.CLOUDWATCH.PR.1': 'cloudwatch_alarm_action_check',
  'CT.CLOUDWATCH.PR.3': 'cloudwatch_log_group_encrypted_check',
  'CT.DYNAMODB.PR.1': 'dynamodb_table_pitr_enabled_check',
  'CT.LAMBDA.PR.2': 'lambda_function_public_access_prohibited_check',
  'CT.LAMBDA.PR.3': 'lambda_inside_vpc_check',
} as const;

export type AcknowledgedControl = keyof typeof CONTROL_TOWER_RULES;

/** Acknowledges a Control Tower control's findings on `scope` and everything below it, with the reason in the synth report. */
export function acknowledgeControl(scope: IConstruct, control: AcknowledgedControl, reason: string): void {
  Validations.of(scope).acknowledge({ id: `${CFN_GUARD_PLUGIN}::${CONTROL_TOWER_RULES[control]}`, reason: `${control}: ${reason}` });
}
