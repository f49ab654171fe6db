import { Annotations } from 'aws-cdk-lib';
import { NagMessageLevel, type INagLogger, type NagLoggerErrorData, type NagLoggerNonComplianceData } from 'cdk-nag';

/**
 * Makes every unsuppressed cdk-nag finding fail synth. cdk-nag reports some rules as warnings, and
 * `cdk synth` succeeds with warnings; a finding must instead be fixed, or suppressed with a reason.
 * Errors already fail synth through cdk-nag's own annotation, so only warnings are raised here, and a
 * rule that crashed on a resource counts as a finding too.
 */
export class StrictNagLogger implements INagLogger {
  onNonCompliance(data: NagLoggerNonComplianceData): void {
    if (data.ruleLevel !== NagMessageLevel.ERROR) {
      Annotations.of(data.resource).addError(`${data.ruleId} (${data.ruleLevel}, made fatal): ${data.ruleExplanation}`);
    }
  }

  onError(data: NagLoggerErrorData): void {
    Annotations.of(data.resource).addError(`${data.ruleId} could not be evaluated: ${data.errorMessage}`);
  }

  onCompliance(): void {}
  onSuppressed(): void {}
  onSuppressedError(): void {}
  onNotApplicable(): void {}
}
