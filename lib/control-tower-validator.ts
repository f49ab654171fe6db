/**
 * The cfn-guard plugin that checks AWS Control Tower's proactive controls at synth (lib/control-tower-rules.ts says
 * how a construct acknowledges a finding). Apart from the acknowledgements, so that only the app loads the plugin:
 * the constructs, and a consumer app that imports them, do not need it.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';

/** The plugin with every bundled Control Tower rule enabled (bin/app.ts adds it to the app). */
export function controlTowerValidator(): CfnGuardValidator {
  return new CfnGuardValidator();
}
