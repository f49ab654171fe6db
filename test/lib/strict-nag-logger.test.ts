import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { StrictNagLogger } from '../../lib/strict-nag-logger';

/** A table without point-in-time recovery: AwsSolutions-DDB3, which cdk-nag rates a warning. */
function stackWithWarning(strict: boolean, suppress = false): Stack {
  const app = new App();
  const stack = new Stack(app, 'Nagged');
  const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  if (suppress)
    NagSuppressions.addResourceSuppressions(table, [{ id: 'AwsSolutions-DDB3', reason: 'a cache whose items can all be fetched again' }]);
  Aspects.of(app).add(new AwsSolutionsChecks({ additionalLoggers: strict ? [new StrictNagLogger()] : [] }));
  app.synth();
  return stack;
}

// Synthesizes inside the tests: CPU-bound, and the first synth of a file loads most of aws-cdk-lib and cdk-nag.
describe('StrictNagLogger', { timeout: 60_000 }, () => {
  it('turns an unsuppressed cdk-nag warning into an error, so synth fails', () => {
    expect(Annotations.fromStack(stackWithWarning(false)).findError('*', Match.stringLikeRegexp('AwsSolutions-DDB3'))).toHaveLength(0);
    expect(
      Annotations.fromStack(stackWithWarning(true)).findError('*', Match.stringLikeRegexp('AwsSolutions-DDB3 \\(Warning, made fatal\\)')),
    ).toHaveLength(1);
  });

  it('leaves a suppressed finding alone', () => {
    expect(Annotations.fromStack(stackWithWarning(true, true)).findError('*', Match.stringLikeRegexp('AwsSolutions-'))).toHaveLength(0);
  });
});
